"""The supervisor: starts N serving processes on the shared sockets, replaces the dead, stops them all.

L{Supervisor} is the service of the C{twistd} process under C{--processes N}. It is given the
listening sockets (bound once, L{fazt.cluster.sockets.bind_all}) and a function making a child's
command line; each child gets the sockets, its end of a bus connection to the L{BusHub}, and its
index (0..N-1; a replacement keeps the index of the process it replaces, so index 0, the leader,
always exists). A child that dies is replaced after the delay of its L{RestartPolicy}.

Stopping (SIGTERM to the supervisor): no more restarts, the supervisor closes its own copies of the
listening sockets, and every child gets SIGTERM and stops as one process does (its listeners close,
in-flight requests and downloads finish within C{--grace-seconds}); the stop completes when every
child has exited. A child still alive C{kill_after} seconds later is killed.
"""

from __future__ import annotations

import os
import signal
import socket
from typing import Any, Callable, Optional

from twisted.application.service import Service
from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.error import ProcessExitedAlready
from twisted.internet.protocol import ProcessProtocol
from twisted.logger import Logger
from twisted.python.failure import Failure

from fazt.cluster.hub import BusHub
from fazt.cluster.policy import RestartPolicy, child_fds

__all__ = ["Supervisor"]

_log = Logger()
# A command line for the child of index I given the argument of its --inherited-fds.
Command = Callable[[int, str], list]


class _Child(ProcessProtocol):
    def __init__(self, supervisor: "Supervisor", index: int, started: float) -> None:
        self.supervisor = supervisor
        self.index = index
        self.started = started
        self.pid: Optional[int] = None  # kept: the transport forgets it when the process ends
        self.ended: Deferred = Deferred()

    def processEnded(self, reason: Failure) -> None:
        self.supervisor._ended(self, reason)
        self.ended.callback(None)


class Supervisor(Service):
    """Keeps C{count} serving processes running on C{sockets}; see the module's notes."""

    def __init__(self, reactor: Any, count: int, sockets: list, command: Command,
                 env: Optional[dict] = None, policy: Optional[RestartPolicy] = None,
                 kill_after: float = 60.0) -> None:
        self._reactor = reactor
        self.count = count
        self._sockets = list(sockets)
        self._command = command
        self._env = dict(os.environ if env is None else env)
        self.policy = policy or RestartPolicy()
        self.kill_after = kill_after
        self.hub = BusHub()
        self.children: dict[int, _Child] = {}
        self._delays: dict[int, float] = {}
        self._pending: dict[int, Any] = {}
        self._stopping = False

    def pids(self) -> dict[int, int]:
        """Index → pid of the serving processes running now."""
        return {index: child.pid for index, child in self.children.items()}

    def startService(self) -> None:
        super().startService()
        # Spawned once the reactor runs: its SIGCHLD handling is in place then.
        self._reactor.callWhenRunning(self._start_all)

    def _start_all(self) -> None:
        for index in range(self.count):
            if not self._stopping and index not in self.children:
                self._spawn(index)

    def _spawn(self, index: int) -> None:
        self._pending.pop(index, None)
        supervisor_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        stdin = os.open(os.devnull, os.O_RDONLY)
        try:
            fds = child_fds(stdin, child_end.fileno(), [s.fileno() for s in self._sockets])
            argv = self._command(index, fds.argument())
            child = _Child(self, index, self._reactor.seconds())
            child.pid = self._reactor.spawnProcess(child, argv[0], argv, env=self._env, childFDs=fds.child_fds).pid
            self.hub.attach(self._reactor, supervisor_end.detach(), f"process {index}")
        finally:
            os.close(stdin)
            child_end.close()
            supervisor_end.close()
        self.children[index] = child
        _log.info("Started serving process {index} (pid {pid})", index=index, pid=child.pid)

    def _ended(self, child: _Child, reason: Failure) -> None:
        if self.children.get(child.index) is child:
            del self.children[child.index]
        status = _how(reason)
        if self._stopping:
            _log.info("Serving process {index} (pid {pid}) stopped ({status})", index=child.index,
                      pid=child.pid, status=status)
            return
        ran_for = self._reactor.seconds() - child.started
        delay = self.policy.delay(ran_for, self._delays.get(child.index, 0.0))
        self._delays[child.index] = delay
        _log.warn("Serving process {index} (pid {pid}) exited ({status}) after {ran:.1f} s; "
                  "replacing it in {delay} s", index=child.index, pid=child.pid,
                  status=status, ran=ran_for, delay=delay)
        self._pending[child.index] = self._reactor.callLater(delay, self._spawn, child.index)

    def stopService(self) -> Deferred:
        super().stopService()
        self._stopping = True
        for call in self._pending.values():
            if call.active():
                call.cancel()
        self._pending.clear()
        # The children's copies close as they stop listening; with ours closed too the port refuses.
        for sock in self._sockets:
            sock.close()
        running = list(self.children.values())
        for child in running:
            _signal(child, signal.SIGTERM)
        killer = self._reactor.callLater(self.kill_after, self._kill, running)
        done = DeferredList([child.ended for child in running])

        def stopped(result: Any) -> Any:
            if killer.active():
                killer.cancel()
            return result
        return done.addBoth(stopped)

    def _kill(self, children: list) -> None:
        for child in children:
            if not child.ended.called:
                _log.warn("Serving process {index} did not stop within {seconds} s; killing it",
                          index=child.index, seconds=self.kill_after)
                _signal(child, signal.SIGKILL)


def _how(reason: Failure) -> str:
    """How a process ended, for the log: C{exit code N} or C{signal N}."""
    code, number = getattr(reason.value, "exitCode", None), getattr(reason.value, "signal", None)
    return f"signal {number}" if code is None and number is not None else f"exit code {code}"


def _signal(child: _Child, number: int) -> None:
    try:
        child.transport.signalProcess(number)
    except ProcessExitedAlready:
        pass
