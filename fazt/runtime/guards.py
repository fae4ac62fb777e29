"""The worker process's guards: its CPU budget per run, its address space, its resident memory.

Used by L{fazt.runtime.worker} only, in the worker process (signals and rlimits of its own).
"""

import os
import resource
import signal

from fazt.runtime.sandbox import CpuLimitExceeded

ADDRESS_SPACE_LIMIT = 1536 * 1024 * 1024


def log(text):
    """Write a diagnostic line to stderr (the parent logs it)."""
    try:
        os.write(2, f"[fazt worker {os.getpid()}] {text}\n".encode("utf-8", "replace"))
    except OSError:
        pass


class CpuGuard:
    """Per-run CPU budget: arms ``ITIMER_PROF``; its SIGPROF handler raises ``CpuLimitExceeded``.

    After the budget expires the timer keeps ticking every ``TICK`` seconds of CPU,
    so a run that survived one tick (e.g. it landed in Python code) gets another.
    While the worker is doing pipe I/O for a host call, a tick is deferred until
    the I/O is over, so a frame is never cut in half. A run that still has not
    stopped after ``RUNAWAY_TICKS`` ticks makes the worker exit (the parent fails
    that request and starts a new worker).
    """

    TICK = 0.01
    RUNAWAY_TICKS = 30

    def __init__(self):
        self.armed = False
        self.ticks = 0
        self._io_depth = 0
        self._deferred = False
        signal.signal(signal.SIGPROF, self._on_tick)

    def arm(self, cpu_ms):
        """Start the budget of one run: ``cpu_ms`` milliseconds of process CPU time."""
        self.ticks = 0
        self._io_depth = 0
        self._deferred = False
        self.armed = True
        signal.setitimer(signal.ITIMER_PROF, max(cpu_ms, 1) / 1000.0, self.TICK)

    def disarm(self):
        """Stop the timer; a tick already on its way is ignored.

        A tick may still land just before this runs (in a ``finally`` that calls it) and raise;
        callers that must end disarmed retry (``settle``).
        """
        self.armed = False
        signal.setitimer(signal.ITIMER_PROF, 0, 0)

    def settle(self):
        """Disarm for sure, even if ticks keep landing on the way."""
        while True:
            try:
                self.disarm()
                return
            except CpuLimitExceeded:
                continue

    def enter_io(self):
        """Defer ticks until the matching ``leave_io``."""
        self._io_depth += 1

    def leave_io(self):
        """End an I/O section; raise ``CpuLimitExceeded`` if a tick came meanwhile."""
        self._io_depth -= 1
        if self._deferred and self.armed and not self._io_depth:
            self._deferred = False
            raise CpuLimitExceeded()

    def _on_tick(self, signum, frame):
        if not self.armed:
            return
        self.ticks += 1
        if self._io_depth:
            self._deferred = True
            return
        if self.ticks > self.RUNAWAY_TICKS:
            log("a script kept running after its CPU budget was exhausted; exiting")
            os._exit(3)
        raise CpuLimitExceeded()


def resident_bytes():
    """Resident set size of this process in bytes (0 if unknown)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def limit_address_space(limit=ADDRESS_SPACE_LIMIT):
    """Cap the process's address space (RLIMIT_AS) at ``limit`` bytes, below any hard limit."""
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
