"""--on-demand-per-minute counts the orders of every process together (fazt.app.domainwiring.order_limit
over fazt.web.sharedbuckets), on a bus network that delivers a reactor turn later as the real ones do."""

from __future__ import annotations

from twisted.internet.defer import succeed
from twisted.internet.task import Clock

from fazt.acme.ondemand import OnDemand
from fazt.app.domainwiring import order_limit
from xproc_testing import BusNetwork


class Manager:
    """Stands for the certificate manager: records what is wanted (the leader would order it)."""

    def __init__(self) -> None:
        self.wanted: list[str] = []

    def want(self, name: str):
        self.wanted.append(name)
        return succeed(None)


def test_handshakes_at_two_processes_order_per_minute_in_all():
    clock = Clock()
    clock.advance(1_000_000)
    network = BusNetwork(clock)
    managers = [Manager(), Manager()]
    hooks = [OnDemand(manager, lambda name: True, clock, 3, take=order_limit(network.bus(), clock, 3))
             for manager in managers]
    for i in range(8):
        hooks[i % 2](f"n{i}.org")  # each name's first handshake, at one process or the other
        clock.advance(0)
    assert sum(len(m.wanted) for m in managers) == 3  # not 3 per process
    clock.advance(20)  # a token back every 20 s, for the platform
    hooks[1]("late1.org")
    clock.advance(0)
    hooks[0]("late2.org")
    clock.advance(0)
    assert sum(len(m.wanted) for m in managers) == 4
