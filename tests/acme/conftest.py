"""Fixtures for fazt.acme: a real cartridge file with its started Store."""

from __future__ import annotations

import pytest
from twisted.internet import reactor
from twisted.python.threadpool import ThreadPool

from fazt.store.db import Store
from fazt_testing import fresh_cartridge


@pytest.fixture
def cartridge(tmp_path):
    """A prepared cartridge file (default sites root and 404) and a started L{Store} on it."""
    path = str(tmp_path / "data.db")
    fresh_cartridge(path)
    store = Store(path, reactor)
    store.startService()
    yield store
    store.stopService()


@pytest.fixture
def acme_pool():
    """A started thread pool for the blocking ACME steps."""
    pool = ThreadPool(1, 4, name="test-acme")
    pool.start()
    yield pool
    pool.stop()
