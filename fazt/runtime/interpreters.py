"""One interpreter per (site, code key), and the bounded set of them a worker keeps.

A L{SiteInterpreter} holds the QuickJS interpreter with the runtime's JS loaded, the module loader
of its code bundle, and the ids of the runs in flight in it. A slice is one call into it
(L{SiteInterpreter.slice}); what the slice did comes back as the lifecycle's events (see
lifecycle.js). An interpreter whose run hit the CPU or memory limit is **retired**: it takes no new
runs and is dropped when its last run ends (L{Interpreters}).
"""

import collections

from fazt.runtime import scripts
from fazt.runtime.loader import SCRIPT_ENTRY, ModuleLoader
from fazt.runtime.sandbox import HostCallError, JSRuntimeError, new_interpreter

from fazt.runtime.webhost import LOCAL_FUNCTIONS

HOST_CALLS = frozenset(
    {"db.get", "db.set", "db.delete", "db.list", "db.incr", "fetch", "socket.broadcast", "socket.clients"}
)
RUNS_PER_INTERPRETER = 32  # runs in flight one interpreter takes before the deployment gets another
INTERPRETERS_PER_CODE = 8


class ScriptError(Exception):
    """The root main.js does not compile: every run of it fails with this (message, stack)."""

    def __init__(self, message, stack):
        super().__init__(message)
        self.message = message
        self.stack = stack


class SiteInterpreter:
    """One site's deployment loaded in one interpreter; many runs in flight.

    ``calls`` performs host calls for it: ``calls.sync_call(run_id, fn, args)`` (blocking) and
    ``calls.wait_call(run_id, key)`` (block on the reply of an async call already sent).
    """

    def __init__(self, site, code, calls, loader=None):
        self.site = site
        self.code = code
        self.runs = set()
        self.queued = 0  # work items waiting for it in the worker's queue
        self.retired = False
        self._calls = calls
        # Interpreters of one deployment share its loader: the bundle is read once per worker.
        self.loader = loader or ModuleLoader(self._module_call)
        functions = dict(LOCAL_FUNCTIONS)
        functions.update({
            "fazt.host": self._host,
            "fazt.wait": calls.wait_call,
            "fazt.modules.require": self._require,
        })
        self.interpreter = new_interpreter(functions, self.loader)
        self._script_checked = False
        self._script_error = None
        self.loaded_entries = set()  # entries loaded (or tried) before their first run

    def slice(self, code, **kwargs):
        """Evaluate ``code`` (a ``__fazt.*`` call) and return the events it produced."""
        self.interpreter.aborting = False
        return self.interpreter.evaljs(code, **kwargs)

    def prepare_script(self):
        """Before the first run of the root main.js: register it (fazt style) unless it imports.

        A main.js without static imports runs as part one always ran it: a sloppy-mode script.
        One with imports is an ES module (the lifecycle imports it).
        """
        if self._script_error is not None:
            raise self._script_error
        if self._script_checked:
            return
        self._script_checked = True
        if not self.loader.script_has_imports():
            source = self.loader.source(SCRIPT_ENTRY)
            if source is None:
                self._script_error = ScriptError("main.js is missing from the deployment", None)
                raise self._script_error
            try:
                self.interpreter.evaljs(scripts.compile_wrapper(source))
            except JSRuntimeError as exc:
                message, _, stack = str(exc).partition("\n")
                if not message.startswith("SyntaxError"):
                    raise
                self._script_error = ScriptError(message, scripts.clean_stack(stack))
                raise self._script_error from None

    def _host(self, run_id=None, fn=None, args=None, *extra):
        """``fazt.host``: ``{"ok": true, "value": v}`` or ``{"ok": false, "error": msg}``; never raises."""
        if not isinstance(fn, str) or fn not in HOST_CALLS or not isinstance(args, list) or extra:
            return {"ok": False, "error": f"unknown host function {fn!r}"}
        try:
            return {"ok": True, "value": self._calls.sync_call(run_id, fn, args)}
        except HostCallError as exc:
            return {"ok": False, "error": str(exc)}

    def _module_call(self, fn, args):
        return self._calls.sync_call(None, fn, args)

    def _require(self, importer, specifier):
        return self.loader.require(importer, specifier)


class Interpreters:
    """The worker's interpreters by (site, code key): at most ``capacity`` deployments kept, idle ones evicted first.

    A deployment with many runs in flight gets several interpreters (at most ``per_code``), each
    taking up to ``runs_each`` of them: dukpy runs QuickJS's garbage collector over the whole heap
    twice per evaljs, so a slice's cost grows with every run held in its interpreter (measured: ~5 µs
    per run in flight, ~8 µs with the Web APIs' Request). Sequential traffic always goes to the first
    one, so module state persists across requests as it would with one interpreter.
    """

    def __init__(self, calls, capacity=32, runs_each=RUNS_PER_INTERPRETER, per_code=INTERPRETERS_PER_CODE):
        self._calls = calls
        self.capacity = capacity
        self.runs_each = runs_each
        self.per_code = per_code
        self._live = collections.OrderedDict()  # (site, code) -> [SiteInterpreter], none retired

    def __len__(self):
        return len(self._live)

    def get(self, site, code):
        """An interpreter for this deployment, made if needed; older deployments of the site retire."""
        key = (site, code)
        group = self._live.get(key)
        if group is None:
            for other_key, others in list(self._live.items()):
                if other_key[0] == site:
                    for other in list(others):
                        self.retire(other)
            group = self._live[key] = []
        self._live.move_to_end(key)
        for interpreter in group:
            if len(interpreter.runs) < self.runs_each:
                return interpreter
        if len(group) < self.per_code:
            interpreter = SiteInterpreter(site, code, self._calls, group[0].loader if group else None)
            group.append(interpreter)
            self._evict()
            return interpreter
        return min(group, key=lambda i: len(i.runs))

    def retire(self, interpreter):
        """No new runs for it; it is freed when its last run ends (nothing else holds it)."""
        interpreter.retired = True
        key = (interpreter.site, interpreter.code)
        group = self._live.get(key)
        if group is not None and interpreter in group:
            group.remove(interpreter)
            if not group:
                del self._live[key]

    def _evict(self):
        for key, group in list(self._live.items()):
            if len(self._live) <= self.capacity:
                return
            if all(not i.runs and not i.queued for i in group):
                del self._live[key]

    def trim(self):
        """Drop every idle interpreter (memory is high)."""
        for key, group in list(self._live.items()):
            group[:] = [i for i in group if i.runs or i.queued]
            if not group:
                del self._live[key]


def events_of(result):
    """The slice result as a list of events (a broken result gives none)."""
    return result if isinstance(result, list) else []
