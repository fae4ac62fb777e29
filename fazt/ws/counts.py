"""Other processes' WebSocket client counts, as they report them on the bus (pure bookkeeping).

Each serving process publishes its per-site counts when they change, and all of them now and then
(a heartbeat, and an answer to a process that just started); this keeps the latest of each and
forgets a process that has said it is going, or that has not been heard of for a while (one that
was killed says nothing).
"""

from __future__ import annotations


class RemoteCounts:
    """C{{process: {site: clients}}} of the other processes, with when each was last heard of."""

    def __init__(self, forget_after: float) -> None:
        self.forget_after = forget_after
        self._counts: dict[str, dict[str, int]] = {}
        self._heard: dict[str, float] = {}
        self._by_site: dict[str, int] = {}

    def apply(self, process: str, counts: dict, full: bool, now: float) -> None:
        """Take a report of C{process}: C{counts} by site; C{full} replaces everything it said before."""
        mine = self._counts.setdefault(process, {})
        self._heard[process] = now
        if full:
            for site in list(mine):
                self._set(mine, site, 0)
        for site, count in counts.items():
            if isinstance(site, str) and isinstance(count, int) and count >= 0:
                self._set(mine, site, count)

    def forget(self, process: str) -> None:
        """C{process} has stopped: its clients are gone."""
        for site in list(self._counts.get(process, ())):
            self._set(self._counts[process], site, 0)
        self._counts.pop(process, None)
        self._heard.pop(process, None)

    def expire(self, now: float) -> list[str]:
        """Forget the processes not heard of for C{forget_after} seconds; returns them."""
        gone = [p for p, heard in self._heard.items() if now - heard > self.forget_after]
        for process in gone:
            self.forget(process)
        return gone

    def clients(self, site: str) -> int:
        """The other processes' clients of C{site}, at their last reports."""
        return self._by_site.get(site, 0)

    def processes(self) -> list[str]:
        """The other processes heard of and not forgotten."""
        return sorted(self._heard)

    def _set(self, mine: dict, site: str, count: int) -> None:
        total = self._by_site.get(site, 0) - mine.get(site, 0) + count
        if count:
            mine[site] = count
        else:
            mine.pop(site, None)
        if total:
            self._by_site[site] = total
        else:
            self._by_site.pop(site, None)
