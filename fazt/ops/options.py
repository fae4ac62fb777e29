"""The operations options of C{twistd fazt}: scheduled backups and retention.

Declared here and spliced into L{fazt.app.options.Options}, so that the operations area keeps its
flags, their converters and their checks in one place.
"""

from __future__ import annotations

import os
from typing import Callable

from twisted.python import usage

from fazt.base.converters import number, whole_number as count
from fazt.ops.durations import parse_duration

DAY = 86400.0


def duration(name: str, minimum: float = 1.0) -> Callable[[str], float]:
    """A converter for a duration option (C{90}, C{30m}, C{6h}, C{1d}) of at least C{minimum} seconds."""

    def convert(value: str) -> float:
        try:
            seconds = parse_duration(value)
        except ValueError as error:
            raise usage.UsageError(f"--{name}: {error}") from None
        if seconds < minimum:
            raise usage.UsageError(f"--{name} must be at least {minimum:g} seconds")
        return seconds

    return convert


def days(name: str) -> Callable[[str], float]:
    """A converter for an age in days (fractions allowed); 0 means for ever."""
    return number(name, float, "a number of days", 0.0, 100 * 365.0, "between 0 (keep for ever) and 36500 days")


OPS_PARAMETERS = [
    ["backup-dir", None, None, "Make scheduled backups of the database into this directory."],
    ["backup-every", None, DAY, "How often to back up: 6h, 1d, or seconds (with --backup-dir).",
     duration("backup-every", 60)],
    ["backup-keep", None, 7, "How many scheduled backups to keep.", count("backup-keep", 1)],
    ["retain-logs-days", None, 30.0, "Days an app's console lines are kept (0: for ever).",
     days("retain-logs-days")],
    ["retain-logs-per-site", None, 10000, "Console lines kept per site at most (0: no cap).",
     count("retain-logs-per-site", 0)],
    ["retain-events-days", None, 365.0, "Days analytics events are kept (0: for ever).",
     days("retain-events-days")],
    ["retain-audit-days", None, 365.0, "Days audit log entries are kept (0: for ever).",
     days("retain-audit-days")],
]


def check_ops_options(options) -> None:
    """C{postOptions} for the operations options: make paths absolute (twistd may chdir)."""
    if options["backup-dir"] is not None:
        if not options["backup-dir"].strip():
            raise usage.UsageError("--backup-dir must not be empty")
        options["backup-dir"] = os.path.abspath(options["backup-dir"])
