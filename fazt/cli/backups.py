"""
C{fazt backup OUT --db PATH} and C{fazt restore IN --db PATH [--force]}.

Both work on the cartridge file directly (no server needed); backing up a
database a server is using is safe thanks to WAL. The work is done by
L{fazt.store.backup}; this module only parses, reports progress on stderr
and turns L{BackupError} into a one-line C{error: ...}.
"""

import argparse
import sys

from fazt.cli.errors import CliError
from fazt.cli.formatting import human_size
from fazt.cli.progress import PROGRESS_THRESHOLD, UploadProgress


def add_backup_commands(subcommands) -> None:
    """Add the C{backup} and C{restore} subcommands to C{subcommands}."""
    backup = subcommands.add_parser(
        "backup", help="copy a database into a verified backup file (safe while the server runs)",
        description="Copy a fazt database into a consistent, integrity-checked backup file.",
    )
    backup.add_argument("out", metavar="OUT", help="the backup file to write")
    backup.add_argument("--db", required=True, metavar="PATH", help="the database to back up")
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


def run_backup(args: argparse.Namespace) -> int:
    """C{fazt backup}: write OUT and say where, how big, and that it is intact."""
    from fazt.store.backup import BackupError, backup_database

    try:
        size = backup_database(args.db, args.out, progress=_PageProgress("backing up"), force=args.force)
    except BackupError as error:
        raise CliError(error.message) from error
    print(f"backup written to {args.out} ({human_size(size)}), integrity ok")
    return 0


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


class _PageProgress:
    """Report bytes copied on stderr, for databases over the progress threshold."""

    def __init__(self, label: str):
        self.label = label
        self._bar = None

    def __call__(self, copied: int, total: int) -> None:
        """Called by the backup after each step with byte counts."""
        if self._bar is None:
            if total < PROGRESS_THRESHOLD or copied >= total:
                return
            self._bar = UploadProgress(total, sys.stderr, label=self.label)
        self._bar(copied)
        if copied >= total:
            self._bar.finish()
