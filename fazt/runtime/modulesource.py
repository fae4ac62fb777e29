"""The ES module text QuickJS compiles for one site file: the worker's module loader in pure form.

The worker's ``load(path)`` hook returns ``module_source(path, paths, read_text)`` (always as an ES
module) and its normalize hook returns L{fazt.runtime.modules.resolve}. ES modules pass through;
CommonJS and JSON files are wrapped (L{fazt.runtime.wrappers}); a CommonJS file that re-exports
another (``module.exports = require("./impl")``, TypeScript's ``__exportStar``) gets that file's
named exports too, followed a few levels deep, as Node does.
"""

from fazt.runtime import jstokens, modules, wrappers

REEXPORT_DEPTH = 8
CHECK_STOP = 'throw "fazt:check-stop";'  # see BundleModules (check mode); thrown as the text fazt:check-stop


def module_source(path, paths, read_text):
    """ES module source for the site file C{path}, or None when the file is absent.

    Raises L{wrappers.InvalidModule} for a .json file that is not valid JSON.
    """
    if path == modules.EMPTY_MODULE:
        return "export default {};\n"
    source = read_text(path)
    if source is None:
        return None
    read_json = modules.json_reader(read_text)
    kind = modules.module_format(path, paths, read_json, source)
    if kind == "json":
        return wrappers.esm_from_json(source)
    if kind == "cjs":
        return wrappers.esm_from_commonjs(path, source, commonjs_names(path, source, paths, read_text))
    return wrappers.strip_import_attributes(source)


def commonjs_names(path, source, paths, read_text):
    """Named exports of a CommonJS file, its re-exports' names included (cycles and depth bounded)."""
    read_json = modules.json_reader(read_text)
    names, seen, pending = [], {path}, [(path, source, 0)]
    while pending:
        current, text, depth = pending.pop()
        found, reexports = wrappers.commonjs_export_names(text)
        names.extend(found)
        if depth >= REEXPORT_DEPTH:
            continue
        for specifier in reexports:
            try:
                target = modules.resolve(current, specifier, paths, read_json, kind="require")
            except modules.ModuleNotFound:
                continue  # require() reports it when the file runs
            target_text = read_text(target) if target not in seen else None
            if target_text is not None and modules.module_format(target, paths, read_json, target_text) == "cjs":
                seen.add(target)
                pending.append((target, target_text, depth + 1))
    return list(dict.fromkeys(names))


def unresolved_import(path, source, paths, read_text):
    """The first static ``import``/``export ... from`` of C{source} (the file C{path}) that does not
    resolve, as C{(line, message)}, or None: what a deploy check reports as ``details.line``.

    (dukpy's module hook only says "Failed to normalize module"; this names the line and the reason.)
    """
    read_json = modules.json_reader(read_text)
    for declaration in jstokens.module_syntax(source)[0]:
        try:
            modules.resolve(path, declaration.specifier, paths, read_json)
        except modules.ModuleNotFound as error:
            return declaration.line, str(error)
    return None


class BundleModules:
    """One code bundle's modules as one interpreter loads them: the three hooks, ready to wire.

    C{read_text(path) -> str | None} is called at most once per path (the worker backs it with the
    ``module.source`` host call). The worker wires::

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
