"""Per-site JavaScript interpreters for the worker process (dukpy 0.6 / QuickJS-NG).

``SandboxedInterpreter`` is a ``dukpy.JSInterpreter`` without the stock shims
(no host ``process.env``, no ``require``, no module loader, no file access);
``call_python`` reaches only the functions exported here. ``SiteRuntime`` holds
one interpreter per site with ``prelude.js`` loaded and a cache of compiled
scripts keyed by content hash (wrapped by ``fazt.runtime.scripts``); ``SiteRuntimeCache`` is
the worker's bounded LRU.

This module pins dukpy 0.6 private attributes: ``_ctx``, ``_funcs``,
``_call_python``, ``_check_exported_function_exists`` and ``_normalize_module``
(called by the C extension) and ``_evaljs`` (module evaluation).
"""

import collections
import json
import os

import dukpy
from dukpy import _dukpy

from fazt.runtime import protocol
from fazt.runtime.scripts import compile_wrapper, failure_from_js_error, outcome_from_script, prepare_source

JSRuntimeError = _dukpy.JSRuntimeError
HOST_FUNCTION = "fazt.host"
HOST_CALLS = frozenset(
    {"db.get", "db.set", "db.delete", "db.list", "db.incr", "fetch", "socket.broadcast", "socket.clients"}
)
SCRIPTS_PER_SITE = 4
_ABORT_REPLY = b'{"abort":true}'
_PRELUDE_PATH = os.path.join(os.path.dirname(__file__), "prelude.js")
with open(_PRELUDE_PATH, encoding="utf-8") as _prelude_file:
    PRELUDE_SOURCE = _prelude_file.read()

class CpuLimitExceeded(BaseException):
    """Raised by the worker's SIGPROF handler when a run used up its CPU budget.

    A BaseException so that ordinary ``except Exception`` blocks let it through.
    """


class HostCallError(Exception):
    """The parent answered a host call with ``ok: false``; the message goes to JS."""


class SandboxedInterpreter(dukpy.JSInterpreter):
    """A QuickJS interpreter with none of dukpy's host shims.

    ``JSInterpreter.__init__`` is deliberately not called: it copies
    ``os.environ`` into ``process.env``, installs ``require`` and exports a file
    loader to ``call_python``. The hooks the C extension calls back into Python
    are C-level callables where possible, so no Python code (where a CPU-timer
    tick could be swallowed) runs for them.
    """

    _normalize_module = None  # dynamic import(): calling None fails, so no module is ever loaded
    _load_module = None

    def __init__(self):
        self._loader = None
        self._ctx = _dukpy.create_context()
        self._funcs = {}
        self._check_exported_function_exists = frozenset().__contains__

    @property
    def aborting(self):
        """Whether the CPU budget ran out during a host call of the current run."""
        return "_call_python" in self.__dict__

    @aborting.setter
    def aborting(self, value):
        if value:
            # From now on every call_python is answered by a C-level callable, so no Python
            # code runs for it (a CPU-timer tick landing in Python code could be swallowed).
            # dict.get(name, json_args) returns the abort reply for every exported name.
            self._call_python = dict.fromkeys((n.encode("utf-8") for n in self._funcs), _ABORT_REPLY).get
        else:
            self.__dict__.pop("_call_python", None)

    @property
    def loader(self):
        """No module loader: always None."""
        return None

    def run(self, path, **kwargs):
        """Running files is not allowed in the sandbox."""
        raise PermissionError("the sandbox does not read files")

    def export_function(self, name, func):
        """Make ``func`` callable from JS as ``call_python(name, ...)``."""
        self._funcs[name] = func
        self._check_exported_function_exists = frozenset(n.encode("utf-8") for n in self._funcs).__contains__

    def evaluate_module(self, source, module_name):
        """Evaluate ``source`` once as an ES module named ``module_name``."""
        return self._evaljs(source, True, module_name, {})

    def _call_python(self, func, json_args):
        # Called by the C extension. If the CPU budget runs out here, answer with an abort
        # marker (and keep doing so, see ``aborting``): the prelude then spins in JS until the
        # next tick interrupts it. An exception raised here would become a catchable JS error.
        try:
            result = self._funcs[func.decode("utf-8")](*json.loads(json_args))
            return None if result is None else json.dumps(result).encode("utf-8")
        except CpuLimitExceeded:
            self.aborting = True
            return _ABORT_REPLY


class HostBridge:
    """The ``fazt.host`` function: forwards allowed host calls to the current run's ``host_call``."""

    def __init__(self):
        self.host_call = None

    def __call__(self, fn=None, args=None, *extra):
        """Return ``{"ok": true, "value": v}`` or ``{"ok": false, "error": msg}``; never raise."""
        if not isinstance(fn, str) or fn not in HOST_CALLS or not isinstance(args, list) or extra:
            return {"ok": False, "error": f"unknown host function {fn!r}"}
        if self.host_call is None:
            return {"ok": False, "error": "host calls are only possible while a request runs"}
        try:
            return {"ok": True, "value": self.host_call(fn, args)}
        except HostCallError as exc:
            return {"ok": False, "error": str(exc)}
        except Exception as exc:  # a bug on our side must not kill the run with a Python error
            return {"ok": False, "error": f"{fn} failed: {exc}"}



class SiteRuntime:
    """One site's interpreter, prelude and compiled scripts; runs one request at a time."""

    def __init__(self, site):
        self.site = site
        self.broken = False  # state may be inconsistent (timeout, out of memory): discard
        self._bridge = HostBridge()
        self._interpreter = SandboxedInterpreter()
        self._interpreter.export_function(HOST_FUNCTION, self._bridge)
        self._interpreter.evaluate_module(PRELUDE_SOURCE, "fazt:prelude")
        self._scripts = collections.OrderedDict()  # hash -> handler style (bool)

    def has_script(self, script_hash):
        """Whether the script with this content hash is compiled here."""
        return script_hash in self._scripts

    def is_handler_style(self, script_hash):
        """Whether the compiled script exports a default handler."""
        return self._scripts[script_hash]

    def run(self, script_hash, request, env, host_call, source=None):
        """Run the script for one request and return the outcome (synchronously).

        The outcome is ``{"t": "done", "response", "logs"}`` or ``{"t": "failed",
        "kind", "message", "stack", "logs"}`` (the worker adds the run id).
        ``source`` is compiled first unless ``script_hash`` is already compiled.
        ``host_call(fn, args)`` performs a host call; it returns the value or raises
        ``HostCallError``. ``CpuLimitExceeded`` may arrive at any time (from the
        caller's timer) and gives a "timeout" outcome.
        """
        interpreter = self._interpreter
        interpreter.aborting = False
        self._bridge.host_call = host_call
        try:
            if script_hash not in self._scripts:
                if source is None:
                    raise KeyError(f"script {script_hash} is not compiled for {self.site}")
                self._compile(script_hash, source)
            else:
                self._scripts.move_to_end(script_hash)
            result = interpreter.evaljs(
                "__fazt.start(dukpy.h, dukpy.req, dukpy.env)", h=script_hash, req=request, env=env
            )
            if interpreter.aborting:
                raise CpuLimitExceeded()
            return outcome_from_script(result)
        except CpuLimitExceeded:
            self.broken = True
            return protocol.failed("timeout", "CPU time limit exceeded", None, self._salvage_logs())
        except MemoryError:
            self.broken = True
            return protocol.failed("memory", "out of memory", None, [])
        except JSRuntimeError as exc:
            failure = failure_from_js_error(str(exc))
            if failure["kind"] != "exception" or "context is unusable" in failure["message"]:
                self.broken = True
            failure["logs"] = self._salvage_logs()
            return failure
        except Exception as exc:
            # A tick handled inside dukpy while an earlier one was still pending surfaces as a
            # SystemError chained to CpuLimitExceeded.
            if not _caused_by_cpu_limit(exc):
                raise
            self.broken = True
            return protocol.failed("timeout", "CPU time limit exceeded", None, [])
        finally:
            self._bridge.host_call = None

    def _compile(self, script_hash, source):
        self._interpreter.evaljs(compile_wrapper(script_hash, source))
        self._scripts[script_hash] = prepare_source(source)[1]
        while len(self._scripts) > SCRIPTS_PER_SITE:
            old_hash, _ = self._scripts.popitem(last=False)
            self._interpreter.evaljs(f"__fazt.forget({json.dumps(old_hash)}); null")

    def _salvage_logs(self):
        """The logs of a run that ended abnormally, if the interpreter can still tell."""
        try:
            return protocol.clean_logs(self._interpreter.evaljs("__fazt.logs()"))
        except (Exception, CpuLimitExceeded):
            return []


def _caused_by_cpu_limit(exc):
    """Whether ``CpuLimitExceeded`` is in ``exc``'s cause/context chain."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, CpuLimitExceeded):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


class SiteRuntimeCache:
    """A bounded LRU of ``SiteRuntime`` objects, one per site."""

    def __init__(self, capacity=32):
        self.capacity = capacity
        self._runtimes = collections.OrderedDict()

    def __len__(self):
        return len(self._runtimes)

    def __contains__(self, site):
        return site in self._runtimes

    def get(self, site):
        """Return the site's runtime, creating it (and evicting the least recently used) if needed."""
        runtime = self._runtimes.get(site)
        if runtime is None or runtime.broken:
            runtime = SiteRuntime(site)
            self._runtimes[site] = runtime
            while len(self._runtimes) > self.capacity:
                self._runtimes.popitem(last=False)
        self._runtimes.move_to_end(site)
        return runtime

    def discard(self, site):
        """Drop the site's runtime (its interpreter is freed with it)."""
        self._runtimes.pop(site, None)

    def trim(self, keep):
        """Drop all but the ``keep`` most recently used runtimes."""
        while len(self._runtimes) > keep:
            self._runtimes.popitem(last=False)
