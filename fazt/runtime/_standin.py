"""TEMPORARY stand-in for the "modules" helper's fazt.runtime.modules / modulesource / wrappers.

Delete this file when those are merged: fazt.runtime.loader imports them first and falls back to
this only while they are missing. Same signatures, far less: relative imports with extension and
index probing, and .json files. No node_modules, no package.json, no CommonJS.
"""

import json
import posixpath
import re


class ModuleNotFound(Exception):
    """The specifier names no file of the site."""

    def __init__(self, specifier, importer, reason=""):
        message = f"cannot find module '{specifier}' imported from {importer}"
        super().__init__(f"{message} ({reason})" if reason else message)


class InvalidModule(ValueError):
    """A file that cannot become a module (bad JSON)."""

    def __init__(self, message, line=None):
        super().__init__(message)
        self.line = line


def resolve(importer, specifier, paths, read_json, kind="import"):
    """Relative specifiers only, probing .js .mjs .json and /index.js."""
    if not specifier.startswith(("./", "../")):
        raise ModuleNotFound(specifier, importer, "only relative imports until the resolver is merged")
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(importer), specifier))
    if joined == ".." or joined.startswith("../"):
        raise ModuleNotFound(specifier, importer, "outside the site")
    for candidate in (joined, joined + ".js", joined + ".mjs", joined + ".json", joined + "/index.js"):
        if candidate in paths:
            return candidate
    raise ModuleNotFound(specifier, importer)


def module_source(path, paths, read_text):
    """ES module source of a site file (JSON wrapped), or None when absent."""
    source = read_text(path)
    if source is None or not path.endswith(".json"):
        return source
    try:
        json.loads(source)
    except json.JSONDecodeError as error:
        raise InvalidModule(f"invalid JSON: {error.msg}", error.lineno) from None
    return f"export default JSON.parse({json.dumps(source)});\n"


def module_format(path, paths, read_json, source=None):
    """No CommonJS in the stand-in."""
    return "json" if path.endswith(".json") else "esm"


def require_info(importer, specifier, paths, read_text):
    """No CommonJS in the stand-in."""
    return {"error": "require() is not available until the module resolver is merged"}


_IMPORT = re.compile(r"^import\s[^;]*?(['\"])[^'\"\n]+\1\s*;?|^import\s*(['\"])[^'\"\n]+\2\s*;?", re.MULTILINE)


def hoist_imports(source):
    """Static import declarations (at line starts) moved out; the body keeps its lines."""
    hoisted = []

    def blank(match):
        hoisted.append(match.group(0).replace("\n", " ").rstrip(";") + ";")
        return re.sub(r"[^\n]", " ", match.group(0))

    body = _IMPORT.sub(blank, source)
    return " ".join(hoisted), body
