"""What a site's code is to the JS runtime: a bundle of files, an entry in it, and a check's verdict.

The web layer builds a L{CodeBundle} from a site's active deployment, the deploy layer from an upload
being checked; the pool answers the worker's C{module.paths}/C{module.source} calls from it (see
PROTOCOL.md). Plain data: nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from twisted.internet.defer import Deferred

SCRIPT = "script"
"""Entry kind of a root C{main.js} (part one's fazt or handler style)."""
MODULE = "module"
"""Entry kind of a function module under C{api/} (SPEC §14)."""


@dataclass(frozen=True)
class CodeBundle:
    """The code of one deployment (or of an upload being checked), as the worker loads it.

    C{key} is unique per deployment (C{"SITE:DEPLOYMENT_ID"}, or C{"check:N"}): the worker keeps one
    interpreter per (site, key). C{paths} holds every file path of the deployment (no leading slash);
    C{source(path)} fires with the file's UTF-8 text, or None if it does not exist.
    """

    key: str
    paths: frozenset
    source: Callable[[str], Deferred]


@dataclass(frozen=True)
class Entry:
    """Where a run starts: the root C{main.js} (C{SCRIPT}) or a function module (C{MODULE})."""

    kind: str
    path: str

    def wire(self) -> dict:
        """The C{entry} object of a C{run} frame."""
        return {"kind": self.kind, "path": self.path}


@dataclass(frozen=True)
class CheckResult:
    """Whether an upload's code compiles and all its imports resolve; where it does not, why."""

    ok: bool
    file: Optional[str] = None
    line: Optional[int] = None
    message: str = ""
