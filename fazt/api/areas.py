"""Everything the admin API and the admin host's public endpoints are made of, in one place.

C{tap.build} creates the shared services (L{ApiServices}) and calls L{mount_areas}; each area
module has a C{mount(services)} that mounts its routes (and adds any service it owns).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from twisted.application.service import MultiService
from twisted.python.threadpool import ThreadPool

from fazt.api.router import ApiRouter
from fazt.deploy.service import Deployer
from fazt.store.batch import BatchWriter
from fazt.store.db import Store
from fazt.web.auth import Authenticator


@dataclass
class ApiServices:
    """The shared parts an area may use; passed to every area's C{mount}."""

    reactor: Any
    config: Any                  # the parsed twistd Options (a dict)
    parent: MultiService         # attach services an area owns (buffers, timers) here
    store: Store
    writer: BatchWriter          # group-committed small writes
    auth: Authenticator
    deployer: Deployer
    api: ApiRouter               # mount("AREA", resource) serves /api/AREA/...
    root: Any                    # fazt.web.root.RootResource: mount_public(), add_site_hook()
    index: Any                   # fazt.web.sitestate.SiteIndex
    apps: Any                    # fazt.web.apps.AppRenderer: invalidate_env(site)
    workers: Any                 # fazt.runtime.pool.WorkerPool
    domain: str
    bcrypt_pool: ThreadPool      # password checks (fazt.api.auth), made and started by the wiring
    backup_pool: ThreadPool      # snapshot downloads (fazt.api.backup), made and started by the wiring
    clock: Callable[[], float] = time.time
    extras: dict = field(default_factory=dict)  # what one area offers another (by name)


def mount_areas(services: ApiServices) -> None:
    """Mount every area of the admin API and the public endpoints."""
    from fazt.api import auth, backup, sites, system
    from fazt.api import env, files, logs
    from fazt.api import analytics
    from fazt.api import openapi
    from fazt.api import certificates
    from fazt.web import metrics
    from fazt.api import kvadmin, siteanalytics  # the dashboard's KV browser and site traffic

    for area in (auth, sites, backup, system, env, files, logs, analytics, kvadmin, siteanalytics, certificates,
                 openapi, metrics):
        area.mount(services)
