"""The C{twistd fazt} plugin is found and builds a service that listens where it is told."""

from __future__ import annotations

import queue

import pytest
from twisted.application.service import IService, IServiceMaker
from twisted.internet.interfaces import IReactorFromThreads
from twisted.internet.testing import MemoryReactorClock
from twisted.plugin import getPlugins
from zope.interface import implementer
from zope.interface.verify import verifyObject

from fazt.app import tap
from fazt.app.options import Options


# The store's threads hand their results to the reactor: a thread's exception here fails the test.
pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")


@implementer(IReactorFromThreads)
class MemoryReactorFromThreads(MemoryReactorClock):
    """A L{MemoryReactorClock} that also takes calls from other threads, as the store needs.

    The calls are queued and run by L{run_from_threads}, on the test's thread.
    """

    def __init__(self) -> None:
        super().__init__()
        self._from_threads: queue.SimpleQueue = queue.SimpleQueue()

    def callFromThread(self, f, *args, **kwargs) -> None:
        self._from_threads.put((f, args, kwargs))

    def run_from_threads(self) -> None:
        while not self._from_threads.empty():
            f, args, kwargs = self._from_threads.get()
            f(*args, **kwargs)


def fazt_plugin():
    makers = [p for p in getPlugins(IServiceMaker) if p.tapname == "fazt"]
    assert len(makers) == 1, [p.tapname for p in getPlugins(IServiceMaker)]
    return makers[0]


def test_plugin_is_discovered():
    assert "fazt" in [p.tapname for p in getPlugins(IServiceMaker)]


def test_plugin_provides_iservicemaker():
    maker = fazt_plugin()
    assert verifyObject(IServiceMaker, maker)
    assert maker.description
    assert isinstance(maker.options(), Options)


def test_plugin_module_is_the_tap():
    maker = fazt_plugin()
    assert maker.makeService.__module__ == tap.__name__ or maker.module == "fazt.app.tap"


def _options(tmp_path, *argv: str) -> Options:
    options = fazt_plugin().options()
    options.parseOptions(["--domain", "example.test", "--db", str(tmp_path / "data.db"), *argv])
    return options


def test_make_service_listens_on_the_given_interface(tmp_path):
    reactor = MemoryReactorFromThreads()
    service = tap.makeService(_options(tmp_path, "--http", "tcp:0:interface=127.0.0.1"), reactor)
    assert IService.providedBy(service)
    assert reactor.tcpServers == []  # nothing listens before the service starts
    service.startService()
    try:
        assert len(reactor.tcpServers) == 1
        port, factory, backlog, interface = reactor.tcpServers[0]
        assert (port, interface) == (0, "127.0.0.1")
        assert factory is not None
    finally:
        result = service.stopService()
    assert result is None or result.called
    assert (tmp_path / "data.db").exists()


def test_make_service_listens_once_per_endpoint(tmp_path):
    reactor = MemoryReactorFromThreads()
    service = tap.makeService(_options(tmp_path, "--http", "tcp:8081:interface=127.0.0.1",
                                       "--http", "tcp:8082"), reactor)
    service.startService()
    try:
        assert [(p, i) for p, _, _, i in reactor.tcpServers] == [(8081, "127.0.0.1"), (8082, "")]
        # One site, several listeners, each behind the same connection caps; nginx's backlog.
        assert len({id(f.wrappedFactory) for _, f, _, _ in reactor.tcpServers}) == 1
        assert len({id(f.limits) for _, f, _, _ in reactor.tcpServers}) == 1
        assert [b for _, _, b, _ in reactor.tcpServers] == [511, 511]
    finally:
        service.stopService()
