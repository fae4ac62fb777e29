"""The Supervisor service with real child processes (small Python scripts) in this test's reactor."""

from __future__ import annotations

import os
import signal
import sys

import pytest_twisted
from twisted.internet import reactor
from twisted.internet.task import deferLater
from twisted.logger import globalLogPublisher

from fazt.cluster.policy import RestartPolicy
from fazt.cluster.sockets import bind_all
from fazt.cluster.supervisor import Supervisor

# A child that checks what it inherited, then waits for SIGTERM and exits 0 after a moment.
SERVING = """
import os, signal, socket, sys, time
bus, listener = (int(n) for n in sys.argv[2].split(","))
assert socket.socket(fileno=os.dup(listener)).getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
assert socket.socket(fileno=os.dup(bus)).family == socket.AF_UNIX
signal.signal(signal.SIGTERM, lambda *a: (time.sleep(0.2), sys.exit(0)))
while True:
    time.sleep(1)
"""


async def until(check, timeout: float = 20.0):
    for _ in range(int(timeout / 0.02)):
        if check():
            return
        await deferLater(reactor, 0.02, lambda: None)
    raise AssertionError("the condition did not become true")


def supervisor(script: str, count: int, policy: RestartPolicy | None = None) -> Supervisor:
    sockets = bind_all(["tcp:0:interface=127.0.0.1"])
    return Supervisor(reactor, count, sockets, lambda index, fds: [sys.executable, "-c", script, str(index), fds],
                      policy=policy, kill_after=10)


@pytest_twisted.ensureDeferred
async def test_children_start_a_dead_one_is_replaced_with_its_index_and_stop_passes_sigterm():
    service = supervisor(SERVING, 2)
    service.startService()
    await until(lambda: len(service.pids()) == 2 and len(service.hub.members()) == 2)
    first = service.pids()
    os.kill(first[1], signal.SIGKILL)
    await until(lambda: service.pids().get(1) not in (None, first[1]))
    assert service.pids()[0] == first[0]
    await until(lambda: len(service.hub.members()) == 2)  # the replacement joined the bus
    await service.stopService()
    assert service.pids() == {}


@pytest_twisted.ensureDeferred
async def test_a_crash_loop_backs_off():
    events: list = []
    globalLogPublisher.addObserver(events.append)
    service = supervisor("import sys; sys.exit(3)", 1, RestartPolicy(first=0.05, factor=2, longest=0.2, stable=30))
    try:
        service.startService()
        await until(lambda: sum("replacing it" in e.get("log_format", "") for e in events) >= 4)
        await service.stopService()
    finally:
        globalLogPublisher.removeObserver(events.append)
    exits = [e for e in events if "replacing it" in e.get("log_format", "")]
    assert [e["delay"] for e in exits[:4]] == [0.05, 0.1, 0.2, 0.2]
    assert {e["status"] for e in exits} == {"exit code 3"}
