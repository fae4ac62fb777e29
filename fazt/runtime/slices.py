"""One slice: one evaluation in a run's interpreter under a CPU limit, and what escaped it.

A slice is one evaljs into an interpreter (a ``__fazt.*`` call of lifecycle.js), armed with a CPU
budget (``ITIMER_PROF``, see L{fazt.runtime.guards}) and disarmed after it, whatever happened.
These functions run one and say how it ended: the lifecycle's events, or the problem that ends
the run (kind and message, as the ``failed`` frame carries them). The worker's loop
(L{fazt.runtime.loop}) decides what follows: which run it charges, what it sends the parent.
"""

import traceback

from fazt.runtime.guards import log
from fazt.runtime.interpreters import ScriptError, events_of
from fazt.runtime.sandbox import CpuLimitExceeded, JSRuntimeError

HOUSEKEEPING_CPU_MS = 100      # budget of the runtime's own slices (forget, expire, abandon)
# CPU for loading an entry's module graph in an interpreter (compiling an npm package can take a
# megabyte of JS) and running its top-level code, once, before its first run starts: a start-up
# limit of its own, as Workers have, so a request's 100 ms are its own.
MODULE_LOAD_CPU_MS = 1000
_CPU_LIMIT = ("timeout", "CPU time limit exceeded")


def run_slice(interpreter, guard, budget_ms, code, kwargs):
    """Evaluate ``code`` in ``interpreter`` with ``budget_ms`` of CPU: ``(events, problem, unhandled)``.

    ``problem`` is None or ``(kind, message[, stack])``, a failure that ends the run; ``unhandled``
    is None or the text of a Promise rejection no one handled (the slice's events are still in
    the interpreter then); ``events`` are the slice's events when both are None.
    """
    result = problem = unhandled = None
    try:
        try:
            guard.arm(budget_ms)
            if kwargs.get("entry", {}).get("kind") == "script":
                interpreter.prepare_script()
            result = interpreter.slice(code, **kwargs)
        finally:
            guard.disarm()
        if interpreter.interpreter.aborting:
            problem = _CPU_LIMIT
    except CpuLimitExceeded:
        problem = _CPU_LIMIT
    except MemoryError:
        problem = ("memory", "out of memory")
    except ScriptError as exc:  # main.js is missing or does not compile
        problem = ("exception", exc.message, exc.stack)
    except JSRuntimeError as exc:
        problem = classify_js_error(str(exc), guard.ticks)
        if problem is None:  # a rejection no one handled: dukpy reports it after the drain
            unhandled = str(exc)
    except Exception as exc:
        if caused_by_cpu_limit(exc) or guard.ticks:
            problem = _CPU_LIMIT
        else:
            log("internal error during a slice:\n" + traceback.format_exc())
            problem = ("exception", f"internal error in the JS worker: {exc!r}")
    return events_of(result), problem, unhandled


def load_entry(interpreter, guard, entry):
    """Load ``entry`` in ``interpreter`` under the start-up limit; False if it took more CPU than that.

    Syntax errors and the like are not failures here: the run's own import reports them.
    """
    try:
        try:
            guard.arm(MODULE_LOAD_CPU_MS)
            if entry.get("kind") == "script":
                interpreter.prepare_script()
            interpreter.slice("__fazt.preload(dukpy.entry)", entry=entry)
        finally:
            guard.disarm()
    except CpuLimitExceeded:
        return False
    except Exception as exc:
        if caused_by_cpu_limit(exc) or guard.ticks:
            return False
    return True


def housekeeping(interpreter, guard, code, **kwargs):
    """A slice of the runtime's own (no run's budget): its events, or None if the interpreter broke."""
    try:
        try:
            guard.arm(HOUSEKEEPING_CPU_MS)
            result = interpreter.slice(code, **kwargs)
        finally:
            guard.disarm()
    except (Exception, CpuLimitExceeded) as exc:
        log(f"a housekeeping slice failed: {exc!r}")
        return None
    return events_of(result)


def wind_up(interpreter, guard, run_id):
    """Forget a run that broke a limit: ``(logs, events)``, its log lines and the interpreter's
    pending events (both empty if the interpreter is past answering)."""
    logs, events = [], []
    try:
        guard.arm(HOUSEKEEPING_CPU_MS)
        try:
            logs, _, events = interpreter.slice(
                "[__fazt.logs(dukpy.id), __fazt.forget(dukpy.id), __fazt.flush()]", id=run_id)
        finally:
            guard.disarm()
    except (Exception, CpuLimitExceeded):
        pass
    return logs, events_of(events)


def classify_js_error(text, ticks):
    """(kind, message) of a JSRuntimeError that escaped a slice; None for an unhandled rejection.

    The runtime's own slice code catches everything a script throws, so what escapes is the CPU
    interrupt, QuickJS running out of memory, or a Promise rejection nothing handled (dukpy raises
    it once the job queue has drained).
    """
    first = text.partition("\n")[0]
    if ticks or first.endswith("interrupted"):
        return ("timeout", "CPU time limit exceeded")
    if first.startswith("InternalError: out of memory"):
        return ("memory", "out of memory")
    return None


def caused_by_cpu_limit(exc):
    """Whether ``CpuLimitExceeded`` is in ``exc``'s cause/context chain."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, CpuLimitExceeded):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False
