"""Running a site's code for a request: a root C{main.js} (SPEC §7) or a function module (§14).

The site's active deployment is one L{CodeBundle} (made once per deployment, kept on its
L{SiteState}); the pool's workers load the files they need from it. A warm request (bundle made,
variables loaded) goes straight to the pool.
"""

from __future__ import annotations

import time
from typing import Optional, Sequence

from twisted.internet.defer import Deferred, inlineCallbacks, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.web.server import Request

from fazt.base.bus import LOG_LINE, IEventBus
from fazt.base.names import split_host
from fazt.runtime.code import MODULE, SCRIPT, CodeBundle, Entry
from fazt.runtime.pool import RunResult, WorkerPool
from fazt.runtime.scriptrequest import script_request
from fazt.store.batch import BatchWriter
from fazt.store.interfaces import IStore
from fazt.store.kv import append_logs, env_for_site
from fazt.store.sites import BlobContent
from fazt.web.appresponse import page, respond_function, respond_script
from fazt.web.lockout import parse_address
from fazt.web.sitestate import SiteIndex, SiteState

MAX_JS_BODY = 1024 * 1024
ROOT_SCRIPT = Entry(SCRIPT, "main.js")


class AppRenderer:
    """Runs a site's code on the worker pool and writes its response.

    C{trusted_proxies} (C{--trusted-proxy}) are the peers whose C{X-Forwarded-Proto} is believed
    when the scheme of the request's absolute C{url} is worked out.
    """

    def __init__(self, pool: WorkerPool, store: IStore, writer: BatchWriter, index: SiteIndex,
                 *, clock: IReactorTime, bus: Optional[IEventBus] = None,
                 trusted_proxies: Sequence = ()) -> None:
        self._pool = pool
        self._bus = bus  # each log line is published (LOG_LINE) as it is made, before it is stored
        self._store = store
        self._writer = writer
        self._index = index
        self._clock = clock
        self._trusted = tuple(trusted_proxies)
        self._env: dict[str, dict[str, str]] = {}
        self._env_generation: dict[str, int] = {}
        # Runs by (site, outcome): "ok" or a RunResult failure kind ("timeout", "memory"...).
        self.runs: dict[tuple[str, str], int] = {}

    def invalidate_env(self, site: str) -> None:
        """Forget a site's cached environment variables (they changed)."""
        self._env.pop(site, None)
        self._env_generation[site] = self._env_generation.get(site, 0) + 1

    def forget_all(self, message: Optional[dict] = None) -> None:
        """Forget every cached environment (a C{RESYNC} of the bus: changes made elsewhere may have
        been missed)."""
        for site in set(self._env) | set(self._env_generation):  # loads under way are not remembered either
            self.invalidate_env(site)

    def site_changed(self, message: dict) -> None:
        """A C{SITE_CHANGED} message of the bus: new variables or a deleted site drop the cached
        environment (a switch keeps it: variables belong to the site, not to a deployment)."""
        if message.get("change") in ("env", "deleted"):
            self.invalidate_env(message["site"])

    # -- requests -------------------------------------------------------------------------

    def render(self, request: Request, state: SiteState) -> bytes | Deferred[bytes]:
        """Answer C{request} by running the site's root C{main.js}: bytes at once (413), or a Deferred."""
        js_request = self._js_request(request, request.method, {})
        if js_request is None:
            return page(request, 413, "Payload Too Large", "The request body is larger than 1 MiB.")
        return self.run(state, js_request).addCallback(respond_script, request)

    def render_function(self, request: Request, state: SiteState, path: str,
                        params: dict) -> bytes | Deferred[bytes]:
        """Answer C{request} with the function module at C{path} (route C{params}); HEAD runs GET."""
        method = b"GET" if request.method == b"HEAD" else request.method
        js_request = self._js_request(request, method, params)
        if js_request is None:
            return page(request, 413, "Payload Too Large", "The request body is larger than 1 MiB.")
        return self.run_entry(state, Entry(MODULE, path), js_request).addCallback(respond_function, request)

    def _js_request(self, request: Request, method: bytes, params: dict) -> Optional[dict]:
        body = request.content.read(MAX_JS_BODY + 1) if request.content is not None else b""
        if len(body) > MAX_JS_BODY:
            return None
        peer = getattr(request.getClientAddress(), "host", "")
        return script_request(method, request.uri, request.requestHeaders.getAllRawHeaders(), body, peer,
                              split_host(request.getHeader(b"host")),
                              scheme=request_scheme(request, peer, self._trusted), route_params=params)

    # -- runs -----------------------------------------------------------------------------

    def run(self, state: SiteState, js_request: dict) -> Deferred[RunResult]:
        """Run an app site's root C{main.js} for C{js_request} (see L{script_request}); logs are recorded.

        Also the entry point of scheduled runs (L{fazt.cron.service}); counted in C{self.runs}.
        """
        return self.run_entry(state, ROOT_SCRIPT, js_request)

    def run_entry(self, state: SiteState, entry: Entry, js_request: dict) -> Deferred[RunResult]:
        """Run C{entry} of the site's active deployment; never errbacks for a script's failure.

        A warm site (bundle made, env loaded) goes straight to the pool: no generator, no extra
        Deferred on the way.
        """
        env = self._env.get(state.name)
        if env is None:
            return self._load_then_run(state, entry, js_request)
        return self._pool.run(state.name, self.code(state), entry, js_request, env).addCallback(
            self._ran, state.name)

    @inlineCallbacks
    def _load_then_run(self, state: SiteState, entry: Entry, js_request: dict) -> Deferred[RunResult]:
        env = self._env.get(state.name)
        if env is None:
            generation = self._env_generation.setdefault(state.name, 0)  # known, so forget_all can bump it
            env = yield self._store.read(env_for_site, state.name)
            # A change made while we read would be lost if this older answer were cached.
            if self._env_generation.get(state.name, 0) == generation:
                self._env[state.name] = env
        result = yield self._pool.run(state.name, self.code(state), entry, js_request, env)
        return self._ran(result, state.name)

    def code(self, state: SiteState) -> CodeBundle:
        """The site's active deployment as a code bundle, made once and kept on its state."""
        if state.code is None:
            files, index = state.files, self._index

            def source(path: str) -> Deferred:
                entry = files.get(path)
                if entry is None:
                    return succeed(None)
                return index.blob(entry.blob_hash).addCallback(_text)

            state.code = CodeBundle(state.code_key, frozenset(files), source)
        return state.code

    def _ran(self, result: RunResult, site: str) -> RunResult:
        outcome = (site, result.failure or "ok")
        self.runs[outcome] = self.runs.get(outcome, 0) + 1
        if result.logs or result.failure is not None:
            self._record_logs(site, result.logs, result)
        return result

    # -- logs -----------------------------------------------------------------------------

    def record(self, site: str, level: str, message: str) -> None:
        """Add one line to a site's log (as console.* lines are): stored and streamed live."""
        self._record_logs(site, [(level, message)])

    def record_late(self, site: str, logs: list) -> None:
        """Log lines a run wrote after its response (work kept alive with C{ctx.waitUntil})."""
        if logs:
            self._record_logs(site, logs)

    def _record_logs(self, site: str, logs: list, result: Optional[RunResult] = None) -> None:
        now = self._clock.seconds()
        entries = [(site, str(level), str(message), now) for level, message in logs]
        if result is not None and result.failure is not None:
            detail = f"{result.failure}: {result.message}"
            if result.stack:
                detail += "\n" + result.stack
            entries.append((site, "error", detail, now))
        if entries:
            self._writer.submit(append_logs, entries).addErrback(lambda _: None)
            if self._bus is not None:
                stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
                for name, level, message, _ in entries:
                    self._bus.publish(LOG_LINE, {"site": name, "level": level, "message": message,
                                                 "created_at": stamp})


def _text(content: Optional[BlobContent]) -> Optional[str]:
    return None if content is None else content.data.decode("utf-8", "replace")


def request_scheme(request: Request, peer: str, trusted: Sequence) -> str:
    """The scheme the client used: C{https} on a TLS listener; behind a trusted proxy (the TCP peer
    is in C{trusted}) what its C{X-Forwarded-Proto} says; C{http} otherwise."""
    scheme = "https" if request.isSecure() else "http"
    if not trusted:
        return scheme
    forwarded = request.getHeader(b"x-forwarded-proto")
    if forwarded is None:
        return scheme
    address = parse_address(peer)
    if address is None or not any(address.version == net.version and address in net for net in trusted):
        return scheme
    # The proxy closest to us wrote the last value.
    claimed = forwarded.decode("latin-1").split(",")[-1].strip().lower()
    return claimed if claimed in ("http", "https") else scheme
