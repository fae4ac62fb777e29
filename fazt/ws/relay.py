"""Every site's WebSocket hub across processes (SPEC §19), on any L{IEventBus}.

A L{SocketRelay} stands where the L{HubRegistry} stood (the C{/ws} protocol, the scripts'
C{socket.*} calls, the graceful stop):

- A message (from a client, or a script's C{socket.broadcast}) goes straight to this process's
  clients of the site, as before, and is published once on C{socket.message}; the other processes
  hand it to their own clients. A process ignores its own messages (the bus delivers them to it
  too, synchronously). Binary messages travel base64-encoded. A process that has heard of no
  other (one process alone) publishes nothing: its path stays what it was. Every process says
  it is there when it starts, before it listens, so the others know it before its first client.
- Each process publishes its per-site client counts on C{socket.clients} when they change
  (coalesced: one message per reactor turn), all of them every L{REFRESH_SECONDS} (a heartbeat)
  and when a process starts and asks; it says when it stops. L{SocketRelay.clients} (the count a
  script's C{socket.clients()} sees) is this process's clients plus the others' at their last
  report; a process not heard of for three refreshes (killed) is forgotten.
- C{socket.broadcast} answers how many clients the message was queued for here plus how many the
  other processes had at their last report (they receive it a moment later; slow clients they drop
  on the way are not subtracted).

The limit per site (C{--ws-max-per-site}) is the platform's: a process refuses a client when the
site's clients in every process (the others' at their last report) reach it. The limit in all
(C{--ws-max-total}) stays per process: it guards the process's own memory and file descriptors.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any, Optional

from twisted.application.service import Service
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from fazt.base.bus import SOCKET_CLIENTS, SOCKET_MESSAGE, IEventBus
from fazt.ws.counts import RemoteCounts
from fazt.ws.hub import HubFull, HubRegistry

_log = Logger()
REFRESH_SECONDS = 10.0
# Sites per counts message: keeps each one far below PostgreSQL's NOTIFY payload limit (8000 bytes).
SITES_PER_MESSAGE = 100


class SocketRelay(Service):
    """C{registry}'s hubs, joined to the same sites' hubs in the other processes on C{bus}."""

    name = "socket-relay"

    def __init__(self, registry: HubRegistry, bus: IEventBus, clock: IReactorTime,
                 refresh: float = REFRESH_SECONDS, process: Optional[str] = None) -> None:
        self.registry = registry
        self.process = process or secrets.token_hex(8)
        self.remote = RemoteCounts(forget_after=3 * refresh)
        self._bus = bus
        self._clock = clock
        self._refresh = refresh
        self._dirty: set[str] = set()
        self._flush_call = None
        self._loop: Optional[LoopingCall] = None
        registry.watch(self._changed)
        bus.subscribe(SOCKET_MESSAGE, self._message)
        bus.subscribe(SOCKET_CLIENTS, self._counts)

    # -- the service ----------------------------------------------------------------------

    def startService(self) -> None:
        super().startService()
        self._publish_counts(self._local_counts(), full=True, ask=True)  # "I am here; tell me yours"
        self._loop = LoopingCall(self._heartbeat)
        self._loop.clock = self._clock
        self._loop.start(self._refresh, now=False)

    def stopService(self):
        super().stopService()
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        if self._flush_call is not None and self._flush_call.active():
            self._flush_call.cancel()
        self._flush_call = None
        self._bus.publish(SOCKET_CLIENTS, {"process": self.process, "counts": {}, "full": True, "gone": True})

    # -- what the protocol, the scripts and the shutdown call -----------------------------

    def join(self, site: str, client: Any) -> None:
        """Add C{client} to C{site}'s hub here; raise L{HubFull} at a limit. C{--ws-max-per-site}
        counts the site's clients in every process (the others' at their last report, a moment old);
        C{--ws-max-total} this process's only (it guards this process's memory and descriptors)."""
        if (self.remote.clients(site) and not self.registry.holds(site, client)
                and self.clients(site) >= self.registry.max_per_site):
            raise HubFull(site)
        self.registry.join(site, client)

    def leave(self, site: str, client: Any) -> None:
        self.registry.leave(site, client)

    def close_all(self, reason: str = "server shutting down") -> int:
        return self.registry.close_all(reason)

    def sites(self) -> list[str]:
        """The sites with clients in this process."""
        return self.registry.sites()

    def total(self) -> int:
        """Clients connected to this process."""
        return self.registry.total()

    def local_clients(self, site: str) -> int:
        """C{site}'s clients in this process only (what /metrics reports per process)."""
        return self.registry.clients(site)

    def clients(self, site: str) -> int:
        """C{site}'s clients in every process (others' at their last report)."""
        return self.registry.clients(site) + self.remote.clients(site)

    def broadcast(self, site: str, message: str | bytes, binary: bool = False) -> int:
        """Send C{message} to C{site}'s clients here at once, and to the other processes' through the bus."""
        reached = self.registry.broadcast(site, message, binary)
        if not self.remote.processes():
            return reached  # alone (one process, or none other heard of yet): nothing to relay
        if binary:
            data = base64.b64encode(bytes(message)).decode("ascii")
        else:
            data = message if isinstance(message, str) else bytes(message).decode("utf-8")
        self._bus.publish(SOCKET_MESSAGE, {"site": site, "data": data, "binary": binary, "process": self.process})
        return reached + self.remote.clients(site)

    # -- the bus --------------------------------------------------------------------------

    def _message(self, message: dict) -> None:
        if message.get("process") == self.process:
            return  # sent to this process's clients already
        site, data = message["site"], message["data"]
        if not self.registry.clients(site):
            return
        if message.get("binary"):
            self.registry.broadcast(site, base64.b64decode(data), binary=True)
        else:
            self.registry.broadcast(site, data)

    def _counts(self, message: dict) -> None:
        process = message.get("process")
        if process == self.process or not isinstance(process, str):
            return
        if message.get("gone"):
            self.remote.forget(process)
            return
        self.remote.apply(process, message.get("counts") or {}, bool(message.get("full")), self._clock.seconds())
        if message.get("ask") and self.running:
            self._publish_counts(self._local_counts(), full=True)

    # -- publishing this process's counts -------------------------------------------------

    def _changed(self, site: str) -> None:
        self._dirty.add(site)
        if self._flush_call is None and self.running:
            self._flush_call = self._clock.callLater(0, self._flush)

    def _flush(self) -> None:
        self._flush_call = None
        dirty, self._dirty = self._dirty, set()
        self._publish_counts({site: self.registry.clients(site) for site in sorted(dirty)}, full=False)

    def _heartbeat(self) -> None:
        self.remote.expire(self._clock.seconds())
        self._publish_counts(self._local_counts(), full=True)

    def _local_counts(self) -> dict[str, int]:
        return {site: self.registry.clients(site) for site in self.registry.sites()}

    def _publish_counts(self, counts: dict[str, int], full: bool, ask: bool = False) -> None:
        sites = list(counts)
        first = True
        while first or sites:
            chunk, sites = sites[:SITES_PER_MESSAGE], sites[SITES_PER_MESSAGE:]
            message = {"process": self.process, "counts": {s: counts[s] for s in chunk}, "full": full and first}
            if ask and first:
                message["ask"] = True
            self._bus.publish(SOCKET_CLIENTS, message)
            first = False
