"""Wall-clock deadlines for many runs on a single timer.

Runs get a few fixed durations (the run wall limit, the check wall limit), so within one duration
deadlines fall in the order the runs were sent: each duration keeps an insertion-ordered dict, and
one C{callLater} is armed for the earliest head. Finishing a run is a dict deletion; no timer is
created or cancelled per run (the timer may wake once for a run that already finished, and then
re-arms for the next head).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Hashable, Optional

from twisted.internet.interfaces import IDelayedCall, IReactorTime


class Deadlines:
    """Calls C{expired(key)} once for every key still present when its deadline passes."""

    def __init__(self, clock: IReactorTime, expired: Callable[[Any], None]) -> None:
        self._clock = clock
        self._expired = expired
        self._lines: dict[float, OrderedDict[Hashable, float]] = {}
        self._timer: Optional[IDelayedCall] = None

    def __len__(self) -> int:
        return sum(len(line) for line in self._lines.values())

    def add(self, key: Hashable, seconds: float) -> None:
        """Start C{key}'s deadline: C{seconds} from now."""
        at = self._clock.seconds() + seconds
        line = self._lines.get(seconds)
        if line is None:
            line = self._lines[seconds] = OrderedDict()
        line.pop(key, None)  # a key added again goes to the back: the line stays in deadline order
        line[key] = at
        if self._timer is None or at < self._timer.getTime():
            self._arm()

    def discard(self, key: Hashable) -> None:
        """Forget C{key} (its run finished in time); no-op if unknown."""
        for line in self._lines.values():
            if line.pop(key, None) is not None:
                return

    def stop(self) -> None:
        """Cancel the timer and forget every deadline."""
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        self._lines.clear()

    def _fire(self) -> None:
        self._timer = None
        now = self._clock.seconds()
        due = []
        for line in self._lines.values():
            while line:
                key, at = next(iter(line.items()))
                if at > now:
                    break
                line.popitem(last=False)
                due.append(key)
        for key in due:
            self._expired(key)
        self._arm()

    def _arm(self) -> None:
        heads = [next(iter(line.values())) for line in self._lines.values() if line]
        if not heads:
            return
        delay = max(0.0, min(heads) - self._clock.seconds())
        if self._timer is not None and self._timer.active():
            self._timer.reset(delay)
        else:
            self._timer = self._clock.callLater(delay, self._fire)
