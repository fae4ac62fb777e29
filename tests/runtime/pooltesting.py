"""Helpers shared by the WorkerPool tests: code bundles and started pools that are stopped afterwards."""

from __future__ import annotations

import zlib

import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import succeed

from fazt.runtime.code import CodeBundle
from fazt.runtime.fetch import SafeFetcher
from fazt.runtime.host import HostApi
from fazt.runtime.pool import WorkerPool
from fazt.store.batch import BatchWriter


def bundle(files: dict, key: str) -> CodeBundle:
    """A code bundle holding C{files} (path -> text)."""
    return CodeBundle(key, frozenset(files), lambda path: succeed(files.get(path)))


def deployment(site: str, files: dict) -> CodeBundle:
    """C{files} as one deployment of C{site}: its key changes with the content, since a worker loads
    each module of a key once."""
    return bundle(files, f"{site}:{zlib.crc32(repr(sorted(files.items())).encode())}")


class Pools:
    """Makes started pools on a real store and reactor; L{stop} stops those still running."""

    def __init__(self, store) -> None:
        self._store = store
        self._pools: list[WorkerPool] = []

    def make(self, fetcher=None, **options) -> WorkerPool:
        """A started pool; its scripts' fetch() calls go to C{fetcher} (default: a real L{SafeFetcher})."""
        host = HostApi(self._store, BatchWriter(self._store), fetcher or SafeFetcher(reactor), clock=reactor)
        pool = WorkerPool(reactor, host, **options)
        pool.startService()
        self._pools.append(pool)
        return pool

    def stop(self) -> None:
        for pool in self._pools:
            if pool.running:
                pytest_twisted.blockon(pool.stopService())
