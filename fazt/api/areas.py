"""What the admin host's public endpoints (C{fazt.web.public}, C{fazt.web.metrics}) are given.

The admin API's areas are objects that receive what they need in their constructors, listed in
C{fazt.app.tap.build} and added to the L{ApiRouter}; the two endpoint modules of C{web/} still
take this bundle in their C{mount(services)}.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from twisted.application.service import MultiService
from twisted.internet.interfaces import IReactorTime

from fazt.api.router import ApiRouter
from fazt.deploy.service import Deployer
from fazt.store.batch import BatchWriter
from fazt.store.interfaces import IStore
from fazt.web.auth import Authenticator


@dataclass
class ApiServices:
    """The shared parts the public endpoints and C{/metrics} use."""

    reactor: Any
    config: Any                  # the parsed twistd Options (a dict)
    parent: MultiService         # attach services an area owns (buffers, timers) here
    store: IStore
    writer: BatchWriter          # group-committed small writes
    auth: Authenticator
    deployer: Deployer
    api: ApiRouter               # mount("AREA", resource) serves /api/AREA/...
    root: Any                    # fazt.web.root.RootResource: mount_public(), add_site_hook()
    index: Any                   # fazt.web.sitestate.SiteIndex
    apps: Any                    # fazt.web.apps.AppRenderer: invalidate_env(site)
    workers: Any                 # fazt.runtime.pool.WorkerPool
    domain: str
    clock: IReactorTime          # the reactor, as a clock
    extras: dict = field(default_factory=dict)  # what one area offers another (by name)
