"""Shared fixtures: real cartridges on disk and live fazt servers on 127.0.0.1."""

from __future__ import annotations

import fcntl
import os

import pytest

from twisted.internet import reactor

from fazt.store.db import Store, open_cartridge
import installed as installed_fazt
from fazt_testing import REPO, start_server, stop_server
from pebble_testing import pebble  # noqa: F401  (session fixture: a real ACME server, started on first use)


@pytest.fixture(autouse=True)
def _cpu_turns(request, tmp_path_factory):
    """Under pytest-xdist, a test marked C{cpu_alone} runs while the other workers run no test.

    The fair-share tests (tests/runtime) assert which worker process burned the CPU; with both cores
    busy elsewhere the probing runs hit their wall deadline before their CPU budget and every one of
    them fails (reproduced without xdist by two busy loops). Every other test holds a shared lock on
    a file of this run (the workers' temp folders share a parent) and such a test the exclusive one.
    """
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        yield
        return
    mode = fcntl.LOCK_EX if request.node.get_closest_marker("cpu_alone") else fcntl.LOCK_SH
    with open(tmp_path_factory.getbasetemp().parent / "cpu-turns.lock", "a") as lock:
        fcntl.flock(lock, mode)
        yield


@pytest.fixture(scope="session")
def installed():
    """The bin folder of fazt installed from this tree's wheel (see tests/installed.py)."""
    bin_dir = installed_fazt.ensure_installed()
    location = installed_fazt.installed_location()
    # A test that ran the source tree by mistake would prove nothing about what users install.
    assert location.startswith(str(installed_fazt.VENV)), location
    return bin_dir


@pytest.fixture
def server(tmp_path):
    """A live fazt server on a fresh cartridge, domain C{example.test}."""
    live = start_server(str(tmp_path / "data.db"))
    yield live
    stop_server(live)


@pytest.fixture
def store(tmp_path):
    """A started L{Store} on a new, migrated cartridge file (no sites, no admin)."""
    path = str(tmp_path / "data.db")
    open_cartridge(path)
    started = Store(path, reactor)
    started.startService()
    yield started
    if started.running:
        started.stopService()


@pytest.fixture
def fazt_env():
    """Environment for running fazt's own commands in subprocesses."""
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("FAZT_SERVER", None)
    env.pop("FAZT_TOKEN", None)
    return env

