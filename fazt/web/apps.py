"""Serving a site whose root holds C{main.js}: every request runs the script (SPEC §7)."""

from __future__ import annotations

import base64
import re
import time
from typing import Optional

from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.interfaces import IReactorTime
from twisted.web.server import Request

from fazt.base.bus import LOG_LINE, IEventBus
from fazt.base.names import split_host
from fazt.base.responses import html_page
from fazt.runtime.pool import RunResult, WorkerPool
from fazt.runtime.scriptrequest import script_request
from fazt.store.batch import BatchWriter
from fazt.store.interfaces import IStore
from fazt.store.kv import append_logs, env_for_site
from fazt.web.sitestate import SiteIndex, SiteState

MAX_JS_BODY = 1024 * 1024
# Framing and hop-by-hop headers are the server's business, never the script's.
_RESERVED_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive", "upgrade",
                               "te", "trailer", "proxy-connection", "date", "server"})
_UNSAFE = re.compile("[\r\n\x00]")
_FAILURE_STATUS = {"busy": 503}
_FAILURE_TEXT = {
    "timeout": "The app took too long to answer.",
    "memory": "The app ran out of memory.",
    "busy": "The app is too busy right now; try again shortly.",
}


class AppRenderer:
    """Runs a site's script on the worker pool and writes its response."""

    def __init__(self, pool: WorkerPool, store: IStore, writer: BatchWriter, index: SiteIndex,
                 *, clock: IReactorTime, bus: Optional[IEventBus] = None) -> None:
        self._pool = pool
        self._bus = bus  # each log line is published (LOG_LINE) as it is made, before it is stored
        self._store = store
        self._writer = writer
        self._index = index
        self._clock = clock
        self._env: dict[str, dict[str, str]] = {}
        # Decoded main.js by content hash: decoding on every request was wasted work on the reactor.
        self._sources: dict[str, str] = {}
        self._env_generation: dict[str, int] = {}
        # Script runs by (site, outcome): "ok" or a RunResult failure kind ("timeout", "memory"...).
        self.runs: dict[tuple[str, str], int] = {}

    def invalidate_env(self, site: str) -> None:
        """Forget a site's cached environment variables (they changed)."""
        self._env.pop(site, None)
        self._env_generation[site] = self._env_generation.get(site, 0) + 1

    def site_changed(self, message: dict) -> None:
        """A C{SITE_CHANGED} message of the bus: new variables or a deleted site drop the cached
        environment (a switch keeps it: variables belong to the site, not to a deployment)."""
        if message.get("change") in ("env", "deleted"):
            self.invalidate_env(message["site"])

    def render(self, request: Request, state: SiteState) -> bytes | Deferred[bytes]:
        """Answer C{request} by running the site's script: bytes at once (413), or a Deferred."""
        body = request.content.read(MAX_JS_BODY + 1) if request.content is not None else b""
        if len(body) > MAX_JS_BODY:
            return _page(request, 413, "Payload Too Large", "The request body is larger than 1 MiB.")
        peer = request.getClientAddress()
        js_request = script_request(request.method, request.uri, request.requestHeaders.getAllRawHeaders(),
                                    body, getattr(peer, "host", ""), split_host(request.getHeader(b"host")))
        return self.run(state, js_request).addCallback(_respond, request)

    def run(self, state: SiteState, js_request: dict) -> Deferred[RunResult]:
        """Run an app site's script for C{js_request} (see L{script_request}); logs are recorded.

        Also the entry point of scheduled runs (L{fazt.cron.service}); counted in C{self.runs}.
        A warm site (source decoded, env loaded) goes straight to the pool: no generator, no extra
        Deferred on the way.
        """
        script_hash = state.files["main.js"].blob_hash
        source = self._sources.get(script_hash)
        env = self._env.get(state.name)
        if source is None or env is None:
            return self._load_then_run(state, js_request)
        return self._pool.run(state.name, script_hash, source, js_request, env).addCallback(self._ran, state.name)

    @inlineCallbacks
    def _load_then_run(self, state: SiteState, js_request: dict) -> Deferred[RunResult]:
        script = state.files["main.js"]
        source = self._sources.get(script.blob_hash)
        if source is None:
            blob = yield self._index.blob(script.blob_hash)
            source = blob.data.decode("utf-8", "replace")
            if len(self._sources) >= 256:
                self._sources.clear()
            self._sources[script.blob_hash] = source
        env = self._env.get(state.name)
        if env is None:
            generation = self._env_generation.get(state.name, 0)
            env = yield self._store.read(env_for_site, state.name)
            # A change made while we read would be lost if this older answer were cached.
            if self._env_generation.get(state.name, 0) == generation:
                self._env[state.name] = env
        result = yield self._pool.run(state.name, script.blob_hash, source, js_request, env)
        return self._ran(result, state.name)

    def _ran(self, result: RunResult, site: str) -> RunResult:
        outcome = (site, result.failure or "ok")
        self.runs[outcome] = self.runs.get(outcome, 0) + 1
        if result.logs or result.failure is not None:
            self._record_logs(site, result)
        return result

    def record(self, site: str, level: str, message: str) -> None:
        """Add one line to a site's log (as console.* lines are): stored and streamed live."""
        self._record_logs(site, RunResult(None, [(level, message)]))

    def _record_logs(self, site: str, result: RunResult) -> None:
        now = self._clock.seconds()
        entries = [(site, str(level), str(message), now) for level, message in result.logs]
        if result.failure is not None:
            detail = f"{result.failure}: {result.message}"
            if result.stack:
                detail += "\n" + result.stack
            entries.append((site, "error", detail, now))
        if entries:
            self._writer.submit(append_logs, entries).addErrback(lambda _: None)
            if self._bus is not None:
                for name, level, message, created in entries:
                    self._bus.publish(LOG_LINE, {"site": name, "level": level, "message": message,
                                                 "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                             time.gmtime(created))})


def _respond(result: RunResult, request: Request) -> bytes:
    if result.failure is not None:
        status = _FAILURE_STATUS.get(result.failure, 500)
        return _page(request, status, "App Error", _FAILURE_TEXT.get(result.failure, "The app failed to answer."))
    return _apply(request, result.response or {})


def _apply(request: Request, response: dict) -> bytes:
    status = response.get("status", 200)
    if not isinstance(status, int) or isinstance(status, bool) or not 200 <= status <= 599:
        return _page(request, 500, "App Error", "The app answered with an invalid status.")
    request.setResponseCode(status)
    has_type = False
    for pair in response.get("headers") or []:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            continue
        name, value = str(pair[0]), str(pair[1])
        lowered = name.lower()
        if lowered in _RESERVED_HEADERS or not name or _UNSAFE.search(name) or _UNSAFE.search(value):
            continue
        has_type = has_type or lowered == "content-type"
        request.responseHeaders.addRawHeader(name.encode("latin-1", "replace"), value.encode("latin-1", "replace"))
    if not has_type:
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
    request.setHeader(b"x-content-type-options", b"nosniff")
    body = response.get("body") or ""
    if response.get("body_base64"):
        return base64.b64decode(body)
    return body.encode("utf-8") if isinstance(body, str) else str(body).encode("utf-8")


def _page(request: Request, status: int, title: str, text: str) -> bytes:
    request.setResponseCode(status)
    request.setHeader(b"content-type", b"text/html; charset=utf-8")
    return html_page(status, title, text)
