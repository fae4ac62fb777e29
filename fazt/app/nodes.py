"""Wiring for where the cartridge lives: one node on a SQLite file, or one of several nodes on PostgreSQL.

C{--db} chooses (SPEC §19). A path: the cartridge is a file of this machine, the event bus is
in-process (L{LocalBus}) and this process always leads (L{FixedLeadership}). A C{postgresql://}
URL: other nodes may share the database, so the bus is PostgreSQL C{LISTEN/NOTIFY}
(L{PostgresBus}) and the leader is whichever node holds the advisory lock (L{AdvisoryLeadership});
both are services, started before everything else in the tree and stopped after it.
"""

from __future__ import annotations

from typing import Any

from fazt.base.bus import RESYNC, IEventBus, LocalBus
from fazt.base.leader import FixedLeadership, ILeadership
from fazt.store.engines import is_postgresql_target

__all__ = ["bus_and_leadership", "follow_resync"]


def bus_and_leadership(target: str, reactor: Any) -> tuple[IEventBus, ILeadership, list]:
    """The bus and leadership for the cartridge at C{target}, and the services to start first."""
    if not is_postgresql_target(target):
        return LocalBus(), FixedLeadership(True), []
    from fazt.store.pgbus import PostgresBus
    from fazt.store.pgleader import AdvisoryLeadership

    bus, leadership = PostgresBus(target, reactor), AdvisoryLeadership(target, reactor)
    return bus, leadership, [bus, leadership]


def follow_resync(bus: IEventBus, *caches: Any) -> None:
    """On C{RESYNC} (messages may have been missed), every cache forgets what it loaded from the store."""
    for cache in caches:
        bus.subscribe(RESYNC, cache.forget_all)
