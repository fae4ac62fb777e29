"""The parent's end of one JS worker process: its pipes, the jobs sent to it, its deadline."""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from twisted.internet.defer import Deferred
from twisted.internet.protocol import ProcessProtocol
from twisted.logger import Logger

from fazt.runtime.protocol import FrameDecoder, ProtocolError, encode_frame

_log = Logger()


@dataclass
class RunResult:
    """What one run of a script came to: a response, or a failure kind and message."""

    response: Optional[dict]
    logs: list
    failure: Optional[str] = None  # "exception" | "timeout" | "memory" | "crash" | "busy" | "protocol"
    message: str = ""
    stack: Optional[str] = None


@dataclass(eq=False)  # jobs are found by identity (a worker's deque), never compared by value
class Job:
    """One request for a site's script, from C{WorkerPool.run} until its result fires."""

    site: str
    script_hash: str
    src: str
    request: dict
    env: dict
    result: Deferred
    id: int = 0
    budget: dict = field(default_factory=dict)


class WorkerProcess(ProcessProtocol):
    """One worker: the jobs sent to it, in the order it will run them (at most the pool's depth).

    The first job is the one running; the others are already in the worker's pipe, so it starts
    the next one without waiting for the parent (the parent reads the finished one meanwhile).
    What the worker says goes to C{on_message(worker, message)}, one call per frame; when its
    process has ended, C{on_exit(worker)} is called, then L{ended} fires.
    """

    def __init__(self, on_message: Callable[[WorkerProcess, dict], None],
                 on_exit: Callable[[WorkerProcess], None]) -> None:
        self._on_message = on_message
        self._on_exit = on_exit
        self.decoder = FrameDecoder()
        self.ready = False
        self.jobs: deque[Job] = deque()
        self.scripts: set[tuple[str, str]] = set()
        self.deadline = None
        self.started = 0.0  # reactor time at which the first job started (the wall deadline's origin)
        self.ended: Deferred = Deferred()
        self.pid: Optional[int] = None

    @property
    def job(self) -> Optional[Job]:
        """The job running (as far as the parent knows), or None when idle."""
        return self.jobs[0] if self.jobs else None

    def find(self, job_id: Any) -> Optional[Job]:
        """The job with this run id among those sent to this worker."""
        for job in self.jobs:
            if job.id == job_id:
                return job
        return None

    def outReceived(self, data: bytes) -> None:
        try:
            messages = self.decoder.feed(data)
        except ProtocolError as exc:
            _log.warn("JS worker {pid} broke the protocol: {err}", pid=self.pid, err=exc)
            self.kill()
            return
        for message in messages:
            self._on_message(self, message)

    def errReceived(self, data: bytes) -> None:
        _log.info("JS worker {pid}: {text}", pid=self.pid, text=data.decode("utf-8", "replace").rstrip())

    def processEnded(self, reason) -> None:
        self._on_exit(self)
        self.ended.callback(None)

    def send(self, message: dict) -> None:
        """Write one frame to the worker's stdin, at once when nothing is buffered before it.

        Twisted's C{transport.write} only buffers and writes on the next reactor turn (two
        epoll_ctl calls and a wake-up per frame); the pipe is non-blocking, so a direct write is
        safe, and whatever does not fit goes through the transport's buffer, in order.
        """
        frame = encode_frame(message)
        writer = getattr(self.transport, "pipes", {}).get(0)
        if writer is not None and not writer._tempDataBuffer and len(writer.dataBuffer) == writer.offset:
            try:
                written = os.write(writer.fd, frame)
            except BlockingIOError:
                written = 0
            except OSError:
                return  # the worker is gone; processEnded follows
            frame = frame[written:]
            if not frame:
                return
        self.transport.write(frame)

    def kill(self) -> None:
        try:
            self.transport.signalProcess("KILL")
        except Exception:  # already gone
            pass
