"""Building analytics events (pure functions; no I/O).

An event is queued as a L{PendingEvent}: a small tuple that may still hold raw bytes from the
request (decoding is left to the flush, off the hot path) and the client's address, which is
only ever used to compute the visitor hash when the event is written (see L{event_row}).
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple, Optional, Union
from urllib.parse import urlsplit

Text = Union[str, bytes, None]

TEXT_LIMIT = 500              # domain, path, referrer, user agent (as the original: 500 characters)
EVENT_TYPE_LIMIT = 100
TAG_LIMIT = 64
MAX_TAGS = 20
QUERY_LIMIT = 1024 * 1024     # a sanity bound: the payloads themselves are bounded by body limits

SOURCE_HOSTING = "hosting"
SOURCE_WEB = "web"
SOURCE_PIXEL = "pixel"
SOURCE_REDIRECT = "redirect"
SOURCE_WEBHOOK = "webhook"


class PendingEvent(NamedTuple):
    """An event waiting in the buffer. C{ip} is never written: it becomes the visitor hash."""

    created_at: float
    domain: Text
    source_type: str
    event_type: Text
    path: Text = None
    referrer: Text = None
    user_agent: Text = None
    ip: Optional[str] = None
    tags: str = ""
    query_params: Optional[str] = None


class InvalidEvent(ValueError):
    """A client sent an event field of the wrong type; C{field} names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def text(value: Text, limit: int = TEXT_LIMIT) -> Optional[str]:
    """C{value} as trimmed text of at most C{limit} characters (bytes are read as UTF-8)."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    # Lone surrogates (from JSON "\\ud800") cannot be stored as UTF-8; replace them.
    value = value.encode("utf-8", "replace").decode("utf-8").strip()
    return value[:limit]


def clean_tags(values: Any, field: str = "tags") -> list[str]:
    """Validate a list of tags: strings of 1-64 characters without commas, at most 20.

    Tags are stored comma-joined, so a comma inside a tag is refused rather than split.
    Duplicates are dropped, order kept. Raises L{InvalidEvent}.
    """
    if values is None:
        return []
    if not isinstance(values, list):
        raise InvalidEvent(field, f"{field} must be a list of strings")
    tags: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise InvalidEvent(field, f"{field} must be a list of strings")
        tag = text(value, TAG_LIMIT + 1) or ""
        if not tag or len(tag) > TAG_LIMIT or "," in tag:
            raise InvalidEvent(field, f"each of {field} must be 1-{TAG_LIMIT} characters without commas")
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise InvalidEvent(field, f"at most {MAX_TAGS} {field}")
    return tags


def split_tags(joined: Optional[str]) -> list[str]:
    """Stored tags (comma-joined) as a list; an empty string is no tags."""
    return [t for t in (part.strip() for part in (joined or "").split(",")) if t]


def join_tags(tags: list[str]) -> str:
    return ",".join(tags)


def loose_tags(comma_list: Text) -> str:
    """Tags from a query parameter (C{a,b}): cut, not refused, since a pixel cannot show errors."""
    tags = []
    for part in (text(comma_list, TEXT_LIMIT * 2) or "").split(","):
        tag = part.strip()[:TAG_LIMIT]
        if tag and tag not in tags and len(tags) < MAX_TAGS:
            tags.append(tag)
    return join_tags(tags)


def referrer_host(referrer: Text) -> Optional[str]:
    """The host (and port) of a Referer URL, or None."""
    value = text(referrer)
    if not value:
        return None
    try:
        host = urlsplit(value).netloc.rpartition("@")[2]
    except ValueError:
        return None
    return host or None


def _optional_string(payload: dict, key: str) -> Optional[str]:
    value = payload.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidEvent(key, f"{key} must be a string")
    return value or None


def track_event(payload: dict, referer_header: Text, user_agent: Text, ip: Optional[str],
                now: float) -> PendingEvent:
    """The event of a C{/track} beacon C{{h, d, p, e, t, q, ref}}.

    The domain is C{d}, else C{h}, else the Referer's host, else C{unknown}; the event type
    defaults to C{pageview}; the referrer is C{ref}, else the Referer header.
    Raises L{InvalidEvent} for fields of the wrong type.
    """
    hostname, domain = _optional_string(payload, "h"), _optional_string(payload, "d")
    path, event_type = _optional_string(payload, "p"), _optional_string(payload, "e")
    referrer = _optional_string(payload, "ref") or text(referer_header)
    tags = clean_tags(payload.get("t"), "t")
    query = payload.get("q")
    if query is not None:
        if not isinstance(query, dict) or not all(isinstance(v, str) for v in query.values()):
            raise InvalidEvent("q", "q must be an object of strings")
    chosen = text(domain) or text(hostname) or referrer_host(referer_header) or "unknown"
    return PendingEvent(
        now, chosen, SOURCE_WEB, text(event_type, EVENT_TYPE_LIMIT) or "pageview", text(path),
        referrer, user_agent, ip, join_tags(tags),
        json.dumps(query, ensure_ascii=False) if query else None,
    )


def pixel_event(domain: Text, tags: Text, source: Text, referer_header: Text, user_agent: Text,
                ip: Optional[str], now: float) -> PendingEvent:
    """The event of a C{/pixel.gif} hit (query C{domain}, C{tags}, C{source})."""
    chosen = text(domain) or referrer_host(referer_header) or "unknown"
    return PendingEvent(now, chosen, SOURCE_PIXEL, text(source, EVENT_TYPE_LIMIT) or "pixel", None,
                        referer_header, user_agent, ip, loose_tags(tags))


def redirect_click(slug: str, tags: str, extra_tags: Text, referer_header: Text, user_agent: Text,
                   ip: Optional[str], now: float) -> PendingEvent:
    """The event of a click on C{/r/SLUG}; C{?tags=a,b} adds to the redirect's own tags."""
    combined = loose_tags(",".join(filter(None, [tags, text(extra_tags, TEXT_LIMIT * 2)])))
    return PendingEvent(now, slug, SOURCE_REDIRECT, "click", f"/r/{slug}", referer_header, user_agent,
                        ip, combined)


def _no_constants(name: str):
    raise ValueError(f"{name} is not JSON")


def webhook_payload(body: bytes) -> dict:
    """A webhook body as stored: its JSON object, else C{{"raw": body}}."""
    try:
        value = json.loads(body, parse_constant=_no_constants)
    except (ValueError, RecursionError):  # includes UnicodeDecodeError
        value = None
    if isinstance(value, dict):
        return value
    return {"raw": body.decode("utf-8", "replace")}


def webhook_event(endpoint: str, payload: dict, user_agent: Text, ip: Optional[str],
                  now: float) -> PendingEvent:
    """The event of a received webhook; its type is C{payload.event}, C{payload.type} or C{webhook}."""
    event_type = next((payload[k] for k in ("event", "type") if isinstance(payload.get(k), str)
                       and payload[k].strip()), "webhook")
    return PendingEvent(now, endpoint, SOURCE_WEBHOOK, text(event_type, EVENT_TYPE_LIMIT),
                        f"/webhook/{endpoint}", None, user_agent, ip, "",
                        json.dumps(payload, ensure_ascii=False))


def event_row(event: PendingEvent, visitor: Optional[str]) -> tuple:
    """The C{events} row of C{event}: text decoded and cut, the address replaced by C{visitor}."""
    return (
        text(event.domain) or "unknown",
        event.tags[:TEXT_LIMIT * 2],
        event.source_type,
        text(event.event_type, EVENT_TYPE_LIMIT) or event.source_type,
        text(event.path),
        text(event.referrer),
        text(event.user_agent),
        visitor,
        text(event.query_params, QUERY_LIMIT),
        event.created_at,
    )
