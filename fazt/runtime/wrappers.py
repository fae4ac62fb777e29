"""Source transforms the worker applies before QuickJS sees a file (pure text work).

- L{esm_from_json}: a ``.json`` file as an ES module whose default export is its value.
- L{esm_from_commonjs}: a CommonJS file as an ES module. Its code runs through the JS half in
  ``fazt/runtime/js/cjs.js`` (``globalThis.__fazt_cjs.load``), which compiles it as a sloppy-mode
  function ``(exports, require, module, __filename, __dirname)`` with ``this === module.exports``, runs
  it once per interpreter (a file also reached by ``require()`` is the same instance), and gives back
  ``module.exports``: the module's default export. Named exports are found STATICALLY, as Node's
  cjs-module-lexer does (L{commonjs_export_names}): ``exports.a =``, ``module.exports.a =``,
  ``exports["a"] =``, ``Object.defineProperty(exports, "a"``, and the keys of a ``module.exports =
  {a, b: ...}`` literal; each is exported with the value ``module.exports[name]`` had once the file
  ran. A static scan (not "evaluate, then look at the keys") keeps the deploy-time check from running
  any of the site's code, and lets the wrapper be made in one step. ``import x from`` a CJS file always
  gives ``module.exports`` (Node's rule), also when it sets ``__esModule``.
- L{hoist_imports}: for a root ``main.js`` run in a per-request wrapper, the static import
  declarations moved out (see L{fazt.runtime.scripts}).
"""

import json
import re

from fazt.runtime import jstokens

class InvalidModule(ValueError):
    """A file that cannot become a module (bad JSON); C{line} is 1-based or None."""

    def __init__(self, message, line=None):
        super().__init__(message)
        self.line = line


def _no_constants(name):
    raise ValueError(f"{name} is not valid JSON")


def esm_from_json(text):
    """ES module source whose default export is the JSON value of C{text}.

    The text is checked here (strict JSON: no NaN/Infinity) and raises L{InvalidModule} with the
    line; the module parses it with ``JSON.parse`` so it can never run as code, and a
    ``"__proto__"`` key stays an ordinary property.
    """
    try:
        json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError as error:
        raise InvalidModule(f"invalid JSON: {error.msg}", error.lineno) from None
    except ValueError as error:
        raise InvalidModule(f"invalid JSON: {error}") from None
    return f"export default JSON.parse({json.dumps(text, ensure_ascii=False)});\n"


def esm_from_commonjs(path, source, names=None):
    """ES module source that runs CommonJS C{source} (the site file C{path}) and exports it.

    C{names}: the named exports; by default L{commonjs_export_names} of C{source} (a caller that
    follows ``module.exports = require(...)`` re-exports may pass the union). Needs
    ``fazt/runtime/js/cjs.js`` evaluated in the interpreter first.
    """
    if names is None:
        names = commonjs_export_names(source)[0]
    lines = [
        f"const __fazt_cjs_exports = globalThis.__fazt_cjs.load({json.dumps(path)}, "
        f"{json.dumps(source, ensure_ascii=False)});",
        "export default __fazt_cjs_exports;",
    ]
    exported = [name for name in dict.fromkeys(names) if name != "default"]
    if exported:
        lines.append("const __fazt_cjs_object = Object(__fazt_cjs_exports);")
        for index, name in enumerate(exported):
            lines.append(f"const __fazt_cjs_{index} = __fazt_cjs_object[{json.dumps(name)}];")
        # ES2022 string export names: "kebab-name" and reserved words (class, delete) export too.
        pairs = ", ".join(f"__fazt_cjs_{index} as {json.dumps(name, ensure_ascii=False)}"
                          for index, name in enumerate(exported))
        lines.append(f"export {{ {pairs} }};")
    return "\n".join(lines) + "\n"


def commonjs_export_names(source):
    """Statically detected CommonJS exports: C{(names, reexports)}.

    C{reexports} are the specifiers of ``module.exports = require("x")`` and TypeScript's
    ``__exportStar(require("x"), exports)`` / ``__export(require("x"))``, whose names are those of "x".
    """
    if "exports" not in source and "__export" not in source:
        return [], []
    toks = list(jstokens.tokens(source))
    names, reexports = [], []
    for index, token in enumerate(toks):
        if token.kind != "name":
            continue
        after = toks[index + 1:index + 8]
        texts = [t.text for t in after]
        before = toks[index - 1].text if index else ""
        if token.text == "exports" and before not in (".", "?.") or (
                token.text == "module" and texts[:2] == [".", "exports"] and before not in (".", "?.")):
            if token.text == "module":
                after, texts = after[2:], texts[2:]
            _exports_use(after, texts, toks, index, names, reexports)
        elif token.text == "defineProperty" and before == "." and texts[:1] == ["("]:
            target = [t.text for t in after[1:4]]
            offset = 2 if target[:1] == ["exports"] else 4 if target == ["module", ".", "exports"] else 0
            if offset and len(after) > offset + 1 and after[offset].text == "," and after[offset + 1].kind == "string":
                names.append(jstokens.string_value(after[offset + 1]))
        elif token.text in ("__exportStar", "__export") and texts[:2] == ["(", "require"]:
            if len(after) > 3 and after[2].text == "(" and after[3].kind == "string":
                reexports.append(jstokens.string_value(after[3]))
    return [name for name in dict.fromkeys(names) if name not in ("default", "__esModule")], reexports


def _exports_use(after, texts, toks, index, names, reexports):
    """Record what ``exports...`` / ``module.exports...`` at C{after} assigns, if anything."""
    if texts[:1] == ["."] and len(after) > 2 and after[1].kind == "name" and texts[2] == "=":
        names.append(after[1].text)
    elif texts[:1] == ["["] and len(after) > 3 and after[1].kind == "string" and texts[2:4] == ["]", "="]:
        names.append(jstokens.string_value(after[1]))
    elif texts[:1] == ["="] and len(after) > 1:
        if texts[1:3] == ["require", "("] and len(after) > 3 and after[3].kind == "string":
            reexports.append(jstokens.string_value(after[3]))
        elif texts[1] == "{":
            start = next(i for i in range(index, len(toks)) if toks[i] is after[1])
            names.extend(_literal_keys(toks, start))


def _literal_keys(toks, start):
    """Keys of the object literal whose "{" is C{toks[start]} (shorthand, ``key:``, ``"key":``, methods)."""
    keys, depth, index, expect_key = [], 0, start, True
    while index < len(toks):
        token = toks[index]
        if token.text in ("{", "(", "["):
            depth += 1
        elif token.text in ("}", ")", "]"):
            depth -= 1
            if depth == 0:
                break
        elif depth == 1 and token.text == ",":
            expect_key = True
        elif depth == 1 and expect_key and token.kind in ("name", "string"):
            following = toks[index + 1].text if index + 1 < len(toks) else ""
            if following in (":", ",", "}", "("):
                keys.append(token.text if token.kind == "name" else jstokens.string_value(token))
            expect_key = False
        elif depth == 1:
            expect_key = False
        index += 1
    return keys


_ATTRIBUTES_HINT = re.compile(r"\b(?:with|assert)\s*\{")


def strip_import_attributes(source):
    """C{source} with the ``with {type: "json"}`` / ``assert {...}`` clauses of its static imports
    and re-exports blanked (line breaks kept): dukpy's QuickJS does not parse import attributes, and
    the loader decides a file's format from the file itself anyway.
    """
    if not _ATTRIBUTES_HINT.search(source):
        return source
    spans = [d.attributes for d in jstokens.module_syntax(source)[0] if d.attributes]
    return _blank(source, spans)


def _blank(source, spans):
    """C{source} with each (start, end) span replaced by spaces, its line breaks kept."""
    pieces, position = [], 0
    for start, end in spans:
        pieces.append(source[position:start])
        pieces.append(re.sub(r"[^\r\n\u2028\u2029]", " ", source[start:end]))
        position = end
    pieces.append(source[position:])
    return "".join(pieces)


def hoist_imports(source):
    """Split a root ``main.js`` into C{(hoisted, body)}.

    C{hoisted}: its static import declarations on ONE line (comments dropped, each ending in ";"),
    to go on the wrapper's first line. C{body}: C{source} with each of them replaced by spaces, its
    line breaks kept, so every other statement keeps its line and column. ``import()``, ``import.meta``
    and "import" inside strings, comments, regexes and templates are left alone. Import attributes
    (``with {type: "json"}``) are dropped (see L{strip_import_attributes}).
    """
    declarations = [d for d in jstokens.module_syntax(source)[0] if d.kind == "import"] if "import" in source else []
    if not declarations:
        return "", source
    body = _blank(source, [(d.start, d.end) for d in declarations])
    return " ".join(d.text for d in declarations), body
