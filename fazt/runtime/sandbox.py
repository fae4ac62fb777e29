"""The sandboxed QuickJS interpreter of the worker process (dukpy 0.6 / QuickJS-NG).

``SandboxedInterpreter`` is a ``dukpy.JSInterpreter`` without the stock shims (no host
``process.env``, no ``require``, no file access); ``call_python`` reaches only the functions
exported to it, and modules come only from the loader it is given (L{fazt.runtime.loader}: the
site's own files, asked from the parent). ``new_interpreter`` makes one with the runtime's own JS
loaded: the Web API files of ``js/web/ORDER`` and ``js/cjs.js`` (when present), then ``prelude.js``,
``hostapi.js`` and ``lifecycle.js``.

This module pins dukpy 0.6 private attributes: ``_ctx``, ``_funcs``, ``_call_python``,
``_check_exported_function_exists``, ``_normalize_module`` and ``loader`` (called by the C
extension) and ``_evaljs`` (module evaluation).
"""

import json
import os

import dukpy
from dukpy import _dukpy

from fazt.runtime.webhost import LOCAL_FUNCTIONS, web_sources

JSRuntimeError = _dukpy.JSRuntimeError
_ABORT_REPLY = b'{"abort":true}'
_HERE = os.path.dirname(__file__)
RUNTIME_MODULES = ("prelude", "hostapi", "lifecycle")


def _read(path):
    with open(path, encoding="utf-8") as source:
        return source.read()


def _runtime_sources():
    """[(module name, source)] of the runtime's own JS after the Web API files, in evaluation order."""
    # CommonJS support (require, module.exports) for the module loader
    sources = [("fazt:cjs", _read(os.path.join(_HERE, "js", "cjs.js")))]
    for name in RUNTIME_MODULES:
        sources.append((f"fazt:{name}", _read(os.path.join(_HERE, f"{name}.js"))))
    return sources


RUNTIME_SOURCES = _runtime_sources()


def _internal_only(base, name):
    if not name.startswith("fazt:"):
        raise ImportError(f"cannot import {name!r}: no module loader")
    return name


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

    _load_module = None

    def __init__(self, loader=None):
        self._loader = loader
        # Without a loader only the runtime's own modules (already evaluated) can be named.
        self._normalize = loader.normalize if loader is not None else _internal_only
        self._normalize_module = self._guarded_normalize
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
            # Same for import(): calling None fails in C, without running Python code.
            self._normalize_module = None
        else:
            self.__dict__.pop("_call_python", None)
            self._normalize_module = self._guarded_normalize

    def _guarded_normalize(self, base, name):
        # Called by the C extension for every import. A CPU-timer tick landing in the loader
        # would become a catchable import error: switch to aborting (see above) instead.
        try:
            return self._normalize(base, name)
        except CpuLimitExceeded:
            self.aborting = True
            raise ImportError("the CPU time limit was exceeded") from None

    @property
    def loader(self):
        """What the C extension loads modules with (``.load(name) -> (id, source, "module")``), or None."""
        return None if self._loader is None or self.aborting else self

    def load(self, name):
        """The loader's ``load``, guarded like ``_guarded_normalize``."""
        try:
            return self._loader.load(name)
        except CpuLimitExceeded:
            self.aborting = True
            raise ImportError("the CPU time limit was exceeded") from None

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


def new_interpreter(functions, loader=None):
    """A sandboxed interpreter with ``functions`` exported and the runtime's JS evaluated.

    The Web API files are not evaluated here but on first use of any of their globals (see
    L{web_loader_source}): dukpy runs a full GC twice per evaljs, over every object of the
    interpreter, so their ~1,700 lines cost every request ~80 us of CPU whether it uses them or not.
    """
    interpreter = SandboxedInterpreter(loader)
    for name, function in functions.items():
        interpreter.export_function(name, function)
    interpreter.evaluate_module(web_loader_source(), "fazt:web")
    for name, source in RUNTIME_SOURCES:
        interpreter.evaluate_module(source, name)
    return interpreter


_WEB_LOADER = None


def web_loader_source():
    """JS that defines each Web API global as an accessor loading all the Web API files at first use.

    The names are what the files add to the global object, found once per process by evaluating
    them in a scratch interpreter. Loading deletes the accessors, then evaluates the files in their
    order, each as a strict function body (they share nothing but globals), so they define their
    globals exactly as when evaluated eagerly.
    """
    global _WEB_LOADER
    if _WEB_LOADER is None:
        sources = web_sources()
        scratch = SandboxedInterpreter()
        for name, function in LOCAL_FUNCTIONS.items():
            scratch.export_function(name, function)
        before = set(scratch.evaljs("Object.getOwnPropertyNames(globalThis)"))
        for module_name, source in sources:
            scratch.evaluate_module(source, module_name)
        names = sorted(set(scratch.evaljs("Object.getOwnPropertyNames(globalThis)")) - before)
        source = _LOADER_TEMPLATE.replace("NAMES", json.dumps(names)).replace(
            "SOURCES", json.dumps([text for _, text in sources]))
        _WEB_LOADER = (tuple(names), source)
    return _WEB_LOADER[1]


def web_global_names():
    """The names of the globals the Web API files define (what the loader defines as accessors)."""
    web_loader_source()
    return _WEB_LOADER[0]


_LOADER_TEMPLATE = """
const names = NAMES;
const sources = SOURCES;
const evaluate = eval;
let loaded = false;
function load() {
  if (loaded) return;
  loaded = true;
  for (const name of names) delete globalThis[name];
  for (const text of sources) evaluate(`(function () { 'use strict';\n${text}\n})()`);
}
for (const name of names) {
  Object.defineProperty(globalThis, name, {
    get() { load(); return globalThis[name]; },
    set(value) { load(); globalThis[name] = value; },
    enumerable: false,
    configurable: true,
  });
}
"""
