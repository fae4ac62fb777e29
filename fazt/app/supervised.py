"""Wiring for C{--processes N} (SPEC §19): the supervisor's service tree, and what a serving process
started by it does differently from a process alone. Wiring only; the logic is in L{fazt.cluster}.

The supervisor (the C{twistd} process) prepares the cartridge once (migrations, default sites, the
first admin) before any child starts, binds every listener once, and runs the L{Supervisor}; it
opens no store and serves nothing. Each child is C{python -m twisted fazt} with the supervisor's own
arguments plus C{--process-index I --inherited-fds BUS,LISTENER,...}: it skips the preparation,
adopts the listeners, and gets a L{ProcessBus} as its event bus, leadership if its index is 0, and
an C{X-Fazt-Process: index=I; pid=P} header on C{/health} (how tests and operators see which
process answered).
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any, Callable

from twisted.application.service import MultiService
from twisted.internet.error import ReactorNotRunning
from twisted.logger import Logger

from fazt.app.listeners import with_backlog
from fazt.base.bus import IEventBus, LocalBus
from fazt.base.leader import FixedLeadership, ILeadership
from fazt.cluster.procbus import ProcessBus
from fazt.cluster.sockets import AdoptingReactor, bind_all
from fazt.cluster.supervisor import Supervisor
from fazt.web.root import HealthResource, RootResource

__all__ = ["supervises", "supervisor", "prepares_cartridge", "event_bus", "leadership", "listening", "identify"]

_log = Logger()
PROCESS_HEADER = b"x-fazt-process"
# How long past --grace-seconds a child may take to stop before it is killed.
KILL_MARGIN = 30.0


def listener_endpoints(config: Any) -> list:
    """Every listener's endpoint string with its backlog, in the order makeService listens."""
    backlog = config["listen-backlog"]
    return [with_backlog(endpoint, backlog) for endpoint in (*config["http"], *config["https"])]


def supervises(config: Any) -> bool:
    """Whether this process is the supervisor of several serving processes."""
    return config["processes"] > 1 and config["process-index"] is None


def supervisor(config: Any, reactor: Any, prepare: Callable[[str], None]) -> MultiService:
    """The supervisor's service tree: the cartridge prepared by C{prepare}, the listeners bound."""
    prepare(config["db"])
    sockets = bind_all(listener_endpoints(config))
    arguments = list(config.argv)

    def command(index: int, inherited: str) -> list:
        # python -m twisted is twist: never a daemon, no pid file, logs as text to the inherited stdout.
        return [sys.executable, "-m", "twisted", "--log-format", "text", "fazt", *arguments,
                "--process-index", str(index), "--inherited-fds", inherited]
    top = MultiService()
    Supervisor(reactor, config["processes"], sockets, command,
               kill_after=config["grace-seconds"] + KILL_MARGIN).setServiceParent(top)
    return top


def prepares_cartridge(config: Any) -> bool:
    """Whether this process prepares the cartridge (alone: yes; a child: its supervisor did)."""
    return config.get("process-index") is None


def event_bus(config: Any, reactor: Any) -> IEventBus:
    """A L{LocalBus} alone; a child's L{ProcessBus} over its connection to the supervisor."""
    index = config.get("process-index")
    if index is None:
        return LocalBus()
    bus_fd, _ = config["inherited-fds"]
    # Ctrl-C in a terminal reaches the whole process group: the supervisor passes the stop on as
    # SIGTERM, so a child ignores SIGINT (Twisted installs no SIGINT handler over a non-default one).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # systemd (KillMode=control-group) signals every process of the unit at once, and the supervisor
    # passes its SIGTERM on: once stopping, a child ignores the second (Twisted's handler would call
    # reactor.stop again and log ReactorNotRunning).
    reactor.addSystemEventTrigger("before", "shutdown", signal.signal, signal.SIGTERM, signal.SIG_IGN)
    stopping: list = []  # the connection also closes when this process stops: nothing to say then
    reactor.addSystemEventTrigger("before", "shutdown", stopping.append, True)
    bus = ProcessBus(f"{index}:{os.getpid()}", on_lost=lambda: stopping or _stop(reactor))
    bus.attach(reactor, bus_fd)
    _log.info("Serving process {index} (pid {pid}) joined the supervisor's bus", index=index, pid=os.getpid())
    return bus


def _stop(reactor: Any) -> None:
    _log.warn("The connection to the supervisor closed (it is gone): stopping this serving process")
    try:
        reactor.stop()
    except ReactorNotRunning:
        pass  # already stopping (the connection closes as the process stops)


def leadership(config: Any) -> ILeadership:
    """Alone: the leader. Under the supervisor: the process of index 0."""
    return FixedLeadership(config.get("process-index") in (None, 0))


def listening(config: Any, reactor: Any) -> Any:
    """The reactor to listen with: C{reactor} alone; in a child, one adopting the inherited sockets."""
    if config.get("process-index") is None:
        return reactor
    _, listeners = config["inherited-fds"]
    return AdoptingReactor(reactor, listeners)


def identify(config: Any, root: RootResource) -> None:
    """In a child, C{/health} says which process answered."""
    index = config.get("process-index")
    if index is not None:
        root.health = HealthResource(((PROCESS_HEADER, f"index={index}; pid={os.getpid()}".encode()),))
