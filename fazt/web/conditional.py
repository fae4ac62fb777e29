"""HTTP validators, conditional requests and byte ranges (RFC 9110/7232/7233).

Pure helpers: every function takes header values as strings (or None when the
header is absent) and never raises on malformed client input.
"""

from __future__ import annotations

import calendar
import enum
import re
import time

__all__ = [
    "UNSATISFIABLE", "Unsatisfiable", "etag_for", "http_date", "if_none_match_hits",
    "if_range_allows", "not_modified_since", "parse_http_date", "parse_range",
]

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_LONG_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_TIME = r"(?P<H>\d\d):(?P<M>\d\d):(?P<S>\d\d)"
_MON = r"(?P<mon>[A-Za-z]{3})"
# IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
_IMF = re.compile(rf"(?P<wd>[A-Za-z]{{3}}), (?P<d>\d\d) {_MON} (?P<y>\d{{4}}) {_TIME} GMT", re.ASCII)
# Obsolete RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
_RFC850 = re.compile(rf"(?P<wd>[A-Za-z]{{6,9}}), (?P<d>\d\d)-{_MON}-(?P<y>\d\d) {_TIME} GMT", re.ASCII)
# Obsolete asctime: Sun Nov  6 08:49:37 1994
_ASCTIME = re.compile(rf"(?P<wd>[A-Za-z]{{3}}) {_MON} (?P<d>[ \d]\d) {_TIME} (?P<y>\d{{4}})", re.ASCII)


class Unsatisfiable(enum.Enum):
    """Type of the :data:`UNSATISFIABLE` sentinel returned by :func:`parse_range`."""

    UNSATISFIABLE = "unsatisfiable"

    def __repr__(self) -> str:
        return "UNSATISFIABLE"


UNSATISFIABLE = Unsatisfiable.UNSATISFIABLE


def http_date(timestamp: float) -> str:
    """Format a POSIX *timestamp* as an RFC 7231 IMF-fixdate (``Sun, 06 Nov 1994 08:49:37 GMT``).

    Fractions of a second are truncated; the result does not depend on the locale.
    """
    t = time.gmtime(int(timestamp // 1))
    return "%s, %02d %s %04d %02d:%02d:%02d GMT" % (
        _DAYS[t.tm_wday], t.tm_mday, _MONTHS[t.tm_mon - 1], t.tm_year, t.tm_hour, t.tm_min, t.tm_sec
    )


def parse_http_date(value: str | None) -> float | None:
    """Parse an HTTP-date into a POSIX timestamp, or None if absent or malformed.

    Accepts the three forms RFC 9110 §5.6.7 requires recipients to accept:
    IMF-fixdate, RFC 850 (two-digit year, placed no more than 50 years ahead)
    and asctime. Surrounding whitespace is tolerated; the weekday name must be
    a real one but is not cross-checked against the date.
    """
    if value is None:
        return None
    value = value.strip()
    for pattern, days in ((_IMF, _DAYS), (_RFC850, _LONG_DAYS), (_ASCTIME, _DAYS)):
        match = pattern.fullmatch(value)
        if match is None:
            continue
        if match["wd"] not in days or match["mon"] not in _MONTHS:
            return None
        year = _expand_two_digit_year(int(match["y"])) if pattern is _RFC850 else int(match["y"])
        month, day = _MONTHS.index(match["mon"]) + 1, int(match["d"])
        hour, minute, second = int(match["H"]), int(match["M"]), int(match["S"])
        if year < 1 or not 1 <= day <= calendar.monthrange(year, month)[1]:
            return None
        if hour > 23 or minute > 59 or second > 60:  # 60: leap second
            return None
        return float(calendar.timegm((year, month, day, hour, minute, second)))
    return None


def _expand_two_digit_year(yy: int, this_year: int | None = None) -> int:
    """Place a two-digit year in the window (now - 50, now + 50] (RFC 9110 §5.6.7)."""
    if this_year is None:
        this_year = time.gmtime().tm_year
    year = this_year - this_year % 100 + yy
    if year > this_year + 50:
        return year - 100
    return year + 100 if year <= this_year - 50 else year


_ETAG_SUFFIXES = {None: "", "identity": "", "gzip": "-gz", "br": "-br"}


def etag_for(content_hash: str, encoding: str | None) -> str:
    """Return the quoted strong ETag for a representation of a blob.

    *content_hash* is the hex SHA-256 of the identity content; its first 32 hex
    digits (lowercased) make the tag. Encoded variants get a suffix so each
    representation has its own tag: ``gzip`` → ``-gz``, ``br`` → ``-br``;
    None or ``identity`` → no suffix. Raises ValueError for a hash shorter than
    32 hex digits or an unknown encoding (programming errors, not client input).
    """
    digest = content_hash[:32].lower()
    if not re.fullmatch(r"[0-9a-f]{32}", digest, re.ASCII):
        raise ValueError(f"not a hex content hash: {content_hash!r}")
    suffix = _ETAG_SUFFIXES.get(encoding)
    if suffix is None:
        raise ValueError(f"unsupported content encoding: {encoding!r}")
    return f'"{digest}{suffix}"'


_LIST_ITEM = re.compile(r'[ \t]*(?:W/)?("[^"]*"|[^,"]*?)[ \t]*(?:,|\Z)')


def _entity_tags(header: str) -> list[str]:
    """Return the opaque tags of an entity-tag list, ``W/`` prefixes dropped.

    Quoted tags may contain commas; a bare token (sent by sloppy clients) is
    quoted; ``*`` stays ``*``. Parsing stops at an unterminated quote or junk.
    """
    tags: list[str] = []
    pos = 0
    while pos < len(header) and (match := _LIST_ITEM.match(header, pos)):
        tag = match[1]
        if tag:
            tags.append(tag if tag.startswith('"') or tag == "*" else f'"{tag}"')
        pos = match.end()
    return tags


def if_none_match_hits(header: str | None, etag: str) -> bool:
    """Return True if an If-None-Match *header* matches *etag* (so 304 applies).

    Uses the weak comparison of RFC 9110 §8.8.3.2: ``W/`` prefixes are ignored
    on both sides; ``*`` matches any current representation.
    """
    if header is None:
        return False
    ours = etag[2:] if etag.startswith("W/") else etag
    return any(tag == "*" or tag == ours for tag in _entity_tags(header))


def not_modified_since(header: str | None, last_modified: float) -> bool:
    """Return True if If-Modified-Since is a valid date at or after *last_modified*.

    Comparison is in whole seconds, the resolution of HTTP dates. Callers must
    ignore If-Modified-Since when the request also carries If-None-Match.
    """
    since = parse_http_date(header)
    return since is not None and since >= int(last_modified // 1)


_RANGE_SPEC = re.compile(r"(?P<first>\d*)-(?P<last>\d*)", re.ASCII)
_MAX_DIGITS = 1000  # well under Python's int-parsing limit (sys.get_int_max_str_digits)


def parse_range(header: str | None, size: int) -> tuple[int, int] | None | Unsatisfiable:
    """Interpret a Range header against a body of *size* bytes.

    Returns an inclusive ``(start, end)`` for one satisfiable byte range
    (``bytes=a-b``, ``bytes=a-``, ``bytes=-n``), clamped to the body. Returns
    None — serve the whole body with 200 — when the header is absent,
    malformed, uses another unit, has ``last < first``, or asks for several
    ranges (RFC 9110 §14.2 lets a server ignore Range). Returns
    :data:`UNSATISFIABLE` (→ 416) when the single range starts at or past the
    end, has a zero suffix length, or the body is empty.
    """
    if header is None:
        return None
    unit, eq, range_set = header.partition("=")
    if not eq or unit.strip().lower() != "bytes":
        return None
    specs = [part for part in map(str.strip, range_set.split(",")) if part]  # skip empty elements
    if len(specs) != 1:
        return None
    match = _RANGE_SPEC.fullmatch(specs[0])
    if match is None or not (match["first"] or match["last"]):
        return None
    if max(len(match["first"]), len(match["last"])) > _MAX_DIGITS:
        return None  # absurd; int() would refuse it anyway
    if not match["first"]:  # suffix range: the last n bytes
        suffix = int(match["last"])
        if suffix == 0 or size <= 0:
            return UNSATISFIABLE
        return (max(size - suffix, 0), size - 1)
    start = int(match["first"])
    if match["last"]:
        end = int(match["last"])
        if end < start:
            return None  # invalid range-spec: ignore the header
    else:
        end = size - 1
    if start >= size:
        return UNSATISFIABLE
    return (start, min(end, size - 1))


def if_range_allows(header: str | None, etag: str, last_modified: float) -> bool:
    """Return True if a Range request may be honoured given its If-Range *header*.

    Absent → True. An entity tag must match *etag* by strong comparison (a
    weak tag never does). Otherwise the value must be an HTTP-date equal to
    *last_modified* in whole seconds. Anything unparsable → False, so the
    caller sends the full representation.
    """
    if header is None:
        return True
    value = header.strip()
    if value.startswith("W/"):
        return False
    if value.startswith('"'):
        return not etag.startswith("W/") and value == etag
    date = parse_http_date(value)
    return date is not None and date == int(last_modified // 1)
