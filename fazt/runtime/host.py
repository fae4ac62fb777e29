"""The host side of a script's calls: KV, fetch and sockets, scoped to the calling site.

Workers ask; this answers with Deferreds. Every call carries the site name decided by the
parent (never by the script), so a site can only ever reach its own keys and clients.
C{module.*} calls are answered by L{module_call} from the run's own code bundle, so a script
can only ever load files of the deployment it runs from.
"""

from __future__ import annotations

import base64
import binascii
from typing import Optional, Protocol

from twisted.internet.defer import Deferred, fail, maybeDeferred, succeed
from twisted.internet.interfaces import IReactorTime

from fazt.runtime.code import CodeBundle
from fazt.store.batch import BatchWriter
from fazt.store.interfaces import IStore
from fazt.store.kv import KVError, kv_delete, kv_get, kv_incr, kv_list, kv_set

MAX_FETCHES_PER_RUN = 50


class Fetcher(Protocol):
    def fetch(self, url: str, method: str = "GET", headers: Optional[dict] = None,
              body: Optional[str | bytes] = None) -> Deferred: ...


class SocketHub(Protocol):
    def broadcast(self, site: str, message: str) -> int: ...
    def clients(self, site: str) -> int: ...


class NoSockets:
    """Until WebSockets are wired in: no site has clients, and broadcasts reach nobody."""

    def broadcast(self, site: str, message: str) -> int:
        return 0

    def clients(self, site: str) -> int:
        return 0


class HostCallError(Exception):
    """A host call the script made wrongly; its message is given to the script."""


class HostApi:
    """Dispatches the host calls of PROTOCOL.md for one site at a time."""

    def __init__(self, store: IStore, writer: BatchWriter, fetcher: Fetcher, *, clock: IReactorTime,
                 sockets: SocketHub = NoSockets()) -> None:
        self._store = store
        self._writer = writer
        self._fetcher = fetcher
        self._sockets = sockets
        self._clock = clock

    def call(self, site: str, fn: str, args: list, budget: dict) -> Deferred:
        """Perform C{fn(*args)} for C{site}; C{budget} is per run state (fetch counts)."""
        handler = _HANDLERS.get(fn)
        if handler is None:
            return fail(HostCallError(f"unknown host function {fn!r}"))
        if not isinstance(args, list):
            return fail(HostCallError("arguments must be a list"))
        try:
            return handler(self, site, args, budget)
        except (KVError, HostCallError, TypeError, ValueError) as exc:
            return fail(HostCallError(str(exc)))

    def _db_get(self, site, args, budget):
        (key,) = _arity(args, 1)
        return self._store.read(kv_get, site, key, self._clock.seconds())

    def _db_set(self, site, args, budget):
        key, value, ttl = _arity(args, 3, defaults=[None])
        return self._writer.submit(kv_set, site, key, value, ttl, self._clock.seconds())

    def _db_delete(self, site, args, budget):
        (key,) = _arity(args, 1)
        return self._writer.submit(kv_delete, site, key, self._clock.seconds())

    def _db_list(self, site, args, budget):
        (prefix,) = _arity(args, 1, defaults=[""])
        return self._store.read(kv_list, site, prefix if prefix is not None else "", self._clock.seconds())

    def _db_incr(self, site, args, budget):
        key, by = _arity(args, 2, defaults=[1])
        return self._writer.submit(kv_incr, site, key, 1 if by is None else by, self._clock.seconds())

    def _fetch(self, site, args, budget):
        url, options = _arity(args, 2, defaults=[None])
        budget["fetches"] = budget.get("fetches", 0) + 1
        if budget["fetches"] > MAX_FETCHES_PER_RUN:
            return succeed({"error": f"more than {MAX_FETCHES_PER_RUN} fetches in one request"})
        options = options if isinstance(options, dict) else {}
        if not isinstance(url, str):
            return succeed({"error": "fetch needs a URL string"})
        headers = options.get("headers") if isinstance(options.get("headers"), dict) else None
        body = options.get("body")
        if body is not None and not isinstance(body, str):
            body = str(body)
        if body is not None and options.get("body_base64") is True:
            try:
                body = base64.b64decode(body, validate=True)  # a binary body, sent byte for byte
            except (binascii.Error, ValueError):
                return succeed({"error": "fetch body is not valid base64"})
        method = options.get("method") if isinstance(options.get("method"), str) else "GET"
        return self._fetcher.fetch(url, method=method.upper(), headers=headers, body=body)

    def _broadcast(self, site, args, budget):
        (message,) = _arity(args, 1)
        text = message if isinstance(message, str) else str(message)
        return succeed(self._sockets.broadcast(site, text))

    def _clients(self, site, args, budget):
        return succeed(self._sockets.clients(site))


def module_call(code: CodeBundle, fn: str, args: list) -> Deferred:
    """Answer a worker's C{module.paths} / C{module.source} call from the run's code bundle.

    C{module.paths} fires with every path of the bundle, sorted; C{module.source} with the text
    of one of them, or None for a path the bundle does not hold.
    """
    if fn == "module.paths":
        return succeed(sorted(code.paths))
    if fn == "module.source":
        if len(args) != 1 or not isinstance(args[0], str):
            return fail(HostCallError("module.source needs one path"))
        if args[0] not in code.paths:
            return succeed(None)
        return maybeDeferred(code.source, args[0])
    return fail(HostCallError(f"unknown host function {fn!r}"))


def _arity(args: list, count: int, defaults: Optional[list] = None) -> list:
    defaults = defaults or []
    if len(args) > count or len(args) < count - len(defaults):
        raise HostCallError(f"expected {count} arguments, got {len(args)}")
    return list(args) + defaults[len(args) - (count - len(defaults)):]


_HANDLERS = {
    "db.get": HostApi._db_get,
    "db.set": HostApi._db_set,
    "db.delete": HostApi._db_delete,
    "db.list": HostApi._db_list,
    "db.incr": HostApi._db_incr,
    "fetch": HostApi._fetch,
    "socket.broadcast": HostApi._broadcast,
    "socket.clients": HostApi._clients,
}
