"""Request rate limits per client address for the admin API and sign-in (SPEC §18).

A token bucket per address: C{burst} requests at once, refilled at C{rate} per second. Past it,
the request is answered 429 C{RATE_LIMIT_EXCEEDED} with C{Retry-After} before any route runs.
Sign-in (C{/api/login}) has a bucket of its own, stricter than the rest of the API, so that a
flood of logins cannot eat the budget of a dashboard nor the other way round.

The address is the one the login lockout counts (the peer, or behind trusted proxies the client
they name; IPv6 by /64). Memory stays bounded: at most C{max_tracked} addresses are remembered,
the least recently seen forgotten first (a forgotten address starts again with a full bucket,
which is what it would have had after a short pause anyway). With several processes or nodes the
wiring shares the buckets over the event bus (L{fazt.web.sharedbuckets}), so the limits are the
platform's, not each process's.
"""

from __future__ import annotations

import math
from typing import Callable, Optional, Sequence

from twisted.internet.interfaces import IReactorTime
from twisted.web.server import Request

from fazt.base.errors import ApiError
from fazt.web.envelope import fail
from fazt.web.lockout import Network, lockout_key, request_client_address

MAX_TRACKED = 10_000
API_RATE, API_BURST = 20.0, 200
LOGIN_RATE, LOGIN_BURST = 1.0, 20
# The API areas that check a password: they use the sign-in bucket.
SIGN_IN_AREAS = frozenset({b"login"})


class TokenBuckets:
    """One token bucket per key, for at most C{max_tracked} keys."""

    def __init__(self, rate: float, burst: int, clock: IReactorTime,
                 max_tracked: int = MAX_TRACKED) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._max_tracked = max_tracked
        # key -> (tokens, when counted); dict order is least recently seen first.
        self._buckets: dict[str, tuple[float, float]] = {}
        # Told each token taken here (fazt.web.sharedbuckets tells the other processes).
        self.on_spent: Optional[Callable[[str], None]] = None

    def take(self, key: str) -> float:
        """Spend one token of C{key}'s bucket: 0 if there was one, else the seconds until there is."""
        tokens, now = self._refilled(key)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
            if self.on_spent is not None:
                self.on_spent(key)
        else:
            wait = (1.0 - tokens) / self.rate
        self._keep(key, tokens, now)
        return wait

    def spend(self, key: str, count: int) -> None:
        """Take C{count} tokens of C{key}'s bucket that another process already admitted.

        The bucket may go below zero (down to -burst): the platform did admit those requests, so
        the debt is what makes the sum over every process hold C{burst} plus C{rate} per second.
        """
        tokens, now = self._refilled(key)
        self._keep(key, max(-float(self.burst), tokens - count), now)

    def _refilled(self, key: str) -> tuple[float, float]:
        now = self._clock.seconds()
        entry = self._buckets.pop(key, None)
        tokens = float(self.burst) if entry is None else min(
            float(self.burst), entry[0] + max(0.0, now - entry[1]) * self.rate)
        return tokens, now

    def _keep(self, key: str, tokens: float, now: float) -> None:
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self._max_tracked:
            del self._buckets[next(iter(self._buckets))]

    def __len__(self) -> int:
        return len(self._buckets)


class ApiRateLimit:
    """The guard the admin host runs before every C{/api/...} request (see L{RootResource}).

    A bucket set of C{None} (rate 0) leaves its routes unlimited. C{limited} counts the 429s
    by bucket (C{api}, C{login}) for /metrics.
    """

    def __init__(self, api: Optional[TokenBuckets], login: Optional[TokenBuckets],
                 trusted_proxies: Sequence[Network] = ()) -> None:
        self._buckets = {"api": api, "login": login}
        self._trusted = tuple(trusted_proxies)
        self.limited = {"api": 0, "login": 0}

    def __call__(self, request: Request, area: bytes) -> Optional[bytes]:
        """C{None} if the request to API area C{area} may go ahead, else the 429 response body."""
        name = "login" if area in SIGN_IN_AREAS else "api"
        buckets = self._buckets[name]
        if buckets is None:
            return None
        wait = buckets.take(lockout_key(request_client_address(request, self._trusted)))
        if not wait:
            return None
        self.limited[name] += 1
        seconds = max(1, math.ceil(wait))
        request.setHeader(b"retry-after", str(seconds).encode("ascii"))
        request.setHeader(b"cache-control", b"no-store")
        return fail(request, ApiError(429, "RATE_LIMIT_EXCEEDED",
                                      f"Too many requests from this address; try again in {seconds} s."))


def buckets_for(rate: float, burst: int, clock: IReactorTime) -> Optional[TokenBuckets]:
    """The buckets of one option pair, or C{None} when C{rate} is 0 (no limit)."""
    return TokenBuckets(rate, burst, clock) if rate > 0 else None
