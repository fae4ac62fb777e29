"""The module loader of one interpreter: a site's own files, asked from the parent, as ES modules.

dukpy's C extension calls ``normalize(base, name)`` for every import (static or dynamic) and
then ``load(id)``. Names are resolved by L{fazt.runtime.modules.resolve} against the deployment's
file list (``module.paths``) and read with ``module.source`` (sync host calls, cached here: one
interpreter loads each file at most once). Everything is handed to QuickJS as an ES module
("module" format: dukpy's own CommonJS path would need its ``require``): JSON and CommonJS files
are wrapped (L{fazt.runtime.modulesource}), and the root ``main.js`` with static imports becomes the
per-request wrapper of L{fazt.runtime.scripts}. Nothing is ever read from disk.

Names starting with ``fazt:`` are the runtime's own modules: an import from one of them names a
bundle path literally (the lifecycle's ``import(entry.path)``); a site's code cannot import them.
In check mode every source gets ``throw __faztCheckPassed;`` prepended (same line, so line
numbers stay): QuickJS compiles and links the whole graph, then the first module evaluated
throws before any of the site's code runs.
"""

import json

from fazt.runtime import scripts
from fazt.runtime.sandbox import HostCallError

from fazt.runtime.modules import ModuleNotFound, module_format, require_info, resolve
from fazt.runtime.modulesource import module_source
from fazt.runtime.wrappers import InvalidModule, hoist_imports

CHECK_PREFIX = "throw __faztCheckPassed;"
INTERNAL = "fazt:"
SCRIPT_ENTRY = "main.js"
_SCRIPT_BASE = "<dukpy>"  # the name dukpy gives every evaljs script (the fazt-style main.js)


class ModuleLoader:
    """Resolves and loads one code bundle's modules for one interpreter.

    ``host_call(fn, args)`` performs a synchronous host call for the current run (``module.*``).
    """

    def __init__(self, host_call, check=False):
        self._host_call = host_call
        self._check = check
        self._paths = None
        self._sources = {}
        self._json = {}
        self.missing = {}  # id given to an unresolvable import -> (importer, specifier, message)
        self.invalid = {}  # id of a file that cannot be a module -> (message, line)
        self.commonjs = []  # check mode: the CommonJS files of the graph (their wrappers hold them as text)

    # -- the bundle ---------------------------------------------------------------------

    def paths(self):
        """Every file path of the bundle (asked once)."""
        if self._paths is None:
            try:
                self._paths = frozenset(self._host_call("module.paths", []) or ())
            except HostCallError:
                return frozenset()  # asked again next time
        return self._paths

    def source(self, path):
        """A file's text, or None (asked once per path)."""
        if path not in self._sources:
            try:
                self._sources[path] = self._host_call("module.source", [path]) if path in self.paths() else None
            except HostCallError:
                return None
        return self._sources[path]

    def read_json(self, path):
        """A JSON file of the bundle, parsed (None if absent or invalid)."""
        if path not in self._json:
            text = self.source(path)
            try:
                self._json[path] = None if text is None else json.loads(text)
            except ValueError:
                self._json[path] = None
        return self._json[path]

    def script_has_imports(self):
        """Whether the root main.js has static imports (then it is loaded as a module)."""
        source = self.source(SCRIPT_ENTRY)
        return bool(source is not None and hoist_imports(source)[0].strip())

    # -- dukpy's hooks ----------------------------------------------------------------------

    def normalize(self, base, name):
        """The module id of ``name`` imported from module ``base`` (a bundle path)."""
        if base.startswith(INTERNAL):
            return name  # the runtime names a bundle path (or one of its own modules) literally
        importer = SCRIPT_ENTRY if base == _SCRIPT_BASE else base
        if name.startswith(INTERNAL):
            return self._missing(importer, name, f"cannot find module {name!r} imported by {importer}")
        try:
            return resolve(importer, name, self.paths(), self.read_json)
        except ModuleNotFound as exc:
            return self._missing(importer, name, str(exc))

    def _missing(self, importer, specifier, message):
        module_id = f"{specifier} (imported by {importer})"
        self.missing[module_id] = (importer, specifier, message)
        return module_id

    def load(self, module_id):
        """``(id, ES module source, "module")``, or ``(None, None, None)`` if there is no such file."""
        if module_id in self.missing or module_id.startswith(INTERNAL):
            return None, None, None
        if module_id == SCRIPT_ENTRY:
            text = self.source(module_id)
            source = None if text is None else scripts.module_wrapper(*hoist_imports(text))
        else:
            try:
                source = module_source(module_id, self.paths(), self.source)
            except InvalidModule as exc:  # a .json file that is not JSON
                self.invalid[module_id] = (str(exc), exc.line)
                return None, None, None
        if source is None:
            return None, None, None
        if self._check and module_id != SCRIPT_ENTRY and module_id.endswith((".js", ".cjs")) and \
                module_format(module_id, self.paths(), self.read_json, self.source(module_id)) == "cjs":
            self.commonjs.append(module_id)
        if source.startswith("#!"):
            source = "//" + source[2:]
        return module_id, (CHECK_PREFIX + source) if self._check else source, "module"

    def require(self, importer, specifier):
        """``fazt.modules.require`` (js/cjs.js): ``{"path", "format", "source"}`` or ``{"error"}``."""
        return require_info(importer, specifier, self.paths(), self.source)
