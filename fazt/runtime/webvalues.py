"""How values cross between the Web API JS and the worker-local Python functions behind it.

Arguments and results are JSON. Bytes cross as "binary strings", one character per byte
(U+0000-U+00FF), which QuickJS slices, joins and converts natively (a byte-by-byte JS loop costs
~150 ns a byte), or as ``{"base64": text}`` when that is the form the script's side holds (a body
from the wire): every function taking bytes accepts both (L{data_bytes}). The functions run under
the current request's CPU budget, so every input is capped; bad input raises ``ValueError``.
"""

import base64
import binascii
import re

MAX_URL_CHARS = 1 << 20  # a URL is text: one MiB is far beyond any real one
MAX_DATA_BYTES = 32 << 20  # hashing, HMAC and multipart input (the interpreter's heap is 128 MiB)

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def usv(value, limit=MAX_URL_CHARS):
    """``value`` as a USVString of at most ``limit`` characters."""
    if not isinstance(value, str):
        raise ValueError("expected a string")
    if len(value) > limit:
        raise ValueError(f"string longer than {limit} characters")
    # A USVString, as the standard converts it: a lone surrogate (JSON lets one through) becomes
    # U+FFFD instead of making the UTF-8 encoding fail.
    return _LONE_SURROGATE.sub("\ufffd", value)


def data_bytes(binary, limit=MAX_DATA_BYTES):
    """The bytes a binary string (or ``{"base64": text}``) stands for."""
    if isinstance(binary, dict) and binary.keys() == {"base64"}:
        encoded = binary["base64"]
        if not isinstance(encoded, str) or len(encoded) > (limit + 2) // 3 * 4:
            raise ValueError(f"data must be base64 of at most {limit} bytes")
        try:
            return base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise ValueError("invalid base64 data") from None
    if not isinstance(binary, str) or len(binary) > limit:
        raise ValueError(f"data must be a binary string of at most {limit} bytes")
    try:
        return binary.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError("not a binary string (a character above U+00FF)") from None


def binary(data):
    """The binary string of ``data`` (bytes)."""
    return data.decode("latin-1")
