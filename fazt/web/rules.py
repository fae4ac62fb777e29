"""Netlify-format ``_redirects`` and ``_headers`` rules for user sites.

Pure and synchronous: parsing takes the file's text, matching takes a decoded
URL path, and nothing here touches the disk or Twisted.  Parsers are lenient
the way Netlify is: a line they do not understand is skipped, never raised on,
so a typo in one rule cannot take a whole site down.

Deliberately unsupported: query-parameter matches and ``Country=``/
``Language=``/``Role=``/``Cookie=`` conditions (rules using them are dropped)
and domain-level sources (full URLs).  Whether a non-forced rule is shadowed by
an existing file, and what to do with a 200 to an external URL (a proxy on
Netlify), is for the caller to decide.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Sequence

MAX_RULES = 1000
MAX_LINE_LENGTH = 2000
DEFAULT_STATUS = 301
# 200 is a rewrite, 3xx are redirects, 4xx are rewrites that keep the error status.
ALLOWED_STATUSES = frozenset({200, 301, 302, 303, 307, 308, 403, 404, 410, 451})

_STATUS_TOKEN = re.compile(r"^(\d{3})(!?)$")
_PLACEHOLDER_SEGMENT = re.compile(r"^:([A-Za-z_][A-Za-z0-9_]*)$")
_PLACEHOLDER_IN_TARGET = re.compile(r":([A-Za-z_][A-Za-z0-9_]*)")
# RFC 9110 token characters: anything else in a header name is malformed.
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
# Control characters (bar tab) would let a rule smuggle extra header lines.
_UNSAFE_HEADER_CHARS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class RedirectRule:
    """One ``_redirects`` line: ``source target [status[!]]``."""

    source: str
    target: str
    status: int
    force: bool


@dataclass(frozen=True)
class RedirectMatch:
    """The outcome of matching a path: the substituted target and how to use it."""

    target: str
    status: int
    force: bool


@dataclass(frozen=True)
class HeaderRule:
    """One ``_headers`` block: a path pattern and the headers it sets."""

    pattern: str
    headers: tuple[tuple[str, str], ...]


def is_external(target: str) -> bool:
    """True when ``target`` is an absolute http(s) URL rather than a site path."""
    lowered = target.lower()
    return lowered.startswith("http://") or lowered.startswith("https://")


def _usable_lines(text: str) -> list[str]:
    # Split on LF only, so a stray CR stays inside its line where the header
    # checks can see it; overlong lines are skipped rather than truncated.
    lines = (line.rstrip("\r") for line in text.split("\n"))
    return [line for line in lines if len(line) <= MAX_LINE_LENGTH]


def _parse_redirect_line(line: str) -> RedirectRule | None:
    tokens = line.split()
    # Netlify allows trailing comments; no source or target starts with '#'.
    for index, token in enumerate(tokens):
        if token.startswith("#"):
            tokens = tokens[:index]
            break
    if len(tokens) < 2 or not tokens[0].startswith("/"):
        return None
    source, rest = tokens[0], tokens[1:]
    target = rest[0]
    # A leading '//' would be a protocol-relative URL to another host.
    if not (is_external(target) or (target.startswith("/") and not target.startswith("//"))):
        return None  # also catches 'key=value' query matches before the target
    status, force = DEFAULT_STATUS, False
    options = rest[1:]
    if options:
        status_match = _STATUS_TOKEN.match(options[0])
        if status_match:
            status, force = int(status_match.group(1)), bool(status_match.group(2))
            options = options[1:]
    if options or status not in ALLOWED_STATUSES:
        return None  # conditions (Country=..., Role=...) or junk after the status
    return RedirectRule(source=source, target=target, status=status, force=force)


def parse_redirects(text: str) -> list[RedirectRule]:
    """Parse a ``_redirects`` file into rules, in file order.

    Lines are ``FROM TO [STATUS[!]]``; the status defaults to 301 and a
    trailing ``!`` sets ``force``.  Comments, blank lines, malformed lines and
    rules carrying query or Country/Language/Role conditions are skipped.
    Parsing stops after ``MAX_RULES`` rules.  Never raises.
    """
    rules: list[RedirectRule] = []
    for line in _usable_lines(text):
        if len(rules) >= MAX_RULES:
            break
        rule = _parse_redirect_line(line)
        if rule is not None:
            rules.append(rule)
    return rules


@functools.lru_cache(maxsize=4096)
def _compile_pattern(pattern: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    """Turn a source pattern into a regex plus the names of its capture groups.

    Groups are positional (not named) because placeholder names may repeat or
    clash with Python identifiers; the later binding wins on substitution.
    """
    body, has_splat = (pattern[:-1], True) if pattern.endswith("*") else (pattern, False)
    # A splat after '/' also matches the bare directory: '/blog/*' matches '/blog'.
    splat_after_slash = has_splat and body.endswith("/")
    if splat_after_slash or body != "/":
        body = body.rstrip("/")
    parts: list[str] = []
    names: list[str] = []
    for index, segment in enumerate(body.split("/")):
        if index:
            parts.append("/")
        placeholder = _PLACEHOLDER_SEGMENT.match(segment)
        if placeholder:
            parts.append("([^/]+)")
            names.append(placeholder.group(1))
        else:
            parts.append(re.escape(segment))
    if splat_after_slash:
        parts.append("(?:/(.*))?")
        names.append("splat")
    elif has_splat:
        parts.append("(.*)")
        names.append("splat")
    return re.compile("".join(parts), re.DOTALL), tuple(names)


def _match_pattern(pattern: str, path: str) -> dict[str, str] | None:
    """Bindings when ``pattern`` matches ``path`` (trailing slashes ignored), else None."""
    if not path.startswith("/") or not pattern.startswith("/"):
        return None
    normalised = path.rstrip("/") or "/"
    regex, names = _compile_pattern(pattern)
    found = regex.fullmatch(normalised)
    if found is None:
        return None
    return {name: value or "" for name, value in zip(names, found.groups())}


def _substitute(target: str, bindings: dict[str, str]) -> str:
    def replace(placeholder: re.Match[str]) -> str:
        # Unbound ':names' (and things like ports in URLs) stay as written.
        return bindings.get(placeholder.group(1), placeholder.group(0))

    result = _PLACEHOLDER_IN_TARGET.sub(replace, target)
    if not is_external(target):
        # A splat like '/evil.com' must not turn '/:splat' into '//evil.com'.
        result = "/" + result.lstrip("/\\")
    # The target may land in a Location header: keep request bytes out of it.
    return _CONTROL_CHARS.sub(lambda char: "%%%02X" % ord(char.group(0)), result)


def match_redirect(rules: Sequence[RedirectRule], path: str) -> RedirectMatch | None:
    """Return the first rule matching ``path``, with its target substituted.

    ``path`` is a decoded URL path without query.  A trailing ``*`` in a source
    matches any remainder (also empty) and binds ``:splat``; a ``:name``
    segment matches one non-empty segment.  Matching is case-sensitive and
    ignores trailing slashes.  Returns None when no rule matches.
    """
    for rule in rules:
        bindings = _match_pattern(rule.source, path)
        if bindings is not None:
            return RedirectMatch(
                target=_substitute(rule.target, bindings), status=rule.status, force=rule.force
            )
    return None


def _parse_header_line(line: str) -> tuple[str, str] | None:
    # Check before stripping: strip() would quietly eat control characters
    # such as a vertical tab at the edges of the name or value.
    if _UNSAFE_HEADER_CHARS.search(line):
        return None
    name, colon, value = line.strip(" \t").partition(":")
    name, value = name.strip(" \t"), value.strip(" \t")
    if not colon or not _HEADER_NAME.match(name) or not value:
        return None
    return name, value


def parse_headers(text: str) -> list[HeaderRule]:
    """Parse a ``_headers`` file into rules, in file order.

    A block is a path line starting with ``/`` followed by (normally
    indented) ``Name: value`` lines.  Blocks for full URLs, headers outside a block,
    malformed lines and names or values with CR, LF, NUL or other control
    characters are skipped; blocks without headers are dropped.  Parsing
    stops after ``MAX_RULES`` rules.  Never raises.
    """
    blocks: list[tuple[str, list[tuple[str, str]]]] = []
    current: list[tuple[str, str]] | None = None  # None: inside a skipped block
    for line in _usable_lines(text):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not (stripped.startswith("/") or is_external(stripped)):
            # Header lines are meant to be indented, but a forgotten indent is
            # unambiguous, so accept it rather than silently lose the header.
            header = _parse_header_line(line)
            if header is not None and current is not None:
                current.append(header)
            continue
        current = None
        if len(blocks) >= MAX_RULES:
            break
        if stripped.startswith("/") and len(stripped.split()) == 1:
            current = []
            blocks.append((stripped, current))
    return [HeaderRule(pattern, tuple(headers)) for pattern, headers in blocks if headers]


def match_headers(rules: Sequence[HeaderRule], path: str) -> list[tuple[str, str]]:
    """Headers of every rule matching ``path``, in file order.

    Patterns match as in :func:`match_redirect`.  A header name set more than
    once (compared case-insensitively) appears once, at its first position and
    with its first spelling, its values joined with ``", "`` as Netlify does.
    """
    combined: dict[str, tuple[str, list[str]]] = {}
    for rule in rules:
        if _match_pattern(rule.pattern, path) is None:
            continue
        for name, value in rule.headers:
            combined.setdefault(name.lower(), (name, []))[1].append(value)
    return [(name, ", ".join(values)) for name, values in combined.values()]
