"""Login lockout by client address (SPEC §9): the rules, the address, and a little state.

The address is the TCP peer's. C{X-Forwarded-For} is believed only when the peer is a trusted
proxy, and then only as far as it goes through trusted proxies: the client is the right-most
address that is not one of ours, since everything left of it was written by the client itself.
IPv6 clients are counted per /64, the block one subscriber usually holds.

With several processes or nodes (SPEC §19) failures count platform-wide: given a bus, each failure
and each successful login is published (C{login.failed}, C{login.succeeded} with the counted key)
and every process, the publisher included, counts it on delivery (the bus delivers to its own
process before C{publish} returns). The bus rather than the store: a lockout is a guard of
minutes that need not survive a restart (it never did), the bus reaches every process within
milliseconds while one bcrypt check takes a quarter of a second, so a guesser going one attempt
after the other is locked everywhere after the fifth failure; and no login attempt becomes a write
on the store's single writer. Attempts in flight (admitted, their password still being checked)
are shared the same way (C{login.checking} when admitted, C{login.checked} when done, whatever the
outcome), so that guesses fired without waiting for the answers, at several processes, count
against one limit too: only those fired at different processes within the bus's delay (about a
millisecond) can pass together. An attempt whose end never arrives (its process died) stops
counting after C{CHECK_EXPIRY} seconds. Each process counts with its own clock from the moment it
hears of a failure.
"""

from __future__ import annotations

import ipaddress
import itertools
import secrets
from typing import Callable, Iterable, Optional, Sequence

from twisted.internet.interfaces import IReactorTime

from fazt.base.bus import LOGIN_CHECKED, LOGIN_CHECKING, LOGIN_FAILED, LOGIN_SUCCEEDED, IEventBus

MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60
MAX_TRACKED = 10_000
# Longest an attempt counts as in flight without its end being heard of (a check queued behind the
# bcrypt pool's others takes seconds; its process may die before it ends).
CHECK_EXPIRY = 60.0

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """CIDR strings (or bare addresses) as networks; raises ValueError naming a bad one."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{value!r} is not an IP network (use CIDR, e.g. 10.0.0.0/8)") from None
    return tuple(networks)


def parse_address(text: str) -> Optional[Address]:
    """An address as a peer or a proxy writes it (C{1.2.3.4}, C{1.2.3.4:80}, C{[::1]:80}), or None."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, networks: Sequence[Network]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def client_address(peer: str, forwarded_for: Sequence[str], trusted: Sequence[Network]) -> str:
    """The address a login attempt is counted against.

    C{peer} is the TCP peer's host, C{forwarded_for} every C{X-Forwarded-For} header value in
    order, C{trusted} the configured proxy networks.
    """
    current = parse_address(peer)
    if current is None:
        return peer
    if not _trusted(current, trusted):
        return str(current)
    hops = [hop for value in forwarded_for for hop in value.split(",")]
    for hop in reversed(hops):
        address = parse_address(hop)
        if address is None:
            break  # a trusted proxy wrote nonsense: count against the closest hop we know
        current = address
        if not _trusted(address, trusted):
            break
    return str(current)


def request_client_address(request, trusted: Sequence[Network]) -> str:
    """L{client_address} of a twisted.web request: its peer and its C{X-Forwarded-For} headers."""
    peer = getattr(request.getClientAddress(), "host", None) or "unknown"
    forwarded = request.requestHeaders.getRawHeaders(b"x-forwarded-for") or []
    return client_address(peer, [v.decode("latin-1") for v in forwarded], trusted)


def lockout_key(address: str) -> str:
    """What failures are counted under: the address, or its /64 for IPv6."""
    parsed = parse_address(address)
    if parsed is not None and parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return address


class LoginLockout:
    """Counts failed logins per address; C{max_failures} within C{window} locks it for C{window}.

    Attempts still being checked count against the limit too, so that firing many at once
    does not get more guesses through than firing them one by one.
    """

    def __init__(self, clock: IReactorTime, max_failures: int = MAX_FAILURES,
                 window: float = WINDOW_SECONDS, max_tracked: int = MAX_TRACKED,
                 bus: Optional[IEventBus] = None) -> None:
        self._clock = clock
        self.max_failures = max_failures
        self.window = window
        self._max_tracked = max_tracked
        self._failures: dict[str, list[float]] = {}
        self._locked_until: dict[str, float] = {}
        # key -> {attempt: when it stops counting}: every process's attempts being checked.
        self._in_flight: dict[str, dict[str, float]] = {}
        self._mine: dict[str, list[str]] = {}  # key -> this process's attempts, oldest first
        self._attempts = (f"{secrets.token_hex(6)}-{n}" for n in itertools.count())
        self._bus = bus
        if bus is not None:
            bus.subscribe(LOGIN_FAILED, lambda message: self._count_failure(str(message["key"])))
            bus.subscribe(LOGIN_SUCCEEDED, lambda message: self._forget(str(message["key"])))
            bus.subscribe(LOGIN_CHECKING, lambda message: self._checking(str(message["key"]),
                                                                         str(message["attempt"])))
            bus.subscribe(LOGIN_CHECKED, lambda message: self._checked(str(message["key"]),
                                                                       str(message["attempt"])))

    def retry_after(self, address: str) -> int:
        """Seconds until C{address} may try again; 0 when it is not locked."""
        key = lockout_key(address)
        until = self._locked_until.get(key)
        if until is None:
            return 0
        remaining = until - self._clock.seconds()
        if remaining <= 0:
            del self._locked_until[key]
            return 0
        return max(1, int(remaining + 0.999))

    def admit(self, address: str) -> int:
        """Start an attempt from C{address}: 0 if it may go ahead, else the seconds to wait.

        An admitted attempt must be ended with L{release}.
        """
        wait = self.retry_after(address)
        if wait:
            return wait
        key = lockout_key(address)
        if len(self._recent(key)) + self._checking_now(key) >= self.max_failures:
            return 1
        attempt = next(self._attempts)
        self._mine.setdefault(key, []).append(attempt)
        self._tell(LOGIN_CHECKING, key, attempt, self._checking)
        return 0

    def release(self, address: str) -> None:
        """End an attempt started with L{admit}, whatever its outcome."""
        key = lockout_key(address)
        mine = self._mine.get(key)
        if not mine:
            return
        attempt = mine.pop(0)
        if not mine:
            del self._mine[key]
        self._tell(LOGIN_CHECKED, key, attempt, self._checked)

    def _tell(self, topic: str, key: str, attempt: str, here: Callable[[str, str], None]) -> None:
        """Every process (this one before C{publish} returns) hears of C{attempt}; alone, only this one."""
        if self._bus is None:
            here(key, attempt)
        else:
            self._bus.publish(topic, {"key": key, "attempt": attempt})

    def _checking(self, key: str, attempt: str) -> None:
        now = self._clock.seconds()
        attempts = self._in_flight.pop(key, {})  # (re-)insert last: dict order is the eviction order
        attempts[attempt] = now + CHECK_EXPIRY
        self._in_flight[key] = attempts
        self._evict(self._in_flight, lambda table: any(until > now for until in table.values()))

    def _checked(self, key: str, attempt: str) -> None:
        attempts = self._in_flight.get(key)
        if attempts is not None:
            attempts.pop(attempt, None)
            if not attempts:
                del self._in_flight[key]

    def _checking_now(self, key: str) -> int:
        """Attempts from C{key} being checked in any process (forgetting those past their expiry)."""
        attempts = self._in_flight.get(key)
        if not attempts:
            return 0
        now = self._clock.seconds()
        for attempt in [a for a, until in attempts.items() if until <= now]:
            del attempts[attempt]
        if not attempts:
            del self._in_flight[key]
        return len(attempts)

    def record_failure(self, address: str) -> bool:
        """Count one failed login (in every process, with a bus); returns whether the address is now locked."""
        key = lockout_key(address)
        if self._bus is None:
            return self._count_failure(key)
        self._bus.publish(LOGIN_FAILED, {"key": key})  # counted here too, before publish returns
        return self.retry_after(address) > 0

    def _count_failure(self, key: str) -> bool:
        now = self._clock.seconds()
        recent = self._recent(key)
        self._failures.pop(key, None)
        recent.append(now)
        if len(recent) >= self.max_failures:
            self._locked_until.pop(key, None)  # (re-)insert last: dict order is the eviction order
            self._locked_until[key] = now + self.window
            self._evict(self._locked_until, lambda until: until > now)
            return True
        self._failures[key] = recent
        self._evict(self._failures, lambda times: now - times[-1] < self.window)
        return False

    def reset(self, address: str) -> None:
        """Forget the failures of C{address} (after a successful login; in every process, with a bus)."""
        key = lockout_key(address)
        if self._bus is None:
            self._forget(key)
        else:
            self._bus.publish(LOGIN_SUCCEEDED, {"key": key})

    def _forget(self, key: str) -> None:
        self._failures.pop(key, None)
        self._locked_until.pop(key, None)

    def _recent(self, key: str) -> list[float]:
        now = self._clock.seconds()
        return [t for t in self._failures.get(key, ()) if now - t < self.window]

    def _evict(self, table: dict, still_relevant: Callable[[object], bool]) -> None:
        """Keep C{table} small: drop stale entries, then the oldest ones."""
        if len(table) <= self._max_tracked:
            return
        for key in [k for k, v in table.items() if not still_relevant(v)]:
            del table[key]
        while len(table) > self._max_tracked:
            del table[next(iter(table))]
