"""C{twistd -ny fazt.tac}: the command line of C{twistd fazt}, read from FAZT_* environment variables.

Every option has a variable: C{--backup-every 6h} is C{FAZT_BACKUP_EVERY=6h}. A flag is set by any
value but C{""}, C{0}, C{false} or C{no}; the repeatable options (C{--http}, C{--https},
C{--trusted-proxy}) take a space-separated list, each entry shell-quoted if it needs to be.
"""

from __future__ import annotations

import shlex
from typing import Mapping

from fazt.app.options import Options

REPEATABLE = ("http", "https", "trusted-proxy")
_OFF = ("", "0", "false", "no")


def variable_for(option: str) -> str:
    """The environment variable of a long option name: C{backup-every} -> C{FAZT_BACKUP_EVERY}."""
    return "FAZT_" + option.upper().replace("-", "_")


def argv_from_environment(environ: Mapping[str, str]) -> list[str]:
    """The C{twistd fazt} arguments that C{environ}'s FAZT_* variables stand for (pure)."""
    argv: list[str] = []
    for name, *_ in Options.optParameters:
        value = environ.get(variable_for(name))
        if value is not None and value != "":
            argv += [f"--{name}", value]
    for name, *_ in Options.optFlags:
        if environ.get(variable_for(name), "").strip().lower() not in _OFF:
            argv.append(f"--{name}")
    for name in REPEATABLE:
        for entry in shlex.split(environ.get(variable_for(name), "")):
            argv += [f"--{name}", entry]
    return argv


def options_from_environment(environ: Mapping[str, str]) -> Options:
    """Parsed options, exactly as C{twistd fazt} would parse the same command line."""
    options = Options()
    options.parseOptions(argv_from_environment(environ))
    return options
