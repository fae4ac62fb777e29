"""The worker's event loop core: runs in flight, their work items, timers and CPU budgets.

Pipe-free: L{Engine} is given ``send(message)`` (a frame to the parent) and ``wait_reply(call_id)``
(block until the parent's reply to a call, buffering everything else): the worker process
(L{fazt.runtime.worker}) gives it its pipes, tests may give it a fake parent. Its host calls
(ids, async calls in flight, blocking waits) are kept by L{fazt.runtime.workercalls.HostCalls}.

Work items (start a run, resume it with a call's reply, fire a timer, ...) wait in one queue per
site and are taken round-robin across sites (L{Engine.step} runs one). Each is one **slice**: one
evaljs into the run's interpreter, armed with the run's remaining CPU budget (``ITIMER_PROF``,
see L{fazt.runtime.guards}; L{fazt.runtime.slices} runs one); the CPU time it used is taken off
that budget. A run over its budget fails with "timeout" and its interpreter is retired (the other
runs in it go on). What a slice did comes back as the lifecycle's events, applied here.
"""

import collections
import time

from fazt.runtime import protocol
from fazt.runtime.checks import run_check
from fazt.runtime.guards import log
from fazt.runtime.interpreters import Interpreters
from fazt.runtime.sandbox import CpuLimitExceeded
from fazt.runtime.runtimers import RunTimers
from fazt.runtime.runs import Run, check_problem, failed_frame, resume_call, run_problem, start_call
from fazt.runtime.scripts import clean_stack
from fazt.runtime.slices import MODULE_LOAD_CPU_MS, housekeeping, load_entry, run_slice, wind_up
from fazt.runtime.workercalls import HostCalls

MAX_RUNS = 256
AFTER_RESPONSE_SECONDS = 10.0  # how long work kept alive with ctx.waitUntil may go on after a run starts


class Engine:
    """Runs, their work items and timers; one slice at a time (see the module docstring)."""

    # CPU is measured with the thread's clock: while ITIMER_PROF is armed, Linux samples the
    # process clock only at scheduler ticks (a slice of 0.2 ms read as 0), the thread clock stays
    # exact, and the worker has one thread.
    def __init__(self, send, wait_reply, guard, clock=time.monotonic, cpu_clock=time.thread_time):
        self._send = send
        self.guard = guard
        self._clock = clock
        self._cpu_clock = cpu_clock
        self.runs = {}
        self.calls = HostCalls(send, wait_reply, guard, self.runs)
        self.interpreters = Interpreters(self.calls)
        self._timers = RunTimers(clock, self.runs)
        self._ready = collections.OrderedDict()  # site -> deque of (action, run id, args)

    # -- frames from the parent -------------------------------------------------------------

    def handle(self, message):
        """Take one frame from the parent (not ping: the worker answers those itself)."""
        kind = message.get("t")
        if kind == "run":
            self._accept_run(message)
        elif kind == "reply":
            self._accept_reply(message)
        elif kind == "cancel":
            run = self.runs.get(message.get("id"))
            if run is not None:
                self._end(run)
                self._enqueue(run.interpreter, ("forget", run.id, ()))
        elif kind == "check":
            problem = check_problem(message)
            if problem is None:
                self._ready.setdefault(message["site"], collections.deque()).append(("check", message, ()))
            elif isinstance(message.get("id"), int):
                self.send({"t": "checked", "id": message["id"], "ok": False, "file": None, "line": None,
                           "message": f"malformed check: {problem}"})
        else:
            log(f"ignoring a {kind!r} frame")

    def _accept_run(self, message):
        problem = run_problem(message)
        if problem is not None:
            if isinstance(message.get("id"), int):
                self._send_failed(message["id"], "protocol", problem, None, [], 0.0)
            else:
                log(f"ignoring a malformed run: {problem}")
            return
        if len(self.runs) >= MAX_RUNS:  # the parent sends at most max_runs (see "ready")
            self._send_failed(message["id"], "protocol", f"the worker already holds {MAX_RUNS} runs", None, [], 0.0)
            return
        try:
            interpreter = self.interpreters.get(message["site"], message["code"])
        except Exception as exc:  # e.g. out of memory while creating the interpreter
            self.interpreters.trim()
            self._send_failed(message["id"], "memory", f"cannot create an interpreter: {exc}", None, [], 0.0)
            return
        run = Run(message, interpreter, self._clock())
        self.runs[run.id] = run
        interpreter.runs.add(run.id)
        self._enqueue(interpreter, ("start", run.id, ()))

    def _accept_reply(self, message):
        run = self.calls.accept_reply(message)
        if run is not None:
            self._enqueue(run.interpreter, ("resume", run.id, (message["id"],)))

    def _enqueue(self, interpreter, item):
        interpreter.queued += 1
        self._ready.setdefault(interpreter.site, collections.deque()).append((interpreter, item))

    # -- the loop's questions -----------------------------------------------------------------

    def has_work(self):
        """Whether a work item is ready."""
        return bool(self._ready)

    def next_wakeup(self):
        """Seconds until the next timer is due (None: no timer)."""
        return self._timers.next_wakeup()

    def fire_due(self):
        """Queue the work of every timer that is due."""
        for run, timer_id in self._timers.due():
            if timer_id is None:
                self._enqueue(run.interpreter, ("expire", run.id, ()))
            elif timer_id in run.timers:
                run.timers.discard(timer_id)
                self._enqueue(run.interpreter, ("fire", run.id, (timer_id,)))

    # -- slices -------------------------------------------------------------------------------

    def step(self):
        """Run the next work item (round-robin across sites); the CPU timer is off afterwards."""
        try:
            self._step()
        except CpuLimitExceeded:  # a tick that landed between a slice and its disarm
            log("a CPU-timer tick escaped a slice")
        finally:
            self.guard.settle()

    def _step(self):
        site, queue = next(iter(self._ready.items()))
        entry = queue.popleft()
        if queue:
            self._ready.move_to_end(site)
        else:
            del self._ready[site]
        if entry[0] == "check":
            self.calls.current = None
            self.send(run_check(entry[1], self.calls, self.guard))
            return
        interpreter, (action, run_id, args) = entry
        interpreter.queued -= 1
        if action == "forget":
            self._housekeeping(interpreter, "__fazt.forget(dukpy.id)", id=run_id)
            return
        run = self.runs.get(run_id)
        if run is None:
            return
        if action == "resume":
            call = self.calls.take(args[0])
            if call is None:
                return  # a blocking getter took its reply already (fazt.wait)
            run.calls.pop(call.key, None)
            code, kwargs = resume_call(run_id, call)
        elif action == "start":
            code, kwargs = start_call(run)
            if not self._preload(run):
                return
        elif action == "fire":
            code, kwargs = "__fazt.fire(dukpy.id, dukpy.timer)", {"id": run_id, "timer": args[0]}
        else:  # "expire": its waitUntil work ran out of time
            self._housekeeping(interpreter, "__fazt.expire(dukpy.id)", id=run_id)
            return
        self._slice(run, code, kwargs)

    def _preload(self, run):
        """Load the run's entry in its interpreter, once, under the start-up limit; False if it failed.

        Host calls made by module top-level code are made for this run.
        """
        interpreter, entry = run.interpreter, run.message["entry"]
        if entry["path"] in interpreter.loaded_entries:
            return True
        interpreter.loaded_entries.add(entry["path"])
        self.calls.current = run
        try:
            loaded = load_entry(interpreter, self.guard, entry)
        finally:
            self.calls.current = None
        if not loaded:
            self._over_limit(run, "timeout", f"loading the site's code took more than {MODULE_LOAD_CPU_MS} ms of CPU")
        return loaded

    def _slice(self, run, code, kwargs):
        interpreter = run.interpreter
        if run.budget_ms <= 0:
            return self._over_limit(run, "timeout", "CPU time limit exceeded")
        self.calls.current = run
        started = self._cpu_clock()
        try:
            events, problem, unhandled = run_slice(interpreter, self.guard, run.budget_ms, code, kwargs)
        finally:
            used = (self._cpu_clock() - started) * 1000.0
            run.cpu_ms += used
            run.budget_ms -= used
            self.calls.current = None
        if problem is not None:
            return self._over_limit(run, *problem)
        if unhandled is not None:  # the slice's events are still in the interpreter: fetch them
            return self._housekeeping(interpreter, "__fazt.unhandled(dukpy.id, dukpy.text)", id=run.id,
                                      text=unhandled)
        self._apply(interpreter, events)
        self._settle_if_stuck(interpreter)

    def _housekeeping(self, interpreter, code, **kwargs):
        """A slice of the runtime's own (no run's budget): apply its events."""
        events = housekeeping(interpreter, self.guard, code, **kwargs)
        if events is None:  # the interpreter is broken: no new runs in it
            self.interpreters.retire(interpreter)
            return
        self._apply(interpreter, events)
        self._settle_if_stuck(interpreter)

    def _over_limit(self, run, kind, message, stack=None):
        """The run broke a limit (or the interpreter broke): it fails alone; its interpreter retires."""
        interpreter = run.interpreter
        if kind in ("timeout", "memory") or "context is unusable" in message:
            self.interpreters.retire(interpreter)
        logs, events = wind_up(interpreter, self.guard, run.id)
        if run.responded:  # work kept by waitUntil broke the limit: the response is long gone
            self.send({"t": "late", "id": run.id, "logs": protocol.clean_logs(
                list(logs) + [["error", f"ctx.waitUntil work stopped: {message}"]])})
        else:
            self._send_failed(run.id, kind, message, stack, logs, run.cpu_ms)
        self._end(run)
        self._apply(interpreter, events)
        self._settle_if_stuck(interpreter)

    # -- what a slice did ---------------------------------------------------------------------

    def _apply(self, interpreter, events):
        for event in events:
            if not isinstance(event, list) or len(event) < 2:
                continue
            tag, run = event[0], self.runs.get(event[1])
            if run is None or run.interpreter is not interpreter:
                continue
            if tag == "call":
                self.calls.send_async(run, event[2], event[3], event[4])
            elif tag == "timer":
                run.timers.add(event[2])
                self._timers.add(self._clock() + max(0, event[3]) / 1000.0, run.id, event[2])
            elif tag == "untimer":
                run.timers.discard(event[2])
            elif tag == "done":
                run.responded = True
                self._timers.add(run.started + AFTER_RESPONSE_SECONDS, run.id, None)
                self._send_outcome(run, protocol.done(event[2], event[3]))
            elif tag == "failed":
                run.responded = True
                self._timers.add(run.started + AFTER_RESPONSE_SECONDS, run.id, None)
                if event[2] == "memory":
                    self.interpreters.retire(interpreter)
                self._send_failed(run.id, event[2], event[3], clean_stack(event[4]), event[5], run.cpu_ms,
                                  allow=event[6])
            elif tag == "late":
                self.send({"t": "late", "id": run.id, "logs": protocol.clean_logs(event[2])})
            elif tag == "end":
                self._end(run)

    def _settle_if_stuck(self, interpreter):
        """If nothing can wake ``interpreter`` any more, its pending runs never finish: say so."""
        if not interpreter.runs or interpreter.queued:
            return
        for run_id in interpreter.runs:
            run = self.runs[run_id]
            if run.calls or run.timers:
                return
        self._housekeeping(interpreter, "__fazt.abandon()")

    def _end(self, run):
        self.runs.pop(run.id, None)
        self.calls.forget(run)
        run.timers.clear()
        run.interpreter.runs.discard(run.id)

    # -- frames to the parent -------------------------------------------------------------------

    def send(self, message):
        """A frame to the parent."""
        self._send(message)

    def _send_outcome(self, run, outcome):
        outcome["cpu_ms"] = round(run.cpu_ms, 3)
        outcome["id"] = run.id
        try:
            self.send(outcome)
        except protocol.ProtocolError as exc:
            self._send_failed(run.id, "exception", f"response too large: {exc}", None, outcome.get("logs"),
                              run.cpu_ms)

    def _send_failed(self, run_id, kind, message, stack, logs, cpu_ms, allow=None):
        self.send(failed_frame(run_id, kind, message, stack, logs, cpu_ms, allow))
