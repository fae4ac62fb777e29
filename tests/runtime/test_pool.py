"""WorkerPool (the parent side of PROTOCOL.md v2) driving real worker processes over real pipes.

DOUBLE: until the real v2 worker is merged, these tests run the pool against the version-2 test
double tests/runtime/v2worker_double.py (entry files hold its instructions, see its docstring):
the version-1 worker on this branch cannot hold many runs, be cancelled, stall, or send late logs.
After the merge they are to be rewritten against fazt.runtime.worker with JavaScript entries.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import weakref

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.task import deferLater
from twisted.logger import formatEvent, globalLogPublisher

from fazt.runtime.code import MODULE, SCRIPT, Entry
from fazt.runtime.pool import WorkerPool
from pooltesting import Pools, bundle, deployment

DOUBLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "v2worker_double.py")
REQUEST = {"method": "GET", "url": "http://a.test/", "path": "/", "query": "", "params": {}, "headers": {},
           "body": "", "body_base64": False, "ip": "127.0.0.1", "host": "a.test", "cookies": {},
           "route": {"params": {}}}


@pytest.fixture
def make_pool(store):
    pools = Pools(store)
    yield lambda size=1, max_runs=8, **options: pools.make(
        size=size, command=[sys.executable, DOUBLE, str(max_runs)], **options)
    pools.stop()


def run(pool: WorkerPool, source: str, site: str = "a", entry: Entry = Entry(MODULE, "api/x.js"), files=None):
    return pool.run(site, deployment(site, {entry.path: source, **(files or {})}), entry, REQUEST, {})


def out(result) -> list:
    assert result.failure is None, (result.failure, result.message)
    return json.loads(result.response["body"])["out"]


def pid(result) -> int:
    return json.loads(result.response["body"])["pid"]


@pytest_twisted.ensureDeferred
async def test_one_worker_holds_many_runs_while_they_wait(make_pool):
    pool = make_pool(size=1, max_runs=8)
    await run(pool, "")  # the site's cost is known: it is no longer probed one run at a time
    results = await gatherResults([run(pool, "sleep 0.3\ninflight") for _ in range(8)])
    assert max(out(r)[0] for r in results) == 8  # all eight were in the worker at once
    assert len({pid(r) for r in results}) == 1


@pytest_twisted.ensureDeferred
async def test_module_calls_are_answered_from_the_runs_own_bundle(make_pool):
    pool = make_pool()
    source = 'call module.paths\ncall module.source ["lib/util.js"]\ncall module.source ["lib/none.js"]'
    result = await run(pool, source, entry=Entry(SCRIPT, "main.js"), files={"lib/util.js": "export const x = 1;"})
    assert out(result) == [["lib/util.js", "main.js"], "export const x = 1;", None]
    other = await run(pool, 'call module.source ["lib/util.js"]', site="b")
    assert out(other) == [None]  # another site's bundle never leaks


@pytest_twisted.ensureDeferred
async def test_the_pool_keeps_no_answered_response_alive(make_pool):
    pool = make_pool()
    answered = Deferred()
    # A caller whose callback returns the result leaves it as the Deferred's result.
    run(pool, "inflight").addCallback(lambda r: answered.callback(weakref.ref(r)) or r)
    gone = await answered
    await deferLater(reactor, 0, lambda: None)  # out of the callback chain that fired it
    gc.collect()
    assert gone() is None  # the run stays among its worker's recent ones, without its response


@pytest_twisted.ensureDeferred
async def test_host_calls_async_and_sync_reach_the_sites_store(make_pool):
    pool = make_pool()
    assert not pool.shares.blocks("a") and not pool.shares.blocks("b")
    result = await run(pool, 'call db.incr ["n"]\nsync db.incr ["n", 5]\nsync db.get ["n"]\ncall db.nope')
    assert out(result) == [1, 6, 6, {"error": "unknown host function 'db.nope'"}]
    assert (await run(pool, 'call db.incr ["n"]', site="b")).failure is None
    # Runs that wait on sync calls hold their worker idle: the scheduler spreads them (lanes.PACK_MS).
    assert pool.shares.blocks("a") and not pool.shares.blocks("b")


@pytest_twisted.ensureDeferred
async def test_a_new_sites_runs_wait_for_its_first_only_until_it_awaits_io(make_pool):
    pool = make_pool()
    order: list[str] = []
    first = run(pool, 'sleep 0.3\ncall db.get ["k"]\nsleep 0.5').addCallback(lambda r: order.append("first") or r)
    others = [run(pool, "inflight").addCallback(lambda r: order.append("other") or r) for _ in range(3)]
    results = await gatherResults(others)
    assert order == ["other"] * 3  # the first run awaits its call: its cost is not known, but it is waiting
    assert all(out(r)[0] >= 2 for r in results)
    await first
    assert order[-1] == "first"


@pytest_twisted.ensureDeferred
async def test_a_new_sites_runs_wait_for_its_first_only_briefly_when_it_awaits_a_timer(make_pool):
    pool = make_pool()
    order: list[str] = []
    first = run(pool, "sleep 2").addCallback(lambda r: order.append("first") or r)  # no host call at all
    others = [run(pool, "inflight").addCallback(lambda r: order.append("other") or r) for _ in range(3)]
    await gatherResults(others)
    assert order == ["other"] * 3
    await first


@pytest_twisted.ensureDeferred
async def test_a_call_for_a_run_that_is_over_is_refused_not_left_hanging(make_pool):
    pool = make_pool()
    result = await run(pool, "orphan db.get")
    assert out(result) == [{"error": "the request this call belongs to is over"}]


@pytest_twisted.ensureDeferred
async def test_past_the_wall_deadline_a_run_fails_and_the_worker_is_told_to_cancel_it(make_pool):
    pool = make_pool(wall_seconds=0.5)
    slow = await run(pool, "sleep 30")
    assert slow.failure == "timeout" and "longer than 0.5 s" in slow.message
    after = await run(pool, "cancels")
    assert len(out(after)[0]) == 1  # the worker got one cancel
    assert pool.restarts == 0  # cancelled, not killed


@pytest_twisted.ensureDeferred
async def test_runs_past_the_wall_deadline_do_not_let_a_heavy_site_out_of_its_lane(make_pool):
    # A heavy site's run that outlives the wall deadline may be a CPU hog starved on a busy machine
    # (its lane's worker runs niced): its CPU is unknown, so the site stays confined. Counted as 0 ms,
    # four such runs let the site out (100 -> 70 -> 49 -> 34 -> 24 ms, under the 25 ms line).
    pool = make_pool(size=2, wall_seconds=0.3)
    assert (await run(pool, "burn 1000", site="hog")).failure == "timeout"  # its budget: the site is heavy
    assert pool.shares.heavy("hog")
    for _ in range(3):
        stuck = await gatherResults([run(pool, "sleep 30", site="hog") for _ in range(2)])
        assert {r.failure for r in stuck} == {"timeout"}
    assert pool.shares.heavy("hog")


@pytest_twisted.ensureDeferred
async def test_a_stalled_worker_is_killed_its_runs_fail_and_it_is_replaced(make_pool):
    pool = make_pool(stall_seconds=0.2)
    await run(pool, "")
    waiting = run(pool, "sleep 0.5")
    stalled = await run(pool, "hang")
    assert stalled.failure == "crash" and "stopped answering" in stalled.message
    assert (await waiting).failure == "crash"
    assert pool.restarts == 1
    assert out(await run(pool, "call db.get [\"k\"]")) == [None]


@pytest_twisted.ensureDeferred
async def test_a_worker_that_dies_fails_its_runs_and_is_replaced(make_pool):
    pool = make_pool()
    first = await run(pool, "")
    dying = await run(pool, "exit")
    assert dying.failure == "crash" and "died" in dying.message
    assert pid(await run(pool, "")) != pid(first) and pool.restarts == 1


@pytest_twisted.ensureDeferred
async def test_a_worker_that_never_gets_ready_is_killed_and_replaced(store):
    pool = Pools(store).make(size=1, stall_seconds=0.05, command=[sys.executable, "-c", "import time; time.sleep(60)"])
    waiting = pool.run("a", deployment("a", {}), Entry(MODULE, "api/x.js"), REQUEST, {})
    for _ in range(200):  # each replacement comes after the 1 s back-off of a worker that never started
        if pool.restarts >= 2:
            break
        await deferLater(reactor, 0.05, lambda: None)
    assert pool.restarts >= 2 and not waiting.called
    await pool.stopService()
    assert (await waiting).failure == "crash"


@pytest_twisted.ensureDeferred
async def test_late_logs_reach_the_hook_with_the_site(make_pool):
    late: list = []
    arrived = Deferred()

    def on_late_logs(site, logs):
        late.append((site, logs))
        arrived.callback(None)

    pool = make_pool(on_late_logs=on_late_logs)
    result = await run(pool, "late flushed after the response", site="blog")
    assert result.failure is None
    await arrived
    assert late == [("blog", [["info", "flushed after the response"]])]


@pytest_twisted.ensureDeferred
async def test_without_a_hook_late_logs_go_to_the_server_log(make_pool):
    logged = Deferred()

    def observer(event):
        if event.get("log_namespace") == "fazt.runtime.pool" and not logged.called:
            logged.callback(event)

    globalLogPublisher.addObserver(observer)
    try:
        pool = make_pool()
        await run(pool, "late after the response", site="blog")
        event = await logged
    finally:
        globalLogPublisher.removeObserver(observer)
    assert formatEvent(event) == "late log of site blog (info): after the response"


@pytest_twisted.ensureDeferred
async def test_a_late_logs_hook_that_raises_does_not_cut_the_worker_off(make_pool):
    arrived = Deferred()

    def broken(site, logs):
        arrived.callback(None)
        raise RuntimeError("a bug in the hook")

    pool = make_pool(on_late_logs=broken)
    first = await run(pool, "late x")
    await arrived
    second = await run(pool, "")
    assert pid(second) == pid(first) and pool.restarts == 0


@pytest_twisted.ensureDeferred
async def test_failures_carry_their_kind_and_a_method_failure_its_allow_list(make_pool):
    pool = make_pool()
    method = await run(pool, "method")
    assert (method.failure, method.allow) == ("method", ["GET", "POST"])
    thrown = await run(pool, "throw boom")
    assert (thrown.failure, thrown.message, thrown.logs, thrown.allow) == ("exception", "boom", [["error", "boom"]], None)
    burnt = await run(pool, "burn 500")
    assert burnt.failure == "timeout" and burnt.cpu_ms == pytest.approx(100)


@pytest_twisted.ensureDeferred
async def test_over_max_queue_runs_are_answered_busy_at_once(make_pool):
    pool = make_pool(max_queue=2, max_runs=1)
    await run(pool, "")  # the worker is up
    runs = [run(pool, "sleep 0.2") for _ in range(4)]  # one in flight, two queued, one refused
    results = await gatherResults(runs)
    assert [r.failure for r in results] == [None, None, None, "busy"]


@pytest_twisted.ensureDeferred
async def test_checks_report_the_file_and_line_of_a_problem(make_pool):
    pool = make_pool()
    files = {"main.js": "ok", "api/a.js": "fine\nsyntax error", "api/b.js": "ok"}
    assert (await pool.check("a", bundle(files, "check:1"), ["main.js", "api/b.js"])).ok
    broken = await pool.check("a", bundle(files, "check:1"), ["main.js", "api/a.js"])
    assert (broken.ok, broken.file, broken.line) == (False, "api/a.js", 2)
    missing = await pool.check("a", bundle(files, "check:1"), ["api/gone.js"])
    assert (missing.ok, missing.file) == (False, "api/gone.js")


@pytest_twisted.ensureDeferred
async def test_stopping_the_pool_fails_runs_in_flight_and_queued(make_pool):
    pool = make_pool(max_runs=1)
    await run(pool, "")
    runs = [run(pool, "sleep 30") for _ in range(3)]
    await deferLater(reactor, 0.2, lambda: None)
    await pool.stopService()
    assert [r.failure for r in await gatherResults(runs)] == ["crash"] * 3
    assert (await run(pool, "")).failure == "crash"
    pool.startService()  # started again: new workers come up with the next run
    assert out(await run(pool, "inflight")) == [1]


@pytest.mark.cpu_alone  # asserts where the CPU went: no other worker may take it meanwhile
@pytest_twisted.ensureDeferred
async def test_a_harmless_site_completes_while_hostile_sites_still_queue(make_pool):
    pool = make_pool(size=2, max_runs=8)
    finished: list[str] = []
    waiting = []
    for _ in range(20):  # twenty clients hammering each of three hostile apps (each run burns its budget)
        for site in ("loop", "recursion", "arrays"):
            waiting.append(run(pool, "burn 1000", site=site).addCallback(lambda r, s=site: finished.append(s) or r))
    await gatherResults(waiting[:3])  # one run of each has finished: they are measured, and confined
    before = len(finished)
    harmless = [run(pool, "", site="harmless").addCallback(lambda r: finished.append("harmless") or r)
                for _ in range(10)]
    assert all(r.failure is None for r in await gatherResults(harmless))
    hostile_during = sum(1 for site in finished[before:] if site != "harmless")
    # Fair shares: the hostile runs share one worker, so few of them end while the harmless ones run
    # (with one shared queue, ~45 of them finished first); most of them are still queued.
    assert hostile_during <= 10 and len(finished) - 10 < 30
    await pool.stopService()
    assert {r.failure for r in await gatherResults(waiting)} <= {"timeout", "crash"}
