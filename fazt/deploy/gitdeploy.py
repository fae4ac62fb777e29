"""Deploys from a Git repository, and sites linked to one (SPEC §15).

L{GitDeployer.deploy} fetches one ref on the deploy thread pool (L{fazt.deploy.gitfetch}, behind
the public-address guard of script C{fetch}), turns the commit's files into a zip
(L{fazt.deploy.gittree}), and commits it through the L{Deployer} with its source. L{link} keeps a
site's repository, branch and folder with a new push-webhook secret; L{push} redeploys a linked
site when a push to its branch arrives. Nothing here runs on the reactor thread but the waiting.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from dataclasses import dataclass
from typing import Optional

from twisted.internet.defer import inlineCallbacks
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool

from fazt.base.errors import ApiError
from fazt.deploy.gitfetch import PUBLIC, FetchLimits, Reach, fetch_ref
from fazt.deploy.gittree import write_zip
from fazt.deploy.pipeline import PreparedDeploy, prepare_archive
from fazt.deploy.service import Deployer
from fazt.store.interfaces import IStore
from fazt.store.sources import GitLink, Source, set_link

BRANCH_PREFIX = "refs/heads/"
SECRET_BYTES = 32


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
              reach: Reach, limits: FetchLimits) -> _Checkout:
    """Blocking: fetch, write the zip and check it as an upload would be checked."""
    scratch = tempfile.mkdtemp(prefix="fazt-git-")
    archive = tempfile.TemporaryFile(dir=scratch)
    try:
        with tempfile.TemporaryFile(dir=scratch) as pack:
            fetched = fetch_ref(url, ref, scratch + "/repo", pack, reach, limits)
        length = write_zip(fetched.repo, fetched.commit, subdir, archive, deployer.limits)
        prepared = prepare_archive(site, archive, length, deployer.limits)
        fetched.repo.close()
        return _Checkout(prepared, Source(url, fetched.ref, fetched.commit.decode("ascii")), scratch, archive)
    except BaseException:
        archive.close()
        shutil.rmtree(scratch, ignore_errors=True)
        raise


class GitDeployer:
    """Deploys sites from Git repositories and keeps their links."""

    def __init__(self, reactor, store: IStore, pool: ThreadPool, deployer: Deployer,
                 reach: Reach = PUBLIC, limits: FetchLimits = FetchLimits()) -> None:
        self._reactor = reactor
        self._store = store
        self._pool = pool
        self._deployer = deployer
        self._reach = reach  # only tests widen it (twistd fazt --unsafe-git-fetch-allow)
        self._limits = limits

    @inlineCallbacks
    def deploy(self, site: str, url: str, ref: Optional[str], subdir: str, deployed_by: str,
               want_branch: bool = False):
        """Deploy C{ref} (default HEAD) of C{url}, folder C{subdir}; fires with (deployment, new blobs,
        source). With C{want_branch}, a ref that is not a branch is refused before anything is stored."""
        checkout = yield deferToThreadPool(self._reactor, self._pool, _checkout, site, url, ref, subdir,
                                           self._deployer, self._reach, self._limits)
        try:
            if want_branch and not checkout.source.ref.startswith(BRANCH_PREFIX):
                raise ApiError(400, "GIT_LINK_NEEDS_BRANCH",
                               f"only a branch can be linked; {checkout.source.ref} is not one", {"field": "ref"})
            deployment, new_blobs = yield self._deployer.commit(checkout.prepared, deployed_by, checkout.source)
        finally:
            yield deferToThreadPool(self._reactor, self._pool, checkout.discard)
        return deployment, new_blobs, checkout.source

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
