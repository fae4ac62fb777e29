"""Building analytics events (pure functions; no I/O).

An event is queued as a L{PendingEvent} (defined in L{fazt.store.eventrows}, since the store
writes it): a small tuple that may still hold raw bytes from the request (decoding is left to
the flush, off the hot path) and the client's address, which is only ever used to compute the
visitor hash when the event is written.
"""

from __future__ import annotations

import json
from typing import Any, Optional
from urllib.parse import urlsplit

# The queued record belongs to the store, which writes it; the HTTP face imports it from here.
from fazt.store.eventrows import EVENT_TYPE_LIMIT, TEXT_LIMIT, PendingEvent, Text, text

TAG_LIMIT = 64
MAX_TAGS = 20

SOURCE_HOSTING = "hosting"
SOURCE_WEB = "web"
SOURCE_PIXEL = "pixel"
SOURCE_REDIRECT = "redirect"
SOURCE_WEBHOOK = "webhook"


class InvalidEvent(ValueError):
    """A client sent an event field of the wrong type; C{field} names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


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
