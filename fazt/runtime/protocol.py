"""Framing for the parent <-> JS worker pipe protocol (see PROTOCOL.md).

A frame is a 4-byte big-endian unsigned length N followed by N bytes of UTF-8
JSON holding exactly one object. Frames larger than ``MAX_FRAME`` are a
protocol error. This module is pure (no I/O) and is shared by both sides: the
framing (``encode_frame``, ``FrameDecoder``) and the builders of run outcomes
that hold the per-run limits (``done``, ``failed``, ``clean_logs``).
"""

import json
import re
import struct

MAX_FRAME = 8 * 1024 * 1024
"""Largest allowed frame payload in bytes (the 4-byte header is not counted)."""

_HEADER = struct.Struct(">I")
# Built once: json.dumps with non-default options constructs a new encoder on every call.
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_COMPACT_ASCII = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True).encode


class ProtocolError(Exception):
    """A frame could not be encoded or decoded; the peer should be dropped."""


def encode_frame(obj):
    """Encode one JSON object as a length-prefixed frame.

    Strings that cannot be encoded as UTF-8 (lone surrogates coming from
    JavaScript) are sent as ASCII JSON escapes instead. Raises
    ``ProtocolError`` if the payload would exceed ``MAX_FRAME``.
    """
    if not isinstance(obj, dict):
        raise ProtocolError("a frame must hold a JSON object")
    try:
        payload = _COMPACT(obj).encode("utf-8")
    except UnicodeEncodeError:
        payload = _COMPACT_ASCII(obj).encode("ascii")
    except (TypeError, ValueError, RecursionError) as exc:
        raise ProtocolError(f"frame is not JSON-serializable: {exc}") from None
    if len(payload) > MAX_FRAME:
        raise ProtocolError(f"frame of {len(payload)} bytes exceeds the {MAX_FRAME}-byte limit")
    return _HEADER.pack(len(payload)) + payload


class FrameDecoder:
    """Incremental decoder: feed it bytes as they arrive, get whole objects back.

    Frames may be split anywhere across ``feed`` calls and several frames may
    arrive in one call. After a ``ProtocolError`` the decoder's state is
    undefined and the connection should be dropped.
    """

    def __init__(self, max_frame=MAX_FRAME):
        self._buffer = bytearray()
        self._max_frame = max_frame

    @property
    def buffered(self):
        """Number of bytes received but not yet decoded into a frame."""
        return len(self._buffer)

    def feed(self, data):
        """Add ``data`` and return the list of objects completed by it (maybe empty)."""
        buffer = self._buffer
        buffer += data
        frames = []
        offset = 0
        size = len(buffer)
        while size - offset >= _HEADER.size:
            (length,) = _HEADER.unpack_from(buffer, offset)
            if length > self._max_frame:
                raise ProtocolError(f"frame of {length} bytes exceeds the {self._max_frame}-byte limit")
            end = offset + _HEADER.size + length
            if end > size:
                break
            frames.append(_decode_payload(bytes(buffer[offset + _HEADER.size:end])))
            offset = end
        if offset:
            del buffer[:offset]
        return frames


def _decode_payload(payload):
    """Decode one frame payload into a dict, or raise ``ProtocolError``."""
    try:
        obj = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProtocolError(f"frame is not valid UTF-8 JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ProtocolError("frame does not hold a JSON object")
    return obj


# ---------------------------------------------------------------------------
# Run outcomes ("done" / "failed" messages without their "id")

MAX_LOG_LINES = 200
"""Log lines kept per run; one extra final "warn" line may say how many were dropped."""
MAX_LOG_BYTES = 4096
"""Longest log message, in UTF-8 bytes."""
LOG_LEVELS = frozenset({"info", "warn", "error", "debug"})
FAILURE_KINDS = frozenset({"exception", "timeout", "memory", "protocol", "method"})
_MAX_MESSAGE_BYTES = 4096
_MAX_STACK_BYTES = 16384
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_HEADER_VALUE_FORBIDDEN = re.compile(r"[\r\n\0]")


def truncate_utf8(text, limit):
    """Cut ``text`` to at most ``limit`` UTF-8 bytes without splitting a character."""
    if len(text) * 4 <= limit:
        return text
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore")


def clean_logs(logs):
    """Return ``logs`` as a list of ``[level, message]`` within the protocol limits.

    Up to ``MAX_LOG_LINES`` lines plus one final note are kept as given (the
    prelude already adds its own "dropped" note); beyond that the list is cut
    to ``MAX_LOG_LINES`` and a note is added here.
    """
    logs = logs if isinstance(logs, list) else []
    dropped = 0
    if len(logs) > MAX_LOG_LINES + 1:
        dropped = len(logs) - MAX_LOG_LINES
        logs = logs[:MAX_LOG_LINES]
    cleaned = []
    for entry in logs:
        if isinstance(entry, (list, tuple)) and len(entry) == 2:
            level, message = entry
        else:
            level, message = "info", entry
        level = level if level in LOG_LEVELS else "info"
        cleaned.append([level, truncate_utf8(message if isinstance(message, str) else str(message), MAX_LOG_BYTES)])
    if dropped:
        cleaned.append(["warn", f"{dropped} more log lines dropped (limit {MAX_LOG_LINES} per request)"])
    return cleaned


def clean_response(response):
    """Validate a response dict and return it in wire form; raise ``ValueError`` if it is unusable."""
    if not isinstance(response, dict):
        raise ValueError("the response is not an object")
    status = response.get("status")
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise ValueError(f"invalid HTTP status {status!r}")
    headers = []
    for pair in response.get("headers") or []:
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
            raise ValueError(f"invalid header {pair!r}")
        name, value = pair
        if not _HEADER_NAME.match(name) or _HEADER_VALUE_FORBIDDEN.search(value):
            raise ValueError(f"invalid header {name!r}")
        headers.append([name, value])
    body = response.get("body", "")
    if not isinstance(body, str):
        raise ValueError("the response body is not a string")
    return {"status": status, "headers": headers, "body": body, "body_base64": bool(response.get("body_base64"))}


def done(response, logs, cpu_ms=0.0):
    """A "done" outcome; falls back to a "failed" one if ``response`` is invalid.

    ``cpu_ms`` is the CPU the run used (version 2; the parent's fair shares read it).
    """
    try:
        return {"t": "done", "response": clean_response(response), "logs": clean_logs(logs),
                "cpu_ms": _cpu(cpu_ms)}
    except ValueError as exc:
        return failed("exception", f"invalid response: {exc}", None, logs, cpu_ms)


def failed(kind, message, stack, logs, cpu_ms=0.0, allow=None):
    """A "failed" outcome with its message, stack and logs cut to size.

    ``allow`` (kind "method" only) lists the methods the function module does export.
    """
    kind = kind if kind in FAILURE_KINDS else "exception"
    outcome = {
        "t": "failed",
        "kind": kind,
        "message": truncate_utf8(str(message), _MAX_MESSAGE_BYTES),
        "stack": truncate_utf8(stack, _MAX_STACK_BYTES) if isinstance(stack, str) and stack else None,
        "logs": clean_logs(logs),
        "cpu_ms": _cpu(cpu_ms),
    }
    if kind == "method":
        outcome["allow"] = [m for m in (allow or []) if isinstance(m, str)]
    return outcome


def _cpu(cpu_ms):
    """A CPU figure as a non-negative float (0 when missing or not a number)."""
    if isinstance(cpu_ms, bool) or not isinstance(cpu_ms, (int, float)) or not cpu_ms > 0:
        return 0.0
    return float(cpu_ms)
