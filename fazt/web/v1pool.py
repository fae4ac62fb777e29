"""TEMPORARY: lets the site layer (written against PROTOCOL.md v2) drive the v1 worker pool.

Delete this file, and its one use in fazt/app/tap.py, when the v2 pool is merged: a pool with a
C{check} method is passed through untouched. With the v1 pool, a root C{main.js} runs as before;
function modules cannot run (their requests fail) and every check passes.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred, succeed

from fazt.runtime.code import SCRIPT, CheckResult, CodeBundle, Entry
from fazt.runtime.pool import RunResult


def v2_runner(pool: Any) -> Any:
    """C{pool} itself when it speaks v2 (has C{check}); otherwise a v1 adapter around it."""
    return pool if hasattr(pool, "check") else _V1Adapter(pool)


class _V1Adapter:
    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self._sources: dict[str, str] = {}

    def run(self, site: str, code: CodeBundle, entry: Entry, request: dict, env: dict) -> Deferred:
        if entry.kind != SCRIPT:
            return succeed(RunResult(None, [], "exception", "function modules need the v2 JS pool"))
        source = self._sources.get(code.key)
        if source is not None:
            return self._pool.run(site, code.key, source, request, env)

        def loaded(text):
            if len(self._sources) >= 256:
                self._sources.clear()
            self._sources[code.key] = text or ""
            return self._pool.run(site, code.key, text or "", request, env)

        return code.source(entry.path).addCallback(loaded)

    def check(self, site: str, code: CodeBundle, entries: list) -> Deferred:
        return succeed(CheckResult(True))
