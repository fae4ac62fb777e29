"""The JS worker process: ``python -m fazt.runtime.worker`` (the worker side of PROTOCOL.md v2).

It runs dukpy in its main thread. Frames come on stdin and go out on stdout (nothing else ever
goes to stdout; stray prints are redirected to stderr). The loop waits on stdin (and its next
timer), hands frames to the L{fazt.runtime.loop.Engine} and runs one work item (slice) at a time,
reading whatever arrived between two slices, so many runs are in flight at once. A ``sync`` host
call blocks on the pipe until its reply; frames that arrive meanwhile wait their turn (a ping is
answered at once). RLIMIT_AS caps the whole process as a backstop.
"""

import gc
import os
import select
import sys
from collections import deque

from fazt.runtime.guards import CpuGuard, limit_address_space, log, resident_bytes
from fazt.runtime.loop import MAX_RUNS, Engine
from fazt.runtime.protocol import FrameDecoder, ProtocolError, encode_frame

MEMORY_CHECK_EVERY = 256  # slices between resident-memory checks
MEMORY_HIGH_WATER = 1024 * 1024 * 1024  # above it, idle interpreters are dropped
_READ_SIZE = 1 << 16


class Worker:
    """The frame loop around an L{Engine}: pipe I/O, pings, blocking waits for sync replies."""

    def __init__(self, in_fd, out_fd):
        self.in_fd = in_fd
        self.out_fd = out_fd
        self.engine = Engine(self.send, self.wait_reply, CpuGuard())
        self._decoder = FrameDecoder()
        self._inbox = deque()  # frames read but not yet handled
        self._slices = 0

    def serve(self):
        """Announce readiness, then serve frames and run work until stdin closes."""
        self.send({"t": "ready", "pid": os.getpid(), "max_runs": MAX_RUNS})
        engine = self.engine
        while True:
            self.pump(0 if engine.has_work() else engine.next_wakeup())
            engine.fire_due()
            if engine.has_work():
                engine.step()
                self._after_slice()

    # -- pipe I/O ----------------------------------------------------------------------

    def pump(self, timeout):
        """Handle every frame waiting; wait up to ``timeout`` seconds (None: for ever) for one."""
        if not self._inbox and select.select([self.in_fd], [], [], timeout)[0]:
            self._inbox.extend(self._read())
        while self._inbox:
            self.handle(self._inbox.popleft())

    def _read(self):
        """The frames completed by one read (blocking until data comes)."""
        data = os.read(self.in_fd, _READ_SIZE)
        if not data:
            self.exit(0, "stdin closed; exiting")
        try:
            return self._decoder.feed(data)
        except ProtocolError as exc:
            self.exit(2, f"bad frame from the parent: {exc}")

    def handle(self, message):
        """One frame from the parent."""
        if message.get("t") == "ping":
            self.send({"t": "pong"})
        else:
            self.engine.handle(message)

    def wait_reply(self, call_id):
        """Block until the reply to call ``call_id``; keep other frames for later (pings answered)."""
        for index, message in enumerate(self._inbox):
            if message.get("t") == "reply" and message.get("id") == call_id:
                del self._inbox[index]
                return message
        while True:
            found = None
            for message in self._read():
                if found is None and message.get("t") == "reply" and message.get("id") == call_id:
                    found = message
                elif message.get("t") == "ping":
                    self.send({"t": "pong"})
                else:
                    self._inbox.append(message)
            if found is not None:
                return found

    def send(self, message):
        """Write one message to the parent as a frame (ProtocolError if it cannot be a frame)."""
        frame = memoryview(encode_frame(message))
        try:
            while frame:
                frame = frame[os.write(self.out_fd, frame):]
        except BrokenPipeError:
            self.exit(0, "stdout closed; exiting")

    def exit(self, code, reason):
        """Leave the process at once (no cleanup can hang it)."""
        log(reason)
        os._exit(code)

    def _after_slice(self):
        self._slices += 1
        if self._slices % MEMORY_CHECK_EVERY == 0 and resident_bytes() > MEMORY_HIGH_WATER:
            log("resident memory is high; dropping idle interpreters")
            self.engine.interpreters.trim()


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
    worker = Worker(0, frames_fd)
    # The modules and the runtime's sources live as long as the process: no full GC walks them (see
    # fazt.base.heap, which the parent uses; this process stays free of Twisted).
    gc.collect()
    gc.freeze()
    worker.serve()


if __name__ == "__main__":
    main()
