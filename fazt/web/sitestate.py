"""What each site serves right now, kept in memory on the reactor thread.

A site's state (its active deployment's manifest and its parsed C{_redirects}/C{_headers}) is
loaded from the store on first use and dropped when a deploy or rollback switches the site.
File contents come from a byte-bounded LRU keyed by content hash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from twisted.internet.defer import Deferred, succeed

from fazt.images.params import ImagesConfig, parse_images_config
from fazt.store.blobcache import ByteLRU
from fazt.store.interfaces import IStore
from fazt.store.rollout import get_split
from fazt.store.sites import (BlobContent, Deployment, ManifestFile, get_active_deployment, get_deployment, load_blob,
                              load_manifest)
from fazt.web.rules import HeaderRule, RedirectRule, parse_headers, parse_redirects

from fazt.web.functionroutes import FunctionRoutes

# Parsed rule files are small; larger ones are ignored rather than parsed on the reactor.
_MAX_RULES_FILE = 256 * 1024


# Bounds the memory a site's prepared responses can take (paths times encodings).
MAX_PREPARED = 4096
# Names known to have no site: any Host NAME.D asks, so they are forgotten past this many.
MAX_ABSENT = 10000
# States of deployments served by id (previews, traffic splits), kept past this many no more.
MAX_DEPLOYMENT_STATES = 64


@dataclass(frozen=True)
class PreparedResponse:
    """A static response worked out once: its status, headers and which body variant."""

    status: int
    headers: dict
    blob_hash: str
    encoding: Optional[str]


@dataclass
class SiteState:
    """One site's active deployment, ready to serve."""

    name: str
    deployment: Deployment
    files: dict[str, ManifestFile]
    redirects: list[RedirectRule] = field(default_factory=list)
    header_rules: list[HeaderRule] = field(default_factory=list)
    prepared: dict = field(default_factory=dict)
    # The api/ function routes (SPEC §14), None for a deployment without function files: a
    # static-only site pays one attribute test per request for them, nothing more.
    routes: Optional[FunctionRoutes] = None
    # The deployment's CodeBundle (fazt.runtime.code), made on first use by the app renderer.
    code: Any = None
    # The site's traffic split, ((deployment_id, weight), ...), on the site's state only (SPEC §15).
    split: Optional[tuple] = None
    # fazt.json's "images" (SPEC §15): the sizes /.fazt/image/ may make; None: off.
    images: Optional[ImagesConfig] = None

    def remember(self, path: bytes, accept_encoding: Optional[str], response: PreparedResponse) -> None:
        if len(self.prepared) >= MAX_PREPARED:
            self.prepared.clear()
        self.prepared[(path, accept_encoding)] = response

    def recall(self, path: bytes, accept_encoding: Optional[str]) -> Optional[PreparedResponse]:
        return self.prepared.get((path, accept_encoding))

    @property
    def is_app(self) -> bool:
        """A root C{main.js} makes the whole site an app (SPEC §7): every path but C{/ws} runs it."""
        return "main.js" in self.files

    @property
    def code_key(self) -> str:
        """The key of this deployment's code bundle (PROTOCOL.md: C{"SITE:DEPLOYMENT_ID"})."""
        return f"{self.name}:{self.deployment.id}"

    @property
    def last_modified(self) -> float:
        return self.deployment.created_at


def _load_state(conn, name: str) -> Optional[SiteState]:
    deployment = get_active_deployment(conn, name)
    if deployment is None:
        return None
    state = _deployment_state(conn, name, deployment)
    state.split = get_split(conn, name)
    return state


def _load_deployment(conn, name: str, deployment_id: int) -> Optional[SiteState]:
    deployment = get_deployment(conn, deployment_id)
    if deployment is None or deployment.site_name != name:
        return None
    return _deployment_state(conn, name, deployment)


def _deployment_state(conn, name: str, deployment: Deployment) -> SiteState:
    files = load_manifest(conn, deployment.id)
    state = SiteState(name, deployment, files)
    code_files = [path for path in files if path.startswith("api/") and path.endswith((".js", ".mjs"))]
    if code_files:
        state.routes = FunctionRoutes.from_paths(code_files)
    for rule_file, parse, attr in (
        ("_redirects", parse_redirects, "redirects"),
        ("_headers", parse_headers, "header_rules"),
        ("fazt.json", parse_images_config, "images"),
    ):
        entry = files.get(rule_file)
        if entry is not None and entry.size <= _MAX_RULES_FILE:
            blob = load_blob(conn, entry.blob_hash)
            if blob is not None:
                setattr(state, attr, parse(blob.data.decode("utf-8", "replace")))
    return state


class SiteIndex:
    """Site states and file contents for the web layer, loaded lazily from the store."""

    def __init__(self, store: IStore, blob_cache: ByteLRU[BlobContent]) -> None:
        self._store = store
        self.blobs = blob_cache
        self._states: dict[str, Optional[SiteState]] = {}
        self._absent = 0  # how many of _states are None
        self._loading: dict[str, list[Deferred]] = {}
        self._generation: dict[str, int] = {}
        self._deployments: dict[tuple[str, int], Optional[SiteState]] = {}

    def cached(self, name: str) -> tuple[bool, Optional[SiteState]]:
        """C{(known, state)} without touching the store; C{state} None means no such site."""
        if name in self._states:
            return True, self._states[name]
        return False, None

    def load(self, name: str) -> Deferred[Optional[SiteState]]:
        """The site's state, from memory or the store (concurrent loads share one query)."""
        if name in self._states:
            return succeed(self._states[name])
        waiting = Deferred()
        if name in self._loading:
            self._loading[name].append(waiting)
            return waiting
        self._loading[name] = [waiting]
        generation = self._generation.get(name, 0)

        def loaded(state):
            # A switch that happened while we read makes this result stale: keep it for the
            # requests that asked, but do not remember it.
            if self._generation.get(name, 0) == generation:
                if state is None:
                    if self._absent >= MAX_ABSENT:
                        self._forget_absent()
                    self._absent += 1
                self._states[name] = state
            for d in self._loading.pop(name):
                d.callback(state)

        def failed(failure):
            for d in self._loading.pop(name):
                d.errback(failure)

        self._store.read(_load_state, name).addCallbacks(loaded, failed)
        return waiting

    def cached_deployment(self, name: str, deployment_id: int) -> tuple[bool, Optional[SiteState]]:
        """Like L{cached} for one deployment of a site (previews, splits); None: no such deployment."""
        key = (name, deployment_id)
        if key in self._deployments:
            return True, self._deployments[key]
        return False, None

    def load_deployment(self, name: str, deployment_id: int) -> Deferred[Optional[SiteState]]:
        """The state of one deployment of site C{name}, active or not (None if it has no such one).

        Deployments never change; their states are dropped when the site switches or goes
        (a switch may have pruned them).
        """
        key = (name, deployment_id)
        if key in self._deployments:
            return succeed(self._deployments[key])
        generation = self._generation.get(name, 0)

        def loaded(state):
            if self._generation.get(name, 0) == generation:
                if len(self._deployments) >= MAX_DEPLOYMENT_STATES:
                    self._deployments.clear()
                self._deployments[key] = state
            return state

        return self._store.read(_load_deployment, name, deployment_id).addCallback(loaded)

    def _forget_absent(self) -> None:
        self._states = {name: state for name, state in self._states.items() if state is not None}
        self._absent = 0

    def invalidate(self, name: str) -> None:
        """Forget a site's state: its active deployment has changed."""
        if name in self._states and self._states.pop(name) is None:
            self._absent -= 1
        self._generation[name] = self._generation.get(name, 0) + 1
        if self._deployments:
            for key in [key for key in self._deployments if key[0] == name]:
                del self._deployments[key]

    def forget_all(self, message: Optional[dict] = None) -> None:
        """Forget every site's state (a C{RESYNC} of the bus: changes made elsewhere may have been
        missed); loads under way are not remembered. File contents stay: they are named by hash."""
        for name in set(self._states) | set(self._loading):
            self.invalidate(name)

    def site_changed(self, message: dict) -> None:
        """A C{SITE_CHANGED} message of the bus: a switch, a new traffic split or a deletion changes
        what the site serves (its environment does not, so C{"env"} keeps the state)."""
        if message.get("change") in ("switch", "split", "deleted"):
            self.invalidate(message["site"])

    def blob(self, blob_hash: str) -> Deferred[Optional[BlobContent]]:
        """A file's content, from the cache or the store."""
        content = self.blobs.get(blob_hash)
        if content is not None:
            return succeed(content)

        def remember(content):
            if content is not None:
                size = len(content.data) + len(content.gzip or b"") + len(content.br or b"")
                self.blobs.put(blob_hash, content, size)
            return content

        return self._store.read(load_blob, blob_hash).addCallback(remember)
