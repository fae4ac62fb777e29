"""The time a request's head may take (SPEC §18), on one timer per connection.

A request's head (request line and headers) is timed from its first byte (from the connection's
opening for the first request), however slowly it trickles in. The timer is not made and
cancelled for every request: it stays armed, and when it fires early (the head it was armed for
arrived, a later one began) it is re-armed for the time that later head has left.
"""

from __future__ import annotations

from typing import Any, Callable, Optional


class HeadDeadline:
    """One connection's head deadline: C{timeout} seconds from L{begin} to L{end}, else C{expired()}.

    C{now()} reads the connection's clock; C{call_later(delay, fn)} schedules on it (read at each
    use: the channel's C{callLater} is set after the channel is made).
    """

    def __init__(self, timeout: float, expired: Callable[[], None], now: Callable[[], float],
                 call_later: Callable[[float, Callable[[], None]], Any]) -> None:
        self._timeout = timeout
        self._expired = expired
        self._now = now
        self._call_later = call_later
        self._started: Optional[float] = None  # when the head being awaited began (None: none is)
        self._timer: Any = None

    @property
    def awaited(self) -> bool:
        """Whether a head is being timed."""
        return self._started is not None

    def begin(self) -> None:
        """A request's head is awaited from now: the timer runs (re-armed only when it fires during a
        later head, rather than made and cancelled for every request)."""
        self._started = self._now()
        if self._timer is None:
            self._timer = self._call_later(self._timeout, self._fire)

    def end(self) -> None:
        """The head arrived: the timer, if running, finds nothing to time."""
        self._started = None

    def cancel(self) -> None:
        """Stop timing for good (the connection is refused or gone)."""
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _fire(self) -> None:
        self._timer = None
        if self._started is None:
            return  # idle between requests, or handling one: nothing to time
        remaining = self._started + self._timeout - self._now()
        if remaining > 0:
            self._timer = self._call_later(remaining, self._fire)
            return
        self._expired()
