"""The parent's end of one JS worker process (its pipes, its runs in flight), and what runs come to."""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Optional

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.protocol import ProcessProtocol
from twisted.logger import Logger

from fazt.runtime.code import CheckResult, CodeBundle
from fazt.runtime.lanes import Load
from fazt.runtime.protocol import FrameDecoder, ProtocolError, encode_frame

_log = Logger()


@dataclass
class RunResult:
    """What one run of a script came to: a response, or a failure kind and message.

    C{failure}: "exception" | "timeout" | "memory" | "crash" | "busy" | "protocol" | "method"
    (the function module exports no handler for the method: C{allow} lists those it does).
    C{cpu_ms}: the CPU the run used, as the worker measured it (0 when unknown).
    """

    response: Optional[dict]
    logs: list
    failure: Optional[str] = None
    message: str = ""
    stack: Optional[str] = None
    cpu_ms: float = 0.0
    allow: Optional[list] = None


@dataclass(eq=False)  # jobs are found by identity or id, never compared by value
class Job:
    """One run (or one check) from C{WorkerPool.run}/C{check} until its result fires.

    C{frame} is the C{run}/C{check} frame without its id (dropped once sent); C{budget} is the
    run's host-call state (fetch counts); C{heavy} is set by the scheduler when it is placed.
    """

    site: str
    code: CodeBundle
    frame: Optional[dict]
    result: Optional[Deferred]
    check: bool = False
    id: int = 0
    heavy: bool = False
    estimate: float = 0.0  # the CPU ms the scheduler expects it to take (its site's recent cost)
    worker: Optional["WorkerProcess"] = None
    budget: dict = field(default_factory=dict)

    @property
    def queue_key(self) -> Hashable:
        """Runs queue per site; a site's deploy checks have their own queue (see L{fazt.runtime.lanes})."""
        return ("check", self.site) if self.check else self.site

    def settle(self, outcome: dict) -> None:
        """Fire the result from a worker's C{done}/C{failed}/C{checked} frame (or one made up by the pool).

        The job lets go of its Deferred: it may stay among its worker's recent runs for a while, and
        must not keep a response body alive there.
        """
        result, self.result = self.result, None
        if result is not None and not result.called:
            result.callback(check_result(outcome) if self.check else run_result(outcome))


def run_result(outcome: dict) -> RunResult:
    """The L{RunResult} of a C{done} or C{failed} frame."""
    logs = outcome.get("logs") or []
    cpu_ms = _number(outcome.get("cpu_ms"))
    if outcome.get("t") == "done":
        return RunResult(outcome.get("response"), logs, cpu_ms=cpu_ms)
    kind = str(outcome.get("kind") or "exception")
    allow = outcome.get("allow") if kind == "method" and isinstance(outcome.get("allow"), list) else None
    return RunResult(None, logs, kind, str(outcome.get("message", "")), outcome.get("stack"), cpu_ms, allow)


def check_result(outcome: dict) -> CheckResult:
    """The L{CheckResult} of a C{checked} frame; a check that could not finish is not ok."""
    if outcome.get("t") == "checked":
        line = outcome.get("line")
        file = outcome.get("file")
        return CheckResult(bool(outcome.get("ok")), file if isinstance(file, str) else None,
                           line if isinstance(line, int) and not isinstance(line, bool) else None,
                           str(outcome.get("message") or ""))
    return CheckResult(False, None, None, f"the code could not be checked: {outcome.get('message', '')}")


def failure(kind: str, message: str) -> dict:
    """A C{failed} outcome made up by the parent (the worker never answered)."""
    return {"t": "failed", "kind": kind, "message": message, "logs": []}


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 else 0.0


RECENT_RUNS = 4096
"""Finished runs a worker remembers, for their C{late} logs and the host calls of their C{waitUntil} work."""


class WorkerProcess(ProcessProtocol):
    """One worker: its slot in the pool, its load, the runs in flight on it and those just finished.

    What the worker says goes to C{on_message(worker, message)}, one call per frame; when its
    process has ended, C{on_exit(worker)} is called, then L{ended} fires.
    """

    def __init__(self, slot: int, on_message: Callable[[WorkerProcess, dict], None],
                 on_exit: Callable[[WorkerProcess], None], clock: Optional[IReactorTime] = None) -> None:
        self._on_message = on_message
        self._clock = clock
        self._outbox: list[bytes] = []  # frames sent during this reactor turn, written together at its end
        self._flushing: Optional[IDelayedCall] = None
        self._on_exit = on_exit
        self.decoder = FrameDecoder()
        self.slot = slot
        self.load = Load(slot)
        self.ready = False
        self.alive = True
        self.runs: dict[int, Job] = {}
        self.recent: OrderedDict[int, Job] = OrderedDict()
        self.frames = 0  # frames received so far (the stall watch compares it between ticks)
        self.sync_calls = 0  # sync host calls not answered yet: the worker is waiting on the parent
        self.seen = 0  # C{frames} at the stall watch's last tick (before "ready": the ticks spent starting)
        self.pinged = False
        self.stalled = False  # killed by the stall watch
        self.ended: Deferred = Deferred()
        self.pid: Optional[int] = None

    def take(self, job: Job) -> None:
        """C{job} is being sent to this worker."""
        job.worker = self
        self.runs[job.id] = job

    def finish(self, job: Job) -> None:
        """C{job} is answered (or given up on): it moves to the recently finished runs."""
        if self.runs.pop(job.id, None) is None:
            return
        self.recent[job.id] = job
        if len(self.recent) > RECENT_RUNS:
            self.recent.popitem(last=False)

    def find(self, run_id: Any) -> Optional[Job]:
        """The run with this id, in flight or recently finished, or None."""
        if not isinstance(run_id, int):
            return None
        return self.runs.get(run_id) or self.recent.get(run_id)

    def outReceived(self, data: bytes) -> None:
        self.frames += 1  # bytes count as a sign of life, even before a whole frame is in
        try:
            messages = self.decoder.feed(data)
        except ProtocolError as exc:
            _log.warn("JS worker {pid} broke the protocol: {err}", pid=self.pid, err=exc)
            self.kill()
            return
        for message in messages:
            try:
                self._on_message(self, message)
            except Exception:  # a bug in a handler must not close the worker's pipe (Twisted would)
                _log.failure("handling a frame from JS worker {pid}", pid=self.pid)

    def errReceived(self, data: bytes) -> None:
        _log.info("JS worker {pid}: {text}", pid=self.pid, text=data.decode("utf-8", "replace").rstrip())

    def processEnded(self, reason) -> None:
        self.alive = False
        self._outbox.clear()
        if self._flushing is not None and self._flushing.active():
            self._flushing.cancel()
        self._flushing = None
        self._on_exit(self)
        self.ended.callback(None)

    def send(self, message: dict) -> None:
        """Send one frame to the worker's stdin: with a clock, at the end of this reactor turn.

        The frames of one turn (the runs of every request read in it, the replies to host calls)
        go out in one write: a write per frame woke the worker once per run, and on a busy 2-core
        machine each wake-up was a context switch for both processes.
        """
        if not self.alive:
            return
        frame = encode_frame(message)
        if self._clock is None:
            self._write(frame)
            return
        self._outbox.append(frame)
        if self._flushing is None:
            self._flushing = self._clock.callLater(0, self.flush)

    def flush(self) -> None:
        """Write the frames sent so far (called at the end of the reactor turn they were sent in)."""
        self._flushing = None
        frames, self._outbox = self._outbox, []
        if frames and self.alive:
            self._write(frames[0] if len(frames) == 1 else b"".join(frames))

    def _write(self, data: bytes) -> None:
        """Write at once when nothing is buffered before it, else through the transport.

        Twisted's C{transport.write} only buffers and writes on the next reactor turn (two
        epoll_ctl calls and a wake-up per write); the pipe is non-blocking, so a direct write is
        safe, and whatever does not fit goes through the transport's buffer, in order.
        """
        writer = getattr(self.transport, "pipes", {}).get(0)
        if writer is not None and not writer._tempDataBuffer and len(writer.dataBuffer) == writer.offset:
            try:
                written = os.write(writer.fd, data)
            except BlockingIOError:
                written = 0
            except OSError:
                return  # the worker is gone; processEnded follows
            data = data[written:]
            if not data:
                return
        self.transport.write(data)

    def kill(self) -> None:
        try:
            self.transport.signalProcess("KILL")
        except Exception:  # already gone
            pass
