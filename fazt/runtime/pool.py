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
from dataclasses import dataclass, field
from typing import Any, Optional

from twisted.application.service import Service
from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.protocol import ProcessProtocol
from twisted.logger import Logger

import fazt
from fazt.runtime.protocol import FrameDecoder, ProtocolError, encode_frame

_log = Logger()
_FAZT_PATH = os.path.dirname(os.path.dirname(os.path.abspath(fazt.__file__)))


@dataclass
class RunResult:
    """What one run of a script came to: a response, or a failure kind and message."""

    response: Optional[dict]
    logs: list
    failure: Optional[str] = None  # "exception" | "timeout" | "memory" | "crash" | "busy" | "protocol"
    message: str = ""
    stack: Optional[str] = None


@dataclass
class _Job:
    site: str
    script_hash: str
    src: str
    request: dict
    env: dict
    result: Deferred
    id: int = 0
    budget: dict = field(default_factory=dict)


class _Worker(ProcessProtocol):
    def __init__(self, pool: "WorkerPool") -> None:
        self.pool = pool
        self.decoder = FrameDecoder()
        self.ready = False
        self.job: Optional[_Job] = None
        self.scripts: set[tuple[str, str]] = set()
        self.deadline = None
        self.ended: Deferred = Deferred()
        self.pid: Optional[int] = None

    def outReceived(self, data: bytes) -> None:
        try:
            messages = self.decoder.feed(data)
        except ProtocolError as exc:
            _log.warn("JS worker {pid} broke the protocol: {err}", pid=self.pid, err=exc)
            self.kill()
            return
        for message in messages:
            self.pool._on_message(self, message)

    def errReceived(self, data: bytes) -> None:
        _log.info("JS worker {pid}: {text}", pid=self.pid, text=data.decode("utf-8", "replace").rstrip())

    def processEnded(self, reason) -> None:
        self.pool._on_exit(self)
        self.ended.callback(None)

    def send(self, message: dict) -> None:
        self.transport.write(encode_frame(message))

    def kill(self) -> None:
        try:
            self.transport.signalProcess("KILL")
        except Exception:  # already gone
            pass


class WorkerPool(Service):
    """Runs site scripts on C{size} worker processes."""

    def __init__(self, reactor: Any, host: Any, size: Optional[int] = None, cpu_ms: int = 100,
                 wall_seconds: float = 10.0, max_queue: int = 1000, per_site: Optional[int] = None) -> None:
        self._reactor = reactor
        self._host = host
        self.size = size or os.cpu_count() or 1
        self.cpu_ms = cpu_ms
        self.wall_seconds = wall_seconds
        self.max_queue = max_queue
        self.per_site = per_site or max(1, self.size - 1)
        self._workers: list[_Worker] = []
        self._idle: deque[_Worker] = deque()
        self._pending: OrderedDict[str, deque[_Job]] = OrderedDict()
        self._queued = 0
        self._busy_by_site: dict[str, int] = {}
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
        worker = _Worker(self)
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
        self._pending.setdefault(site, deque()).append(_Job(site, script_hash, src, request, env, result))
        self._queued += 1
        self._dispatch()
        return result

    def _dispatch(self) -> None:
        while self._idle and self._queued:
            job = self._next_job()
            if job is None:
                return
            worker = self._idle.popleft()
            self._start(worker, job)

    def _next_job(self) -> Optional[_Job]:
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

    def _start(self, worker: _Worker, job: _Job) -> None:
        self._next_id += 1
        job.id = self._next_id
        worker.job = job
        self._busy_by_site[job.site] = self._busy_by_site.get(job.site, 0) + 1
        worker.deadline = self._reactor.callLater(self.wall_seconds, self._overtime, worker, job)
        self._send_run(worker, job, with_source=(job.site, job.script_hash) not in worker.scripts)

    def _send_run(self, worker: _Worker, job: _Job, with_source: bool) -> None:
        if with_source:
            worker.scripts.add((job.site, job.script_hash))
        worker.send({"t": "run", "id": job.id, "site": job.site, "hash": job.script_hash,
                     "src": job.src if with_source else None, "req": job.request, "env": job.env,
                     "cpu_ms": self.cpu_ms})

    def _finish(self, worker: _Worker, result: RunResult) -> None:
        job, worker.job = worker.job, None
        if worker.deadline is not None and worker.deadline.active():
            worker.deadline.cancel()
        worker.deadline = None
        self._busy_by_site[job.site] -= 1
        if not self._busy_by_site[job.site]:
            del self._busy_by_site[job.site]
        job.result.callback(result)

    def _overtime(self, worker: _Worker, job: _Job) -> None:
        if worker.job is job:
            worker.deadline = None
            self._finish(worker, RunResult(None, [], "timeout", f"script ran longer than {self.wall_seconds:g} s"))
            worker.kill()

    # -- messages from workers ----------------------------------------------------------

    def _on_message(self, worker: _Worker, message: dict) -> None:
        kind = message.get("t")
        if kind == "ready":
            worker.ready = True
            self._idle.append(worker)
            self._dispatch()
            return
        job = worker.job
        if job is None:
            return  # a late answer for a run already given up on
        if kind == "call":
            if message.get("run") == job.id:
                self._host_call(worker, job, message)
            return
        if message.get("id") != job.id:
            return
        if kind == "done":
            self._finish(worker, RunResult(message.get("response"), message.get("logs") or []))
            self._idle.append(worker)
            self._dispatch()
        elif kind == "failed":
            self._finish(worker, RunResult(None, message.get("logs") or [], message.get("kind", "exception"),
                                           str(message.get("message", "")), message.get("stack")))
            self._idle.append(worker)
            self._dispatch()
        elif kind == "need_src":
            self._send_run(worker, job, with_source=True)

    def _host_call(self, worker: _Worker, job: _Job, message: dict) -> None:
        call_id = message.get("id")
        d = self._host.call(job.site, str(message.get("fn")), message.get("args") or [], job.budget)

        def reply(value):
            if worker.job is job:
                worker.send({"t": "reply", "id": call_id, "ok": True, "value": value})

        def refused(failure):
            if worker.job is job:
                worker.send({"t": "reply", "id": call_id, "ok": False, "error": str(failure.value)})

        d.addCallbacks(reply, refused)

    def _on_exit(self, worker: _Worker) -> None:
        if worker in self._workers:
            self._workers.remove(worker)
        if worker in self._idle:
            self._idle.remove(worker)
        if worker.job is not None:
            self._finish(worker, RunResult(None, [], "crash", "the script's worker process died"))
        if self.running:
            self.restarts += 1
            # A worker that dies before it is ready would otherwise respawn in a tight loop.
            delay = 0 if worker.ready else 1.0
            self._reactor.callLater(delay, self._respawn)

    def _respawn(self) -> None:
        if self.running and len(self._workers) < self.size:
            self._spawn()
