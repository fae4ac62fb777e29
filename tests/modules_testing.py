"""A bare dukpy interpreter that loads a site's modules the way the worker does (tests only).

QuickJS asks two dukpy hooks for each ``import``: ``_normalize_module(importer, specifier)`` → our
L{fazt.runtime.modules.resolve}, then ``_loader.load(path)`` → L{fazt.runtime.modulesource.module_source}
(always compiled as an ES module: CommonJS and JSON arrive wrapped). ``require()`` inside CommonJS
goes through ``fazt/runtime/js/cjs.js`` and the worker-local function "fazt.modules.require"
(L{fazt.runtime.modules.require_info}). Nothing else of the sandbox is here (no prelude, no Web APIs):
these tests exercise resolution and wrapping alone, against the same private dukpy 0.6 hooks that
fazt/runtime/sandbox.py pins.
"""

import importlib.resources

import dukpy
from dukpy import _dukpy

from fazt.runtime import modules, modulesource

CJS_SOURCE = importlib.resources.files("fazt.runtime").joinpath("js/cjs.js").read_text(encoding="utf-8")


class _Loader:
    def __init__(self, paths, read_text, loaded):
        self.paths, self.read_text, self.loaded = paths, read_text, loaded

    def load(self, path):
        self.loaded.append(path)
        return path, modulesource.module_source(path, self.paths, self.read_text), "module"


class ModuleInterpreter(dukpy.JSInterpreter):
    """QuickJS with module loading over C{paths}/C{read_text} and nothing else."""

    def __init__(self, paths, read_text):
        self.paths, self.read_text, self.loaded = frozenset(paths), read_text, []
        self.errors = []  # why the last resolutions failed (dukpy only says "Failed to normalize")
        self.asked = []   # (importer, specifier) in the order QuickJS asked
        self._loader = _Loader(self.paths, read_text, self.loaded)
        self._ctx = _dukpy.create_context()
        self._funcs = {}
        self.export_function(
            "fazt.modules.require", lambda frm, spec: modules.require_info(frm, spec, self.paths, read_text))
        self._evaljs(CJS_SOURCE, True, "fazt:cjs", {})

    def _normalize_module(self, importer, specifier):
        self.asked.append((importer, specifier))
        try:
            return modules.resolve(importer, specifier, self.paths, modules.json_reader(self.read_text))
        except modules.ModuleNotFound as error:
            self.errors.append(str(error))
            raise

    def run_module(self, source, name="api/entry.js"):
        """Evaluate C{source} as the ES module C{name} (its imports load through the hooks)."""
        return self._evaljs(source, True, name, {})

    def value(self, expression):
        return self.evaljs(expression)
