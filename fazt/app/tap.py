"""C{twistd fazt}: wires the services of one fazt process. Wiring only; no logic lives here."""

from __future__ import annotations

import os
from typing import Any, Callable, Optional

from twisted.internet.interfaces import IReactorTime
from twisted.application import strports
from twisted.application.service import MultiService
from twisted.logger import Logger
from twisted.python.threadpool import ThreadPool

from fazt.acme import wiring as acme_wiring
from fazt.acme.renew import Renewals
from fazt.analytics.buffer import DEFAULT_INTERVAL, EventBuffer
from fazt.api.analytics import AnalyticsApi
from fazt.api.areas import ApiServices
from fazt.api.audit import AuditApi, AuditRecorder
from fazt.api.auth import AuthApi
from fazt.api.backup import BackupDownloads
from fazt.api.certificates import CertificatesApi
from fazt.api.domains import DomainsApi
from fazt.api.env import EnvApi
from fazt.api.files import FilesApi
from fazt.api.git import GitApi
from fazt.api.keys import KeysApi
from fazt.api.kvadmin import KvApi
from fazt.api.logs import LogsApi
from fazt.api.openapi import OpenApiDocument
from fazt.api.redirects import RedirectsApi
from fazt.api.router import ApiRouter
from fazt.api.siteanalytics import SiteAnalyticsApi
from fazt.api.sites import SitesApi
from fazt.api.system import SystemApi
from fazt.api.webhooks import WebhooksApi
from fazt.app import domainwiring
from fazt.app.bootstrap import ensure_admin, seed_default_sites
from fazt.app.listeners import connection_cap, with_backlog
from fazt.app.nodes import bus_and_leadership, follow_resync
from fazt.app.options import Options
from fazt.app import supervised
from fazt.app.shutdown import OrderlyService
from fazt.app.leaderduties import LeaderDuties
from fazt.base.bus import SITE_CHANGED, IEventBus
from fazt.base.heap import HeapFreezer
from fazt.base.leader import ILeadership
from fazt.base.threads import ThreadPoolService
from fazt.cron.service import CronService
from fazt.deploy.archive import Limits
from fazt.deploy.service import Deployer
from fazt.deploy.gitdeploy import GitDeployer
from fazt.deploy.gitdeploy import limits_for as git_limits
from fazt.deploy.gitfetch import ALLOW_OPTION as GIT_FETCH_OPTION
from fazt.deploy.gitfetch import allowance as git_allowance
from fazt.ops import wiring as ops_wiring
from fazt.runtime.benchfetch import OPTION as BENCH_FETCH_OPTION
from fazt.runtime.benchfetch import with_bench_allowance
from fazt.runtime.fetch import SafeFetcher
from fazt.runtime.host import HostApi
from fazt.runtime.pinning import FetcherService
from fazt.runtime.pool import WorkerPool
from fazt.store.batch import BatchWriter
from fazt.store.blobcache import ByteLRU
from fazt.store.engines import connect, is_postgresql_target, make_store, open_cartridge
from fazt.web.admission import DeployGate
from fazt.web.apps import AppRenderer
from fazt.web.auth import Authenticator
from fazt.web.dashboard import DashboardResource
from fazt.web.framing import RefusalCounter
from fazt.web.frontdoor import ConnectionLimits
from fazt.web.gitwebhook import GitPushWebhook
from fazt.web.livelog import LiveLog
from fazt.web import metrics, public
from fazt.web.lockout import LoginLockout, parse_networks
from fazt.web.metrics import MetricsEndpoint
from fazt.web.public import PublicEndpoints
from fazt.web.options import channel_limits
from fazt.web.ratelimit import ApiRateLimit, buckets_for
from fazt.web.sharedbuckets import SharedBuckets
from fazt.web.root import FaztSite, RootResource
from fazt.web.sitefiles import SiteRenderer
from fazt.images.service import ImageVariants
from fazt.api.rollout import PromoteApi, SplitApi
from fazt.web.images import ImageRenderer
from fazt.web.sitestate import SiteIndex
from fazt.ws.hub import HubRegistry
from fazt.ws.relay import SocketRelay
from fazt.ws.resource import SiteSockets

__all__ = ["Options", "makeService"]

_log = Logger()
MIB = 1024 * 1024
# Room for the multipart framing around the archive itself.
MULTIPART_SLACK = MIB


def prepare_cartridge(path: str) -> None:
    """Create or migrate the database (a file or a postgresql:// URL), seed the default sites, make the first admin."""
    if not is_postgresql_target(path):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    open_cartridge(path)
    conn = connect(path)
    try:
        seed_default_sites(conn)
        password = ensure_admin(conn)
    finally:
        conn.close()
    if password is not None:
        _log.warn(
            "Created the admin user 'admin' with password {password} (shown only this once)",
            password=password,
        )


def build(config: Options, reactor: Any, parts: Optional[dict] = None, bus: Optional[IEventBus] = None,
          leadership: Optional[ILeadership] = None) -> tuple[MultiService, FaztSite]:
    """The service tree without listeners, and the web site to listen with.

    One pass, top to bottom: the parts that serve requests first, then the service tree that
    starts and stops them (in the order its children are added), then the admin API's areas.
    C{parts}, if given, is filled with the pieces a caller wiring more around the tree needs
    (C{fazt dev}, L{fazt.cli.devserver}): C{store}, C{bus}, C{root}, C{deployer}.
    C{bus} and C{leadership} are this process's among several (SPEC §19); by default those the
    options imply: a file, a L{LocalBus} and the leadership of a process alone, or under
    C{--processes N} the supervisor's process bus and the leadership of index 0
    (L{fazt.app.supervised}); a postgresql:// URL, the PostgreSQL bus and advisory-lock leadership
    of a node (L{fazt.app.nodes}), each serving process being a node of its own.
    """
    if supervised.prepares_cartridge(config):  # under --processes N the supervisor did, once
        prepare_cartridge(config["db"])
    domain = config["domain"]

    # What serves a request: the store, the sites' state, scripts, sockets, the host router.
    store = make_store(config["db"], reactor)
    index = SiteIndex(store, ByteLRU(config["cache-mb"] * MIB))
    limits = Limits(
        max_archive_bytes=config["max-archive-mb"] * MIB,
        max_total_bytes=config["max-unpacked-mb"] * MIB,
        max_entries=config["max-entries"],
    )
    if bus is None:
        bus, chosen, node_services = bus_and_leadership(config["db"], reactor)
        if node_services:  # PostgreSQL: a node among several, whatever the number of processes
            # A child of the supervisor still holds its connection to it, only to stop when the
            # supervisor is gone: nothing is published on it, the database's bus reaches every node.
            supervised.event_bus(config, reactor)
            leadership = leadership if leadership is not None else chosen
        else:  # a file: this process alone, or a child talking to its siblings through the supervisor
            bus = supervised.event_bus(config, reactor)
    else:
        node_services = []
    if leadership is None:  # for the leader's duties (cron, ACME, retention, backups)
        leadership = supervised.leadership(config)
    bus.subscribe(SITE_CHANGED, index.site_changed)  # a switch or a deletion
    live = LiveLog()
    live.follow(bus)
    writer = BatchWriter(store)
    max_message = config["ws-max-message-kb"] * 1024
    # A client's unsent backlog may hold two messages at the cap before it counts as a slow reader.
    # The hubs of this process, relayed to every other process's on the bus (fazt.ws.relay).
    hubs = SocketRelay(HubRegistry(max_per_site=config["ws-max-per-site"], max_total=config["ws-max-total"],
                                   max_pending=max(MIB, 2 * max_message)), bus, reactor)
    fetcher = with_bench_allowance(SafeFetcher(reactor), reactor, config.get(BENCH_FETCH_OPTION))  # None: off
    host = HostApi(store, writer, fetcher, clock=reactor, sockets=hubs)
    workers = WorkerPool(reactor, host, size=config["js-workers"] or None, cpu_ms=config["js-cpu-ms"],
                         wall_seconds=config["js-wall-seconds"],
                         # Lines a run logs after its response (ctx.waitUntil) go to the site's log too.
                         on_late_logs=lambda site, logs: apps.record_late(site, logs))
    proxies = parse_networks(config["trusted-proxy"])
    apps = AppRenderer(workers, store, writer, index, clock=reactor, bus=bus, trusted_proxies=proxies)
    bus.subscribe(SITE_CHANGED, apps.site_changed)  # new variables or a deletion
    follow_resync(bus, index, apps)  # the bus may have missed messages: reload from the store
    auth = Authenticator(store, reactor, audit=AuditRecorder(writer, reactor))  # every area records through auth.audit
    api = ApiRouter()
    # Every listener is behind the connection caps (fazt.web.frontdoor), with a real backlog.
    connections = ConnectionLimits(connection_cap(config["max-connections"]),
                                   config["max-connections-per-address"], proxies)
    shared = SharedBuckets(bus, reactor)  # the rate limits hold for every process together
    rate_limit = ApiRateLimit(
        shared.share("api", buckets_for(config["api-rate-limit"], config["api-rate-burst"], reactor)),
        shared.share("login", buckets_for(config["login-rate-limit"], config["login-rate-burst"], reactor)),
        proxies)
    sockets = SiteSockets(hubs, config["ws-ping-seconds"], max_message=max_message, deflate=config["ws-deflate"])
    # Image variants (SPEC §15) are made by Pillow on their own pool, started with the tree below.
    image_pool = ThreadPool(1, 2, name="fazt-image")
    images = ImageRenderer(ImageVariants(reactor, store, image_pool, config["image-max-mpx"] * 1_000_000), index)
    root = RootResource(domain, SiteRenderer(index, apps, sockets, images=images), api, admin_ui=DashboardResource(),
                        api_guard=rate_limit)
    supervised.identify(config, root)  # a child says which process answered /health
    refusals = RefusalCounter()  # requests the connections refuse themselves, for /metrics
    site = FaztSite(root, deploy_limit=limits.max_archive_bytes + MULTIPART_SLACK,
                    access_log=config["access-log"], limits=channel_limits(config),
                    gate=DeployGate(auth, domain), refusals=refusals, reactor=reactor)

    # The service tree: children start in this order and stop in reverse (fazt.app.shutdown).
    top = OrderlyService(reactor, config["grace-seconds"], site=site, writer=writer, sockets=hubs,
                         connections=connections)
    for service in node_services:  # the bus and leadership first: they stop last
        service.setServiceParent(top)
    store.setServiceParent(top)
    hubs.setServiceParent(top)  # says this process is there before it listens; that it is gone when it stops
    # Cron, ACME orders and renewals, retention and scheduled backups run in the leader only.
    duties = LeaderDuties(leadership)
    ops_wiring.install(config, reactor, duties, store)
    deploy_pool = _pool(top, "fazt-deploy", 2)
    ThreadPoolService(image_pool).setServiceParent(top)
    FetcherService(fetcher).setServiceParent(top)  # after the workers stop: closes the idle fetch connections
    workers.setServiceParent(top)
    CronService(reactor, store, index, apps, domain).setServiceParent(duties)
    duties.setServiceParent(top)
    certificates = acme_wiring.install(config, reactor, top, store, root, bus, duties)
    # Custom domains: routing, the check token, certificates on demand (SPEC §15).
    domains = domainwiring.install(config, reactor, root, store, bus, certificates, _pool(top, "fazt-dns", 2))

    def announce(change: str) -> Callable[[str], None]:
        """A callback publishing SITE_CHANGED with C{change} for the site it is given; the SiteIndex,
        the app renderer, the live log and the certificate manager subscribed above, each to the
        changes that concern it (the live log and the certificates to C{"switch"} only)."""
        return lambda site_name: bus.publish(SITE_CHANGED, {"site": site_name, "change": change})

    # Deploys and rollbacks both switch, indistinguishable.
    # The JS pool checks an upload's code before the deploy is committed (400 INVALID_SCRIPT).
    def preview_stored(site_name: str, deployment_id: int) -> None:
        """A preview (SPEC §15) switches nothing; its host d<ID>--NAME.D wants a certificate."""
        bus.publish(SITE_CHANGED, {"site": site_name, "change": "preview", "deployment_id": deployment_id})

    deployer = Deployer(reactor, store, deploy_pool, domain, announce("switch"), limits,
                        keep=config["keep-deployments"], code_pool=workers, on_preview=preview_stored)
    # Deploys from Git: public addresses only (a loopback port with --unsafe-git-fetch-allow, tests only).
    # Fetches wait on remote servers: their own pool, so that a slow one never holds an upload's thread.
    git = GitDeployer(reactor, store, _pool(top, "fazt-git", config["git-fetch-threads"]), deployer,
                      git_allowance(config.get(GIT_FETCH_OPTION)), git_limits(config["git-fetch-seconds"]),
                      threads=config["git-fetch-threads"])
    git.setServiceParent(top)  # stops before its pool: cuts running fetches so the threads join at once
    if config.get(GIT_FETCH_OPTION):
        _log.warn("--{option} {value}: deploys from Git may fetch this loopback port (tests only)",
                  option=GIT_FETCH_OPTION, value=config.get(GIT_FETCH_OPTION))

    # The admin API: one list of areas, each given what it needs; then the admin host's public endpoints.
    # Every clock is the reactor (IReactorTime), so a test drives time with twisted.internet.task.Clock.
    clock = reactor

    login = AuthApi(reactor, store, auth, _pool(top, "fazt-bcrypt", 2), LoginLockout(clock, bus=bus), proxies)
    # config["db"], not store.path: a PostgreSQL URL's password is left out of store.path.
    backups = BackupDownloads(reactor, _pool(top, "fazt-backup", 1), config["db"], auth)
    events = EventBuffer(store, reactor, interval=float(config.get("analytics-flush-seconds") or DEFAULT_INTERVAL))
    events.setServiceParent(top)
    for area in (AuditApi(store, auth), KeysApi(store, auth, clock), login,
                 SitesApi(store, deployer, auth, domain, announce("deleted")), GitApi(store, git, auth, domain),
                 PromoteApi(store, deployer, auth), SplitApi(store, auth, announce("split")),
                 DomainsApi(store, auth, domain, domains, clock),
                 SystemApi(store, auth, config, domain, index.blobs, workers, backups, clock),
                 EnvApi(store, auth, announce("env"), clock), FilesApi(store, auth, index),
                 LogsApi(store, auth, live, reactor), AnalyticsApi(store, auth, clock),
                 RedirectsApi(store, auth, clock), WebhooksApi(store, auth, clock), KvApi(store, auth, clock),
                 SiteAnalyticsApi(store, auth, clock), CertificatesApi(store, auth, certificates, Renewals(certificates, bus, reactor)),
                 OpenApiDocument(api, (PublicEndpoints.app, MetricsEndpoint.app, GitPushWebhook.app))):
        api.add(area)
    services = ApiServices(reactor, config, top, store, writer, auth, deployer, api, root, index, apps, workers,
                           domain, clock, extras={"events": events, "sockets": hubs, "livelog": live,
                                                  "certificates": certificates, "connections": connections,
                                                  "rate_limit": rate_limit, "bus": bus,
                                                  "http_refusals": refusals, "leadership": leadership,
                                                  "git_webhook": GitPushWebhook(store, git, reactor)})
    public.mount(services)
    metrics.mount(services)
    if parts is not None:
        parts.update(store=store, bus=bus, root=root, deployer=deployer)
    return top, site


def _pool(parent: MultiService, name: str, size: int) -> ThreadPool:
    """A thread pool of at most C{size} threads, started and stopped with C{parent}."""
    service = ThreadPoolService(ThreadPool(1, size, name=name))
    service.setServiceParent(parent)
    return service.pool


def makeService(config: Options, reactor: Optional[Any] = None, parts: Optional[dict] = None) -> MultiService:
    """Build the fazt service tree from parsed options: C{twistd fazt}'s entry point.

    C{parts}: see L{build}; C{site} (the L{FaztSite} the listeners serve) is added to it."""
    if reactor is None:
        from twisted.internet import reactor
    if supervised.supervises(config):  # --processes N: this process only supervises
        return supervised.supervisor(config, reactor, prepare_cartridge)
    top, site = build(config, reactor, parts)
    HeapFreezer(reactor).setServiceParent(top)  # full GCs over the long-lived heap stalled the reactor
    if parts is not None:
        parts["site"] = site
    # A child of the supervisor adopts the listening sockets it inherited instead of binding.
    listening = top.connections.listening(supervised.listening(config, reactor))
    backlog = config["listen-backlog"]
    for endpoint in config["http"]:
        strports.service(with_backlog(endpoint, backlog), site, reactor=listening).setServiceParent(top)
    for endpoint in config["https"]:
        factory = acme_wiring.https_factory(top, endpoint, site)
        strports.service(with_backlog(endpoint, backlog), factory, reactor=listening).setServiceParent(top)
    return top
