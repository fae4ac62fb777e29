"""A bare dukpy interpreter that loads a site's modules the way the worker does (tests only).

QuickJS asks two dukpy hooks for each ``import``: ``_normalize_module(importer, specifier)`` and
``_loader.load(path)``, both answered by L{BundleModules} below (a module is always
compiled as an ES module: CommonJS and JSON arrive wrapped). ``require()`` inside CommonJS goes through
``fazt/runtime/js/cjs.js`` and the worker-local function "fazt.modules.require" (the same object).
Nothing else of the sandbox is here (no prelude, no Web APIs): these tests exercise resolution and
wrapping alone, against the same private dukpy 0.6 hooks that fazt/runtime/sandbox.py pins.
"""

import importlib.resources

import dukpy
from dukpy import _dukpy

from fazt.runtime import jstokens, modules, wrappers
from fazt.runtime.modulesource import module_source

CHECK_STOP = 'throw "fazt:check-stop";'  # check mode (BundleModules): thrown as the text fazt:check-stop

CJS_SOURCE = importlib.resources.files("fazt.runtime").joinpath("js/cjs.js").read_text(encoding="utf-8")


class ModuleInterpreter(dukpy.JSInterpreter):
    """QuickJS with module loading over C{paths}/C{read_text} and nothing else."""

    def __init__(self, paths, read_text, check=False):
        self.bundle = BundleModules(paths, read_text, check)
        self.paths, self.read_text = self.bundle.paths, read_text
        self.loaded, self.asked = [], []  # what QuickJS loaded / asked to resolve, in order
        self._loader = self
        self._ctx = _dukpy.create_context()
        self._funcs = {}
        self.export_function("fazt.modules.require", self.bundle.require)
        self._evaljs(CJS_SOURCE, True, "fazt:cjs", {})

    @property
    def errors(self):
        return [failure[-1] for failure in self.bundle.failures]

    def _normalize_module(self, importer, specifier):
        self.asked.append((importer, specifier))
        return self.bundle.normalize(importer, specifier)

    def load(self, path):
        self.loaded.append(path)
        return self.bundle.load(path)

    def run_module(self, source, name="api/entry.js"):
        """Evaluate C{source} as the ES module C{name} (its imports load through the hooks)."""
        return self._evaljs(source, True, name, {})

    def value(self, expression):
        return self.evaljs(expression)


class BundleModules:
    """One code bundle's modules as one interpreter loads them: the three hooks, ready to wire.

    C{read_text(path) -> str | None} is called at most once per path (the worker backs it with the
    ``module.source`` host call). Wired like the worker's own loader (fazt.runtime.loader.ModuleLoader, which gets its
    files over the pipe)::

        interpreter._normalize_module = lambda importer, spec: modules_.normalize(importer, spec)
        interpreter._loader.load = modules_.load            # -> (path, source, "module")
        interpreter.export_function("fazt.modules.require", modules_.require)   # for js/cjs.js

    dukpy reports a failed normalize only as "Failed to normalize module 'x'"; L{failures} keeps
    the real reasons (with the importing line: L{describe_failure}) for the error the user sees.

    With C{check=True} (deploy checks: compile everything, run nothing) every module, the entry
    included (L{entry_source}), starts with L{CHECK_STOP} on its line 1. QuickJS then parses and
    links the whole graph (syntax errors and missing exports surface with file and line) and the
    first module evaluated throws "fazt:check-stop" before any of its code runs. CommonJS files
    (whose code compiles only when run) are listed in L{commonjs}: pass each to
    ``__fazt_cjs.compile(path, source)``, which compiles without running.
    """

    def __init__(self, paths, read_text, check=False):
        self.paths = paths if isinstance(paths, frozenset) else frozenset(paths)
        self.check = check
        self._texts = {}
        self._read_text = read_text
        self.read_json = modules.json_reader(self.text)
        self.failures = []  # (file, specifier | None, line | None, message), oldest first
        self.commonjs = []  # (path, source) of each CommonJS file loaded

    def text(self, path):
        """The file's text (cached), or None."""
        if path not in self._texts:
            self._texts[path] = self._read_text(path) if path in self.paths else None
        return self._texts[path]

    def normalize(self, importer, specifier):
        """The resolved path; raises L{modules.ModuleNotFound} (and records it in L{failures})."""
        try:
            return modules.resolve(importer, specifier, self.paths, self.read_json)
        except modules.ModuleNotFound as error:
            self.failures.append((importer, specifier, None, str(error)))
            raise

    def load(self, path):
        """C{(path, ES module source, "module")} for dukpy's loader; the source is None when absent.

        Raises L{wrappers.InvalidModule} for invalid JSON (recorded in L{failures} too).
        """
        try:
            source = module_source(path, self.paths, self.text)
        except wrappers.InvalidModule as error:
            self.failures.append((path, None, error.line, f"{path}: {error}"))
            raise
        if source is not None and path != modules.EMPTY_MODULE and modules.module_format(
                path, self.paths, self.read_json, self.text(path)) == "cjs":
            self.commonjs.append((path, self.text(path)))
        return path, self.entry_source(source), "module"

    def entry_source(self, source):
        """C{source} as this loader hands modules to QuickJS (with L{CHECK_STOP} in check mode)."""
        if not self.check or source is None:
            return source
        if source.startswith("#!"):  # a hashbang is valid only at the very start: keep it a comment
            source = "//" + source[2:]
        return CHECK_STOP + source

    def require(self, from_path, specifier):
        """The worker-local "fazt.modules.require" function js/cjs.js calls (never raises)."""
        return modules.require_info(from_path, specifier, self.paths, self.text)

    def describe_failure(self):
        """C{(file, line, message)} of the latest failed resolution or load, or None.

        For an import that does not resolve: the importing file and the line of that import.
        """
        if not self.failures:
            return None
        file, specifier, line, message = self.failures[-1]
        if specifier is not None:
            declarations = jstokens.module_syntax(self.text(file) or "")[0]
            line = next((d.line for d in declarations if d.specifier == specifier), None)
        return file, line, message
