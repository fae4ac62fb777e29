"""
Validating and reading uploaded zip archives, which are treated as hostile.

L{open_archive} refuses oversized or unreadable archives (counting the central
directory's records itself before L{zipfile} builds an object per entry),
L{inspect_archive} checks every entry's name, type and declared size before
anything is written, and L{read_entry} reads one entry while holding it to its
declared size, so a zip bomb or a lying header costs at most the limits.

Only stored and deflated entries are accepted: they are what zip tools
produce, and deflate is the only decompressor that C{zipfile} bounds per read.

Pure and synchronous: meant to run on a worker thread, not the reactor.
"""

import copy
import re
import stat
import struct
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from typing import BinaryIO

READ_CHUNK_SIZE = 64 * 1024
RATIO_EXEMPT_BYTES = 1024 * 1024
"""Entries up to this many uncompressed bytes skip the compression-ratio check."""

_SUPPORTED_COMPRESSION = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}
_ENCRYPTION_FLAGS = 0x01 | 0x40  # traditional and strong encryption
_DRIVE_LETTER_RE = re.compile(r"[A-Za-z]:")
_END_RECORD = struct.Struct("<4s4H2LH")
_ZIP64_END_RECORD = struct.Struct("<4sQ2H2L4Q")
_ZIP64_TRAILER_BYTES = _ZIP64_END_RECORD.size + 20  # the zip64 end record and its locator
_CENTRAL_RECORD = struct.Struct("<4s4B4HL2L5H2L")
_LOCAL_HEADER_BYTES = 30
_CORRUPT_ZIP_ERRORS = (
    zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, struct.error,
    EOFError, OSError, ValueError, OverflowError, NotImplementedError, RuntimeError,
)


class ArchiveError(Exception):
    """An archive refused, with the API error code and HTTP status to answer."""

    _STATUS_BY_CODE = {"INVALID_ZIP": 400, "PAYLOAD_TOO_LARGE": 413}

    def __init__(self, code: str, message: str):
        if code not in self._STATUS_BY_CODE:
            raise ValueError(f"unknown archive error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = self._STATUS_BY_CODE[code]


@dataclass(frozen=True)
class Limits:
    """Size limits for one deploy; all four answer C{PAYLOAD_TOO_LARGE}."""

    max_archive_bytes: int = 100 * 1024 * 1024
    max_total_bytes: int = 500 * 1024 * 1024
    max_entries: int = 20_000
    max_ratio: int = 200  # uncompressed/compressed, for entries over RATIO_EXEMPT_BYTES


@dataclass(frozen=True)
class Entry:
    """A servable file: its normalised path, declared size and zip record."""

    path: str
    size: int
    info: zipfile.ZipInfo


def _invalid(message: str) -> ArchiveError:
    return ArchiveError("INVALID_ZIP", message)


def _too_large(message: str) -> ArchiveError:
    return ArchiveError("PAYLOAD_TOO_LARGE", message)


def open_archive(fileobj: BinaryIO, size: int, limits: Limits) -> zipfile.ZipFile:
    """
    Open C{fileobj} (C{size} bytes) as a zip archive.

    @raise ArchiveError: C{PAYLOAD_TOO_LARGE} if the archive is over
        C{max_archive_bytes} or has more than C{max_entries} records;
        C{INVALID_ZIP} if it is not a readable zip or holds encrypted entries
        or entries compressed other than stored or deflated.
    """
    if size > limits.max_archive_bytes:
        raise _too_large(f"archive is larger than {limits.max_archive_bytes} bytes")
    try:
        if _count_central_records(fileobj, limits.max_entries + 1) > limits.max_entries:
            raise _too_large(f"archive has more than {limits.max_entries} entries")
        archive = zipfile.ZipFile(fileobj)
    except _CORRUPT_ZIP_ERRORS as error:
        raise _invalid(f"not a readable zip archive: {error}") from None
    for info in archive.infolist():
        if info.flag_bits & _ENCRYPTION_FLAGS:
            raise _invalid(f"entry {info.orig_filename!r} is encrypted")
        if info.compress_type not in _SUPPORTED_COMPRESSION:
            raise _invalid(f"entry {info.orig_filename!r} uses an unsupported compression method")
    return archive


def inspect_archive(zf: zipfile.ZipFile, limits: Limits) -> list[Entry]:
    """
    Validate every entry and return the servable files, in archive order.

    Directories, entries under C{__MACOSX/} and paths with a segment starting
    with C{.} (other than C{.well-known}) are skipped: they are never served.

    @raise ArchiveError: C{INVALID_ZIP} for unsafe names (C{..} segments,
        absolute paths, backslashes, drive letters, control characters, empty
        names), duplicate paths, symlinks, encrypted or overlapping entries, or
        no servable file; C{PAYLOAD_TOO_LARGE} for too many entries, a declared
        total over C{max_total_bytes}, or an entry whose compression ratio is
        over C{max_ratio}.
    """
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise _too_large(f"archive has more than {limits.max_entries} entries")
    _check_no_overlap(infos)
    entries: list[Entry] = []
    seen_paths: set[str] = set()
    total = 0
    for info in infos:
        path = _normalised_path(info.orig_filename)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise _invalid(f"entry {info.orig_filename!r} is a symlink")
        if info.flag_bits & _ENCRYPTION_FLAGS:
            raise _invalid(f"entry {info.orig_filename!r} is encrypted")
        if _is_directory(info):
            continue
        if not path:
            raise _invalid(f"entry name {info.orig_filename!r} is empty once normalised")
        if not _is_servable(path):
            continue
        if path in seen_paths:
            raise _invalid(f"duplicate path {path!r}")
        seen_paths.add(path)
        if info.file_size > RATIO_EXEMPT_BYTES and info.file_size > limits.max_ratio * info.compress_size:
            raise _too_large(f"entry {path!r} is compressed more than {limits.max_ratio}:1")
        total += info.file_size
        if total > limits.max_total_bytes:
            raise _too_large(f"archive unpacks to more than {limits.max_total_bytes} bytes")
        entries.append(Entry(path, info.file_size, info))
    if not entries:
        raise _invalid("archive has no files")
    return entries


def read_entry(zf: zipfile.ZipFile, entry: Entry, limits: Limits) -> bytes:
    """
    Read one entry in chunks, reading at most its declared size plus one byte.

    @raise ArchiveError: C{PAYLOAD_TOO_LARGE} if the data inflates beyond the
        declared size (or that size is over C{max_total_bytes});
        C{INVALID_ZIP} for a CRC mismatch, data shorter than declared, or
        corrupt data.
    """
    declared = entry.size
    if declared > limits.max_total_bytes:
        raise _too_large(f"entry {entry.path!r} is larger than {limits.max_total_bytes} bytes")
    # zipfile silently stops at the declared size and checks the CRC once it gets
    # there; let it read one byte more and check the CRC here instead.
    probe = copy.copy(entry.info)
    probe.file_size = declared + 1
    probe.CRC = None
    data = bytearray()
    crc = 0
    try:
        with zf.open(probe) as stream:
            while len(data) <= declared:
                chunk = stream.read(min(READ_CHUNK_SIZE, declared + 1 - len(data)))
                if not chunk:
                    break
                data += chunk
                crc = zlib.crc32(chunk, crc)
    except _CORRUPT_ZIP_ERRORS as error:
        raise _invalid(f"entry {entry.path!r} is corrupt: {error}") from None
    if len(data) > declared:
        raise _too_large(f"entry {entry.path!r} inflates beyond its declared size")
    if len(data) < declared:
        raise _invalid(f"entry {entry.path!r} is shorter than its declared size")
    if crc != entry.info.CRC:
        raise _invalid(f"entry {entry.path!r} is corrupt: CRC mismatch")
    return bytes(data)


def _normalised_path(name: str) -> str:
    """Check a raw entry name for unsafe forms and return it normalised."""
    if not name:
        raise _invalid("entry with an empty name")
    if any(unicodedata.category(character) == "Cc" for character in name):
        raise _invalid(f"entry name {name!r} contains control characters")
    if "\\" in name:
        raise _invalid(f"entry name {name!r} contains a backslash")
    if name.startswith("/"):
        raise _invalid(f"entry name {name!r} is an absolute path")
    if _DRIVE_LETTER_RE.match(name):
        raise _invalid(f"entry name {name!r} starts with a drive letter")
    segments = name.split("/")
    if ".." in segments:
        raise _invalid(f"entry name {name!r} contains '..'")
    return "/".join(segment for segment in segments if segment not in ("", "."))


def _is_directory(info: zipfile.ZipInfo) -> bool:
    return info.orig_filename.endswith("/") or stat.S_ISDIR(info.external_attr >> 16)


def _is_servable(path: str) -> bool:
    """False for empty paths, macOS metadata and hidden files (not .well-known)."""
    segments = path.split("/")
    if not path or segments[0] == "__MACOSX":
        return False
    return not any(segment.startswith(".") and segment != ".well-known" for segment in segments)


def _check_no_overlap(infos: list[zipfile.ZipInfo]) -> None:
    """Refuse entries whose data overlaps (the trick behind non-recursive zip bombs)."""
    ordered = sorted(infos, key=lambda info: info.header_offset)
    for previous, following in zip(ordered, ordered[1:]):
        if following.header_offset < previous.header_offset + _LOCAL_HEADER_BYTES + previous.compress_size:
            raise _invalid(f"entries {previous.orig_filename!r} and {following.orig_filename!r} overlap")


def _count_central_records(fileobj: BinaryIO, stop_at: int) -> int:
    """
    Count central directory records (up to C{stop_at}) without building them, finding the
    directory as C{zipfile} does. Returns 0 when the layout is not understood: C{zipfile}
    will refuse such an archive anyway.
    """
    size = fileobj.seek(0, 2)
    tail_start = max(0, size - _END_RECORD.size)
    fileobj.seek(tail_start)
    tail = fileobj.read()
    if not (tail[:4] == b"PK\x05\x06" and tail[-2:] == b"\0\0"):  # not at the very end: a comment follows
        tail_start = max(0, size - _END_RECORD.size - 0xFFFF)
        fileobj.seek(tail_start)
        tail = fileobj.read()
    end_at = tail.rfind(b"PK\x05\x06")
    if end_at < 0 or end_at + _END_RECORD.size > len(tail):
        return 0
    directory_end = tail_start + end_at
    directory_size = _END_RECORD.unpack_from(tail, end_at)[5]
    if directory_end >= _ZIP64_TRAILER_BYTES:
        fileobj.seek(directory_end - _ZIP64_TRAILER_BYTES)
        zip64 = fileobj.read(_ZIP64_TRAILER_BYTES)
        if zip64[:4] == b"PK\x06\x06" and zip64[_ZIP64_END_RECORD.size :][:4] == b"PK\x06\x07":
            directory_size = _ZIP64_END_RECORD.unpack_from(zip64)[8]
            directory_end -= _ZIP64_TRAILER_BYTES
    position = directory_end - directory_size  # where zipfile starts, allowing for prepended data
    count = 0
    while 0 <= position < directory_end and count < stop_at:
        fileobj.seek(position)
        header = fileobj.read(_CENTRAL_RECORD.size)
        if len(header) < _CENTRAL_RECORD.size or header[:4] != b"PK\x01\x02":
            return 0
        name_length, extra_length, comment_length = _CENTRAL_RECORD.unpack(header)[12:15]
        position += _CENTRAL_RECORD.size + name_length + extra_length + comment_length
        count += 1
    return count
