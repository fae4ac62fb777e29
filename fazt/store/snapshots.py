"""
A directory of dated backups of one cartridge: when the next is due, making it, pruning old ones.

Synchronous and self-contained, for a thread of L{fazt.ops.backups.ScheduledBackups}. Backups
are named C{fazt-backup-YYYYmmdd-HHMMSS.db} (UTC), so the newest sorts last and only files of
that shape are ever pruned: anything else an operator keeps in the directory is left alone.
"""

from __future__ import annotations

import calendar
import os
import re
import time
from dataclasses import dataclass
from typing import Optional

from fazt.store.backup import BackupError, backup_database, remove_if_exists

_NAME = re.compile(r"^fazt-backup-(\d{8}-\d{6})\.db$")
_STALE_PARTIAL = re.compile(r"^fazt-backup-\d{8}-\d{6}\.db\.partial(-journal)?$")


@dataclass(frozen=True)
class Outcome:
    """What one scheduled run did: the backup written (or None if none was due), and what it pruned."""

    path: Optional[str]
    size: int
    removed: tuple[str, ...]


def backup_name(now: float) -> str:
    """The file name of a backup made at C{now}."""
    return time.strftime("fazt-backup-%Y%m%d-%H%M%S.db", time.gmtime(now))


def list_backups(directory: str) -> list[tuple[float, str]]:
    """(time made, path) of every backup in C{directory}, oldest first; [] if there is no directory."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    found = []
    for name in names:
        match = _NAME.match(name)
        if match:
            made = calendar.timegm(time.strptime(match.group(1), "%Y%m%d-%H%M%S"))
            found.append((float(made), os.path.join(directory, name)))
    found.sort()
    return found


def is_due(directory: str, interval: float, now: float) -> bool:
    """Whether the newest backup in C{directory} is C{interval} seconds old (or there is none).

    A server restarted an hour after its daily backup does not make another one at once.
    """
    backups = list_backups(directory)
    return not backups or now - backups[-1][0] >= interval or backups[-1][0] > now


def prune(directory: str, keep: int) -> list[str]:
    """Delete all but the C{keep} newest backups, and partial files a crash left; the paths removed."""
    removed = []
    backups = list_backups(directory)
    for _, path in backups[: max(0, len(backups) - keep)]:
        remove_if_exists(path)
        removed.append(path)
    for name in os.listdir(directory):
        if _STALE_PARTIAL.match(name):
            remove_if_exists(os.path.join(directory, name))
            removed.append(os.path.join(directory, name))
    return removed


def scheduled_backup(db_path: str, directory: str, interval: float, keep: int, now: float) -> Outcome:
    """Back C{db_path} up into C{directory} if one is due, then prune to C{keep}.

    Raises L{BackupError} when the backup cannot be made (its partial file is removed).
    """
    try:
        os.makedirs(directory, mode=0o750, exist_ok=True)
    except OSError as error:
        raise BackupError(f"cannot create {directory}: {error.strerror or error}") from error
    path, size = None, 0
    if is_due(directory, interval, now):
        path = os.path.join(directory, backup_name(now))
        size = backup_database(db_path, path)
    return Outcome(path, size, tuple(prune(directory, keep)))

