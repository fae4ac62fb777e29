"""Deploys and rollbacks: validation off the reactor, one atomic commit on the writer thread."""

from __future__ import annotations

from typing import Any, BinaryIO, Callable, Optional

from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.interfaces import IReactorTime
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool

from fazt.deploy.archive import Limits
from fazt.deploy.check import CodeChecker
from fazt.deploy.pipeline import PreparedDeploy, prepare_deploy
from fazt.base.errors import ApiError
from fazt.store.errors import NotFound
from fazt.store.interfaces import IStore
from fazt.store.sources import Source, commit_with_source
from fazt.store.sites import Deployment, activate, commit_deployment, get_active_deployment, get_deployment, list_deployments

DEFAULT_KEEP = 20


def _rollback(conn, site_name: str, deployment_id: Optional[int], now: float) -> Deployment:
    current = get_active_deployment(conn, site_name)
    if current is None:
        raise ApiError(404, "SITE_NOT_FOUND", f"site '{site_name}' does not exist")
    if deployment_id is None:
        older = [d for d in list_deployments(conn, site_name, limit=1000) if d.id < current.id]
        if not older:
            raise ApiError(409, "CONFLICT", f"site '{site_name}' has no earlier deployment")
        target = older[0]
    else:
        target = get_deployment(conn, deployment_id)
        if target is None or target.site_name != site_name:
            raise ApiError(404, "NOT_FOUND", f"site '{site_name}' has no deployment {deployment_id}")
    activate(conn, site_name, target.id, now)
    return target


class Deployer:
    """Runs deploys and rollbacks and tells the web layer when a site switched."""

    def __init__(
        self,
        reactor: IReactorTime,
        store: IStore,
        pool: ThreadPool,
        domain: str,
        on_switch: Callable[[str], None],
        limits: Limits = Limits(),
        keep: int = DEFAULT_KEEP,
        code_pool: Any = None,
        on_preview: Callable[[str, int], None] = lambda site, deployment_id: None,
    ) -> None:
        self._reactor = reactor
        self._store = store
        self._pool = pool
        self._domain = domain
        self._on_switch = on_switch
        self._on_preview = on_preview  # a preview was stored: its host may want a certificate
        self.limits = limits
        self.keep = keep
        # The JS pool checks an upload's main.js and api/ modules before it is committed (SPEC §14).
        self._checker = None if code_pool is None else CodeChecker(
            code_pool, lambda function, *args: deferToThreadPool(reactor, pool, function, *args))

    def prepare(self, body: BinaryIO, content_type: Optional[bytes]) -> Deferred[PreparedDeploy]:
        """Validate an upload on the deploy pool (raises L{ApiError})."""
        return deferToThreadPool(
            self._reactor, self._pool, prepare_deploy, body, content_type, self._domain, self.limits
        )

    @inlineCallbacks
    def commit(self, prepared: PreparedDeploy, deployed_by: str, source: Optional[Source] = None):
        """Check a prepared deploy's code, store it and switch the site to it; fires with
        (deployment, new blobs). Code that does not compile raises L{ApiError} C{INVALID_SCRIPT}
        before anything is stored or switched. C{source}: where it came from (a Git deploy),
        recorded in the same transaction."""
        if self._checker is not None:
            yield self._checker.check(prepared.site_name, prepared.paths, prepared.read_text)
        switch = not prepared.preview
        store_it, extra = (commit_deployment, (switch,)) if source is None else (commit_with_source, (source, switch))
        try:
            result = yield self._store.write(
                store_it, prepared.site_name, prepared.new_files(), deployed_by, self._reactor.seconds(),
                self.keep, *extra)
        except NotFound as error:
            raise ApiError(404, "SITE_NOT_FOUND", str(error)) from None
        if prepared.preview:
            self._on_preview(prepared.site_name, result[0].id)
        else:
            self._on_switch(prepared.site_name)
        return result

    @inlineCallbacks
    def rollback(self, site_name: str, deployment_id: Optional[int] = None):
        """Switch a site to an earlier deployment (default: the one before the active one)."""
        target = yield self._store.write(_rollback, site_name, deployment_id, self._reactor.seconds())
        self._on_switch(site_name)
        return target
