"""Module resolution inside one deployment: Node's rules, restricted to the site's own files.

Pure and synchronous: the caller passes the deployment's file list and a C{read_json(path)} that
returns a parsed package.json (or None when absent or invalid), so the worker can back it with its
cached sources. Paths are site-relative with no leading slash ("api/hello.js").

- Relative ("./", "../") and root-absolute ("/lib/x.js") specifiers: the file as named, then with
  ``.js .mjs .cjs .json`` appended, then as a folder (its package.json ``main``, then ``index.*``).
  Nothing resolves above the site root.
- Bare names ("zod", "hono/cors", "@scope/pkg/sub"): ``node_modules/NAME`` in the importer's folder and
  each parent up to the site root (Node's walk-up), or the importer's own package by its name
  (self-reference). A package with ``exports`` is resolved only through it (L{fazt.runtime.packages});
  one without: the subpath as a file/folder, and for the package root ``module``, then ``main``, then
  ``index.js``. ``#name`` goes through the nearest package.json ``imports``.
- ``import`` uses the conditions worker, browser, import, module, default; ``require()`` (CommonJS)
  uses worker, browser, require, default, and prefers ``main`` to ``module``. When no target exists for
  those, the other kind's conditions are a last resort (an ESM target for ``require()`` then fails with a
  clear message in the worker).
- ``node:`` modules and Node's built-in names (unless a package of that name is installed), URLs, and
  names that are not installed raise L{ModuleNotFound}, whose message names the specifier and importer.
"""

import functools
import json
import posixpath

from fazt.runtime import jstokens, packages

EXTENSIONS = (".js", ".mjs", ".cjs", ".json")
INDEXES = tuple("index" + ext for ext in EXTENSIONS)
IMPORT_CONDITIONS = frozenset({"worker", "browser", "import", "module", "default"})
REQUIRE_CONDITIONS = frozenset({"worker", "browser", "require", "default"})
NODE_BUILTINS = frozenset(
    "assert async_hooks buffer child_process cluster console constants crypto dgram diagnostics_channel dns "
    "domain events fs http http2 https inspector module net os path perf_hooks process punycode querystring "
    "readline repl stream string_decoder sys timers tls trace_events tty url util v8 vm wasi worker_threads "
    "zlib".split()
)


class ModuleNotFound(Exception):
    """A specifier that does not resolve inside the deployment; the message names it and the importer."""

    def __init__(self, specifier, importer, reason=""):
        self.specifier, self.importer = specifier, importer
        message = f"cannot find module '{specifier}' imported from {importer}"
        super().__init__(f"{message} ({reason})" if reason else message)


def resolve(importer, specifier, paths, read_json, kind="import"):
    """The site path C{specifier} names when imported from C{importer} (see the module docstring).

    C{kind} is "import" (ES modules) or "require" (CommonJS ``require()``): it picks the package
    conditions. Raises L{ModuleNotFound}.
    """
    paths = paths if isinstance(paths, (set, frozenset)) else frozenset(paths)
    resolver = _Resolver(importer, specifier, paths, read_json, kind)
    found = resolver.run()
    if found is None:
        raise ModuleNotFound(specifier, importer, resolver.reason)
    return found


def module_format(path, paths, read_json, source=None):
    """How to load C{path}: "esm", "cjs" or "json".

    By extension (.mjs, .cjs, .json); a .js file under a package.json with ``"type": "module"`` is
    ESM; otherwise one holding ``import``/``export`` statements is ESM too (leniency for packages whose
    "module" build lacks a "type"); otherwise CommonJS, when the source was given or the file is in
    node_modules, and ESM for the site's own code read without its source.
    """
    extension = posixpath.splitext(path)[1]
    if extension in (".mjs", ".cjs", ".json"):
        return {".mjs": "esm", ".cjs": "cjs", ".json": "json"}[extension]
    package_type = _package_scope(path, paths, read_json)[1].get("type")
    if package_type == "module":
        return "esm"
    if source is not None:
        return "esm" if uses_module_syntax(source) else "cjs"
    if package_type == "commonjs" or "node_modules" in path.split("/"):
        return "cjs"
    return "esm"


def uses_module_syntax(source):
    """Whether C{source} holds a top-level ``import``/``export`` (so it cannot be CommonJS)."""
    return ("import" in source or "export" in source) and jstokens.module_syntax(source)[1]


def require_info(importer, specifier, paths, read_text):
    """What the JS ``require()`` hook (js/cjs.js) needs, as JSON: never raises.

    ``{"path", "format", "source"}`` for the resolved file, or ``{"error": message}``.
    """
    read_json = json_reader(read_text)
    try:
        path = resolve(importer, specifier, paths, read_json, kind="require")
    except ModuleNotFound as error:
        return {"error": str(error)}
    source = read_text(path)
    if source is None:
        return {"error": f"cannot read module '{path}'"}
    return {"path": path, "format": module_format(path, paths, read_json, source), "source": source}


def json_reader(read_text):
    """A C{read_json} for L{resolve} built on C{read_text(path) -> str | None}: None when absent or invalid.

    Parsed values are shared between calls (a package.json is read for every import of its
    package): treat them as read-only.
    """
    def read_json(path):
        text = read_text(path)
        return None if text is None else _parsed(text)
    return read_json


@functools.lru_cache(maxsize=512)
def _parsed(text):
    try:
        return json.loads(text)
    except ValueError:
        return None


def _package_scope(path, paths, read_json):
    """(folder, parsed package.json) of the nearest package.json above C{path}, or ("", {})."""
    folder = posixpath.dirname(path)
    while True:
        candidate = posixpath.join(folder, "package.json")
        if candidate in paths:
            data = read_json(candidate)
            if isinstance(data, dict):
                return folder, data
        if not folder:
            return "", {}
        folder = posixpath.dirname(folder)


class _Resolver:
    """One resolution; C{reason} explains a failure for the error message."""

    def __init__(self, importer, specifier, paths, read_json, kind):
        self.importer, self.specifier, self.paths, self.read_json = importer, specifier, paths, read_json
        self.conditions = REQUIRE_CONDITIONS if kind == "require" else IMPORT_CONDITIONS
        self.fallback = IMPORT_CONDITIONS if kind == "require" else REQUIRE_CONDITIONS
        self.kind = kind
        self.reason = ""

    def run(self):
        spec = self.specifier
        if not spec:
            self.reason = "empty specifier"
            return None
        if spec.startswith(("./", "../", "/")) or spec in (".", ".."):
            base = "" if spec.startswith("/") else posixpath.dirname(self.importer)
            joined = posixpath.normpath(posixpath.join("/", base, spec.lstrip("/") or "."))
            if spec.startswith("/") or not _escapes(base, spec):
                return self.file_or_folder(joined.lstrip("/"))
            self.reason = "it points outside the site"
            return None
        if spec.startswith("#"):
            return self.package_imports()
        if spec.startswith("node:"):
            self.reason = "Node.js built-in modules are not available in fazt"
            return None
        if ":" in spec.split("/")[0]:
            self.reason = "only the site's own files and its node_modules can be imported"
            return None
        return self.bare(spec)

    def file_or_folder(self, path):
        if path in ("", "."):
            path = ""
        for candidate in (path, *(path + ext for ext in EXTENSIONS)) if path else ():
            if candidate in self.paths:
                return candidate
        return self.folder(path)

    def folder(self, folder, main_fields=("main",)):
        data = self.read_json(posixpath.join(folder, "package.json")) if posixpath.join(
            folder, "package.json") in self.paths else None
        if isinstance(data, dict):
            for field in main_fields:
                main = data.get(field)
                if isinstance(main, str) and main and main not in (".", "./"):
                    found = self.file_or_folder(packages.join(folder, main))
                    if found is not None:
                        return found
        for index in INDEXES:
            candidate = posixpath.join(folder, index)
            if candidate in self.paths:
                return candidate
        self.reason = self.reason or "no such file"
        return None

    def bare(self, spec):
        parts = spec.split("/")
        count = 2 if spec.startswith("@") else 1
        name, subpath = "/".join(parts[:count]), "/".join(parts[count:])
        if len(parts) < count or not all(parts[:count]) or name.startswith((".", "_")):
            self.reason = "not a valid package name"
            return None
        scope_folder, scope = _package_scope(self.importer, self.paths, self.read_json)
        if scope.get("name") == name and "exports" in scope:
            return self.package(scope_folder, scope, subpath)
        folder = posixpath.dirname(self.importer)
        while True:
            if posixpath.basename(folder) != "node_modules":
                package_folder = posixpath.join(folder, "node_modules", name)
                manifest = posixpath.join(package_folder, "package.json")
                if manifest in self.paths:
                    data = self.read_json(manifest)
                    return self.package(package_folder, data if isinstance(data, dict) else {}, subpath)
                # No package.json (hand-made folders): Node probes the path as a file or folder.
                found = self.file_or_folder(posixpath.join(package_folder, subpath) if subpath else package_folder)
                if found is not None:
                    return found
            if not folder:
                break
            folder = posixpath.dirname(folder)
        self.reason = ("a Node.js built-in module, not available in fazt" if name in NODE_BUILTINS
                       else "no package of that name in node_modules/")
        return None

    def package(self, folder, data, subpath):
        if "exports" in data and data["exports"] is not None:
            key = "./" + subpath if subpath else "."
            try:
                target = self.with_fallback(packages.exports_target, data["exports"], key, folder)
            except packages.PackageError as error:
                self.reason = f"package '{data.get('name', folder)}': {error}"
                return None
            path = packages.join(folder, target)
            if path in self.paths:
                return path
            self.reason = f"package '{data.get('name', folder)}' exports '{key}' as '{target}', which is missing"
            return None
        if subpath:
            return self.file_or_folder(posixpath.join(folder, subpath))
        fields = ("main", "module") if self.kind == "require" else ("module", "main")
        return self.folder(folder, fields)

    def with_fallback(self, lookup, value, key, folder):
        def exists(target):
            return not target.startswith("./") or packages.join(folder, target) in self.paths
        try:
            return lookup(value, key, self.conditions, exists)
        except packages.PackageError:
            try:
                return lookup(value, key, self.fallback, exists)
            except packages.PackageError:
                pass
            raise

    def package_imports(self):
        folder, data = _package_scope(self.importer, self.paths, self.read_json)
        try:
            target = self.with_fallback(packages.imports_target, data.get("imports"), self.specifier, folder)
        except packages.PackageError as error:
            self.reason = f"the nearest package.json: {error}"
            return None
        if target.startswith("./"):
            path = packages.join(folder, target)
            if path in self.paths:
                return path
            self.reason = f"'{self.specifier}' maps to '{target}', which is missing"
            return None
        inner = _Resolver(posixpath.join(folder, "package.json"), target, self.paths, self.read_json, self.kind)
        found = inner.bare(target)
        self.reason = inner.reason
        return found


def _escapes(base, spec):
    """Whether C{spec} relative to the folder C{base} climbs above the site root."""
    depth = len([part for part in base.split("/") if part])
    for part in spec.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False
