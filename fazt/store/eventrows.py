"""An analytics event as it waits in the buffer, and the row it becomes (pure functions).

The record is defined here, below the analytics service, because both the service (which
queues it) and the store (which writes it, L{fazt.store.events.insert_events}) use it.
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Union

from fazt.store.text import visible_nul

Text = Union[str, bytes, None]

TEXT_LIMIT = 500              # domain, path, referrer, user agent (as the original: 500 characters)
EVENT_TYPE_LIMIT = 100
QUERY_LIMIT = 1024 * 1024     # a sanity bound: the payloads themselves are bounded by body limits


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


def text(value: Text, limit: int = TEXT_LIMIT) -> Optional[str]:
    """C{value} as trimmed text of at most C{limit} characters (bytes are read as UTF-8)."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    # Lone surrogates (from JSON "\\ud800") cannot be stored as UTF-8; replace them. A NUL cannot be
    # stored by PostgreSQL: it is shown as U+2400 on both engines (fazt.store.text).
    value = visible_nul(value.encode("utf-8", "replace").decode("utf-8").strip())
    return value[:limit]


def split_tags(joined: Optional[str]) -> list[str]:
    """Stored tags (comma-joined) as a list; an empty string is no tags."""
    return [t for t in (part.strip() for part in (joined or "").split(",")) if t]


def event_row(event: PendingEvent, visitor: Optional[str]) -> tuple:
    """The C{events} row of C{event}: text decoded and cut, the address replaced by C{visitor}."""
    return (
        text(event.domain) or "unknown",
        visible_nul(event.tags[:TEXT_LIMIT * 2]),
        event.source_type,
        text(event.event_type, EVENT_TYPE_LIMIT) or event.source_type,
        text(event.path),
        text(event.referrer),
        text(event.user_agent),
        visitor,
        text(event.query_params, QUERY_LIMIT),
        event.created_at,
    )
