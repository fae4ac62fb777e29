"""The C{--processes} option of C{twistd fazt} (SPEC §19), and the hidden ones the supervisor gives
its serving processes. Spliced into L{fazt.app.options.Options} (L{PROCESS_PARAMETERS} and the
L{ProcessOptions} mixin); the wiring is in L{fazt.app.supervised}.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Optional

from twisted.python import usage

from fazt.cluster.policy import parse_inherited, process_count, shareable

__all__ = ["PROCESS_PARAMETERS", "ProcessOptions"]


def _processes(value: str) -> int:
    try:
        return process_count(value, os.cpu_count())
    except ValueError:
        raise usage.UsageError(f"--processes must be a whole number of at least 1, or auto; not {value!r}") from None


_processes.coerceDoc = "A whole number, or auto (one per core)."  # type: ignore[attr-defined]

PROCESS_PARAMETERS = [
    ["processes", None, 1,
     "Serving processes sharing the listeners, under a supervisor (auto: one per core); 1: one process.",
     _processes],
]


class ProcessOptions:
    """Mixin of L{fazt.app.options.Options}: remembers the command line (the supervisor starts its
    children with it) and parses the hidden options a serving process is started with."""

    argv: list

    def parseOptions(self, options: Optional[list] = None) -> None:
        self.argv = list(sys.argv[1:] if options is None else options)
        self["process-index"] = None
        self["inherited-fds"] = None
        super().parseOptions(options)  # type: ignore[misc]

    def opt_process_index(self, value: str) -> None:
        """Internal, set by the supervisor: this serving process's index (0 leads)."""
        if not value.isdigit():
            raise usage.UsageError(f"--process-index must be a whole number, not {value!r}")
        self["process-index"] = int(value)  # type: ignore[index]

    def opt_inherited_fds(self, value: str) -> None:
        """Internal, set by the supervisor: BUS,LISTENER,... descriptors a serving process inherits."""
        try:
            self["inherited-fds"] = parse_inherited(value)  # type: ignore[index]
        except ValueError:
            raise usage.UsageError(f"--inherited-fds {value!r} is not BUS,LISTENER,...") from None

    def check_processes(self: Any) -> None:
        """postOptions' checks: the hidden options go together; only stream listeners can be shared."""
        if (self["process-index"] is None) != (self["inherited-fds"] is None):
            raise usage.UsageError("--process-index and --inherited-fds go together (the supervisor sets both)")
        if self["processes"] > 1 and self["process-index"] is None:
            for endpoint in (*self["http"], *self["https"]):
                if not shareable(endpoint):
                    raise usage.UsageError(f"--processes shares tcp:, tcp6: and ssl: listeners only, "
                                           f"not {endpoint!r}")
