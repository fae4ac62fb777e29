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
  one without: the subpath as a file/folder, and for the package root ``module``, then a ``browser``
  string, then ``main``, then ``index.js``. ``#name`` goes through the nearest package.json ``imports``.
- A package's ``browser`` object map (the bundlers' replacements, e.g. ``{"./node.js": "./web.js",
  "util": false}``) is applied to the files and names it lists; ``false`` gives L{EMPTY_MODULE}.
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

from fazt.runtime import jstokens
from fazt.runtime.resolver import (  # noqa: F401  (the public names of module resolution)
    EMPTY_MODULE, EXTENSIONS, IMPORT_CONDITIONS, NODE_BUILTINS, REQUIRE_CONDITIONS, Resolver, package_scope)


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
    resolver = Resolver(importer, specifier, paths, read_json, kind)
    found = resolver.run()
    if found is not None and found != EMPTY_MODULE:
        found = resolver.browser_file(found)
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
    package_type = package_scope(path, paths, read_json)[1].get("type")
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
    source = "{}" if path == EMPTY_MODULE else read_text(path)
    if source is None:
        return {"error": f"cannot read module '{path}'"}
    if path == EMPTY_MODULE:
        return {"path": path, "format": "json", "source": source}
    return {"path": path, "format": module_format(path, paths, read_json, source), "source": source}


def required_specifiers(source):
    """The string literals CommonJS C{source} passes to ``require("...")`` (or ``module.require``), in order.

    What the deploy check can follow (L{fazt.runtime.checks}); a ``require(expr)`` is left out: only
    running the code tells what it names. A method called ``require`` on anything else is not Node's.
    """
    toks = [token for token in jstokens.tokens(source)] if "require" in source else []
    found = []
    for index, token in enumerate(toks[:-3]):
        if token.kind != "name" or token.text != "require" or toks[index + 1].text != "(":
            continue
        if toks[index + 2].kind != "string" or toks[index + 3].text != ")":
            continue
        if index and toks[index - 1].text == "." and (index < 2 or toks[index - 2].text != "module"):
            continue
        found.append(jstokens.string_value(toks[index + 2]))
    return found


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
