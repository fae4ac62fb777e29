"""The worker's event loop core: runs in flight, their work items, timers and CPU budgets.

Pipe-free: L{Engine} is given ``send(message)`` (a frame to the parent) and ``wait_reply(call_id)``
(block until the parent's reply to a call, buffering everything else): the worker process
(L{fazt.runtime.worker}) gives it its pipes, tests may give it a fake parent.

Work items (start a run, resume it with a call's reply, fire a timer, ...) wait in one queue per
site and are taken round-robin across sites (L{Engine.step} runs one). Each is one **slice**: one
evaljs into the run's interpreter, armed with the run's remaining CPU budget (``ITIMER_PROF``,
see L{fazt.runtime.guards}); the CPU time it used is taken off that budget. A run over its
budget fails with "timeout" and its interpreter is retired (the other runs in it go on).
"""

import collections
import heapq
import time
import traceback

from fazt.runtime import protocol
from fazt.runtime.checks import run_check
from fazt.runtime.guards import log
from fazt.runtime.interpreters import Interpreters, ScriptError, events_of
from fazt.runtime.sandbox import CpuLimitExceeded, HostCallError, JSRuntimeError
from fazt.runtime.runs import (
    Call, Run, caused_by_cpu_limit, check_problem, classify_js_error, failed_frame, run_problem, text_of_base64)
from fazt.runtime.scripts import clean_stack

MAX_RUNS = 256
AFTER_RESPONSE_SECONDS = 10.0  # how long work kept alive with ctx.waitUntil may go on after a run starts
HOUSEKEEPING_CPU_MS = 100      # budget of the runtime's own slices (forget, expire, abandon)
# CPU for loading an entry's module graph in an interpreter (compiling an npm package can take a
# megabyte of JS) and running its top-level code, once, before its first run starts: a start-up
# limit of its own, as Workers have, so a request's 100 ms are its own.
MODULE_LOAD_CPU_MS = 1000


class Engine:
    """Runs, their work items and timers; one slice at a time (see the module docstring)."""

    # CPU is measured with the thread's clock: while ITIMER_PROF is armed, Linux samples the
    # process clock only at scheduler ticks (a slice of 0.2 ms read as 0), the thread clock stays
    # exact, and the worker has one thread.
    def __init__(self, send, wait_reply, guard, clock=time.monotonic, cpu_clock=time.thread_time):
        self._send = send
        self._wait_reply = wait_reply
        self.guard = guard
        self._clock = clock
        self._cpu_clock = cpu_clock
        self.interpreters = Interpreters(self)
        self.runs = {}
        self._calls = {}
        self._call_ids = 0
        self._timers = []  # heap of (due, seq, run id, timer id | None for the waitUntil deadline)
        self._timer_seq = 0
        self._ready = collections.OrderedDict()  # site -> deque of (action, run id, args)
        self.current = None  # the Run whose slice is running

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
        call = self._calls.get(message.get("id"))
        if call is None:
            return  # its run ended (or a blocking read already took it)
        call.reply = message
        run = self.runs.get(call.run_id)
        if run is None:
            del self._calls[message["id"]]
            return
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
        while self._timers and not self._alive(self._timers[0]):
            heapq.heappop(self._timers)
        if not self._timers:
            return None
        return max(0.0, self._timers[0][0] - self._clock())

    def fire_due(self):
        """Queue the work of every timer that is due."""
        now = self._clock()
        while self._timers and self._timers[0][0] <= now:
            _, _, run_id, timer_id = heapq.heappop(self._timers)
            run = self.runs.get(run_id)
            if run is None:
                continue
            if timer_id is None:
                self._enqueue(run.interpreter, ("expire", run_id, ()))
            elif timer_id in run.timers:
                run.timers.discard(timer_id)
                self._enqueue(run.interpreter, ("fire", run_id, (timer_id,)))

    def _alive(self, timer):
        run = self.runs.get(timer[2])
        return run is not None and (timer[3] is None or timer[3] in run.timers)

    def _add_timer(self, due, run_id, timer_id):
        self._timer_seq += 1
        heapq.heappush(self._timers, (due, self._timer_seq, run_id, timer_id))

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
            self.current = None
            self.send(run_check(entry[1], self, self.guard))
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
            call = self._calls.pop(args[0], None)
            if call is None:
                return  # a blocking getter took its reply already (fazt.wait)
            run.calls.pop(call.key, None)
            reply = call.reply
            code, kwargs = "__fazt.resume(dukpy.id, dukpy.key, dukpy.ok, dukpy.value)", {
                "id": run_id, "key": call.key, "ok": reply.get("ok") is True,
                "value": reply.get("value") if reply.get("ok") is True else str(reply.get("error") or "failed")}
        elif action == "start":
            code, kwargs = self._start_code(run)
            if not self._preload(run):
                return
        elif action == "fire":
            code, kwargs = "__fazt.fire(dukpy.id, dukpy.timer)", {"id": run_id, "timer": args[0]}
        else:  # "expire": its waitUntil work ran out of time
            self._housekeeping(interpreter, "__fazt.expire(dukpy.id)", id=run_id)
            return
        self._slice(run, code, kwargs)

    def _start_code(self, run):
        message = run.message
        request = message["req"]
        text = request.get("body") or ""
        if request.get("body_base64"):
            text = text_of_base64(text)
        return "__fazt.start(dukpy.id, dukpy.entry, dukpy.req, dukpy.env, dukpy.site, dukpy.text)", {
            "id": run.id, "entry": message["entry"], "req": request, "env": message["env"], "site": message["site"],
            "text": text}

    def _preload(self, run):
        """Load the run's entry in its interpreter, once, under the start-up limit; False if it failed.

        Syntax errors and the like are not failures here: the run's own import reports them. Host
        calls made by module top-level code are made for this run.
        """
        interpreter, entry = run.interpreter, run.message["entry"]
        if entry["path"] in interpreter.loaded_entries:
            return True
        interpreter.loaded_entries.add(entry["path"])
        self.current = run
        try:
            try:
                self.guard.arm(MODULE_LOAD_CPU_MS)
                if entry.get("kind") == "script":
                    interpreter.prepare_script()
                interpreter.slice("__fazt.preload(dukpy.entry)", entry=entry)
            finally:
                self.guard.disarm()
                self.current = None
        except CpuLimitExceeded:
            self._over_limit(run, "timeout", f"loading the site's code took more than {MODULE_LOAD_CPU_MS} ms of CPU")
            return False
        except Exception as exc:
            if caused_by_cpu_limit(exc) or self.guard.ticks:
                self._over_limit(run, "timeout", f"loading the site's code took more than {MODULE_LOAD_CPU_MS} ms of CPU")
                return False
        return True

    def _slice(self, run, code, kwargs):
        interpreter = run.interpreter
        if run.budget_ms <= 0:
            return self._over_limit(run, "timeout", "CPU time limit exceeded")
        self.current = run
        started = self._cpu_clock()
        problem = unhandled = None
        try:
            try:
                self.guard.arm(run.budget_ms)
                if kwargs.get("entry", {}).get("kind") == "script":
                    interpreter.prepare_script()
                result = interpreter.slice(code, **kwargs)
            finally:
                self.guard.disarm()
            if interpreter.interpreter.aborting:
                problem = ("timeout", "CPU time limit exceeded")
        except CpuLimitExceeded:
            problem = ("timeout", "CPU time limit exceeded")
        except MemoryError:
            problem = ("memory", "out of memory")
        except ScriptError as exc:  # main.js is missing or does not compile
            problem = ("exception", exc.message, exc.stack)
        except JSRuntimeError as exc:
            problem = classify_js_error(str(exc), self.guard.ticks)
            if problem is None:  # a rejection no one handled: dukpy reports it after the drain
                unhandled = str(exc)
        except Exception as exc:
            if caused_by_cpu_limit(exc) or self.guard.ticks:
                problem = ("timeout", "CPU time limit exceeded")
            else:
                log("internal error during a slice:\n" + traceback.format_exc())
                problem = ("exception", f"internal error in the JS worker: {exc!r}")
        finally:
            used = (self._cpu_clock() - started) * 1000.0
            run.cpu_ms += used
            run.budget_ms -= used
            self.current = None
        if problem is not None:
            return self._over_limit(run, *problem)
        if unhandled is not None:  # the slice's events are still in the interpreter: fetch them
            return self._housekeeping(interpreter, "__fazt.unhandled(dukpy.id, dukpy.text)", id=run.id,
                                      text=unhandled)
        self._apply(interpreter, events_of(result))
        self._settle_if_stuck(interpreter)

    def _housekeeping(self, interpreter, code, **kwargs):
        """A slice of the runtime's own (no run's budget): apply its events."""
        try:
            try:
                self.guard.arm(HOUSEKEEPING_CPU_MS)
                result = interpreter.slice(code, **kwargs)
            finally:
                self.guard.disarm()
        except (Exception, CpuLimitExceeded) as exc:  # the interpreter is broken: no new runs in it
            log(f"a housekeeping slice failed: {exc!r}")
            self.interpreters.retire(interpreter)
            return
        self._apply(interpreter, events_of(result))
        self._settle_if_stuck(interpreter)

    def _over_limit(self, run, kind, message, stack=None):
        """The run broke a limit (or the interpreter broke): it fails alone; its interpreter retires."""
        interpreter = run.interpreter
        if kind in ("timeout", "memory") or "context is unusable" in message:
            self.interpreters.retire(interpreter)
        logs, events = [], []
        try:
            self.guard.arm(HOUSEKEEPING_CPU_MS)
            try:
                logs, _, events = interpreter.slice("[__fazt.logs(dukpy.id), __fazt.forget(dukpy.id), __fazt.flush()]",
                                                    id=run.id)
            finally:
                self.guard.disarm()
        except (Exception, CpuLimitExceeded):
            pass
        if run.responded:  # work kept by waitUntil broke the limit: the response is long gone
            self.send({"t": "late", "id": run.id, "logs": protocol.clean_logs(
                list(logs) + [["error", f"ctx.waitUntil work stopped: {message}"]])})
        else:
            self._send_failed(run.id, kind, message, stack, logs, run.cpu_ms)
        self._end(run)
        self._apply(interpreter, events_of(events))
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
                self._call_ids += 1
                self._calls[self._call_ids] = Call(run.id, event[2])
                run.calls[event[2]] = self._call_ids
                self.send({"t": "call", "id": self._call_ids, "run": run.id, "fn": event[3], "args": event[4],
                           "sync": False})
            elif tag == "timer":
                run.timers.add(event[2])
                self._add_timer(self._clock() + max(0, event[3]) / 1000.0, run.id, event[2])
            elif tag == "untimer":
                run.timers.discard(event[2])
            elif tag == "done":
                run.responded = True
                self._add_timer(run.started + AFTER_RESPONSE_SECONDS, run.id, None)
                self._send_outcome(run, protocol.done(event[2], event[3]))
            elif tag == "failed":
                run.responded = True
                self._add_timer(run.started + AFTER_RESPONSE_SECONDS, run.id, None)
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
        for call_id in run.calls.values():
            self._calls.pop(call_id, None)
        run.calls.clear()
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

    # -- host calls (called from inside a slice, through the interpreter's exported functions) --------

    def sync_call(self, run_id, fn, args):
        """Send a ``sync`` call for the slice's run and block until its reply; return its value."""
        run = self.runs.get(run_id) if run_id is not None else None
        owner = run.id if run is not None else (self.current.id if self.current is not None else self._check_id)
        self._call_ids += 1
        call_id = self._call_ids
        self.guard.enter_io()
        try:
            self.send({"t": "call", "id": call_id, "run": owner, "fn": fn, "args": args, "sync": True})
            reply = self._wait_reply(call_id)
        finally:
            self.guard.leave_io()
        if reply.get("ok") is True:
            return reply.get("value")
        raise HostCallError(str(reply.get("error") or f"{fn} failed"))

    _check_id = None

    def checking(self, check_id):
        """The id host calls are made for while a check runs (None when it is over)."""
        self._check_id = check_id

    def wait_call(self, run_id, key):
        """``fazt.wait``: the reply of async call ``key`` of run ``run_id``, blocking if it has not come."""
        run = self.runs.get(run_id)
        call_id = run.calls.pop(key, None) if run is not None else None
        call = self._calls.pop(call_id, None) if call_id is not None else None
        if call is None:
            return {"ok": False, "error": "no such call in flight"}
        reply = call.reply
        if reply is None:
            self.guard.enter_io()
            try:
                reply = self._wait_reply(call_id)
            finally:
                self.guard.leave_io()
        if reply.get("ok") is True:
            return {"ok": True, "value": reply.get("value")}
        return {"ok": False, "error": str(reply.get("error") or "failed")}
