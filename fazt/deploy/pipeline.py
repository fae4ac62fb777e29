"""Turning an uploaded multipart body into files ready to commit (synchronous, thread-side).

Runs on the deploy thread pool: it parses the spooled request body without loading it into
memory, checks the archive against every limit before anything is written, and hashes each
file. Contents are read again (and compressed) only for blobs the store does not have yet.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import zipfile
from dataclasses import dataclass, field
from typing import BinaryIO, Iterator, Optional

import brotli

from fazt.base.errors import ApiError, missing_field, validation_failed
from fazt.base.mimetypes import content_type_for, is_compressible
from fazt.base.names import InvalidSiteName, normalise_site_name
from fazt.cron.config import CONFIG_FILE, ConfigError, check_deploy
from fazt.deploy.archive import ArchiveError, Entry, Limits, inspect_archive, open_archive, read_entry
from fazt.deploy.multipart import FileWindow, MultipartError, boundary_from_content_type, parse_multipart
from fazt.store.sites import BlobContent, NewFile

# Below this size compression does not pay for its header and the CPU spent decoding.
MIN_COMPRESS_BYTES = 256


@dataclass
class PreparedDeploy:
    """A validated upload: the site it is for and its files with their hashes."""

    site_name: str
    archive: zipfile.ZipFile
    files: list[tuple[Entry, str]]
    limits: Limits
    # A preview (SPEC §15): stored without switching the site.
    preview: bool = False
    # The archive is one spooled file read through a shared window: one reader at a time.
    _reading: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _by_path: Optional[dict] = field(default=None, repr=False, compare=False)

    @property
    def file_count(self) -> int:
        return len(self.files)

    @property
    def size_bytes(self) -> int:
        return sum(entry.size for entry, _ in self.files)

    @property
    def paths(self) -> frozenset:
        """Every file path of the upload (no leading slash), as the deployment's manifest keys."""
        return frozenset(entry.path for entry, _ in self.files)

    def read_text(self, path: str) -> Optional[str]:
        """One file of the upload as UTF-8 text (None if absent); blocking: call it on a thread."""
        with self._reading:
            if self._by_path is None:
                self._by_path = {entry.path: entry for entry, _ in self.files}
            entry = self._by_path.get(path)
            if entry is None:
                return None
            data = read_entry(self.archive, entry, self.limits)
        return data.decode("utf-8", "replace")

    def new_files(self) -> Iterator[NewFile]:
        """The files for L{fazt.store.sites.commit_deployment}, loading content lazily."""
        for entry, blob_hash in self.files:
            yield NewFile(
                path=entry.path,
                blob_hash=blob_hash,
                size=entry.size,
                content_type=content_type_for(entry.path),
                load=lambda entry=entry: compress_variants(
                    read_entry(self.archive, entry, self.limits), content_type_for(entry.path)
                ),
            )


def compress_variants(data: bytes, content_type: str) -> BlobContent:
    """The content with gzip and brotli variants where they make it meaningfully smaller."""
    if not is_compressible(content_type) or len(data) < MIN_COMPRESS_BYTES:
        return BlobContent(data, None, None)
    gz: Optional[bytes] = gzip.compress(data, compresslevel=6, mtime=0)
    br: Optional[bytes] = brotli.compress(data, quality=5)
    worth = len(data) * 0.9
    return BlobContent(data, gz if len(gz) < worth else None, br if len(br) < worth else None)


def prepare_deploy(body: BinaryIO, content_type: Optional[bytes], domain: str, limits: Limits) -> PreparedDeploy:
    """Validate an upload; raises L{ApiError} for anything a client got wrong."""
    try:
        boundary = boundary_from_content_type(content_type)
    except MultipartError as exc:
        raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", f"expected multipart/form-data: {exc}") from exc
    try:
        fields, file_parts = parse_multipart(body, boundary)
    except MultipartError as exc:
        raise ApiError(400, "BAD_REQUEST", f"malformed multipart body: {exc}") from exc
    raw_name = fields.get("site_name")
    if not raw_name or not raw_name.strip():
        raise missing_field("site_name")
    part = file_parts.get("file")
    if part is None:
        raise missing_field("file")
    try:
        site_name = normalise_site_name(raw_name, domain)
    except InvalidSiteName as exc:
        raise validation_failed("site_name", str(exc)) from exc
    preview = _flag(fields.get("preview"), "preview")
    return prepare_archive(site_name, FileWindow(body, part.offset, part.length), part.length, limits, preview)


def prepare_archive(site_name: str, source: BinaryIO, length: int, limits: Limits,
                    preview: bool = False) -> PreparedDeploy:
    """Validate a zip of C{length} bytes read from C{source} for site C{site_name} (already checked);
    raises L{ApiError}. The upload's path after its form, and the path of a deploy from Git.
    C{preview}: store it without switching the site (SPEC §15)."""
    try:
        archive = open_archive(source, length, limits)
        entries = inspect_archive(archive, limits)
        hashed = [
            (entry, hashlib.sha256(read_entry(archive, entry, limits)).hexdigest()) for entry in entries
        ]
        config = next((entry for entry in entries if entry.path == CONFIG_FILE), None)
        if config is not None:
            check_deploy(read_entry(archive, config, limits), any(entry.path == "main.js" for entry in entries))
    except ArchiveError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from exc
    except ConfigError as exc:
        raise validation_failed(CONFIG_FILE, str(exc)) from exc
    return PreparedDeploy(site_name, archive, hashed, limits, preview=preview)


def _flag(value: Optional[str], name: str) -> bool:
    """A form field meaning yes or no: C{true}/C{false}/C{1}/C{0} (absent: no)."""
    if value is None:
        return False
    text = value.strip().lower()
    if text not in ("true", "false", "1", "0", ""):
        raise validation_failed(name, f"{name} must be true or false")
    return text in ("true", "1")
