"""The ES module text QuickJS compiles for one site file: the worker's module loader in pure form.

The worker's ``load(path)`` hook returns ``module_source(path, paths, read_text)`` (always as an ES
module) and its normalize hook returns L{fazt.runtime.modules.resolve}. ES modules pass through;
CommonJS and JSON files are wrapped (L{fazt.runtime.wrappers}); a CommonJS file that re-exports
another (``module.exports = require("./impl")``, TypeScript's ``__exportStar``) gets that file's
named exports too, followed a few levels deep, as Node does.
"""

from fazt.runtime import jstokens, modules, wrappers

REEXPORT_DEPTH = 8


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
