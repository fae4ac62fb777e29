"""The frames of the process bus: one JSON object per length-prefixed string.

A frame is C{{"origin": ID, "topic": TOPIC, "message": {...}}}. The transport (a Unix socket pair
between the supervisor and each serving process) knows nothing of topics: any JSON-able message
crosses it, so a subscriber of a new topic works across processes without a change here.
"""

from __future__ import annotations

import json
from typing import Any, Optional

from twisted.logger import Logger
from twisted.protocols.basic import Int32StringReceiver

__all__ = ["MAX_FRAME", "FrameProtocol", "encode", "decode"]

_log = Logger()
# Bus messages are small (a site name, a log line); a larger one is refused with a logged error
# and reaches only the publisher's own process.
MAX_FRAME = 1024 * 1024


def encode(origin: str, topic: str, message: dict) -> Optional[bytes]:
    """The frame for one message, or None (logged) if it is not JSON-able or too large."""
    try:
        data = json.dumps({"origin": origin, "topic": topic, "message": message},
                          separators=(",", ":")).encode()
    except (TypeError, ValueError) as error:
        _log.error("A message on {topic} is not JSON-able and stays in this process: {error}",
                   topic=topic, error=error)
        return None
    if len(data) > MAX_FRAME:
        _log.error("A message on {topic} of {size} bytes is over the bus's {limit} and stays in this process",
                   topic=topic, size=len(data), limit=MAX_FRAME)
        return None
    return data


def decode(data: bytes) -> Optional[tuple[str, str, dict]]:
    """(origin, topic, message) of a frame, or None (logged) if it is malformed."""
    try:
        frame: Any = json.loads(data)
        origin, topic, message = frame["origin"], frame["topic"], frame["message"]
    except (ValueError, TypeError, KeyError):
        _log.error("Dropped a malformed bus frame of {size} bytes", size=len(data))
        return None
    if not (isinstance(origin, str) and isinstance(topic, str) and isinstance(message, dict)):
        _log.error("Dropped a bus frame of the wrong shape")
        return None
    return origin, topic, message


class FrameProtocol(Int32StringReceiver):
    """Length-prefixed frames in both directions; L{frameReceived} gets each whole one."""

    MAX_LENGTH = MAX_FRAME + 1024

    def stringReceived(self, string: bytes) -> None:
        self.frameReceived(string)

    def frameReceived(self, frame: bytes) -> None:
        """Called with each whole frame received."""

    def lengthLimitExceeded(self, length: int) -> None:
        _log.error("A bus frame of {length} bytes is over the limit; closing the connection", length=length)
        self.transport.loseConnection()
