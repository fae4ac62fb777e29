"""Deploys from a Git repository, and sites linked to one (SPEC §15).

L{GitDeployer.deploy} fetches one ref on a thread pool of its own (L{fazt.deploy.gitfetch}, behind
the public-address guard of script C{fetch}), turns the commit's files into a zip
(L{fazt.deploy.gittree}), and commits it through the L{Deployer} with its source.

A fetch waits on a remote server fazt does not control, so fetches never use the deploy threads
that uploads need: they run on their own pool, one thread each, at most C{threads} at once and each
within its L{FetchLimits} (bytes, and a deadline the reactor enforces by expiring its
L{FetchBudget}). At most L{MAX_WAITING} more wait for a thread; past that, 503 C{GIT_BUSY}. A slow
or hostile Git server can therefore hold fetch threads (up to the deadline), never an upload. L{link} keeps a
site's repository, branch and folder with a new push-webhook secret; L{push} redeploys a linked
site when a push to its branch arrives. Nothing here runs on the reactor thread but the waiting.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from dataclasses import dataclass
from typing import Optional

from twisted.application.service import Service
from twisted.internet.defer import DeferredSemaphore, inlineCallbacks
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool

from fazt.base.errors import ApiError
from fazt.base.converters import seconds as _seconds
from fazt.base.converters import whole_number as _whole_number
from fazt.deploy.gitbudget import FetchBudget
from fazt.deploy.gitfetch import PUBLIC, FetchLimits, Reach, fetch_ref
from fazt.deploy.gittree import write_zip
from fazt.deploy.pipeline import PreparedDeploy, prepare_archive
from fazt.deploy.service import Deployer
from fazt.store.interfaces import IStore
from fazt.store.sources import GitLink, Source, set_link

BRANCH_PREFIX = "refs/heads/"
SECRET_BYTES = 32
MAX_WAITING = 16  # fetches waiting for a thread; more are refused (503 GIT_BUSY)
THREADS, SECONDS = 2, FetchLimits().seconds
# twistd fazt options (fazt.app.options).
GIT_PARAMETERS = [
    ["git-fetch-threads", None, THREADS, "Deploys from Git fetching at once (their own threads, not the uploads').",
     _whole_number("git-fetch-threads")],
    ["git-fetch-seconds", None, SECONDS, "Longest a deploy from Git may take to fetch its ref, in seconds.",
     _seconds("git-fetch-seconds", 1, 3600)],
]


def limits_for(seconds: float) -> FetchLimits:
    """The fetch limits with a deadline of C{seconds} (no single read waits longer than that either)."""
    return FetchLimits(seconds=seconds, socket_timeout=min(FetchLimits().socket_timeout, seconds))


@dataclass
class _Checkout:
    """A prepared deploy from Git and the scratch files it still reads from."""

    prepared: PreparedDeploy
    source: Source
    scratch: str
    archive: object

    def discard(self) -> None:
        self.archive.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


def _checkout(site: str, url: str, ref: Optional[str], subdir: str, deployer: Deployer,
              reach: Reach, budget: FetchBudget) -> _Checkout:
    """Blocking: fetch, write the zip and check it as an upload would be checked."""
    scratch = tempfile.mkdtemp(prefix="fazt-git-")
    archive = tempfile.TemporaryFile(dir=scratch)
    try:
        with tempfile.TemporaryFile(dir=scratch) as pack:
            fetched = fetch_ref(url, ref, scratch + "/repo", pack, reach, budget.limits, budget=budget)
        length = write_zip(fetched.repo, fetched.commit, subdir, archive, deployer.limits)
        prepared = prepare_archive(site, archive, length, deployer.limits)
        fetched.repo.close()
        return _Checkout(prepared, Source(url, fetched.ref, fetched.commit.decode("ascii")), scratch, archive)
    except BaseException:
        archive.close()
        shutil.rmtree(scratch, ignore_errors=True)
        raise


class GitDeployer(Service):
    """Deploys sites from Git repositories and keeps their links.

    As a service it only stops: it cuts every running fetch, so that the fetch pool (made before it,
    so stopped after it) joins its threads at once rather than at the fetches' deadlines."""

    def __init__(self, reactor, store: IStore, pool: ThreadPool, deployer: Deployer,
                 reach: Reach = PUBLIC, limits: FetchLimits = FetchLimits(), threads: int = THREADS) -> None:
        """C{pool}: the fetches' own pool, of at least C{threads} threads (see the module doc)."""
        self._reactor = reactor
        self._store = store
        self._pool = pool
        self._deployer = deployer
        self._reach = reach  # only tests widen it (twistd fazt --unsafe-git-fetch-allow)
        self._limits = limits
        self._slots = DeferredSemaphore(threads)
        self._running: set[FetchBudget] = set()

    def stopService(self) -> None:
        super().stopService()
        for budget in list(self._running):
            budget.expire()

    @inlineCallbacks
    def deploy(self, site: str, url: str, ref: Optional[str], subdir: str, deployed_by: str,
               want_branch: bool = False):
        """Deploy C{ref} (default HEAD) of C{url}, folder C{subdir}; fires with (deployment, new blobs,
        source). With C{want_branch}, a ref that is not a branch is refused before anything is stored."""
        if self._slots.tokens == 0 and len(self._slots.waiting) >= MAX_WAITING:
            raise ApiError(503, "GIT_BUSY", "too many deploys from Git are waiting; try again in a few minutes")
        checkout = yield self._slots.run(self._fetch, site, url, ref, subdir)
        try:
            if want_branch and not checkout.source.ref.startswith(BRANCH_PREFIX):
                raise ApiError(400, "GIT_LINK_NEEDS_BRANCH",
                               f"only a branch can be linked; {checkout.source.ref} is not one", {"field": "ref"})
            deployment, new_blobs = yield self._deployer.commit(checkout.prepared, deployed_by, checkout.source)
        finally:
            yield deferToThreadPool(self._reactor, self._pool, checkout.discard)
        return deployment, new_blobs, checkout.source

    @inlineCallbacks
    def _fetch(self, site: str, url: str, ref: Optional[str], subdir: str):
        """The checkout, made on a fetch thread (one is free: a slot was taken) within the deadline."""
        budget = FetchBudget(self._limits)
        watchdog = self._reactor.callLater(self._limits.seconds, budget.expire)
        self._running.add(budget)
        try:
            return (yield deferToThreadPool(self._reactor, self._pool, _checkout, site, url, ref, subdir,
                                            self._deployer, self._reach, budget))
        finally:
            self._running.discard(budget)
            if watchdog.active():
                watchdog.cancel()

    @inlineCallbacks
    def link(self, site: str, source: Source, subdir: str):
        """Link C{site} to C{source}'s repository and branch; fires with the new secret (shown once)."""
        secret = secrets.token_hex(SECRET_BYTES)
        yield self._store.write(set_link, GitLink(site, source.url, source.ref, subdir, secret,
                                                   int(self._reactor.seconds())))
        return secret

    def push(self, link: GitLink):
        """A signed push to the linked branch arrived: deploy the branch's head as it is now."""
        return self.deploy(link.site_name, link.url, link.ref, link.dir, "git-push")
