"""The JS worker process: ``python -m fazt.runtime.worker`` (the worker side of PROTOCOL.md).

It runs dukpy in its main thread, one request at a time, reading frames from
stdin and writing frames to stdout (nothing else ever goes to stdout; stray
prints are redirected to stderr). Each run gets a CPU budget enforced with
``ITIMER_PROF``: the SIGPROF handler raises ``CpuLimitExceeded``, which
QuickJS's interrupt check turns into an uncatchable interruption. Time spent
blocked on the pipe waiting for host-call replies uses no CPU, so it does not
count. RLIMIT_AS caps the whole process as a backstop.
"""

import os
import sys
import traceback
from collections import deque

from fazt.runtime import protocol
from fazt.runtime.guards import CpuGuard, limit_address_space, log, resident_bytes
from fazt.runtime.protocol import FrameDecoder, ProtocolError, encode_frame
from fazt.runtime.sandbox import CpuLimitExceeded, HostCallError, SiteRuntimeCache

RUNTIMES_PER_WORKER = 32
MEMORY_CHECK_EVERY = 32  # runs between resident-memory checks
MEMORY_HIGH_WATER = 1024 * 1024 * 1024  # above it, idle site runtimes are dropped
_READ_SIZE = 1 << 16
MAX_WAITING_RUNS = 8  # runs kept while a host call waits (the parent sends at most a few ahead)


class Worker:
    """The frame loop: runs requests, performs host calls over the pipe, answers pings."""

    def __init__(self, in_fd, out_fd, runtimes=RUNTIMES_PER_WORKER):
        self.in_fd = in_fd
        self.out_fd = out_fd
        self.runtimes = SiteRuntimeCache(runtimes)
        self.guard = CpuGuard()
        self._decoder = FrameDecoder()
        self._inbox = deque()
        self._later = deque()  # runs that arrived during a host call, in order
        self._current_run = None
        self._call_ids = 0
        self._runs = 0

    def serve(self):
        """Announce readiness, then handle frames until stdin closes."""
        self.send({"t": "ready", "pid": os.getpid()})
        while True:
            self.dispatch(self._later.popleft() if self._later else self.receive())

    # -- pipe I/O ----------------------------------------------------------------------

    def receive(self):
        """Block until the next frame from the parent; exit if the parent is gone or broken."""
        while not self._inbox:
            data = os.read(self.in_fd, _READ_SIZE)
            if not data:
                self.exit(0, "stdin closed; exiting")
            try:
                self._inbox.extend(self._decoder.feed(data))
            except ProtocolError as exc:
                self.exit(2, f"bad frame from the parent: {exc}")
        return self._inbox.popleft()

    def send(self, message):
        """Write one message to the parent as a frame."""
        self.send_frame(encode_frame(message))

    def send_frame(self, frame):
        """Write an already encoded frame."""
        view = memoryview(frame)
        try:
            while view:
                view = view[os.write(self.out_fd, view):]
        except BrokenPipeError:
            self.exit(0, "stdout closed; exiting")

    def exit(self, code, reason):
        """Leave the process at once (no cleanup can hang it)."""
        log(reason)
        os._exit(code)

    # -- messages ----------------------------------------------------------------------

    def dispatch(self, message):
        """Handle one frame received while idle."""
        kind = message.get("t")
        if kind == "run":
            self.handle_run(message)
        elif kind == "ping":
            self.send({"t": "pong"})
        elif kind != "reply":  # a late reply belongs to a run that already ended
            log(f"ignoring a {kind!r} frame")

    def handle_run(self, message):
        """Run one request and answer ``done``, ``failed`` or ``need_src``."""
        run_id = message.get("id")
        problem = _run_problem(message)
        if problem:
            if isinstance(run_id, int):
                self.send({"id": run_id, **protocol.failed("protocol", problem, None, [])})
            else:
                log(f"ignoring a malformed run: {problem}")
            return
        site, script_hash, source = message["site"], message["hash"], message.get("src")
        try:
            runtime = self.runtimes.get(site)
        except Exception as exc:  # e.g. out of memory while creating the interpreter
            self.runtimes.trim(0)
            self.send({"id": run_id, **protocol.failed("memory", f"cannot create an interpreter: {exc}", None, [])})
            return
        if source is None and not runtime.has_script(script_hash):
            self.send({"t": "need_src", "id": run_id})
            return
        outcome = self.run_limited(runtime, run_id, message)
        if runtime.broken or outcome.get("kind") in ("timeout", "memory"):
            self.runtimes.discard(site)  # its state may be inconsistent: the next run starts clean
        self.send_outcome(run_id, outcome)
        self._after_run()

    def run_limited(self, runtime, run_id, message):
        """Run under the CPU budget; whatever happens, return an outcome."""
        self._current_run = run_id
        try:
            try:
                self.guard.arm(message["cpu_ms"])
                return runtime.run(message["hash"], message["req"], message["env"], self.host_call,
                                   source=message.get("src"))
            finally:
                self.guard.disarm()
        except CpuLimitExceeded:  # a tick that landed outside the interpreter
            self.guard.disarm()
            runtime.broken = True
            return protocol.failed("timeout", "CPU time limit exceeded", None, [])
        except MemoryError:
            runtime.broken = True
            return protocol.failed("memory", "out of memory", None, [])
        except Exception as exc:
            runtime.broken = True
            if self.guard.ticks:  # the budget ran out and dukpy reported it oddly
                return protocol.failed("timeout", "CPU time limit exceeded", None, [])
            log("internal error during a run:\n" + traceback.format_exc())
            return protocol.failed("exception", f"internal error in the JS worker: {exc!r}", None, [])
        finally:
            self._current_run = None

    def send_outcome(self, run_id, outcome):
        """Send ``done``/``failed``; a response too big for one frame becomes a failure."""
        message = {"id": run_id, **outcome}
        try:
            frame = encode_frame(message)
        except ProtocolError as exc:
            message = {"id": run_id, **protocol.failed("exception", f"response too large: {exc}", None, [])}
            frame = encode_frame(message)
        self.send_frame(frame)

    def host_call(self, fn, args):
        """Perform a host call for the current run: send ``call``, block until its ``reply``."""
        self._call_ids += 1
        call_id = self._call_ids
        self.guard.enter_io()
        try:
            self.send({"t": "call", "id": call_id, "run": self._current_run, "fn": fn, "args": args})
            reply = self._await_reply(call_id)
        finally:
            self.guard.leave_io()
        if reply.get("ok") is True:
            return reply.get("value")
        raise HostCallError(str(reply.get("error") or f"{fn} failed"))

    def _await_reply(self, call_id):
        while True:
            message = self.receive()
            kind = message.get("t")
            if kind == "reply" and message.get("id") == call_id:
                return message
            if kind == "ping":
                self.send({"t": "pong"})
            elif kind == "run" and len(self._later) < MAX_WAITING_RUNS:
                self._later.append(message)  # sent ahead by the parent: run after this one
            elif kind == "run" and isinstance(message.get("id"), int):
                self.send({"id": message["id"], **protocol.failed("protocol", "the worker is busy", None, [])})
            elif kind != "reply":
                log(f"ignoring a {kind!r} frame during a host call")

    def _after_run(self):
        self._runs += 1
        if self._runs % MEMORY_CHECK_EVERY == 0 and resident_bytes() > MEMORY_HIGH_WATER:
            log("resident memory is high; dropping idle site interpreters")
            self.runtimes.trim(1)


def _run_problem(message):
    """What is wrong with a ``run`` message, or None."""
    checks = (
        (isinstance(message.get("id"), int), "id must be an integer"),
        (isinstance(message.get("site"), str), "site must be a string"),
        (isinstance(message.get("hash"), str), "hash must be a string"),
        (message.get("src") is None or isinstance(message.get("src"), str), "src must be a string or null"),
        (isinstance(message.get("req"), dict), "req must be an object"),
        (isinstance(message.get("env"), dict), "env must be an object"),
        (isinstance(message.get("cpu_ms"), int) and message.get("cpu_ms") > 0, "cpu_ms must be a positive integer"),
    )
    for ok, problem in checks:
        if not ok:
            return problem
    return None


def take_stdout():
    """Return a private fd for frames and point fd 1 (and sys.stdout) at stderr."""
    frames_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return frames_fd


def main():
    """Entry point of the worker process."""
    limit_address_space()
    frames_fd = take_stdout()
    Worker(0, frames_fd).serve()


if __name__ == "__main__":
    main()
