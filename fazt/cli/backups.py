"""
C{fazt backup OUT [--db PATH | --server URL]}, C{fazt restore IN --db PATH [--force]} and
C{fazt vacuum --db PATH [--into OUT]}.

With C{--db} the cartridge file is read directly (no server needed; backing
up a database a server is using is safe thanks to WAL). Otherwise the
running server is asked for a snapshot (C{POST /api/system/backup}) with the
usual C{--server}/C{--token} defaults; the download goes to C{OUT.partial},
is verified like any backup and only then renamed to C{OUT}. The work is
done by L{fazt.store.backup}; this module parses, reports progress on
stderr and turns every failure into a one-line C{error: ...}.
"""

import argparse
import os
import sys
from typing import Optional

from fazt.cli.errors import CliError
from fazt.cli.formatting import human_size
from fazt.cli.progress import PROGRESS_THRESHOLD, UploadProgress

BACKUP_PATH = "/api/system/backup"


def add_backup_commands(subcommands) -> None:
    """Add the C{backup} and C{restore} subcommands to C{subcommands}."""
    backup = subcommands.add_parser(
        "backup", help="save a verified snapshot of a database or of a running server",
        description="Save a consistent, integrity-checked snapshot of a fazt cartridge: of the file "
        "--db PATH (safe while a server uses it), or else of the running server at --server "
        "(default: $FAZT_SERVER or the config file) with an admin token.",
    )
    backup.add_argument("out", metavar="OUT", help="the backup file to write")
    backup.add_argument("--db", metavar="PATH", help="the database file to back up")
    backup.add_argument("--server", metavar="URL",
                        help="the server's admin URL (default: $FAZT_SERVER, the config file, "
                        "or http://localhost:4698)")
    backup.add_argument("--token", metavar="TOKEN", help="an admin API token (default: $FAZT_TOKEN or the config file)")
    backup.add_argument("--force", action="store_true", help="overwrite OUT if it exists")
    backup.set_defaults(run=run_backup)

    restore = subcommands.add_parser(
        "restore", help="restore a database from a backup file (the server must be stopped)",
        description="Verify a backup file and copy it into place as a fazt database.",
    )
    restore.add_argument("source", metavar="IN", help="the backup file to restore")
    restore.add_argument("--db", required=True, metavar="PATH", help="the database to create or replace")
    restore.add_argument("--force", action="store_true",
                         help="replace an existing database (never one a running server uses)")
    restore.set_defaults(run=run_restore)

    vacuum = subcommands.add_parser(
        "vacuum", help="give the space freed inside a database back to the disk",
        description="Compact a fazt database. In place (VACUUM) only while no server uses it; with "
        "--into OUT, write a compacted, verified copy instead, which is safe while the server runs.",
    )
    vacuum.add_argument("--db", required=True, metavar="PATH", help="the database to compact")
    vacuum.add_argument("--into", metavar="OUT", help="write a compacted copy to OUT instead")
    vacuum.add_argument("--force", action="store_true", help="overwrite OUT if it exists")
    vacuum.set_defaults(run=run_vacuum)


def run_backup(args: argparse.Namespace) -> int:
    """C{fazt backup}: write OUT and say where, how big, and that it is intact."""
    from fazt.store.backup import BackupError, backup_database

    if args.db and (args.server or args.token):
        raise CliError("give either --db (a file) or --server/--token (a running server), not both")
    if args.db:
        try:
            size = backup_database(args.db, args.out, progress=_PageProgress("backing up"), force=args.force)
        except BackupError as error:
            raise CliError(error.message) from error
        source = args.db
    else:
        size, source = _download(args)
    print(f"backup of {source} written to {args.out} ({human_size(size)}), integrity ok")
    return 0


def _download(args: argparse.Namespace) -> tuple[int, str]:
    """Fetch a snapshot from the server into OUT (via OUT.partial); (size, server URL)."""
    from fazt.cli.client import ApiClient
    from fazt.cli.settings import resolve_settings
    from fazt.store.backup import BackupError, remove_if_exists, verify_cartridge

    if os.path.exists(args.out) and not args.force:
        raise CliError(f"{args.out} already exists (use --force to overwrite it)")
    settings = resolve_settings(args.server, args.token)
    client = ApiClient(settings.server, settings.require_token())
    partial = args.out + ".partial"
    progress = _PageProgress("downloading")
    try:
        with _Sink(partial) as sink:
            print(f"asking {settings.server} for a snapshot...", file=sys.stderr)
            client.download("POST", BACKUP_PATH, sink,
                            on_progress=lambda got, total: progress(got, total or 0))
        verify_cartridge(partial)
        os.replace(partial, args.out)
    except BackupError as error:
        raise CliError(f"the server's backup is not usable: {error.message}") from error
    except OSError as error:
        raise CliError(f"could not write {args.out}: {error.strerror or error}") from error
    finally:
        remove_if_exists(partial)
    return os.path.getsize(args.out), settings.server


def run_restore(args: argparse.Namespace) -> int:
    """C{fazt restore}: verify IN, put it at --db, and report."""
    from fazt.store.backup import BackupError, restore_database

    try:
        size = restore_database(args.source, args.db, force=args.force,
                                progress=_PageProgress("restoring"))
    except BackupError as error:
        raise CliError(error.message) from error
    print(f"database restored to {args.db} ({human_size(size)}), integrity ok")
    return 0


def run_vacuum(args: argparse.Namespace) -> int:
    """C{fazt vacuum}: compact in place, or into a copy; report the sizes."""
    from fazt.store.backup import BackupError
    from fazt.store.vacuum import vacuum_in_place, vacuum_into

    try:
        if args.into:
            result = vacuum_into(args.db, args.into, force=args.force)
            target = args.into
        else:
            result = vacuum_in_place(args.db)
            target = args.db
    except BackupError as error:
        raise CliError(error.message) from error
    print(f"{target}: {human_size(result.before)} -> {human_size(result.after)} "
          f"({human_size(result.free_before)} was free inside), integrity ok")
    return 0


class _Sink:
    """A file to download into whose write errors are the user's to read, not the network's."""

    def __init__(self, path: str):
        self.path = path
        self._file = None

    def __enter__(self) -> "_Sink":
        try:
            # A backup holds key digests and TLS private keys: readable by its owner only, and
            # a new file (O_EXCL), never one a link left at this path leads to.
            if os.path.lexists(self.path):
                os.remove(self.path)
            descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            self._file = os.fdopen(descriptor, "wb")
        except OSError as error:
            raise CliError(f"could not write {self.path}: {error.strerror or error}") from error
        return self

    def write(self, data: bytes) -> None:
        try:
            self._file.write(data)
        except OSError as error:
            raise CliError(f"could not write {self.path}: {error.strerror or error}") from error

    def __exit__(self, *exc_info) -> None:
        self._file.close()


class _PageProgress:
    """Report bytes copied on stderr, for databases over the progress threshold."""

    def __init__(self, label: str):
        self.label = label
        self._bar: Optional[UploadProgress] = None

    def __call__(self, copied: int, total: int) -> None:
        """Called after each step with byte counts (C{total} 0 when unknown)."""
        if self._bar is None:
            if total < PROGRESS_THRESHOLD or copied >= total:
                return
            self._bar = UploadProgress(total, sys.stderr, label=self.label)
        self._bar(copied)
        if copied >= total:
            self._bar.finish()

