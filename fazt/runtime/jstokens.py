"""A small JavaScript tokenizer, enough to find module syntax without a parser.

It knows comments, strings, template literals (with nested ``${...}`` code), regular expression
literals (told from division by the previous token, the usual heuristic) and punctuators, so that
the word ``import`` inside a string, a comment or a regex is never taken for a statement.
L{fazt.runtime.wrappers} and L{fazt.runtime.modules} build their scans on it: static import
declarations, "does this file use ES module syntax", the names a CommonJS file assigns to
``exports``. It never executes or fully parses code; on malformed input it yields what it can and
QuickJS reports the real syntax error later.
"""

import re
from typing import NamedTuple

_SPACE = re.compile(r"(?:\s+|//[^\n\r\u2028\u2029]*|/\*[\s\S]*?(?:\*/|\Z))+")
_NAME = re.compile(r"[A-Za-z_$\u0080-\U0010ffff\\][\w$\u0080-\U0010ffff\\]*")
_NUMBER = re.compile(r"\.?\d(?:[\w.]|[eE][+-])*")
_STRING = re.compile(r""""(?:[^"\\\n\r]|\\[\s\S])*"?|'(?:[^'\\\n\r]|\\[\s\S])*'?""")
_REGEX = re.compile(r"/(?:[^/\\\[\n\r]|\\.|\[(?:[^\]\\\n\r]|\\.)*\]?)*/?[\w$]*")
_TEMPLATE_PART = re.compile(r"(?:[^`\\$]|\\[\s\S]|\$(?!\{))*(`|\$\{|\Z)")
_PUNCT3 = ("...", "===", "!==", "**=", "<<=", ">>=", ">>>", "&&=", "||=", "??=")
_PUNCT2 = frozenset("=> == != <= >= && || ?? ?. ++ -- += -= *= /= %= &= |= ^= ** << >>".split())
# After these words an expression starts, so a "/" opens a regular expression.
_BEFORE_EXPRESSION = frozenset(
    "return typeof instanceof in of new delete void throw case do else yield await".split()
)


class Token(NamedTuple):
    """One token: kind is "name", "number", "string", "template", "regex" or "punct"."""

    kind: str
    text: str
    start: int
    end: int


def _regex_allowed(previous):
    if previous is None:
        return True
    if previous.kind == "punct":
        return previous.text not in (")", "]")
    if previous.kind == "name":
        return previous.text in _BEFORE_EXPRESSION
    return False


def tokens(source):
    """Yield the L{Token}s of C{source}, comments and white space left out."""
    pos, size, previous = 0, len(source), None
    braces = []  # "{" for a code brace, "`" for the code of a template's ${...}
    while True:
        space = _SPACE.match(source, pos)
        if space:
            pos = space.end()
        if pos >= size:
            return
        char = source[pos]
        if char == "`" or (char == "}" and braces and braces[-1] == "`"):
            if char == "}":
                braces.pop()
            part = _TEMPLATE_PART.match(source, pos + 1)
            if part.group(1) == "${":
                braces.append("`")
            token = Token("template", source[pos:part.end()], pos, part.end())
        elif char in "\"'":
            token = Token("string", _STRING.match(source, pos).group(), pos, _STRING.match(source, pos).end())
        elif char == "/" and _regex_allowed(previous):
            match = _REGEX.match(source, pos)
            token = Token("regex", match.group(), pos, match.end())
        elif char.isdigit() or (char == "." and source[pos + 1:pos + 2].isdigit()):
            match = _NUMBER.match(source, pos)
            token = Token("number", match.group(), pos, match.end())
        else:
            match = _NAME.match(source, pos)
            if match:
                token = Token("name", match.group(), pos, match.end())
            else:
                text = _punctuator(source, pos)
                if text == "{":
                    braces.append("{")
                elif text == "}" and braces:
                    braces.pop()
                token = Token("punct", text, pos, pos + len(text))
        yield token
        previous, pos = token, token.end


def _punctuator(source, pos):
    if source.startswith(_PUNCT3, pos):
        return source[pos:pos + 4] if source.startswith(">>>=", pos) else source[pos:pos + 3]
    if source[pos:pos + 2] in _PUNCT2:
        return source[pos:pos + 2]
    return source[pos]


def string_value(token):
    """The value of a string literal token (common escapes decoded; specifiers rarely hold others)."""
    body = token.text[1:-1] if len(token.text) > 1 and token.text[-1] == token.text[0] else token.text[1:]
    if "\\" not in body:
        return body
    return re.sub(r"\\(u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|[\s\S])", _unescape, body)


_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0", "\n": ""}


def _unescape(match):
    text = match.group(1)
    if text[0] in "ux" and len(text) > 1:
        return chr(int(text.strip("ux{}"), 16))
    return _SIMPLE_ESCAPES.get(text, text)


def line_of(source, offset):
    """1-based line number of C{offset} in C{source}."""
    return source.count("\n", 0, offset) + 1


class Declaration(NamedTuple):
    """A top-level ``import ...`` or ``export ... from`` statement with its specifier."""

    kind: str       # "import" or "export"
    specifier: str
    start: int      # offsets of the whole statement in the source (its ";" included)
    end: int
    line: int       # of the specifier
    text: str       # the statement on one line, comments and import attributes dropped, ending with ";"
    attributes: tuple | None  # (start, end) of a ``with {...}`` / ``assert {...}`` clause


_OPENERS, _CLOSERS = frozenset("({["), frozenset(")}]")
_CLAUSE_STOP = frozenset(";()=")


def module_syntax(source):
    """Scan C{source} once: C{(declarations, uses_module_syntax)}.

    C{declarations} lists the top-level static ``import`` declarations (default, named, namespace,
    side-effect, with ``with``/``assert`` attributes) and ``export ... from`` re-exports, in order;
    dynamic ``import()`` is not one. C{uses_module_syntax} is true when any top-level ``import``
    (``import.meta`` included) or ``export`` appears: CommonJS code can hold neither.
    """
    toks = list(tokens(source))
    found, module, depth, index = [], False, 0, 0
    while index < len(toks):
        token = toks[index]
        if token.kind == "punct":
            if token.text in _OPENERS:
                depth += 1
            elif token.text in _CLOSERS:
                depth = max(depth - 1, 0)
        elif (depth == 0 and token.kind == "name" and token.text in ("import", "export")
                and not (index and toks[index - 1].text in (".", "?."))):
            following = toks[index + 1] if index + 1 < len(toks) else None
            if token.text == "export" or (following is not None and following.text != "("):
                module = True
            ends = _declaration_end(toks, index)
            if ends is not None:
                found.append(_declaration(source, toks, index, *ends))
                index = ends[0] + 1
                continue
        index += 1
    return found, module


def _declaration_end(toks, first):
    """C{(last, specifier)} token indexes of the import/export-from statement at C{first}, or None."""
    size, keyword = len(toks), toks[first].text
    index = first + 1
    if index >= size:
        return None
    if keyword == "import" and toks[index].kind == "string":
        return _after_specifier(toks, index)
    if keyword == "import" and toks[index].text in (".", "(", "?."):
        return None
    if keyword == "export" and toks[index].text not in ("*", "{"):
        return None
    depth = 0
    while index < size:
        token = toks[index]
        if token.kind == "punct":
            if token.text == "{":
                depth += 1
            elif token.text == "}":
                depth -= 1
            elif depth == 0 and token.text in _CLAUSE_STOP:
                return None
        elif (depth == 0 and token.kind == "name" and token.text == "from"
                and index + 1 < size and toks[index + 1].kind == "string"):
            return _after_specifier(toks, index + 1)
        elif token.kind != "name" and token.kind != "string":
            return None
        index += 1
    return None


def _after_specifier(toks, specifier):
    size, index = len(toks), specifier
    if (index + 2 < size and toks[index + 1].text in ("with", "assert") and toks[index + 2].text == "{"):
        index += 2
        while index < size and toks[index].text != "}":
            index += 1
    if index + 1 < size and toks[index + 1].text == ";":
        index += 1
    return min(index, size - 1), specifier


def _declaration(source, toks, first, last, specifier):
    attributes, kept = None, toks[first:specifier + 1]
    if specifier + 1 <= last and toks[specifier + 1].text in ("with", "assert"):
        closing = next((i for i in range(specifier + 1, last + 1) if toks[i].text == "}"), last)
        attributes = (toks[specifier + 1].start, toks[closing].end)
    text = " ".join(t.text for t in kept) + ";"
    return Declaration(toks[first].text, string_value(toks[specifier]), toks[first].start, toks[last].end,
                       line_of(source, toks[specifier].start), text, attributes)
