"""C{GET|POST /api/system/backup}: a consistent snapshot of the running cartridge, as a download.

The snapshot is made with SQLite's online backup API on a thread pool of its own (never the
reactor thread, never the store's writer), verified with C{integrity_check}, and then streamed
from an already unlinked temporary file next to the database, so an interrupted download leaves
nothing behind. Admins only: an C{admin} API key, or an admin's session cookie (a cookie-
authenticated POST also needs C{X-Fazt-CSRF} or a JSON content type, like every other write).
GET is offered as well because a backup changes nothing and a dashboard link is a GET; with a
session cookie, only from the admin origin itself (C{Sec-Fetch-Site}: hosted sites are same-site).
"""

from __future__ import annotations

import time
from typing import Any, BinaryIO

from twisted.internet.interfaces import IReactorTime
from twisted.internet.defer import Deferred, inlineCallbacks, succeed
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.protocols.basic import FileSender
from twisted.python.threadpool import ThreadPool
from twisted.web.server import Request

from fazt.base.errors import ApiError
from fazt.store.backup import BackupError, snapshot_file

_log = Logger()
CONTENT_TYPE = b"application/vnd.sqlite3"
# Snapshots made or being streamed at once; each holds a copy of the database on disk.
MAX_IN_FLIGHT = 4
# Told to a client refused because MAX_IN_FLIGHT backups are under way (every 429 says when to retry).
RETRY_SECONDS = b"5"


def download_name(now: float) -> str:
    """The file name offered to the browser: C{fazt-backup-YYYYmmdd-HHMMSS.db} (UTC)."""
    return time.strftime("fazt-backup-%Y%m%d-%H%M%S.db", time.gmtime(now))


def check_fetch_site(request: Request) -> None:
    """Refuse a cookie-authenticated GET that a browser says another site started.

    Hosted sites (C{NAME.D}) are same-site with the admin host, so SameSite=Strict still sends
    the cookie with their C{<img src>} or links; each such GET would copy the whole database.
    The dashboard's own link is same-origin; a typed URL or a bookmark is "none".
    """
    origin = request.getHeader(b"sec-fetch-site")
    if origin is not None and origin.strip().lower() not in (b"same-origin", b"none"):
        raise ApiError(403, "FORBIDDEN", "a backup is downloaded from the dashboard itself, or with POST")


class BackupDownloads:
    """Makes snapshots of C{db_path} on C{pool} and streams them to admins."""

    def __init__(self, reactor: Any, pool: ThreadPool, db_path: str, auth: Any) -> None:
        self._reactor = reactor
        self._pool = pool
        self._db_path = db_path
        self._auth = auth
        self._clock: IReactorTime = reactor
        self.in_flight = 0

    @inlineCallbacks
    def download(self, request: Request):
        """Answer C{request} with the snapshot; errors are raised as L{ApiError}s."""
        principal = yield self._auth.api_key(request)
        if principal.method == "session" and request.method in (b"GET", b"HEAD"):
            check_fetch_site(request)
        if self.in_flight >= MAX_IN_FLIGHT:
            request.setHeader(b"retry-after", RETRY_SECONDS)
            raise ApiError(429, "RATE_LIMIT_EXCEEDED",
                           f"{MAX_IN_FLIGHT} backups are already being made or downloaded; try again soon")
        self.in_flight += 1
        try:
            started = self._clock.seconds()
            try:
                snapshot, size = yield deferToThreadPool(self._reactor, self._pool, snapshot_file,
                                                         self._db_path)
            except BackupError as error:
                _log.error("backup download failed: {message}", message=error.message)
                raise ApiError(500, "INTERNAL_ERROR", f"the backup could not be made: {error.message}") from None
            _log.info("backup of {size} bytes made in {seconds:.2f} s for {who}", size=size,
                      seconds=self._clock.seconds() - started, who=principal.name)
            self._auth.audit_request(request, "system.backup", "cartridge", details=f"{size} bytes")
            yield self._stream(request, snapshot, size)
        finally:
            self.in_flight -= 1

    def _stream(self, request: Request, snapshot: BinaryIO, size: int) -> Deferred:
        """Send C{snapshot} with a producer; the file is closed however the transfer ends."""
        request.setResponseCode(200)
        request.setHeader(b"content-type", CONTENT_TYPE)
        request.setHeader(b"content-length", str(size).encode("ascii"))
        request.setHeader(b"cache-control", b"no-store")
        request.setHeader(b"content-disposition",
                          f'attachment; filename="{download_name(self._clock.seconds())}"'.encode("ascii"))
        if request.method == b"HEAD":
            snapshot.close()
            return succeed(None)
        sent = FileSender().beginFileTransfer(snapshot, request)

        def close(result):
            snapshot.close()
            # A failure here is the client going away mid-transfer: nothing to answer.
            return None

        return sent.addBoth(close)
