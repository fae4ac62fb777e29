"""The advisory-lock leadership against a real PostgreSQL: several leaderships on one database stand for nodes."""

from __future__ import annotations

import psycopg
import pytest
import pytest_twisted
from twisted.internet import reactor
from zope.interface.verify import verifyObject

from fazt.base.leader import ILeadership
from fazt.store.pgleader import LEADER_KEY, AdvisoryLeadership
from pg_testing import postgres, pg_dsn  # noqa: F401
from test_pgbus import until

INTERVAL = 0.1


@pytest.fixture
def nodes(pg_dsn):
    """Makes started leaderships on this test's database, each with the history its watcher saw."""
    made = []

    def make():
        node = AdvisoryLeadership(pg_dsn, reactor, interval=INTERVAL)
        node.seen = []
        node.watch(node.seen.append)
        node.startService()
        made.append(node)
        return node

    yield make
    for node in made:
        if node.running:
            pytest_twisted.blockon(node.stopService())


def lock_holder(dsn):
    """The backend pid holding the leader's advisory lock, or None."""
    with psycopg.connect(dsn, autocommit=True) as admin:
        row = admin.execute(
            "SELECT l.pid FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted"
            " AND ((l.classid::bigint << 32) | l.objid::bigint) = %s", (LEADER_KEY & 0xFFFFFFFFFFFFFFFF,)).fetchone()
        return row[0] if row else None


def kill(dsn, pid):
    with psycopg.connect(dsn, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]


def leaders(nodes):
    return [node for node in nodes if node.is_leader]


@pytest_twisted.ensureDeferred
async def test_of_two_nodes_on_one_database_exactly_one_leads(nodes, pg_dsn):
    a, b = nodes(), nodes()
    assert verifyObject(ILeadership, a)
    await until(lambda: len(leaders([a, b])) == 1, "one leader")
    leader, follower = (a, b) if a.is_leader else (b, a)
    assert leader.seen == [False, True] and follower.seen == [False]
    assert lock_holder(pg_dsn) is not None
    # Several more rounds of trying change nothing.
    checks = [0]
    reactor.callLater(10 * INTERVAL, checks.append, 1)
    await until(lambda: len(checks) == 2, "ten intervals passed")
    assert leaders([a, b]) == [leader] and follower.seen == [False] and leader.seen == [False, True]


@pytest_twisted.ensureDeferred
async def test_when_the_leaders_connection_is_killed_the_other_takes_over(nodes, pg_dsn):
    a, b = nodes(), nodes()
    await until(lambda: len(leaders([a, b])) == 1, "one leader")
    leader, follower = (a, b) if a.is_leader else (b, a)
    first_holder = lock_holder(pg_dsn)
    kill(pg_dsn, first_holder)
    await until(lambda: follower.is_leader, "the follower leads")
    await until(lambda: not leader.is_leader, "the old leader knows it lost")
    assert follower.seen == [False, True] and leader.seen == [False, True, False]
    assert lock_holder(pg_dsn) not in (None, first_holder)
    # The old leader is a follower now: it keeps trying, and leads again when the new one stops.
    await follower.stopService()
    await until(lambda: leader.is_leader, "the old leader leads again")
    assert leader.seen == [False, True, False, True] and follower.seen == [False, True, False]


@pytest_twisted.ensureDeferred
async def test_a_node_without_postgres_does_not_lead_and_stops(pg_dsn):
    node = AdvisoryLeadership(pg_dsn + "&port=1", reactor, interval=INTERVAL)  # no server on that socket
    seen = []
    node.watch(seen.append)
    node.startService()
    done = []
    reactor.callLater(5 * INTERVAL, done.append, 1)
    await until(lambda: done, "five intervals passed")
    assert seen == [False] and not node.is_leader
    await node.stopService()
