"""The worker's timers: the runs' JS timers and their ``ctx.waitUntil`` deadlines, on one heap.

Each entry is ``(due, seq, run id, timer id)``, the timer id None for a run's waitUntil deadline.
A cleared timer, or one of a run that ended, is not taken off the heap: it is skipped when it
comes up (the timers a run still has armed are its ``Run.timers``, L{fazt.runtime.runs}).
"""

import heapq


class RunTimers:
    """Timers of the runs in ``runs`` (the loop's dict of runs in flight by id), on ``clock``."""

    def __init__(self, clock, runs):
        self._clock = clock
        self._runs = runs
        self._heap = []
        self._seq = 0

    def add(self, due, run_id, timer_id):
        """Arm timer ``timer_id`` of run ``run_id`` (None: its waitUntil deadline) for ``due``."""
        self._seq += 1
        heapq.heappush(self._heap, (due, self._seq, run_id, timer_id))

    def next_wakeup(self):
        """Seconds until the next timer is due (None: no timer)."""
        while self._heap and not self._alive(self._heap[0]):
            heapq.heappop(self._heap)
        if not self._heap:
            return None
        return max(0.0, self._heap[0][0] - self._clock())

    def due(self):
        """Take every timer that is due: ``(run, timer id)`` for each whose run is still in flight."""
        now = self._clock()
        while self._heap and self._heap[0][0] <= now:
            _, _, run_id, timer_id = heapq.heappop(self._heap)
            run = self._runs.get(run_id)
            if run is not None:
                yield run, timer_id

    def _alive(self, timer):
        run = self._runs.get(timer[2])
        return run is not None and (timer[3] is None or timer[3] in run.timers)
