"""What one fetch from Git may take: bytes per phase and a total deadline, held to on every read.

A Git server is untrusted input. L{FetchBudget} meters every byte read from every response of one
fetch (L{MeteredGitClient}): the ref advertisement (C{info/refs}, and the protocol-v2 C{ls-refs}
answer) may bring at most C{max_refs_bytes}, the pack's response at most C{max_pack_bytes} (plus
framing); past either, 413. The deadline covers the whole fetch: every read checks it, and
L{FetchBudget.expire}, called by the reactor when the time is up, shuts down the fetch's sockets,
so a read blocked on a silent or trickling server returns at once and the thread is free (422
C{GIT_TIMEOUT}). Only a DNS lookup in progress cannot be cut short.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import Callable

from dulwich.client import Urllib3HttpGitClient

from fazt.base.errors import ApiError

MIB = 1024 * 1024
# The pack's response also carries pkt-line framing (5 bytes in 65520) and the ACK/shallow lines.
PACK_FRAMING = MIB


@dataclass(frozen=True)
class FetchLimits:
    """How long a fetch may take and how much it may bring.

    C{seconds} is the whole fetch (refs, pack, indexing): 120 s lets a 100 MiB pack come at ~7 Mbit/s.
    For comparison, hosted builders bound the whole build, clone included (Netlify 15 min by
    default, Vercel 45 min); fazt fetches one ref at depth 1 and builds nothing, so two minutes is
    ample for a site while a hostile server holds a fetch thread for no longer than that.
    """

    max_pack_bytes: int = 100 * MIB
    max_refs_bytes: int = 8 * MIB  # v1 servers list every ref; ~8 MiB is ~130 000 refs
    seconds: float = 120.0
    socket_timeout: float = 20.0


def timed_out(limits: FetchLimits) -> ApiError:
    """The answer to a fetch that ran out of time."""
    return ApiError(422, "GIT_TIMEOUT", f"fetching from the Git server took longer than {limits.seconds:g} s")


class FetchBudget:
    """The bytes and the time one fetch has left; thread-safe where it must be (L{expire}, L{opened})."""

    def __init__(self, limits: FetchLimits, now: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._now = now
        self._deadline = now() + limits.seconds
        self._cap, self._what = limits.max_refs_bytes, "list of refs"
        self._used = 0
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._expired = False

    @property
    def expired(self) -> bool:
        """Whether the deadline has passed (by the clock, or as L{expire} said)."""
        return self._expired or self._now() > self._deadline

    def refs_done(self) -> None:
        """The refs are in; what comes next is the pack, with its own cap."""
        self._cap, self._what, self._used = self.limits.max_pack_bytes + PACK_FRAMING, "data", 0

    def received(self, size: int) -> None:
        """C{size} more bytes arrived: refused past the phase's cap or the deadline."""
        self._used += size
        if self._used > self._cap:
            raise ApiError(413, "PAYLOAD_TOO_LARGE",
                           f"the repository's {self._what} exceeds {self._cap // MIB} MiB")
        self.check_time()

    def check_time(self, *_ignored) -> None:
        """Raise C{GIT_TIMEOUT} once the deadline has passed (also a dulwich progress callback)."""
        if self.expired:
            raise timed_out(self.limits)

    def opened(self, sock: socket.socket) -> None:
        """A connection of this fetch: shut down by L{expire}. Refused once the time is up."""
        with self._lock:
            if not self._expired:
                self._sockets.append(sock)
                return
        sock.close()
        raise timed_out(self.limits)

    def expire(self) -> None:
        """The deadline passed (the reactor calls this): unblock every read of the fetch."""
        with self._lock:
            self._expired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # a blocked recv returns; close stays with urllib3
            except OSError:
                pass  # already closed

    def metered(self, read: Callable[..., bytes]) -> Callable[..., bytes]:
        """C{read} of one response, counted against the budget."""
        def read_counted(*args, **kwargs) -> bytes:
            self.check_time()
            data = read(*args, **kwargs)
            self.received(len(data))
            return data
        return read_counted


class MeteredGitClient(Urllib3HttpGitClient):
    """dulwich's urllib3 client whose every response read is metered by a L{FetchBudget}."""

    def __init__(self, url: str, budget: FetchBudget, **kwargs) -> None:
        super().__init__(url, **kwargs)
        self._budget = budget

    # _http_request is the hook dulwich's AbstractHttpGitClient documents for subclasses to provide
    # ("Subclasses should provide an implementation of the _http_request method"); every request of
    # a fetch (info/refs, ls-refs, the pack, dumb-HTTP objects) goes through it.
    def _http_request(self, url, headers=None, data=None, raise_for_status=True):
        self._budget.check_time()
        response, read = super()._http_request(url, headers, data, raise_for_status)
        return response, self._budget.metered(read)
