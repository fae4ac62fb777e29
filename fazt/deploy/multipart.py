"""
A streaming C{multipart/form-data} parser over a request body on disk.

The body has already been spooled to a seekable file, so the parser never
holds it in memory: it scans for boundaries a chunk at a time (keeping only a
short overlap so a boundary split across two chunks is still found), reads
each part's small header block, decodes text fields (each bounded in size),
and records file parts as an offset/length window into the body file.
L{FileWindow} turns such a window back into a read-only seekable file.

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
    boundary = params.get("boundary")
    if not boundary:
        raise MultipartError("Content-Type has no boundary")
    encoded = boundary.encode("latin-1")
    _check_boundary(encoded)
    return encoded


def parse_multipart(
    body: BinaryIO,
    boundary: bytes,
    *,
    max_field_bytes: int = 64 * 1024,
    max_parts: int = 32,
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
        headers, content_start = _read_part_headers(body, part_start, size, chunk_size)
        content_end = _find(body, delimiter, content_start, size, chunk_size)
        if content_end < 0:
            raise MultipartError("no closing boundary")
        name, filename = _parse_disposition(headers)
        length = content_end - content_start
        if name not in fields and name not in files:
            if filename is not None:
                files[name] = FilePart(name, filename, content_start, length)
            else:
                fields[name] = _read_text_field(body, name, content_start, length, max_field_bytes)
        after_delimiter = content_end + len(delimiter)
    return fields, files


class FileWindow(io.RawIOBase):
    """
    A read-only, seekable view of C{f[offset:offset + length]}.

    Each read seeks the underlying file first, so several windows may share
    one file, but not concurrently from different threads. Closing a window
    leaves the underlying file open.
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

    def readall(self) -> bytes:
        return self.read(-1)

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
    if not isinstance(boundary, bytes) or not 1 <= len(boundary) <= MAX_BOUNDARY_BYTES:
        raise MultipartError("boundary must be 1 to 200 bytes")
    if not _BOUNDARY_RE.fullmatch(boundary):
        raise MultipartError("boundary has invalid characters")


def _read_at(body: BinaryIO, offset: int, size: int) -> bytes:
    body.seek(offset)
    return body.read(size)


def _find(body: BinaryIO, pattern: bytes, start: int, end: int, chunk_size: int) -> int:
    """
    Return the offset of the first C{pattern} in C{body[start:end]}, or -1.

    Reads C{chunk_size} bytes at a time, carrying the last C{len(pattern) - 1}
    bytes over so that a match spanning two chunks is still found.
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
    """
    Look at what follows a delimiter: C{None} for the closing C{--}, else the
    offset just past the line end (after optional transport padding).
    """
    following = _read_at(body, offset, 2 + MAX_TRANSPORT_PADDING + 2)
    if following.startswith(b"--"):
        return None
    padding = len(following) - len(following.lstrip(b" \t"))
    if following[padding : padding + 2] != b"\r\n":
        if offset + len(following) >= size and not following.strip(b" \t\r"):
            raise MultipartError("no closing boundary")
        raise MultipartError("malformed boundary line")
    if offset + padding + 2 >= size:
        raise MultipartError("no closing boundary")
    return offset + padding + 2


def _read_part_headers(body: BinaryIO, start: int, size: int, chunk_size: int) -> tuple[dict[str, str], int]:
    """Parse the header block at C{start}; return it and where content begins."""
    if _read_at(body, start, 2) == b"\r\n":
        return {}, start + 2
    limit = min(size, start + MAX_HEADER_BLOCK_BYTES + 4)
    end = _find(body, b"\r\n\r\n", start, limit, chunk_size)
    if end < 0:
        raise MultipartError("part headers are unterminated or too long")
    block = _read_at(body, start, end - start)
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        raise MultipartError("part headers are not UTF-8") from None
    headers: dict[str, str] = {}
    for line in text.split("\r\n"):
        name, colon, value = line.partition(":")
        if not colon or not _TOKEN_RE.fullmatch(name) or not _HEADER_TEXT_RE.fullmatch(value):
            raise MultipartError("malformed part header")
        headers.setdefault(name.lower(), value.strip(" \t"))
    return headers, end + 4


def _parse_disposition(headers: dict[str, str]) -> tuple[str, str | None]:
    """Return the part's name and filename (C{None} for a text field)."""
    if "content-disposition" not in headers:
        raise MultipartError("part has no Content-Disposition")
    kind, params = _split_header_value(headers["content-disposition"])
    if kind.lower() != "form-data":
        raise MultipartError("part is not form-data")
    if "name" not in params:
        raise MultipartError("part has no name")
    filename = params.get("filename")
    if "filename*" in params:
        filename = _decode_extended_value(params["filename*"])
    return params["name"], filename


def _split_header_value(value: str) -> tuple[str, dict[str, str]]:
    """
    Split C{'main; key=value; key="quoted"'} into the main value and its
    parameters (keys lowercased, first occurrence kept). In quoted strings a
    backslash escapes only C{"} and C{\\}; browsers send other backslashes
    (Windows paths) unescaped, so those are kept literally.
    """
    main, _, rest = value.partition(";")
    params: dict[str, str] = {}
    position = 0
    while position < len(rest):
        key_end = rest.find("=", position)
        if key_end < 0:
            if rest[position:].strip(" \t;"):
                raise MultipartError("malformed header parameter")
            break
        key = rest[position:key_end].strip(" \t").lower()
        if not _TOKEN_RE.fullmatch(key):
            raise MultipartError("malformed header parameter")
        position = key_end + 1
        while rest[position : position + 1] in (" ", "\t"):
            position += 1
        if rest[position : position + 1] == '"':
            parameter, position = _read_quoted(rest, position + 1)
            after = rest.find(";", position)
            if rest[position : None if after < 0 else after].strip(" \t"):
                raise MultipartError("text after a quoted parameter")
        else:
            after = rest.find(";", position)
            parameter = rest[position : None if after < 0 else after].strip(" \t")
        position = len(rest) if after < 0 else after + 1
        params.setdefault(key, parameter)
    return main.strip(" \t"), params


def _read_quoted(text: str, position: int) -> tuple[str, int]:
    """Read a quoted string whose body starts at C{position}; return it and the offset after the closing quote."""
    characters = []
    while position < len(text):
        character = text[position]
        if character == '"':
            return "".join(characters), position + 1
        if character == "\\" and text[position + 1 : position + 2] in ('"', "\\"):
            position += 1
            character = text[position]
        characters.append(character)
        position += 1
    raise MultipartError("unterminated quoted string")


def _decode_extended_value(value: str) -> str:
    """Decode an RFC 8187 C{charset'language'percent-encoded} parameter."""
    pieces = value.split("'", 2)
    if len(pieces) != 3 or pieces[0].lower() not in _EXTENDED_CHARSETS:
        raise MultipartError("malformed or unsupported filename*")
    try:
        return unquote_to_bytes(pieces[2]).decode(_EXTENDED_CHARSETS[pieces[0].lower()])
    except UnicodeError:
        raise MultipartError("filename* does not decode in its charset") from None


def _read_text_field(body: BinaryIO, name: str, offset: int, length: int, max_bytes: int) -> str:
    if length > max_bytes:
        raise MultipartError(f"field {name!r} is longer than {max_bytes} bytes")
    try:
        return _read_at(body, offset, length).decode("utf-8")
    except UnicodeDecodeError:
        raise MultipartError(f"field {name!r} is not UTF-8") from None
