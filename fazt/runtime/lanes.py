"""Fair shares of the JS workers: which queued run goes to which worker (pure; no I/O, no timers).

The pool's workers each serve many runs at once (up to the C{max_runs} a worker announces), but a
worker runs one slice of JavaScript at a time: a run that burns its whole CPU budget holds up every
other run in flight on the same worker. So the scheduler keeps CPU-hungry work away from the rest:

  - A site is I{heavy} while its recent runs burned CPU (L{fazt.runtime.fairness.CpuShares}).
    Heavy sites' runs, and deploy checks (compiling a bundle is CPU work too), go only to the
    I{heavy lane}: the first C{ceil(N/2)} worker slots (at least one), with at most
    C{heavy_per_worker} heavy runs in flight per worker. The rest wait in the parent.
  - Every other run goes to a worker with room and no heavy run in flight, preferring one not
    blocked on a sync host call; among those, it is I{packed} onto the busiest worker whose runs in
    flight are expected to take under C{PACK_MS} of CPU (by their sites' recent cost), else it goes to
    the least loaded (always, for a site whose runs make sync host calls: their waits overlap only
    on several workers); then workers outside the heavy lane. A worker that runs at a lower CPU priority
    (the pool lowers a heavy-lane worker's the first time it takes a heavy run) counts each of its
    runs C{NICED_WEIGHT} times: on a busy machine it gets a fraction of a core, and runs placed on
    it by count alone wait several times as long as the others (hello's p99 was 3x its p50 so).
  - A site not seen recently (its cost unknown) has at most C{probe} runs in flight until one of
    them finishes and tells what it costs (or awaits I/O, or outlives the CPU budget by far: see
    C{CpuShares.waiting}): a burst from a site that just turned hostile cannot flood the light
    workers before it is measured.
  - Runs waiting in the parent are taken round-robin between queues (one queue per site, one per
    site's checks), one run per queue per turn, so a site's backlog waits behind its own runs and
    never in front of another site's.

With two workers and hostile sites hammering, the hostile runs share one worker and queue in the
parent, and a harmless site's runs go to the other worker at once.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from math import ceil
from typing import Any, Hashable, Iterable, Iterator, Optional, Protocol

from fazt.runtime.fairness import CpuShares

# How many runs a niced worker's one run counts as when light runs are placed. Measured on 2 busy
# cores with a hello app: the worker 10 nice levels down got 1/4 to 1/3 of the CPU of the other.
NICED_WEIGHT = 4
# Light runs are packed onto one worker while the CPU its runs in flight are expected to take stays
# under this; past it (or while that worker waits on a sync host call) they spread. One worker keeps
# up with one serving process for cheap runs, and spreading them made four busy processes on two
# cores: bench/ab.py, hello, packed vs spread, +17% req/s, -8% CPU per request, p99 -18%.
PACK_MS = 20.0


@dataclass
class Load:
    """What the scheduler knows of one worker: its slot, its room, and what it holds."""

    slot: int
    capacity: int = 0  # runs it accepts in flight; 0 until it is ready
    runs: int = 0
    heavy: int = 0
    niced: bool = False  # runs at a lower CPU priority than the others
    queued_ms: float = 0.0  # the CPU its runs in flight are expected to take (their sites' recent cost)
    blocked: bool = False  # waiting on the parent's answer to a sync host call: it runs nothing meanwhile


class Schedulable(Protocol):
    """A queued run or check, as the scheduler sees it."""

    site: str
    queue_key: Hashable
    check: bool
    heavy: bool
    estimate: float  # set when it is placed: the CPU ms its site's runs recently took

class HasLoad(Protocol):
    load: Load


class Lanes:
    """The parent's queue of runs and the placement rules of the module docstring.

    @param shares: the sites' recent CPU per run.
    @param size: the number of worker slots (the heavy lane is the first C{ceil(size/2)}).
    @param heavy_per_worker: heavy runs a heavy-lane worker holds in flight at most.
    @param probe: runs in flight at most for a site whose cost is not known yet.
    """

    def __init__(self, shares: CpuShares, size: int, heavy_per_worker: int = 2, probe: int = 1) -> None:
        self.shares = shares
        self.heavy_lane = max(1, ceil(size / 2))
        self.heavy_per_worker = max(1, heavy_per_worker)
        self.probe = max(1, probe)
        self._queues: OrderedDict[Hashable, deque] = OrderedDict()
        self._site_runs: dict[str, int] = {}
        self.queued = 0

    def push(self, job: Schedulable) -> None:
        """Queue C{job} behind the runs of its queue."""
        queue = self._queues.get(job.queue_key)
        if queue is None:
            queue = self._queues[job.queue_key] = deque()
        queue.append(job)
        self.queued += 1

    def drain(self) -> list:
        """Take every queued job out (the pool is stopping)."""
        jobs = [job for queue in self._queues.values() for job in queue]
        self._queues.clear()
        self.queued = 0
        return jobs

    def assign(self, workers: Iterable[HasLoad]) -> Iterator[tuple[Any, Any]]:
        """Yield (job, worker) pairs the pool should send now, counting them as in flight."""
        workers = list(workers)
        progress = True
        while progress and self.queued:
            progress = False
            light_room, heavy_room = self._room(workers)
            if not light_room:
                return
            for key in list(self._queues):
                queue = self._queues[key]
                job = queue[0]
                heavy = job.check or self.shares.heavy(job.site)
                if heavy and not heavy_room:
                    continue
                if not heavy and not job.check and not self.shares.known(job.site) \
                        and self._site_runs.get(job.site, 0) >= self.probe:
                    continue
                worker = self._pick(heavy, workers, job.site)
                if worker is None:
                    continue
                queue.popleft()
                if queue:
                    self._queues.move_to_end(key)  # round-robin: this queue's next run waits a turn
                else:
                    del self._queues[key]
                self.queued -= 1
                self._started(job, worker.load, heavy)
                progress = True
                yield job, worker
                light_room, heavy_room = self._room(workers)
                if not light_room:
                    return

    def finished(self, job: Schedulable, worker: HasLoad) -> None:
        """A job sent by L{assign} is over (answered, failed, cancelled or lost with its worker)."""
        load = worker.load
        load.runs -= 1
        load.queued_ms = max(0.0, load.queued_ms - job.estimate) if load.runs else 0.0
        if job.heavy:
            load.heavy -= 1
        left = self._site_runs.get(job.site, 0) - 1
        if left > 0:
            self._site_runs[job.site] = left
        else:
            self._site_runs.pop(job.site, None)

    def _started(self, job: Schedulable, load: Load, heavy: bool) -> None:
        job.heavy = heavy
        job.estimate = self.shares.score(job.site)
        load.queued_ms += job.estimate
        load.runs += 1
        if heavy:
            load.heavy += 1
        self._site_runs[job.site] = self._site_runs.get(job.site, 0) + 1

    def _room(self, workers: list) -> tuple[bool, bool]:
        light = heavy = False
        for worker in workers:
            load = worker.load
            if load.runs < load.capacity:
                light = True
                if load.slot < self.heavy_lane and load.heavy < self.heavy_per_worker:
                    heavy = True
        return light, heavy

    def _pick(self, heavy: bool, workers: list, site: str) -> Optional[HasLoad]:
        pack = not self.shares.blocks(site)  # runs that block on sync calls spread to overlap their waits
        best, best_key = None, None
        for worker in workers:
            load = worker.load
            if load.runs >= load.capacity:
                continue
            in_heavy_lane = load.slot < self.heavy_lane
            if heavy:
                if not in_heavy_lane or load.heavy >= self.heavy_per_worker:
                    continue
                key = (load.heavy, load.runs, load.slot)
            else:
                runs = load.runs * NICED_WEIGHT if load.niced else load.runs
                packing = pack and load.queued_ms < PACK_MS
                key = (load.heavy > 0, load.blocked, not packing, -runs if packing else runs, in_heavy_lane,
                       load.slot)
            if best_key is None or key < best_key:
                best, best_key = worker, key
        return best
