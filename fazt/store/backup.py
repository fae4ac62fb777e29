"""
Online backup and restore of a fazt cartridge (the SQLite database file).

Both operations are synchronous and use only the standard library, so the
CLI can run them next to a live server: the source is read inside one read
transaction, which in WAL mode is a consistent snapshot that writers of the
server never block nor disturb. Results are written to C{PATH.partial} first
and renamed into place, so a failure never leaves a half-written file under
the final name. Every file written or read is checked with
C{PRAGMA integrity_check} and must look like a fazt cartridge.
"""

import fcntl
import os
import sqlite3
import struct
import tempfile
from contextlib import contextmanager
from typing import BinaryIO, Callable, Iterator, Optional

from fazt.store.dialect import is_postgresql_target
from fazt.store.engines import display
from fazt.store.errors import StoreError
from fazt.store.transaction import transaction

# Pages copied per step of the backup API; progress is reported between steps.
STEP_PAGES = 256
# The "dead man switch" byte of SQLite's unix VFS in a -shm file: every
# connection that has the WAL index open holds a shared lock on it.
_SHM_DMS_OFFSET = 128

Progress = Callable[[int, int], None]


class BackupError(StoreError):
    """A backup or restore could not be made; the message says why."""

    @property
    def message(self) -> str:
        """The human-readable text of this error."""
        return str(self.args[0]) if self.args else self.__class__.__name__


def check_copy(src_path: str, out_path: str, force: bool, same_file: str) -> None:
    """Refuse a copy of the cartridge C{src_path} to C{out_path} that cannot or must not be made.

    A missing source, an existing target without C{force}, the source itself as the target
    (C{same_file} says why), or a source that is not a fazt cartridge: each a L{BackupError}.
    """
    if not os.path.isfile(src_path):
        raise BackupError(f"no database at {src_path}")
    if os.path.exists(out_path) and not force:
        raise BackupError(f"{out_path} already exists (use --force to overwrite it)")
    if os.path.abspath(src_path) == os.path.abspath(out_path):
        raise BackupError(same_file)
    verify_cartridge(src_path, check_integrity=False)


def backup_database(src_path: str, out_path: str, progress: Optional[Progress] = None,
                    force: bool = False) -> int:
    """
    Copy the cartridge C{src_path} into C{out_path}; return the size in bytes.

    C{progress(copied_bytes, total_bytes)} is called after each step. An
    existing C{out_path} is refused unless C{force}. The copy is verified
    before it gets its final name.
    """
    if is_postgresql_target(src_path):
        return _backup_postgresql(src_path, out_path, force)
    check_copy(src_path, out_path, force, "the backup file must differ from the database")
    source = open_readonly(src_path)
    try:
        _copy(source, out_path, progress)
    finally:
        source.close()
    return os.path.getsize(out_path)


def snapshot_file(src_path: str, directory: Optional[str] = None) -> tuple[BinaryIO, int]:
    """
    A verified backup of C{src_path} as an open, already unlinked file.

    The copy is written next to the database (or in C{directory}): a large
    cartridge would not fit in a memory-backed C{/tmp}. Because the file has
    no name once this returns, nothing is left behind whatever happens to
    the reader. Return the file (positioned at 0) and its size.
    """
    if directory is None:  # a PostgreSQL database has no folder: the system's temporary one
        directory = tempfile.gettempdir() if is_postgresql_target(src_path) else os.path.dirname(os.path.abspath(src_path))
    try:
        fd, path = tempfile.mkstemp(prefix=".fazt-snapshot-", suffix=".db", dir=directory)
    except OSError as error:
        raise BackupError(f"cannot write a snapshot in {directory}: {error.strerror or error}") from error
    os.close(fd)
    try:
        size = backup_database(src_path, path, force=True)
        snapshot = open(path, "rb")
    finally:
        remove_if_exists(path)
    return snapshot, size


def restore_database(in_path: str, db_path: str, force: bool = False,
                     progress: Optional[Progress] = None) -> int:
    """
    Replace (or create) the cartridge C{db_path} with the backup C{in_path}.

    The backup is verified first. An existing C{db_path} is refused unless
    C{force}, and always refused while a server has it open. Stale C{-wal}
    and C{-shm} files of the old database are removed. Return the size.
    """
    if is_postgresql_target(db_path):
        raise BackupError(f"restore into PostgreSQL with: fazt cartridge copy {in_path} {display(db_path)} --force")
    if not os.path.isfile(in_path):
        raise BackupError(f"no backup file at {in_path}")
    verify_cartridge(in_path)
    if os.path.abspath(in_path) == os.path.abspath(db_path):
        raise BackupError("the backup file and the database are the same file")
    if database_in_use(db_path):
        raise BackupError(f"{db_path} is in use by a running server; stop it before restoring")
    if os.path.exists(db_path) and not force:
        raise BackupError(f"{db_path} already exists (use --force to replace it)")
    source = open_readonly(in_path)
    try:
        _copy(source, db_path, progress, before_rename=lambda: _remove_sidecars(db_path))
    finally:
        source.close()
    return os.path.getsize(db_path)


def verify_cartridge(path: str, check_integrity: bool = True) -> None:
    """
    Raise L{BackupError} unless C{path} is an intact fazt cartridge.

    Intact means an SQLite database whose C{integrity_check} says C{ok};
    a cartridge has a C{sites} table and a schema version of at least 1.
    """
    try:
        conn = open_readonly(path)
        try:
            if check_integrity:
                rows = conn.execute("PRAGMA integrity_check").fetchall()
                if [tuple(row) for row in rows] != [("ok",)]:
                    detail = "; ".join(str(row[0]) for row in rows[:3])
                    raise BackupError(f"{path} failed the integrity check: {detail}")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            has_sites = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sites'"
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} is not a readable SQLite database ({error})") from error
    if not has_sites or version < 1:
        raise BackupError(f"{path} is an SQLite database but not a fazt cartridge")


def database_in_use(db_path: str) -> bool:
    """
    Whether another process has the WAL database C{db_path} open.

    SQLite connections in WAL mode hold a shared POSIX lock on a fixed byte
    of the C{-shm} file for as long as they are open; asking the kernel who
    would block a write lock on it finds them without taking any lock.
    """
    shm = db_path + "-shm"
    try:
        fd = os.open(shm, os.O_RDONLY)
    except FileNotFoundError:
        return False
    except OSError:
        return True
    try:
        query = struct.pack("hhqqi", fcntl.F_WRLCK, os.SEEK_SET, _SHM_DMS_OFFSET, 1, 0)
        answer = fcntl.fcntl(fd, fcntl.F_GETLK, query)
        lock_type = struct.unpack("hhqqi", answer)[0]
        return lock_type != fcntl.F_UNLCK
    finally:
        os.close(fd)


def open_readonly(path: str) -> sqlite3.Connection:
    """A read-only connection to C{path} that waits a little for writers."""
    conn = sqlite3.connect(f"file:{os.path.abspath(path)}?mode=ro", uri=True,
                           isolation_level=None, timeout=10.0)
    conn.execute("PRAGMA busy_timeout = 10000")
    return conn


def _copy(source: sqlite3.Connection, out_path: str, progress: Optional[Progress],
          before_rename: Optional[Callable[[], None]] = None) -> None:
    """Back C{source} up into C{out_path} via C{out_path.partial}, verified."""
    with partial_file(out_path) as partial:
        target = sqlite3.connect(partial, isolation_level=None)
        try:
            # One read transaction: every step sees the same snapshot, so
            # concurrent writers can neither tear the copy nor restart it.
            with transaction(source, write=False):
                source.execute("SELECT count(*) FROM sqlite_master").fetchone()
                page_size = source.execute("PRAGMA page_size").fetchone()[0]
                source.backup(target, pages=STEP_PAGES,
                              progress=_step_reporter(progress, page_size))
            target.execute("PRAGMA journal_mode = DELETE")
        finally:
            target.close()
        verify_cartridge(partial)
        if before_rename is not None:
            before_rename()
        os.replace(partial, out_path)


def _backup_postgresql(src: str, out_path: str, force: bool) -> int:
    """A backup of a PostgreSQL cartridge is a SQLite one: the whole platform copied into a file,
    from one snapshot, verified table by table (L{fazt.store.copy}), then checked like any backup."""
    from fazt.store.copy import CopyError, copy_cartridge  # it reads the catalog, which imports more

    if os.path.exists(out_path) and not force:
        raise BackupError(f"{out_path} already exists (use --force to overwrite it)")
    with partial_file(out_path) as partial:
        remove_if_exists(partial)  # the copy makes the file (0600) itself
        try:
            copy_cartridge(src, partial)
        except CopyError as error:
            raise BackupError(f"could not back up {display(src)}: {error}") from None
        verify_cartridge(partial)
        os.replace(partial, out_path)
    return os.path.getsize(out_path)


@contextmanager
def partial_file(out_path: str) -> Iterator[str]:
    """A new private file C{out_path.partial} to write a copy into, gone when the block ends.

    The block moves it to C{out_path} when the copy is complete. Database and file errors
    become L{BackupError} naming C{out_path}.
    """
    partial = out_path + ".partial"
    remove_if_exists(partial)
    try:
        create_new_private(partial)
        yield partial
    except sqlite3.Error as error:
        raise BackupError(f"could not write {out_path}: {error}") from error
    except OSError as error:
        raise BackupError(f"could not write {out_path}: {error.strerror or error}") from error
    finally:
        remove_if_exists(partial)
        remove_if_exists(partial + "-journal")


def _step_reporter(progress: Optional[Progress], page_size: int):
    """Adapt C{progress(copied_bytes, total_bytes)} to the backup API's callback."""
    if progress is None:
        return None

    def report(status: int, remaining: int, total: int) -> None:
        progress((total - remaining) * page_size, total * page_size)

    return report


def _remove_sidecars(db_path: str) -> None:
    """Delete the C{-wal} and C{-shm} files left by the database being replaced."""
    for suffix in ("-wal", "-shm", "-journal"):
        remove_if_exists(db_path + suffix)


def create_new_private(path: str) -> None:
    """Create C{path} empty and 0600 (a copy holds key digests and TLS keys); never through a link."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def remove_if_exists(path: str) -> None:
    """Delete C{path} if it exists."""
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
