"""Adds the operations services (scheduled backups, retention) to the service tree of C{tap.build}."""

from __future__ import annotations

from typing import Any

from twisted.application.service import MultiService
from twisted.internet.interfaces import IReactorTime

from fazt.ops.backups import ScheduledBackups
from fazt.ops.retention import RetentionService, policy_from


def install(config: Any, reactor: IReactorTime, parent: MultiService, store: Any) -> dict:
    """Attach what C{config} asks for under C{parent}; the services added, by name."""
    added: dict = {}
    if config["backup-dir"]:
        # config["db"], not store.path: a PostgreSQL URL's password is left out of store.path.
        added["backups"] = ScheduledBackups(config["db"], config["backup-dir"], config["backup-every"],
                                            config["backup-keep"], reactor)
        added["backups"].setServiceParent(parent)
    added["retention"] = RetentionService(store, policy_from(config), reactor)
    added["retention"].setServiceParent(parent)
    return added
