"""Fair shares of the JS workers, as pure scheduling on a fake clock (fairness.py, lanes.py, deadlines.py).

No processes here: these are the placement rules themselves. The pool's behaviour with real worker
processes is in test_pool.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from twisted.internet.task import Clock

from fazt.runtime.deadlines import Deadlines
from fazt.runtime.fairness import CpuShares, run_cost
from fazt.runtime.lanes import Lanes, Load


@dataclass(eq=False)
class Run:
    site: str
    check: bool = False
    heavy: bool = False
    estimate: float = 0.0

    @property
    def queue_key(self):
        return ("check", self.site) if self.check else self.site


class Worker:
    def __init__(self, slot: int, capacity: int = 8) -> None:
        self.load = Load(slot, capacity)
        self.running: list[Run] = []


class Scheduler:
    """Lanes driven like the pool drives them: assign, run, finish with a CPU cost."""

    def __init__(self, size: int = 2, capacity: int = 8, heavy_per_worker: int = 2) -> None:
        self.clock = Clock()
        self.clock.advance(1000)
        self.shares = CpuShares(self.clock, heavy_ms=25)
        self.lanes = Lanes(self.shares, size, heavy_per_worker)
        self.workers = [Worker(slot, capacity) for slot in range(size)]
        self.log: list[tuple[str, int]] = []  # (site, worker slot) in the order runs were sent

    def submit(self, site: str, count: int = 1) -> None:
        for _ in range(count):
            self.lanes.push(Run(site))
        self.dispatch()

    def dispatch(self) -> None:
        for run, worker in self.lanes.assign(self.workers):
            worker.running.append(run)
            self.log.append((run.site, worker.load.slot))

    def finish(self, worker: Worker, cpu_ms: float) -> Run:
        run = worker.running.pop(0)
        self.lanes.finished(run, worker)
        self.shares.record(run.site, cpu_ms)
        self.clock.advance(cpu_ms / 1000)
        self.dispatch()
        return run


def test_a_site_turns_heavy_after_a_hostile_run_and_light_again_after_light_ones():
    clock = Clock()
    shares = CpuShares(clock, heavy_ms=25)
    assert not shares.known("a") and not shares.heavy("a")
    shares.record("a", 100)
    assert shares.known("a") and shares.heavy("a")
    lights = 0
    while shares.heavy("a"):
        shares.record("a", 1)
        lights += 1
    assert 2 <= lights <= 6
    shares.record("b", 100)
    clock.advance(120)  # four half-lives of quiet
    assert not shares.heavy("b") and shares.known("b")
    clock.advance(600)
    assert not shares.known("b")


def test_a_harmless_site_completes_while_hostile_sites_still_queue():
    s = Scheduler(size=2, heavy_per_worker=2)
    for site in ("loop", "recursion", "arrays"):
        s.shares.record(site, 100)  # each already ran once and burned its budget
    for _ in range(20):
        for site in ("loop", "recursion", "arrays"):
            s.lanes.push(Run(site))  # twenty clients each hammering three hostile apps
    s.dispatch()
    heavy_slots = {slot for site, slot in s.log}
    assert heavy_slots == {0} and len(s.log) == 2  # one lane, two heavy runs in flight, the rest queue
    s.submit("harmless", 5)
    harmless = [slot for site, slot in s.log if site == "harmless"]
    # A new site is probed one run at a time until its cost is known; it goes to the light worker.
    assert harmless == [1]
    light = s.workers[1]
    done = 0
    while light.running:
        s.finish(light, 1.0)
        done += 1
    assert done == 5 and s.lanes.queued == 58  # every harmless run done; the hostile ones still wait
    # The hostile queue drains round-robin between the hostile sites, always on the heavy worker.
    for _ in range(6):
        s.finish(s.workers[0], 100)
    order = [site for site, slot in s.log if site != "harmless"]
    assert order[:8] == ["loop", "recursion", "arrays", "loop", "recursion", "arrays", "loop", "recursion"]
    assert {slot for site, slot in s.log if site != "harmless"} == {0}


def test_light_sites_spread_over_workers_and_avoid_those_with_heavy_work():
    s = Scheduler(size=4, capacity=3)
    s.shares.record("light", 1)
    s.shares.blocking("light")  # its runs make sync host calls: they spread (see the packing tests)
    s.submit("light", 8)
    assert sorted(slot for _, slot in s.log) == [0, 0, 1, 1, 2, 2, 3, 3]
    s.shares.record("hog", 100)
    s.submit("hog", 2)
    assert [slot for site, slot in s.log if site == "hog"] == [0, 1]  # the heavy lane: slots 0 and 1
    s.submit("light", 4)
    later = [slot for _, slot in s.log[10:]]
    assert later == [2, 3]  # the workers free of heavy work first; the other two wait for room
    assert s.lanes.queued == 2


def test_light_runs_weigh_a_niced_worker_by_its_smaller_share_of_the_cpu():
    # Placed by count alone, 50 runs would split 25/25 and the niced worker's would wait ~4x longer.
    s = Scheduler(size=2, capacity=256)
    s.workers[0].load.niced = True
    s.shares.record("light", 1)
    s.shares.blocking("light")
    s.submit("light", 50)
    slots = [slot for _, slot in s.log]
    assert (slots.count(0), slots.count(1)) == (10, 40)  # NICED_WEIGHT 4: 10 x 4 = 40


def test_cheap_runs_are_packed_onto_one_worker_outside_the_heavy_lane():
    # 50 hello-sized runs: one worker keeps up with its serving process, and a second busy worker
    # only adds a process competing for the cores.
    s = Scheduler(size=2, capacity=256)
    s.shares.record("hello", 0.2)
    s.submit("hello", 50)
    assert {slot for _, slot in s.log} == {1}


def test_runs_spread_once_a_worker_holds_enough_expected_cpu():
    s = Scheduler(size=2, capacity=256)
    s.shares.record("render", 8)  # 8 ms a run: the third one brings slot 1 to 24 ms, past PACK_MS (20)
    s.submit("render", 6)
    slots = [slot for _, slot in s.log]
    assert slots[:3] == [1, 1, 1] and slots.count(0) == 3
    while s.workers[1].running:  # once they are done the first worker packs again
        s.finish(s.workers[1], 8)
    assert s.workers[1].load.queued_ms == 0
    s.submit("render", 1)
    assert s.log[-1] == ("render", 1)


def test_a_worker_waiting_on_a_sync_host_call_is_passed_over():
    s = Scheduler(size=2, capacity=256)
    s.shares.record("hello", 0.2)
    s.workers[1].load.blocked = True
    s.submit("hello", 3)
    assert [slot for _, slot in s.log] == [0, 0, 0]


def test_one_worker_is_both_lanes():
    s = Scheduler(size=1, heavy_per_worker=1)
    s.shares.record("hog", 100)
    s.shares.record("light", 1)
    s.submit("hog", 3)
    s.submit("light", 2)
    assert [site for site, _ in s.log] == ["hog", "light", "light"]


def test_checks_take_the_heavy_lane_in_their_own_queue():
    s = Scheduler(size=2, heavy_per_worker=1)
    s.shares.record("site", 1)
    s.lanes.push(Run("site", check=True))
    s.lanes.push(Run("site", check=True))
    s.submit("site", 1)
    assert s.log == [("site", 0), ("site", 1)]  # one check on the heavy lane, the run on the light one
    assert s.lanes.queued == 1


def test_deadlines_share_one_timer_and_fire_in_order():
    clock = Clock()
    expired: list = []
    deadlines = Deadlines(clock, expired.append)
    for n in range(40):  # sent at 0, 0.25, ... 9.75: due at 10 ... 19.75
        deadlines.add(n, 10)
        if n % 2 == 0:
            deadlines.discard(n - 2)  # the even runs finish in time
        clock.advance(0.25)
    deadlines.discard(38)
    deadlines.add("check", 0.5)  # now 10: due at 10.5, before most runs
    assert len(clock.getDelayedCalls()) == 1 and not expired
    clock.advance(0.5)
    assert expired == [1, "check"]  # run 1 was due at 10.25
    clock.advance(4.5)  # now 15: runs sent by 5 are due
    assert expired == [1, "check", 3, 5, 7, 9, 11, 13, 15, 17, 19]
    clock.advance(5)
    assert [n for n in expired if n != "check"] == list(range(1, 40, 2))
    assert len(deadlines) == 0 and not clock.getDelayedCalls()
    deadlines.add("a", 1)
    deadlines.add("b", 2)
    clock.advance(0.5)
    deadlines.add("a", 2)  # added again: due at 2.5, behind "b"
    clock.advance(1.6)
    assert expired[-1] == "b"
    clock.advance(0.5)
    assert expired[-2:] == ["b", "a"]
    deadlines.add("again", 1)
    deadlines.stop()
    assert not clock.getDelayedCalls()


def test_a_run_stopped_at_a_limit_counts_as_the_whole_budget():
    """CPU and memory overruns and stack overflows count as the budget; other outcomes as measured."""
    assert run_cost({"t": "done", "cpu_ms": 0.4}, 100) == 0.4
    assert run_cost({"t": "failed", "kind": "exception", "message": "TypeError: x is undefined",
                     "cpu_ms": 1.5}, 100) == 1.5
    for kind in ("timeout", "memory"):
        assert run_cost({"t": "failed", "kind": kind, "message": "", "cpu_ms": 30}, 100) == 100
    overflow = {"t": "failed", "kind": "exception", "cpu_ms": 1.2,
                "message": "RangeError: Maximum call stack size exceeded"}
    assert run_cost(overflow, 100) == 100
    assert run_cost({**overflow, "message": "InternalError: stack overflow"}, 100) == 100
    assert run_cost({"t": "failed", "kind": "crash", "cpu_ms": "many"}, 100) == 0.0


def test_a_site_whose_runs_overflow_the_stack_is_heavy_after_one_run():
    """Each overflow is cheap, yet the site is confined at once, like a CPU hog."""
    clock = Clock()
    shares = CpuShares(clock, heavy_ms=25)
    overflow = {"t": "failed", "kind": "exception", "cpu_ms": 1.2,
                "message": "RangeError: Maximum call stack size exceeded"}
    shares.record("recursion", run_cost(overflow, 100))
    shares.record("hello", run_cost({"t": "done", "cpu_ms": 0.3}, 100))
    assert shares.heavy("recursion")
    assert not shares.heavy("hello")
