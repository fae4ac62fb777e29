"""Rate limits that hold for the whole platform, however many processes or nodes serve it (SPEC §19).

Every process keeps a replica of each shared L{TokenBuckets} (the admin API's, sign-in's, the
on-demand certificate orders'). A token taken in one process is told to the others on the event
bus (C{ratelimit.spent}), which take it from their replicas: since every replica refills at the same
rate to the same burst and spends the same tokens, they agree, and a client gets C{burst} requests
plus C{rate} a second from the platform, not from each process.

The tokens a process takes during one reactor turn travel as one message, sent on the next turn:
under a flood the bus carries at most one message per process per turn, however many requests
were admitted. The bus rather than the store: a limit is checked on every admin API request, and
making each one a write on the store's single writer would cost more than what the limit guards.
The price is the bus's delay (a millisecond or so between processes, a few between nodes): a burst
fired at the same instant at several processes may get what each had left through before they
hear of each other; a client going one request after the other, as any client waiting for its
answers does, meets the limit exactly. Replicas forget keys on their own (the least recently seen
first), and a process that starts or restarts begins with full buckets, as a lone process always did.
"""

from __future__ import annotations

import secrets
from typing import Optional

from twisted.internet.interfaces import IReactorTime

from fazt.base.bus import RATE_SPENT, IEventBus
from fazt.web.ratelimit import TokenBuckets


class SharedBuckets:
    """Tells the bus the tokens this process takes, and takes the other processes' from its replicas."""

    def __init__(self, bus: IEventBus, clock: IReactorTime, process: Optional[str] = None) -> None:
        self._bus = bus
        self._clock = clock
        self.process = process or secrets.token_hex(8)
        self._buckets: dict[str, TokenBuckets] = {}
        self._spent: dict[str, dict[str, int]] = {}  # this turn's tokens, by bucket then key
        self._flush_call = None
        bus.subscribe(RATE_SPENT, self._heard)

    def share(self, name: str, buckets: Optional[TokenBuckets]) -> Optional[TokenBuckets]:
        """Share C{buckets} under C{name} (the same in every process); returns them (C{None}: no limit)."""
        if buckets is not None:
            self._buckets[name] = buckets
            buckets.on_spent = lambda key: self._took(name, key)
        return buckets

    def _took(self, name: str, key: str) -> None:
        counts = self._spent.setdefault(name, {})
        counts[key] = counts.get(key, 0) + 1
        if self._flush_call is None:
            self._flush_call = self._clock.callLater(0, self._flush)

    def _flush(self) -> None:
        self._flush_call = None
        spent, self._spent = self._spent, {}
        if spent:
            self._bus.publish(RATE_SPENT, {"process": self.process, "spent": spent})

    def _heard(self, message: dict) -> None:
        if message.get("process") == self.process:
            return  # taken here already, when admitted
        spent = message.get("spent")
        if not isinstance(spent, dict):
            return
        for name, counts in spent.items():
            buckets = self._buckets.get(name)
            if buckets is None or not isinstance(counts, dict):
                continue  # a limit this process does not have (e.g. 0 here): nothing to count
            for key, count in counts.items():
                if isinstance(key, str) and isinstance(count, int) and count > 0:
                    buckets.spend(key, count)
