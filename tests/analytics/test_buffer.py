"""The event buffer: batching on a timer and on size, a complete flush on stop, bounded memory."""

from __future__ import annotations

import sqlite3
import time

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.task import Clock

from fazt.analytics.buffer import EventBuffer
from fazt.analytics.events import PendingEvent
from fazt.store.db import Store, open_cartridge
from fazt.store.events import insert_events


def event(n: int = 0, ip: str = "192.0.2.1") -> PendingEvent:
    return PendingEvent(1_700_000_000.0 + n, "blog", "hosting", "pageview", f"/{n}".encode(), None, b"UA", ip)


class FakeStore:
    """Records writes; each write's Deferred fires when the test says (or at once)."""

    def __init__(self, auto: bool = True) -> None:
        self.auto = auto
        self.writes: list[tuple] = []
        self.waiting: list[Deferred] = []

    def write(self, fn, *args):
        assert fn is insert_events
        self.writes.append(args[0])
        if self.auto:
            return succeed(len(args[0]))
        d = Deferred()
        self.waiting.append((len(args[0]), d))
        return d

    def finish(self, index: int = 0) -> None:
        count, d = self.waiting.pop(index)
        d.callback(count)

    @property
    def total(self) -> int:
        return sum(len(batch) for batch in self.writes)


def started(store, **kwargs) -> tuple[EventBuffer, Clock]:
    clock = Clock()
    buffer = EventBuffer(store, clock, **kwargs)
    buffer.startService()
    return buffer, clock


def test_flushes_on_the_timer():
    store = FakeStore()
    buffer, clock = started(store, interval=5, batch_size=100)
    for n in range(3):
        buffer.add(event(n))
    clock.advance(4.9)
    assert store.writes == []
    clock.advance(0.2)
    assert [len(b) for b in store.writes] == [3]
    clock.advance(5)  # nothing new: no empty write
    assert len(store.writes) == 1
    assert buffer.stats() == {"pending": 0, "added": 3, "written": 3, "dropped": 0, "failed": 0}


def test_flushes_when_a_batch_is_full():
    store = FakeStore()
    buffer, clock = started(store, interval=60, batch_size=4)
    for n in range(9):
        buffer.add(event(n))
    assert [len(b) for b in store.writes] == [4, 4]
    assert buffer.stats()["pending"] == 1


def test_stop_writes_everything_and_waits_for_it():
    store = FakeStore(auto=False)
    buffer, clock = started(store, interval=60, batch_size=3)
    for n in range(5):
        buffer.add(event(n))   # a batch of 3 goes out and stays in flight; 2 wait
    assert [len(b) for b in store.writes] == [3]
    stopped = buffer.stopService()
    assert [len(b) for b in store.writes] == [3, 2]  # the rest went out at once, beside the first
    results = []
    stopped.addCallback(results.append)
    store.finish(1)
    assert results == []          # the first write is still in flight
    store.finish(0)
    assert len(results) == 1
    assert buffer.written == 5
    buffer.add(event(9))          # after stop: refused and counted, never silently kept
    assert buffer.stats()["dropped"] == 1 and store.total == 5
    assert not clock.getDelayedCalls()


def test_stop_with_nothing_buffered_fires_at_once():
    buffer, clock = started(FakeStore())
    results = []
    buffer.stopService().addCallback(results.append)
    assert len(results) == 1


def test_slow_store_never_blocks_and_memory_stays_bounded():
    store = FakeStore(auto=False)   # a database whose writes never finish
    buffer, clock = started(store, interval=1, batch_size=50, capacity=200)
    begin = time.perf_counter()
    for n in range(20_000):
        buffer.add(event(n))
        if n % 1000 == 999:
            clock.advance(1)
    elapsed = time.perf_counter() - begin
    assert elapsed < 2.0                     # ~µs per event, no waiting
    assert len(store.writes) == 1            # one write in flight at a time
    assert len(store.writes[0]) == 50
    stats = buffer.stats()
    assert stats["pending"] == 200           # bounded: the newest 200 wait
    assert stats["dropped"] == 20_000 - 50 - 200
    # When the database recovers, what waited is written.
    store.auto = True
    store.finish()
    assert [len(b) for b in store.writes] == [50, 200]


def test_flush_fires_after_the_events_added_before_it_are_written():
    store = FakeStore(auto=False)
    buffer, clock = started(store, interval=60, batch_size=2)
    buffer.add(event(1))
    buffer.add(event(2))          # in flight
    buffer.add(event(3))          # waiting
    flushed = []
    buffer.flush().addCallback(flushed.append)
    store.finish()                # the first batch ends; the flush starts the next one
    assert flushed == [] and [len(b) for b in store.writes] == [2, 1]
    store.finish()
    assert len(flushed) == 1


def test_a_failed_write_is_counted_and_does_not_stop_the_buffer():
    class Broken(FakeStore):
        def write(self, fn, *args):
            self.writes.append(args[0])
            return fail(RuntimeError("disk full"))

    store = Broken()
    buffer, clock = started(store, interval=1, batch_size=100)
    buffer.add(event(1))
    clock.advance(1)
    buffer.add(event(2))
    clock.advance(1)
    assert buffer.stats()["failed"] == 2 and len(store.writes) == 2
    assert buffer.stopService().called


def test_rejects_nonsense_settings():
    with pytest.raises(ValueError):
        EventBuffer(FakeStore(), Clock(), interval=0)
    with pytest.raises(ValueError):
        EventBuffer(FakeStore(), Clock(), batch_size=10, capacity=5)


@pytest_twisted.ensureDeferred
async def test_real_store_loses_nothing_on_a_clean_stop(tmp_path):
    path = str(tmp_path / "data.db")
    open_cartridge(path)
    store = Store(path, reactor)
    store.startService()
    buffer, clock = started(store, interval=3600, batch_size=500)
    for n in range(1234):
        buffer.add(event(n, ip=f"192.0.2.{n % 7}"))
    await buffer.stopService()       # two batches were flushed by size, the rest here
    store.stopService()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 1234
    assert conn.execute("SELECT COUNT(DISTINCT visitor_hash) FROM events").fetchone()[0] == 7
    for row in conn.execute("SELECT * FROM events"):
        assert not any("192.0.2." in str(value) for value in row)
    conn.close()
