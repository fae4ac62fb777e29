"""Fixtures for fazt.acme: a real cartridge file with its started Store."""

from __future__ import annotations

import pytest
from twisted.internet import reactor
from twisted.python.threadpool import ThreadPool

from fazt.store.db import Store
from fazt_testing import fresh_cartridge, start_server, stop_server


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


@pytest.fixture
def served(tmp_path):
    """A whole fazt (C{twistd fazt}'s wiring) for C{example.com} with an automatic-HTTPS listener
    configured (its ACME directory answers nothing: a test puts a fake CA in the manager)."""
    server = start_server(str(tmp_path / "data.db"), domain="example.com", extra_args=(
        "--https", "tcp:0", "--acme-directory", "https://127.0.0.1:9/dir"))
    yield server
    stop_server(server)
