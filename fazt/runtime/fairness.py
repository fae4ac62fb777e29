"""Which sites recently burned CPU in their scripts: the measure behind the pool's fair shares.

Pure bookkeeping on an injected clock (no I/O, no timers): the pool records the CPU each finished
run used (the worker's C{cpu_ms}) and asks whether a site is "heavy" before placing its next run
(see L{fazt.runtime.lanes}). A site's score is a moving average of its CPU per run that also fades
with time, so a site that turned hostile is confined after a run or two, and one that stopped being
hostile is let out again after a few light runs or a quiet minute.
"""

from __future__ import annotations

from dataclasses import dataclass

from twisted.internet.interfaces import IReactorTime

# How QuickJS words a run that hit its stack limit (a catchable RangeError, so it reaches the parent as
# an ordinary exception); older builds said "InternalError: stack overflow".
_STACK_LIMIT_MESSAGES = ("Maximum call stack size exceeded", "InternalError: stack overflow")


def run_cost(outcome: dict, budget_ms: float) -> float:
    """The CPU ms a finished run counts for in the fair shares.

    What the worker measured, except that a run stopped at one of its limits counts as the whole
    budget C{budget_ms}: running out of CPU or memory, and overflowing the stack. A stack overflow
    is cheap (a millisecond or two) but only a runaway script hits it; counted at its CPU alone, a
    site answering a thousand such failures a second stayed light and filled the light workers,
    and a harmless neighbour's p50 rose 6.7x (bench/js.py's hostile case; 1.0x once counted so).
    """
    cpu = outcome.get("cpu_ms")
    cpu = float(cpu) if isinstance(cpu, (int, float)) and not isinstance(cpu, bool) else 0.0
    if outcome.get("t") != "failed":
        return cpu
    kind, message = outcome.get("kind"), outcome.get("message")
    if kind in ("timeout", "memory") or (
            kind == "exception" and isinstance(message, str) and any(m in message for m in _STACK_LIMIT_MESSAGES)):
        return max(cpu, float(budget_ms))
    return cpu


@dataclass
class _Record:
    score: float  # moving average of CPU ms per run, as of C{at}
    at: float


class CpuShares:
    """Recent CPU per run of each site, decayed with time.

    @param clock: gives the time (C{seconds()}).
    @param heavy_ms: a site whose score is at least this is heavy (the pool uses a quarter of the
        per-request CPU budget: a hostile run burns the whole budget and lifts a site over it at once).
    @param weight: how much one run moves the average (the first run sets it outright).
    @param half_life: seconds in which a score halves when the site runs nothing.
    @param forget_after: seconds after which a silent site is forgotten (it becomes unknown again),
        so the table holds only sites active in the last minutes.
    @param blocking_for: seconds for which a site whose run made a sync host call counts as blocking.
    """

    def __init__(self, clock: IReactorTime, heavy_ms: float = 25.0, weight: float = 0.3,
                 half_life: float = 30.0, forget_after: float = 600.0, blocking_for: float = 60.0) -> None:
        self._clock = clock
        self.heavy_ms = heavy_ms
        self._weight = weight
        self._half_life = half_life
        self._forget_after = forget_after
        self._blocking_for = blocking_for
        self._records: dict[str, _Record] = {}
        self._blocking: dict[str, float] = {}  # site -> when one of its runs last made a sync host call
        self._since_prune = 0

    def record(self, site: str, cpu_ms: float) -> None:
        """A run of C{site} finished after using C{cpu_ms} of CPU."""
        now = self._clock.seconds()
        cpu_ms = max(0.0, float(cpu_ms))
        record = self._records.get(site)
        if record is None:
            self._records[site] = _Record(cpu_ms, now)
        else:
            record.score = self._decayed(record, now) * (1 - self._weight) + cpu_ms * self._weight
            record.at = now
        self._since_prune += 1
        if self._since_prune >= 1024:
            self._prune(now)

    def waiting(self, site: str) -> None:
        """A run of C{site} awaits I/O (an async host call): it is not burning CPU now.

        A site never seen becomes known (and light) at once, so its other runs need not wait for
        a slow first request to finish; what that run then costs is recorded when it ends.
        """
        if not self.known(site):
            self.record(site, 0.0)

    def blocking(self, site: str) -> None:
        """A run of C{site} made a sync host call: its worker sits idle until the parent answers."""
        self._blocking[site] = self._clock.seconds()

    def blocks(self, site: str) -> bool:
        """Whether the site's runs made sync host calls in the last C{blocking_for} seconds: such runs
        hold their worker longer than their CPU says."""
        at = self._blocking.get(site)
        return at is not None and self._clock.seconds() - at < self._blocking_for

    def score(self, site: str) -> float:
        """The site's recent CPU per run, in ms (0 for a site never seen)."""
        record = self._records.get(site)
        return 0.0 if record is None else self._decayed(record, self._clock.seconds())

    def heavy(self, site: str) -> bool:
        """Whether the site's recent runs burned enough CPU to confine it to the heavy lane."""
        return self.score(site) >= self.heavy_ms

    def known(self, site: str) -> bool:
        """Whether a run of the site finished recently enough for its score to mean something."""
        record = self._records.get(site)
        return record is not None and self._clock.seconds() - record.at < self._forget_after

    def _decayed(self, record: _Record, now: float) -> float:
        elapsed = max(0.0, now - record.at)
        return record.score * 0.5 ** (elapsed / self._half_life)

    def _prune(self, now: float) -> None:
        self._since_prune = 0
        stale = [site for site, record in self._records.items() if now - record.at >= self._forget_after]
        for site in stale:
            del self._records[site]
        for site in [site for site, at in self._blocking.items() if now - at >= self._blocking_for]:
            del self._blocking[site]
