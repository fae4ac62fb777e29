"""
A streaming C{multipart/form-data} parser over a request body on disk.

The body is never held in memory: boundaries are found a chunk at a time
(with an overlap, so one split across two chunks is still found), text fields
are read one at a time within a size limit, and file parts are recorded as
offset/length windows that L{FileWindow} turns back into seekable files.
Pure and synchronous: meant to run on a worker thread, not the reactor.
"""

import errno
import io
import re
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import unquote_to_bytes

CHUNK_SIZE = 64 * 1024
MAX_HEADER_BLOCK_BYTES = 16 * 1024
MAX_BOUNDARY_BYTES = 200
MAX_TRANSPORT_PADDING = 64

_BOUNDARY_RE = re.compile(rb"[\x20-\x7e]*[\x21-\x7e]")
_TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_TEXT_RE = re.compile(r"[^\x00-\x08\x0a-\x1f\x7f]*")
_PARAMETER_RE = re.compile(
    r"""[ \t;]*(?P<key>[!#$%&'*+\-.^_`|~0-9A-Za-z]+)[ \t]*=[ \t]*"""
    r"""(?:"(?P<quoted>(?:[^"\\]|\\.)*)"[ \t]*|(?P<bare>[^;"]*))(?:;|$)""",
    re.DOTALL,
)
_QUOTED_PAIR_RE = re.compile(r'\\(["\\])')
_EXTENDED_CHARSETS = {"utf-8": "utf-8", "iso-8859-1": "latin-1", "us-ascii": "ascii"}


class MultipartError(ValueError):
    """The body is not a well-formed C{multipart/form-data} body."""


@dataclass(frozen=True)
class FilePart:
    """A part with a filename: its content is C{body[offset:offset + length]}."""

    name: str
    filename: str | None
    offset: int
    length: int


def boundary_from_content_type(content_type: str | bytes | None) -> bytes:
    """
    Extract the boundary from a C{Content-Type} header value.

    @raise MultipartError: the type is not C{multipart/form-data}, or it has
        no usable boundary parameter.
    """
    if content_type is None:
        raise MultipartError("missing Content-Type")
    if isinstance(content_type, bytes):
        content_type = content_type.decode("latin-1")
    media_type, params = _split_header_value(content_type)
    if media_type.lower() != "multipart/form-data":
        raise MultipartError("Content-Type is not multipart/form-data")
    boundary = params.get("boundary", "").encode("utf-8")
    _check_boundary(boundary)
    return boundary


def parse_multipart(
    body: BinaryIO, boundary: bytes, *, max_field_bytes: int = 64 * 1024, max_parts: int = 32,
    chunk_size: int | None = None,
) -> tuple[dict[str, str], dict[str, FilePart]]:
    """
    Parse the whole of C{body} (from offset 0 to its end) as multipart data.

    A part whose C{Content-Disposition} has a filename (C{filename} or
    C{filename*}) is a file part, recorded as a window and never read; any
    other part is a text field decoded as UTF-8, at most C{max_field_bytes}
    long. When a name repeats, the first part with it wins. A preamble before
    the first boundary and an epilogue after the closing one are ignored.

    @param chunk_size: bytes read at a time (default L{CHUNK_SIZE}).
    @return: C{(text fields, file parts)}, both keyed by part name.
    @raise MultipartError: for a missing first or closing boundary, malformed
        part headers, an oversized or non-UTF-8 field, or too many parts.
    """
    _check_boundary(boundary)
    chunk_size = CHUNK_SIZE if chunk_size is None else chunk_size
    if chunk_size < 1:
        raise ValueError("chunk_size must be positive")
    size = body.seek(0, io.SEEK_END)
    dash_boundary = b"--" + boundary
    delimiter = b"\r\n" + dash_boundary

    if _read_at(body, 0, len(dash_boundary)) == dash_boundary:
        after_delimiter = len(dash_boundary)
    else:
        found = _find(body, delimiter, 0, size, chunk_size)
        if found < 0:
            raise MultipartError("missing boundary")
        after_delimiter = found + len(delimiter)

    fields: dict[str, str] = {}
    files: dict[str, FilePart] = {}
    part_count = 0
    while (part_start := _part_start(body, after_delimiter, size)) is not None:
        part_count += 1
        if part_count > max_parts:
            raise MultipartError(f"more than {max_parts} parts")
        name, filename, content_start = _read_disposition(body, part_start, size, chunk_size)
        content_end = _find(body, delimiter, content_start, size, chunk_size)
        if content_end < 0:
            raise MultipartError("no closing boundary")
        length = content_end - content_start
        if name in fields or name in files:
            pass
        elif filename is not None:
            files[name] = FilePart(name, filename, content_start, length)
        elif length > max_field_bytes:
            raise MultipartError(f"field {name!r} is longer than {max_field_bytes} bytes")
        else:
            fields[name] = _decode(_read_at(body, content_start, length), f"field {name!r}")
        after_delimiter = content_end + len(delimiter)
    return fields, files


class FileWindow(io.RawIOBase):
    """
    A read-only, seekable view of C{f[offset:offset + length]}, for L{zipfile.ZipFile}.

    Each read seeks C{f} first, so windows may share a file (though not across threads
    at once). Closing a window leaves C{f} open.
    """

    def __init__(self, f: BinaryIO, offset: int, length: int):
        super().__init__()
        if offset < 0 or length < 0:
            raise ValueError("offset and length must not be negative")
        self._file = f
        self._start = offset
        self._length = length
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        self._check_open()
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move within the window; positions past its end read as empty."""
        self._check_open()
        bases = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._length}
        if whence not in bases:
            raise ValueError(f"invalid whence {whence!r}")
        position = bases[whence] + offset
        if position < 0:
            raise OSError(errno.EINVAL, "negative seek position")
        self._position = position
        return position

    def read(self, size: int | None = -1) -> bytes:
        """Read up to C{size} bytes (all that remain if C{size} is negative)."""
        self._check_open()
        remaining = max(0, self._length - self._position)
        if size is None or size < 0 or size > remaining:
            size = remaining
        if size == 0:
            return b""
        self._file.seek(self._start + self._position)
        data = self._file.read(size)
        self._position += len(data)
        return data

    def readinto(self, buffer) -> int:
        target = memoryview(buffer).cast("B")
        data = self.read(len(target))
        target[: len(data)] = data
        return len(data)

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed file window")


def _check_boundary(boundary: bytes) -> None:
    """Reject boundaries that are empty, too long or not printable ASCII."""
    if not isinstance(boundary, bytes) or len(boundary) > MAX_BOUNDARY_BYTES or not _BOUNDARY_RE.fullmatch(boundary):
        raise MultipartError("boundary must be 1 to 200 printable ASCII bytes")


def _read_at(body: BinaryIO, offset: int, size: int) -> bytes:
    body.seek(offset)
    return body.read(size)


def _find(body: BinaryIO, pattern: bytes, start: int, end: int, chunk_size: int) -> int:
    """
    Return the offset of the first C{pattern} in C{body[start:end]}, or -1, reading a chunk at a
    time and carrying C{len(pattern) - 1} bytes over so a match spanning two chunks is found.
    """
    keep = len(pattern) - 1
    window = b""
    read_to = start
    body.seek(start)
    while read_to < end:
        chunk = body.read(min(chunk_size, end - read_to))
        if not chunk:
            break
        read_to += len(chunk)
        window = window[max(0, len(window) - keep):] + chunk
        index = window.find(pattern)
        if index >= 0:
            return read_to - len(window) + index
    return -1


def _part_start(body: BinaryIO, offset: int, size: int) -> int | None:
    """After a delimiter: C{None} if it is the closing one, else where the part begins."""
    following = _read_at(body, offset, 2 + MAX_TRANSPORT_PADDING + 2)
    if following.startswith(b"--"):
        return None
    part_start = offset + len(following) - len(following.lstrip(b" \t")) + 2
    if part_start >= size:
        raise MultipartError("no closing boundary")
    if _read_at(body, part_start - 2, 2) != b"\r\n":
        raise MultipartError("malformed boundary line")
    return part_start


def _read_disposition(body: BinaryIO, start: int, size: int, chunk_size: int) -> tuple[str, str | None, int]:
    """Read the header block at C{start}: the part's name, filename and content offset."""
    if _read_at(body, start, 2) == b"\r\n":
        raise MultipartError("part has no Content-Disposition")
    end = _find(body, b"\r\n\r\n", start, min(size, start + MAX_HEADER_BLOCK_BYTES + 4), chunk_size)
    if end < 0:
        raise MultipartError("part headers are unterminated or too long")
    disposition = None
    for line in _decode(_read_at(body, start, end - start), "part header").split("\r\n"):
        name, colon, value = line.partition(":")
        if not colon or not _TOKEN_RE.fullmatch(name) or not _HEADER_TEXT_RE.fullmatch(value):
            raise MultipartError("malformed part header")
        if name.lower() == "content-disposition" and disposition is None:
            disposition = value.strip(" \t")
    if disposition is None:
        raise MultipartError("part has no Content-Disposition")
    kind, params = _split_header_value(disposition)
    if kind.lower() != "form-data" or "name" not in params:
        raise MultipartError("part is not form-data with a name")
    filename = params.get("filename")
    if "filename*" in params:
        filename = _decode_extended_value(params["filename*"])
    return params["name"], filename, end + 4


def _split_header_value(value: str) -> tuple[str, dict[str, str]]:
    """
    Split C{'main; key=value; key="quoted"'} into the main value and its parameters (keys
    lowercased, first one kept). In quoted strings a backslash escapes only C{"} and C{\\}:
    browsers send other backslashes (Windows paths) unescaped, so those are kept.
    """
    main, semicolon, rest = value.partition(";")
    params: dict[str, str] = {}
    position = 0
    while semicolon and rest[position:].strip(" \t;"):
        match = _PARAMETER_RE.match(rest, position)
        if not match:
            raise MultipartError("malformed header parameter")
        key, quoted, bare = match.group("key", "quoted", "bare")
        value = bare.strip(" \t") if quoted is None else _QUOTED_PAIR_RE.sub(r"\1", quoted)
        params.setdefault(key.lower(), value)
        position = match.end()
    return main.strip(" \t"), params


def _decode_extended_value(value: str) -> str:
    """Decode an RFC 8187 C{charset'language'percent-encoded} parameter."""
    pieces = value.split("'", 2)
    if len(pieces) != 3 or pieces[0].lower() not in _EXTENDED_CHARSETS:
        raise MultipartError("malformed or unsupported filename*")
    return _decode(unquote_to_bytes(pieces[2]), "filename*", _EXTENDED_CHARSETS[pieces[0].lower()])


def _decode(data: bytes, what: str, encoding: str = "utf-8") -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        raise MultipartError(f"{what} is not {encoding}") from None
