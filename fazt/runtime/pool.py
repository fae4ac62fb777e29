"""A pool of JS worker processes, driven by Deferreds (the parent side of PROTOCOL.md, version 2).

dukpy holds the GIL and can be interrupted only by a signal in its own process's main thread, so
scripts run in worker processes. Each worker serves many runs at once (up to the C{max_runs} it
announces): while one run's script waits on a host call or a timer, the worker runs others. Each
worker enforces the per-request CPU budget itself; the parent enforces the rest:

  - B{Wall clock}: every run has a deadline counted from when it was sent (C{wall_seconds}); past
    it the run fails with kind "timeout" and the worker is told to C{cancel} it. All deadlines
    share one timer (L{fazt.runtime.deadlines}).
  - B{Stalls}: a worker holding runs that sends no frame for C{stall_seconds} (while it is not
    waiting on the parent's answer to a sync call) is pinged; if it is still silent one period
    later, it is killed, its runs fail ("crash") and it is replaced (after a back-off of 1 s if it
    died before it was ready, so a broken worker cannot respawn in a tight loop). A worker that
    has not sent C{ready} after four periods is killed and replaced the same way.
  - B{Fair shares}: a site cannot take more than its share of the workers. The pool records the
    CPU every run used (the worker's C{cpu_ms}; a run stopped at a limit counts as the whole budget)
    in L{fazt.runtime.fairness.CpuShares}; sites whose recent runs burned more than a quarter of the
    budget are I{heavy} and confined to a lane of C{ceil(N/2)} workers with at most
    C{heavy_per_worker} heavy runs in flight on each, their other runs queueing in the parent,
    round-robin between sites; every other site's runs go to a worker with no heavy run in
    flight, packed onto one while the CPU they are expected to take is small, spread otherwise
    (L{fazt.runtime.lanes} has the rules). The default size, C{max(2, cores)},
    keeps a light lane even on one core. Hostile sites therefore queue behind each other, never in
    front of a harmless site. Fairness is counted in CPU, not in runs: a site whose runs wait on
    I/O may hold many runs in flight, since waiting costs the others nothing. The price: while
    heavy, a site gets at most half the workers even when the others are idle (a light request
    arriving then would wait behind its CPU), and few runs in flight (CPU-heavy runs that also
    wait on slow I/O see little concurrency until their average falls).
  - B{Queue}: past C{max_queue} runs waiting in the parent, a run is answered "busy" at once.

Host calls are answered by L{fazt.runtime.hostreplies} (C{module.*} from the run's L{CodeBundle},
the others by the L{fazt.runtime.host.HostApi}). Log lines a run writes after its response (C{ctx.waitUntil}
work, the C{late} frame) go to C{on_late_logs(site, logs)}.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable, Optional

from twisted.application.service import Service
from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.interfaces import IReactorProcess
from twisted.logger import Logger

import fazt
from fazt.runtime.code import CheckResult, CodeBundle, Entry
from fazt.runtime.deadlines import Deadlines
from fazt.runtime.fairness import CpuShares, run_cost
from fazt.runtime.hostreplies import answer_call
from fazt.runtime.lanes import Lanes
from fazt.runtime.protocol import clean_logs
from fazt.runtime.stallwatch import StallWatch
from fazt.runtime.workerproc import Job, RunResult, WorkerProcess, failure

__all__ = ["CheckResult", "RunResult", "WorkerPool"]

_FAZT_PATH = os.path.dirname(os.path.dirname(os.path.abspath(fazt.__file__)))
# A heavy-lane worker runs at a lower CPU priority from its first heavy run on: a hostile site
# burning its budget there yields the cores to this process and to the other workers when they have
# work (on a 2-core server they otherwise share the cores evenly, and every other request waits for
# its turn). Not before: a niced worker gets a fraction of a busy core, so light runs placed on it
# wait longer (the scheduler weighs its load, fazt.runtime.lanes.NICED_WEIGHT), and until a site
# turns heavy there is nothing to yield to.
HEAVY_LANE_NICENESS = 10
_log = Logger()


class WorkerPool(Service):
    """Runs site scripts on C{size} worker processes (see the module docstring for the rules).

    C{reactor} spawns the workers and times their runs (it provides C{IReactorTime} too). C{command}
    is the worker's argv (default: this Python running C{fazt.runtime.worker}).
    """

    def __init__(self, reactor: IReactorProcess, host: Any, size: Optional[int] = None, cpu_ms: int = 100,
                 wall_seconds: float = 10.0, max_queue: int = 1000, check_cpu_ms: int = 2000,
                 check_wall_seconds: float = 20.0, stall_seconds: float = 5.0, heavy_per_worker: int = 2,
                 on_late_logs: Optional[Callable[[str, list], None]] = None,
                 command: Optional[list[str]] = None) -> None:
        self._reactor = reactor
        self._host = host
        self.size = size or max(2, os.cpu_count() or 1)
        self.cpu_ms = cpu_ms
        self.wall_seconds = wall_seconds
        self.max_queue = max_queue
        self.check_cpu_ms = check_cpu_ms
        self.check_wall_seconds = check_wall_seconds
        self.stall_seconds = stall_seconds
        self.shares = CpuShares(reactor, heavy_ms=cpu_ms / 4)
        self._lanes = Lanes(self.shares, self.size, heavy_per_worker)
        self._deadlines = Deadlines(reactor, self._overtime)
        # Ten CPU budgets of wall time: a first run that outlives that is surely waiting, not burning.
        self._probe_seconds = max(1.0, 10 * cpu_ms / 1000)
        self._on_late_logs = on_late_logs or _log_late
        self._command = list(command or [sys.executable, "-m", "fazt.runtime.worker"])
        self._workers: list[WorkerProcess] = []
        self._next_id = 0
        self._spawned = False
        self._stopped = False
        self._watch = StallWatch(reactor, stall_seconds, lambda: self._workers)
        self.restarts = 0

    # -- lifecycle ----------------------------------------------------------------------

    def startService(self) -> None:
        # Workers start with the first script to run: a server hosting only static sites never
        # pays their memory, and start-up stays fast.
        super().startService()
        self._stopped = False
        self._spawned = False
        self._watch.start()
        if self._lanes.queued:
            self._ensure_workers()

    def _ensure_workers(self) -> None:
        if not self._spawned and self.running:
            self._spawned = True
            for slot in range(self.size):
                self._spawn(slot)

    def stopService(self) -> Deferred:
        super().stopService()
        self._stopped = True
        self._deadlines.stop()
        self._watch.stop()
        for job in self._lanes.drain():
            job.settle(failure("crash", "the JS worker pool stopped"))
        ended = [w.ended for w in self._workers]
        for worker in list(self._workers):
            worker.kill()
        return DeferredList(ended)

    def _spawn(self, slot: int) -> None:
        worker = WorkerProcess(slot, self._on_message, self._on_exit, self._reactor)
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "PYTHONPATH": _FAZT_PATH, "PYTHONDONTWRITEBYTECODE": "1"}
        transport = self._reactor.spawnProcess(worker, self._command[0], self._command, env=env,
                                               childFDs={0: "w", 1: "r", 2: "r"})
        worker.pid = transport.pid
        self._workers.append(worker)
        self._watch.poke()

    # -- running ------------------------------------------------------------------------

    def worker_pids(self) -> dict[int, int]:
        """The process id of each live worker, by slot (slots below the heavy lane's size are in it)."""
        return {worker.slot: worker.pid for worker in self._workers if worker.pid is not None}

    def run(self, site: str, code: CodeBundle, entry: Entry, request: dict, env: dict) -> Deferred[RunResult]:
        """Run a site's code for one request (PROTOCOL.md's C{req}); never errbacks."""
        frame = {"t": "run", "site": site, "code": code.key, "entry": entry.wire(), "req": request, "env": env,
                 "cpu_ms": self.cpu_ms}
        return self._submit(Job(site, code, frame, Deferred()))

    def check(self, site: str, code: CodeBundle, entries: list[str]) -> Deferred[CheckResult]:
        """Compile C{entries} of C{code} and all they import, running none of it; never errbacks.

        "main.js" is checked as a script entry, other paths as function modules.
        """
        frame = {"t": "check", "site": site, "code": code.key, "entries": [str(e) for e in entries],
                 "cpu_ms": self.check_cpu_ms}
        return self._submit(Job(site, code, frame, Deferred(), check=True))

    def _submit(self, job: Job) -> Deferred:
        result = job.result
        if self._stopped:
            job.settle(failure("crash", "the JS worker pool stopped"))
        elif self._lanes.queued >= self.max_queue:
            job.settle({"t": "failed", "kind": "busy", "message": "too many scripts waiting to run", "logs": []})
        else:
            self._ensure_workers()
            self._lanes.push(job)
            self._dispatch()
        return result

    def _dispatch(self) -> None:
        for job, worker in self._lanes.assign(self._workers):
            self._next_id += 1
            job.id = self._next_id
            worker.take(job)
            if job.heavy and not job.check and not worker.load.niced:
                worker.load.niced = True  # once: a process cannot take back a lowered priority
                _lower_priority(worker.pid, HEAVY_LANE_NICENESS)
            frame, job.frame = job.frame, None
            self._deadlines.add(job, self.check_wall_seconds if job.check else self.wall_seconds)
            if not job.check and not self.shares.known(job.site):
                self._deadlines.add(("probe", job.site), self._probe_seconds)
            worker.send({**frame, "id": job.id})
        self._watch.poke()

    def _settle(self, worker: WorkerProcess, job: Job, outcome: dict, cost: Optional[float]) -> None:
        """A run is over: free its place, learn what it cost (C{cost}, CPU ms; None: unknown), send
        the next runs, then answer it."""
        self._deadlines.discard(job)
        worker.finish(job)
        self._lanes.finished(job, worker)
        if cost is not None and not job.check:
            self.shares.record(job.site, cost)
        self._dispatch()  # first, so the worker is busy again while the response is written
        job.settle(outcome)

    def _overtime(self, job: Any) -> None:
        if isinstance(job, tuple):  # ("probe", site): a new site's first run is still going
            self._first_run_waits(job[1])
            return
        worker = job.worker
        if worker is None or worker.runs.get(job.id) is not job:
            return
        worker.send({"t": "cancel", "id": job.id})
        limit = self.check_wall_seconds if job.check else self.wall_seconds
        # Its CPU is unknown, so the site's record is left as it was: waiting on I/O costs none, but a
        # CPU-bound run starved on a busy machine (in a niced heavy-lane worker) ends here too, and
        # counting it as 0 let a hostile site's score fall until its runs flooded the light lane.
        self._settle(worker, job, failure("timeout", f"script ran longer than {limit:g} s"), None)

    def _first_run_waits(self, site: str) -> None:
        """A new site's first run waits (on I/O, or it is still going after C{_probe_seconds}: on a
        timer, say), not burning CPU (the worker would have stopped it): the site's other runs may go."""
        if not self.shares.known(site):
            self.shares.waiting(site)
            self._dispatch()

    # -- messages from workers ----------------------------------------------------------

    def _on_message(self, worker: WorkerProcess, message: dict) -> None:
        kind = message.get("t")
        if kind == "call":
            answer_call(worker, message, self._host, self._awaiting_io, lambda job: self.shares.blocking(job.site))
        elif kind in ("done", "failed", "checked"):
            job = worker.runs.get(message.get("id"))
            if job is not None:  # else a late answer for a run already given up on
                self._settle(worker, job, message, run_cost(message, self.cpu_ms))
        elif kind == "late":
            job = worker.recent.pop(message.get("id"), None)
            if job is not None and not job.check:
                self._on_late_logs(job.site, clean_logs(message.get("logs")))
        elif kind == "ready":
            worker.ready = True
            worker.seen = worker.frames
            max_runs = message.get("max_runs")
            worker.load.capacity = max_runs if isinstance(max_runs, int) and max_runs > 0 else 1
            self._dispatch()

    def _awaiting_io(self, job: Job) -> None:
        """A run sent an async host call: it waits on I/O."""
        if not job.check:
            self._first_run_waits(job.site)

    # -- worker health ------------------------------------------------------------------

    def _on_exit(self, worker: WorkerProcess) -> None:
        if worker in self._workers:
            self._workers.remove(worker)
        if self.running:
            self.restarts += 1
            # A worker that dies before it is ready would otherwise respawn in a tight loop.
            delay = 0 if worker.ready else 1.0
            self._reactor.callLater(delay, self._respawn, worker.slot)
        why = "the script's worker process stopped answering" if worker.stalled else \
            "the script's worker process died"
        for job in list(worker.runs.values()):
            self._settle(worker, job, failure("crash", why), None)

    def _respawn(self, slot: int) -> None:
        if self.running and all(w.slot != slot for w in self._workers):
            self._spawn(slot)


def _log_late(site: str, logs: list) -> None:
    """Where late logs go when the web layer gives no hook: the server's log."""
    for level, message in logs:
        _log.info("late log of site {site} ({js_level}): {js_message}", site=site, js_level=level,
                  js_message=message)


def _lower_priority(pid: Optional[int], niceness: int) -> None:
    """Raise a child's nice value by C{niceness} (best effort: a process may always lower its own)."""
    try:
        if pid is not None:
            os.setpriority(os.PRIO_PROCESS, pid, min(19, os.getpriority(os.PRIO_PROCESS, 0) + niceness))
    except OSError:
        pass
