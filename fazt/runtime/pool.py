"""A pool of JS worker processes, driven by Deferreds (the parent side of PROTOCOL.md).

dukpy holds the GIL and can be interrupted only by a signal in its own process's main thread,
so scripts run in worker processes: each enforces its CPU budget itself, and the parent kills
and replaces one that passes the wall-clock deadline or breaks the protocol. Jobs are handed
out round-robin across sites, and one site may occupy at most C{per_site} workers at a time, so
a hostile script cannot starve the others.
"""

from __future__ import annotations

import os
import sys
from collections import OrderedDict, deque
from typing import Any, Optional

from twisted.application.service import Service
from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.interfaces import IReactorProcess

import fazt
from fazt.runtime.workerproc import Job, RunResult, WorkerProcess

__all__ = ["RunResult", "WorkerPool"]

_FAZT_PATH = os.path.dirname(os.path.dirname(os.path.abspath(fazt.__file__)))


class WorkerPool(Service):
    """Runs site scripts on C{size} worker processes.

    A worker busy with a site's run may be sent that site's next run as well (up to C{depth}
    runs in its pipe), so it never sits idle while the parent turns a finished run into a
    response; this happens only when no other site's run is waiting for a worker, so it never
    lets one site's backlog delay another's. C{reactor} spawns the workers and times their runs
    (it provides C{IReactorTime} too).
    """

    def __init__(self, reactor: IReactorProcess, host: Any, size: Optional[int] = None, cpu_ms: int = 100,
                 wall_seconds: float = 10.0, max_queue: int = 1000, per_site: Optional[int] = None,
                 depth: int = 2) -> None:
        self._reactor = reactor
        self._host = host
        self.size = size or os.cpu_count() or 1
        self.cpu_ms = cpu_ms
        self.wall_seconds = wall_seconds
        self.max_queue = max_queue
        self.per_site = per_site or max(1, self.size - 1)
        self.depth = max(1, depth)
        self._workers: list[WorkerProcess] = []
        self._idle: deque[WorkerProcess] = deque()
        self._pending: OrderedDict[str, deque[Job]] = OrderedDict()
        self._queued = 0
        self._busy_by_site: dict[str, int] = {}  # site -> workers holding its runs
        self._next_id = 0
        self._spawned = False
        self.restarts = 0

    # -- lifecycle ----------------------------------------------------------------------

    def startService(self) -> None:
        # Workers start with the first script to run: a server hosting only static sites never
        # pays their memory, and start-up stays fast.
        super().startService()
        self._spawned = False

    def _ensure_workers(self) -> None:
        if not self._spawned and self.running:
            self._spawned = True
            for _ in range(self.size):
                self._spawn()

    def stopService(self) -> Deferred:
        super().stopService()
        ended = [w.ended for w in self._workers]
        for worker in list(self._workers):
            worker.kill()
        return DeferredList(ended)

    def _spawn(self) -> None:
        worker = WorkerProcess(self._on_message, self._on_exit)
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "PYTHONPATH": _FAZT_PATH, "PYTHONDONTWRITEBYTECODE": "1"}
        transport = self._reactor.spawnProcess(
            worker, sys.executable, [sys.executable, "-m", "fazt.runtime.worker"], env=env,
            childFDs={0: "w", 1: "r", 2: "r"},
        )
        worker.pid = transport.pid
        self._workers.append(worker)

    # -- running ------------------------------------------------------------------------

    def run(self, site: str, script_hash: str, src: str, request: dict, env: dict) -> Deferred[RunResult]:
        """Run a site's script for one request; never errbacks."""
        result: Deferred[RunResult] = Deferred()
        if self._queued >= self.max_queue:
            result.callback(RunResult(None, [], "busy", "too many scripts waiting to run"))
            return result
        self._ensure_workers()
        queue = self._pending.get(site)
        if queue is None:
            queue = self._pending[site] = deque()
        queue.append(Job(site, script_hash, src, request, env, result))
        self._queued += 1
        self._dispatch()
        return result

    def _dispatch(self) -> None:
        while self._idle and self._queued:
            job = self._next_job()
            if job is None:
                break
            worker = self._idle.popleft()
            self._busy_by_site[job.site] = self._busy_by_site.get(job.site, 0) + 1
            self._send_job(worker, job)
        if self._queued and self.depth > 1:
            self._send_ahead()

    def _next_job(self) -> Optional[Job]:
        for site in list(self._pending):
            if self._busy_by_site.get(site, 0) >= self.per_site:
                continue
            queue = self._pending.pop(site)
            job = queue.popleft()
            if queue:
                self._pending[site] = queue  # to the back: round-robin between sites
            self._queued -= 1
            return job
        return None

    def _send_ahead(self) -> None:
        """Give busy workers their site's next run, unless another site waits for a worker."""
        busy = self._busy_by_site
        for site in self._pending:
            if busy.get(site, 0) < self.per_site:
                return  # that site gets the next worker to become idle, without a detour
        for worker in self._workers:
            jobs = worker.jobs
            if not jobs or len(jobs) >= self.depth:
                continue
            site = jobs[0].site  # a worker only ever holds one site's runs
            queue = self._pending.get(site)
            if queue:
                job = queue.popleft()
                if not queue:
                    del self._pending[site]
                self._queued -= 1
                self._send_job(worker, job)
                if not self._queued:
                    return

    def _send_job(self, worker: WorkerProcess, job: Job) -> None:
        self._next_id += 1
        job.id = self._next_id
        worker.jobs.append(job)
        if len(worker.jobs) == 1:
            self._started(worker)
        self._send_run(worker, job, with_source=(job.site, job.script_hash) not in worker.scripts)

    def _send_run(self, worker: WorkerProcess, job: Job, with_source: bool) -> None:
        if with_source:
            worker.scripts.add((job.site, job.script_hash))
        worker.send({"t": "run", "id": job.id, "site": job.site, "hash": job.script_hash,
                     "src": job.src if with_source else None, "req": job.request, "env": job.env,
                     "cpu_ms": self.cpu_ms})

    def _started(self, worker: WorkerProcess) -> None:
        """The worker's first job is now running: its wall-clock deadline counts from now."""
        worker.started = self._reactor.seconds()
        # One timer per worker, re-armed only when it fires early: no callLater per run.
        if worker.deadline is None:
            worker.deadline = self._reactor.callLater(self.wall_seconds, self._overtime, worker)

    def _overtime(self, worker: WorkerProcess) -> None:
        worker.deadline = None
        if worker.job is None or worker not in self._workers:
            return
        left = worker.started + self.wall_seconds - self._reactor.seconds()
        if left > 0:
            worker.deadline = self._reactor.callLater(left, self._overtime, worker)
            return
        self._drop_jobs(worker, RunResult(None, [], "timeout", f"script ran longer than {self.wall_seconds:g} s"))
        worker.kill()

    def _complete(self, worker: WorkerProcess, job: Job, result: RunResult) -> None:
        """A run finished: the worker goes on with its next job or becomes idle."""
        head = worker.jobs[0] is job
        worker.jobs.remove(job)
        if worker.jobs:
            if head:
                self._started(worker)
        else:
            self._release(worker, job.site)
            self._idle.append(worker)
        self._dispatch()  # first, so the worker is busy again while the response is written
        job.result.callback(result)

    def _release(self, worker: WorkerProcess, site: str) -> None:
        self._busy_by_site[site] -= 1
        if not self._busy_by_site[site]:
            del self._busy_by_site[site]

    def _drop_jobs(self, worker: WorkerProcess, result: RunResult) -> None:
        """Fail the worker's running job with C{result}; its other jobs never started: requeue them."""
        if not worker.jobs:
            return
        running, *waiting = worker.jobs
        worker.jobs.clear()
        self._release(worker, running.site)
        if waiting and not self.running:  # stopping: no worker will ever take them
            for job in waiting:
                job.result.callback(RunResult(None, [], "crash", "the JS worker pool stopped"))
        elif waiting:
            queue = self._pending.get(running.site)
            if queue is None:
                queue = self._pending[running.site] = deque()
            queue.extendleft(reversed(waiting))
            self._queued += len(waiting)
        self._dispatch()
        running.result.callback(result)

    # -- messages from workers ----------------------------------------------------------

    def _on_message(self, worker: WorkerProcess, message: dict) -> None:
        kind = message.get("t")
        if kind == "ready":
            worker.ready = True
            self._idle.append(worker)
            self._dispatch()
            return
        if kind == "call":
            job = worker.find(message.get("run"))
            if job is not None:
                self._host_call(worker, job, message)
            return
        job = worker.find(message.get("id"))
        if job is None:
            return  # a late answer for a run already given up on
        if kind == "done":
            self._complete(worker, job, RunResult(message.get("response"), message.get("logs") or []))
        elif kind == "failed":
            self._complete(worker, job, RunResult(None, message.get("logs") or [], message.get("kind", "exception"),
                                                  str(message.get("message", "")), message.get("stack")))
        elif kind == "need_src":
            # The worker goes on with the runs already in its pipe first: this one is now last.
            head = worker.jobs[0] is job
            worker.jobs.remove(job)
            worker.jobs.append(job)
            if head and worker.jobs[0] is not job:
                self._started(worker)
            self._send_run(worker, job, with_source=True)

    def _host_call(self, worker: WorkerProcess, job: Job, message: dict) -> None:
        call_id = message.get("id")
        d = self._host.call(job.site, str(message.get("fn")), message.get("args") or [], job.budget)

        def reply(value):
            if job in worker.jobs:
                worker.send({"t": "reply", "id": call_id, "ok": True, "value": value})

        def refused(failure):
            if job in worker.jobs:
                worker.send({"t": "reply", "id": call_id, "ok": False, "error": str(failure.value)})

        d.addCallbacks(reply, refused)

    def _on_exit(self, worker: WorkerProcess) -> None:
        if worker.deadline is not None and worker.deadline.active():
            worker.deadline.cancel()
        worker.deadline = None
        if worker in self._workers:
            self._workers.remove(worker)
        if worker in self._idle:
            self._idle.remove(worker)
        self._drop_jobs(worker, RunResult(None, [], "crash", "the script's worker process died"))
        if self.running:
            self.restarts += 1
            # A worker that dies before it is ready would otherwise respawn in a tight loop.
            delay = 0 if worker.ready else 1.0
            self._reactor.callLater(delay, self._respawn)

    def _respawn(self) -> None:
        if self.running and len(self._workers) < self.size:
            self._spawn()
