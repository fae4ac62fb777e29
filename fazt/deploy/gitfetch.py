"""Fetching one ref of a public Git repository over HTTP(S) (SPEC §15): blocking, for a thread.

The fetch is dulwich's smart-HTTP client, shallow (depth 1) and for the one ref asked for. Its
connections go through a urllib3 pool whose connection classes resolve the host themselves, check
EVERY address it resolved to with the rules of script C{fetch} (L{fazt.runtime.ssrf.pick_address})
and connect to the checked address: the check applies to the connection actually made, for the
first request and for every redirect, never to an earlier, separate DNS lookup that a second
lookup could contradict (DNS rebinding). TLS still verifies the certificate for the URL's host.

Limits (L{fazt.deploy.gitbudget}): a cap on the bytes of the ref advertisement and of the pack, a
socket timeout on every read and a deadline on the whole fetch, checked on every read and enforced
by the caller's L{FetchBudget.expire}. Only the refs that can match the one asked for are listed
(protocol v2's C{ls-refs} prefixes). Errors are L{ApiError}s with stable codes.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import time
from dataclasses import dataclass
from typing import BinaryIO, Callable, Optional

import urllib3
from dulwich.errors import GitProtocolError, HangupException, NotGitRepository
from dulwich.repo import Repo
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NameResolutionError

from fazt.base.errors import ApiError
from fazt.deploy.gitbudget import MIB, FetchBudget, FetchLimits, MeteredGitClient, timed_out
from fazt.runtime.ssrf import DEFAULT_POLICY, AddressPolicy, FetchBlocked, check_url, pick_address

ALLOW_OPTION = "unsafe-git-fetch-allow"
MAX_REDIRECTS = 3


@dataclass(frozen=True)
class Fetched:
    """A fetched commit: the repository it is in, its id and the ref it was found by."""

    repo: Repo
    commit: bytes
    ref: str


def blocked(reason: str) -> ApiError:
    """The answer to a URL (or an address it resolved to) that may not be fetched."""
    return ApiError(400, "GIT_URL_BLOCKED", f"this Git URL may not be fetched: {reason}", {"field": "url"})


def failed(message: str) -> ApiError:
    """The answer to a repository that could not be fetched. 422, not 502: the URL the client gave
    is what cannot be processed (nothing of fazt failed), and 5xx stays for fazt's own faults."""
    return ApiError(422, "GIT_FETCH_FAILED", message)


@dataclass(frozen=True)
class Reach:
    """Which addresses a Git fetch may connect to: public ones, and (tests only) C{policy}'s
    allowed networks on port C{only_port} (see L{allowance})."""

    policy: AddressPolicy = DEFAULT_POLICY
    only_port: Optional[int] = None

    def policy_for(self, port: int) -> AddressPolicy:
        return self.policy if self.only_port is None or port == self.only_port else DEFAULT_POLICY


PUBLIC = Reach()


def allowance(text: Optional[str]) -> Reach:
    """The reach of C{twistd fazt --unsafe-git-fetch-allow 127.0.0.1:PORT} (tests only; C{None}: public
    addresses only). Raises C{ValueError} with a message for anything but a loopback ADDRESS:PORT."""
    if text is None:
        return PUBLIC
    host, _, port = text.strip().rpartition(":")
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        raise ValueError(f"--{ALLOW_OPTION} takes a loopback address and a port, such as 127.0.0.1:8080") from None
    if not address.is_loopback or not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise ValueError(f"--{ALLOW_OPTION} allows only a loopback address with a port, such as 127.0.0.1:8080")
    return Reach(AddressPolicy(allowed_networks=(ipaddress.ip_network(address),)), int(port))


class _Pinned:
    """Mixed into urllib3's connection classes: connect only to an address the reach allows."""

    reach: Reach = PUBLIC
    budget: Optional[FetchBudget] = None

    def _new_conn(self) -> socket.socket:
        host = self._dns_host.strip("[]")
        try:
            infos = socket.getaddrinfo(host, self.port, type=socket.SOCK_STREAM)
        except socket.gaierror as error:
            raise NameResolutionError(self.host, self, error) from error
        addresses: list[str] = []
        for info in infos:
            if info[4][0] not in addresses:
                addresses.append(info[4][0])
        address = pick_address(addresses, self.reach.policy_for(self.port))  # FetchBlocked: no connection
        sock = socket.create_connection((address, self.port), self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.budget is not None:
            self.budget.opened(sock)  # shut down when the fetch's time is up
        return sock


def pinned_manager(reach: Reach, timeout: float, budget: Optional[FetchBudget] = None) -> urllib3.PoolManager:
    """A urllib3 pool manager whose every connection goes to a checked address (see module doc),
    registered with C{budget} if given."""
    extra = {"reach": reach, "budget": budget}
    http_conn = type("PinnedHTTPConnection", (_Pinned, HTTPConnection), extra)
    https_conn = type("PinnedHTTPSConnection", (_Pinned, HTTPSConnection), extra)
    manager = urllib3.PoolManager(retries=urllib3.Retry(total=MAX_REDIRECTS, redirect=MAX_REDIRECTS, connect=0,
                                                        read=0), timeout=timeout)
    manager.pool_classes_by_scheme = {
        "http": type("PinnedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
        "https": type("PinnedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}),
    }
    return manager


class _BoundedPack:
    """Where pack data goes: a file, refused past C{max_pack_bytes} or past the deadline."""

    def __init__(self, out: BinaryIO, budget: FetchBudget) -> None:
        self._out, self._budget = out, budget
        self.size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.size > self._budget.limits.max_pack_bytes:
            raise ApiError(413, "PAYLOAD_TOO_LARGE",
                           f"the repository's data exceeds {self._budget.limits.max_pack_bytes // MIB} MiB")
        self._budget.check_time()
        return self._out.write(data)


def _pick_ref(refs: dict, ref: Optional[str]) -> tuple[str, bytes]:
    """(full ref name, object id) of what C{ref} names: a branch, a tag, a full ref, or HEAD."""
    if not ref:
        candidates = [b"HEAD"]
    else:
        raw = ref.encode("utf-8")
        candidates = [raw, b"refs/heads/" + raw, b"refs/tags/" + raw]
    for candidate in candidates:
        sha = refs.get(candidate)
        if sha:
            return candidate.decode("utf-8", "replace"), sha
    raise ApiError(404, "GIT_REF_NOT_FOUND", f"the repository has no branch or tag {ref or 'HEAD'!r}",
                   {"field": "ref"})


def _ref_prefixes(ref: Optional[str]) -> list[bytes]:
    """The refs the server need list for C{ref} (protocol v2 filters by prefix; v1 lists them all)."""
    if not ref:
        return [b"HEAD"]
    raw = ref.encode("utf-8")
    return [raw, b"refs/heads/" + raw, b"refs/tags/" + raw]


def fetch_ref(url: str, ref: Optional[str], workdir: str, spool: BinaryIO,
              reach: Reach = PUBLIC, limits: FetchLimits = FetchLimits(),
              now: Callable[[], float] = time.monotonic, budget: Optional[FetchBudget] = None) -> Fetched:
    """Fetch C{ref} (default: the remote's HEAD) of C{url} at depth 1 into a bare repo in C{workdir}.

    C{spool} receives the pack before it is indexed. C{budget} (default: a new one of C{limits})
    meters the fetch; the caller may L{FetchBudget.expire} it from another thread. Raises
    L{ApiError}: C{GIT_URL_BLOCKED} (400) for a URL or address that may not be reached,
    C{GIT_REF_NOT_FOUND} (404), C{PAYLOAD_TOO_LARGE} (413), C{GIT_TIMEOUT} (422),
    C{GIT_FETCH_FAILED} (422) for anything the remote got wrong.
    """
    budget = budget or FetchBudget(limits, now)
    try:
        target = check_url(url, reach.policy)
        check_url(url, reach.policy_for(target.port))
    except FetchBlocked as error:
        raise blocked(error.reason) from None
    os.makedirs(workdir, exist_ok=True)
    repo = Repo.init_bare(workdir)
    pack = _BoundedPack(spool, budget)
    chosen: dict = {}

    def wants(refs, depth=None):
        chosen["ref"], chosen["sha"] = _pick_ref(refs, ref)
        budget.refs_done()
        return [chosen["sha"]]

    timeout = budget.limits.socket_timeout
    client = MeteredGitClient(url, budget, pool_manager=pinned_manager(reach, timeout, budget), timeout=timeout,
                              quiet=True)
    try:
        result = client.fetch_pack("", wants, repo.get_graph_walker(), pack.write, progress=budget.check_time,
                                   depth=1, ref_prefix=_ref_prefixes(ref))
        spool.seek(0)
        repo.object_store.add_thin_pack(spool.read, None)
    except BaseException as error:
        repo.close()
        # Once the time is up the sockets were shut down under dulwich: whatever it raised, a timeout.
        late = budget.expired and isinstance(error, Exception) and not isinstance(error, ApiError)
        raise (timed_out(budget.limits) if late else _answer(error, url)) from None
    finally:
        client.pool_manager.clear()  # the fetch's connections, closed now rather than at collection
    try:
        return _commit_of(repo, chosen, result.symrefs or {})
    except BaseException:
        repo.close()
        raise


def _answer(error: BaseException, url: str) -> BaseException:
    """The L{ApiError} to answer for what went wrong while fetching (anything else as it is)."""
    if isinstance(error, FetchBlocked):
        return blocked(error.reason)
    if isinstance(error, NotGitRepository):
        return failed(f"{url} is not a Git repository (no smart HTTP answer)")
    if isinstance(error, ApiError) or not isinstance(error, Exception):
        return error
    # Anything else the remote or dulwich raised (protocol errors, hang-ups, HTTP and socket errors,
    # a dumb-HTTP server dulwich cannot fetch from shallowly): the remote's fault, never a 500.
    kind = "protocol" if isinstance(error, (GitProtocolError, HangupException)) else type(error).__name__
    text = " ".join(str(error).split())[:300] or kind
    return failed(f"could not fetch {url}: {text}")


def _commit_of(repo: Repo, chosen: dict, symrefs: dict) -> Fetched:
    """The commit C{chosen} names (through annotated tags), with the branch HEAD meant."""
    if chosen["ref"] == "HEAD":  # the branch HEAD points at, for a link to follow
        chosen["ref"] = symrefs.get(b"HEAD", b"HEAD").decode("utf-8", "replace")
    commit = chosen["sha"]
    obj = repo.object_store[commit]
    while obj.type_name == b"tag":  # an annotated tag: the commit it points to
        commit = obj.object[1]
        obj = repo.object_store[commit]
    if obj.type_name != b"commit":
        raise failed(f"{chosen['ref']} does not name a commit")
    return Fetched(repo, commit, chosen["ref"])
