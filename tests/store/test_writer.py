"""The store's writer thread: one connection, one thread, order kept, group commit, clean stop."""

from __future__ import annotations

import sqlite3
import threading

import pytest
import pytest_twisted
from twisted.internet.defer import gatherResults

from fazt.store.batch import BatchWriter


def note(conn, value):
    conn.execute("CREATE TABLE IF NOT EXISTS notes (value TEXT)")
    conn.execute("INSERT INTO notes (value) VALUES (?)", (value,))
    return value


def fail_after_note(conn, value):
    note(conn, value)
    raise ValueError(f"no {value}")


def where(conn):
    return threading.get_ident(), id(conn)


def notes(path):
    conn = sqlite3.connect(path)
    try:
        return [v for (v,) in conn.execute("SELECT value FROM notes ORDER BY rowid")]
    finally:
        conn.close()


def hold(conn, entered, release):
    """Keep the writer busy until the test lets it go, so that later jobs queue up."""
    entered.set()
    release.wait(10)


def traced(conn, statements):
    conn.set_trace_callback(statements.append)


@pytest_twisted.ensureDeferred
async def test_every_write_runs_on_one_thread_and_connection(store):
    seen = await gatherResults([store.write(where) for _ in range(5)] + [store.submit(where) for _ in range(5)])
    assert len(set(seen)) == 1
    assert seen[0][0] != threading.get_ident()  # never the reactor's thread


@pytest_twisted.ensureDeferred
async def test_writes_run_in_the_order_they_were_queued(store):
    values = [str(i) for i in range(40)]
    await gatherResults([(store.submit if i % 3 else store.write)(note, v) for i, v in enumerate(values)])
    assert notes(store.path) == values


@pytest_twisted.ensureDeferred
async def test_small_writes_waiting_together_share_one_commit(store):
    statements: list[str] = []
    await store.write(traced, statements)
    entered, release = threading.Event(), threading.Event()
    held = store.write(hold, entered, release)
    assert entered.wait(10)
    waiting = [store.submit(note, str(i)) for i in range(20)]
    release.set()
    await held
    await gatherResults(waiting)
    commits = [s for s in statements if s == "COMMIT"]
    assert len(commits) == 3  # the tracing job's, the holding job's, then one for all twenty
    assert notes(store.path) == [str(i) for i in range(20)]


@pytest_twisted.ensureDeferred
async def test_a_failing_small_write_undoes_only_itself(store):
    await store.write(note, "table")
    entered, release = threading.Event(), threading.Event()
    held = store.write(hold, entered, release)
    assert entered.wait(10)
    good1 = store.submit(note, "a")
    bad = store.submit(fail_after_note, "b")
    good2 = store.submit(note, "c")
    release.set()
    await held
    assert await good1 == "a" and await good2 == "c"
    with pytest.raises(ValueError, match="no b"):
        await bad
    assert notes(store.path) == ["table", "a", "c"]


@pytest_twisted.ensureDeferred
async def test_failing_writes_alone_are_rolled_back(store):
    await store.write(note, "table")
    with pytest.raises(ValueError, match="no x"):
        await store.submit(fail_after_note, "x")
    with pytest.raises(ValueError, match="no y"):
        await store.write(fail_after_note, "y")
    assert await store.submit(note, "z") == "z"
    assert notes(store.path) == ["table", "z"]


@pytest_twisted.ensureDeferred
async def test_stop_commits_every_queued_write_and_the_batch_writer_goes_idle(store):
    writer = BatchWriter(store)
    await store.write(note, "first")
    pending = [writer.submit(note, str(i)) for i in range(200)]
    assert not writer.idle
    store.stopService()  # returns once the writer thread has run everything queued before it
    assert notes(store.path) == ["first"] + [str(i) for i in range(200)]
    await gatherResults(pending)
    assert writer.idle


def test_the_store_provides_the_declared_interface(tmp_path):
    # Callers are typed against IStore; a second engine must provide the same (SPEC §19).
    from twisted.internet.task import Clock
    from zope.interface.verify import verifyObject

    from fazt.store.db import Store
    from fazt.store.interfaces import IStore

    assert verifyObject(IStore, Store(str(tmp_path / "data.db"), Clock()))
