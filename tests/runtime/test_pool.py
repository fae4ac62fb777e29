"""WorkerPool scheduling against fake worker processes: sending runs ahead, deadlines, requeues."""

from __future__ import annotations

from twisted.internet.defer import succeed
from twisted.internet.task import Clock

from fazt.runtime.pool import WorkerPool
from fazt.runtime.protocol import FrameDecoder


class FakeTransport:
    """What spawnProcess returns: records the frames written and the signals sent."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.decoder = FrameDecoder()
        self.frames: list[dict] = []
        self.signals: list[str] = []

    def write(self, data: bytes) -> None:
        self.frames.extend(self.decoder.feed(data))

    def signalProcess(self, name: str) -> None:
        self.signals.append(name)


class FakeReactor(Clock):
    def __init__(self) -> None:
        super().__init__()
        self.spawned: list = []

    def spawnProcess(self, protocol, executable, args, env, childFDs):
        transport = FakeTransport(1000 + len(self.spawned))
        protocol.makeConnection(transport)
        self.spawned.append(protocol)
        return transport


class FakeHost:
    def call(self, site, fn, args, budget):
        return succeed(len(args))


def make_pool(size: int = 1, **options) -> tuple[WorkerPool, FakeReactor]:
    reactor = FakeReactor()
    pool = WorkerPool(reactor, FakeHost(), size=size, **options)
    pool.startService()
    return pool, reactor


def ready(pool: WorkerPool, worker) -> None:
    pool._on_message(worker, {"t": "ready", "pid": worker.transport.pid})


def runs(worker) -> list[dict]:
    return [frame for frame in worker.transport.frames if frame["t"] == "run"]


def done(pool: WorkerPool, worker, run: dict, body: str = "ok") -> None:
    pool._on_message(worker, {"t": "done", "id": run["id"], "logs": [],
                              "response": {"status": 200, "headers": [], "body": body}})


def start(pool: WorkerPool, site: str, results: list, body: str = "") -> None:
    pool.run(site, "h-" + site, "src of " + site, {"path": "/" + body}, {}).addCallback(results.append)


def test_a_busy_worker_gets_its_sites_next_run_ahead():
    pool, reactor = make_pool(size=1)
    results: list = []
    for n in range(3):
        start(pool, "a", results, str(n))
    worker = reactor.spawned[0]
    ready(pool, worker)
    first, second = runs(worker)  # depth 2: the second run is already in the worker's pipe
    assert [first["req"]["path"], second["req"]["path"]] == ["/0", "/1"]
    assert first["src"] == "src of a" and second["src"] is None
    done(pool, worker, first, "zero")
    assert [r.response["body"] for r in results] == ["zero"]
    third = runs(worker)[2]
    assert third["req"]["path"] == "/2"
    done(pool, worker, second, "one")
    done(pool, worker, third, "two")
    assert [r.response["body"] for r in results] == ["zero", "one", "two"]
    assert pool._idle and not pool._queued and not pool._busy_by_site


def test_depth_one_sends_one_run_at_a_time():
    pool, reactor = make_pool(size=1, depth=1)
    results: list = []
    for n in range(2):
        start(pool, "a", results, str(n))
    worker = reactor.spawned[0]
    ready(pool, worker)
    assert len(runs(worker)) == 1
    done(pool, worker, runs(worker)[0])
    assert len(runs(worker)) == 2


def test_nothing_is_sent_ahead_while_another_site_waits_for_a_worker():
    pool, reactor = make_pool(size=2, per_site=1)
    results: list = []
    start(pool, "a", results)  # workers start with the first run
    first_worker, second_worker = reactor.spawned
    ready(pool, first_worker)
    ready(pool, second_worker)
    start(pool, "b", results)
    start(pool, "c", results)  # no idle worker: c waits
    start(pool, "a", results)
    assert len(runs(first_worker)) == 1 and len(runs(second_worker)) == 1
    done(pool, second_worker, runs(second_worker)[0])  # b done: c takes that worker...
    assert runs(second_worker)[1]["site"] == "c"
    assert len(runs(first_worker)) == 2  # ...and only then may a's next run go ahead
    assert runs(first_worker)[1]["site"] == "a"


def test_overtime_fails_the_running_job_and_requeues_the_one_sent_ahead():
    pool, reactor = make_pool(size=1, wall_seconds=10)
    results: list = []
    start(pool, "a", results, "slow")
    start(pool, "a", results, "next")
    worker = reactor.spawned[0]
    ready(pool, worker)
    assert len(runs(worker)) == 2
    reactor.advance(9)
    assert not results
    reactor.advance(1)
    assert worker.transport.signals == ["KILL"]
    assert [r.failure for r in results] == ["timeout"]
    pool._on_exit(worker)
    reactor.advance(0)
    replacement = reactor.spawned[1]
    ready(pool, replacement)
    (rerun,) = runs(replacement)
    assert rerun["req"]["path"] == "/next" and rerun["src"] == "src of a"
    done(pool, replacement, rerun, "fine")
    assert results[1].failure is None and results[1].response["body"] == "fine"


def test_the_deadline_restarts_when_the_next_run_starts():
    pool, reactor = make_pool(size=1, wall_seconds=10)
    results: list = []
    start(pool, "a", results)
    start(pool, "a", results)
    worker = reactor.spawned[0]
    ready(pool, worker)
    reactor.advance(8)
    done(pool, worker, runs(worker)[0])
    reactor.advance(8)  # 16 s since the first run started, 8 s into the second
    assert not worker.transport.signals and len(results) == 1
    reactor.advance(2)
    assert worker.transport.signals == ["KILL"] and results[1].failure == "timeout"


def test_a_crash_fails_only_the_running_job():
    pool, reactor = make_pool(size=1)
    results: list = []
    start(pool, "a", results, "crashing")
    start(pool, "a", results, "innocent")
    worker = reactor.spawned[0]
    ready(pool, worker)
    pool._on_exit(worker)
    assert [r.failure for r in results] == ["crash"]
    reactor.advance(0)
    replacement = reactor.spawned[1]
    ready(pool, replacement)
    assert runs(replacement)[0]["req"]["path"] == "/innocent"


def test_need_src_puts_the_run_behind_the_one_sent_ahead():
    pool, reactor = make_pool(size=1)
    results: list = []
    start(pool, "a", results, "warm")
    worker = reactor.spawned[0]
    ready(pool, worker)
    done(pool, worker, runs(worker)[0])
    start(pool, "a", results, "x")
    start(pool, "a", results, "y")
    x, y = runs(worker)[1:]
    assert x["src"] is None  # the parent believes the worker holds the script
    pool._on_message(worker, {"t": "need_src", "id": x["id"]})
    resent = runs(worker)[3]
    assert resent["id"] == x["id"] and resent["src"] == "src of a"
    assert [job.id for job in worker.jobs] == [y["id"], x["id"]]  # the order the worker runs them
    done(pool, worker, y, "y")
    done(pool, worker, resent, "x")
    assert [r.response["body"] for r in results[1:]] == ["y", "x"]


def test_host_calls_are_answered_for_a_job_of_the_worker():
    pool, reactor = make_pool(size=1)
    results: list = []
    start(pool, "a", results)
    worker = reactor.spawned[0]
    ready(pool, worker)
    run = runs(worker)[0]
    pool._on_message(worker, {"t": "call", "id": 7, "run": run["id"], "fn": "db.get", "args": ["k"]})
    pool._on_message(worker, {"t": "call", "id": 8, "run": 999, "fn": "db.get", "args": ["k"]})
    replies = [f for f in worker.transport.frames if f["t"] == "reply"]
    assert replies == [{"t": "reply", "id": 7, "ok": True, "value": 1}]


def test_runs_sent_ahead_fail_when_the_pool_stops():
    pool, reactor = make_pool(size=1)
    results: list = []
    start(pool, "a", results)
    start(pool, "a", results)
    worker = reactor.spawned[0]
    ready(pool, worker)
    pool.stopService()
    assert worker.transport.signals == ["KILL"]
    pool._on_exit(worker)
    assert [r.failure for r in results] == ["crash", "crash"]
    assert not reactor.getDelayedCalls()  # no deadline left behind, no respawn
