"""A bare dukpy interpreter that loads a site's modules the way the worker does (tests only).

QuickJS asks two dukpy hooks for each ``import``: ``_normalize_module(importer, specifier)`` and
``_loader.load(path)``, both answered by L{fazt.runtime.modulesource.BundleModules} (a module is always
compiled as an ES module: CommonJS and JSON arrive wrapped). ``require()`` inside CommonJS goes through
``fazt/runtime/js/cjs.js`` and the worker-local function "fazt.modules.require" (the same object).
Nothing else of the sandbox is here (no prelude, no Web APIs): these tests exercise resolution and
wrapping alone, against the same private dukpy 0.6 hooks that fazt/runtime/sandbox.py pins.
"""

import importlib.resources

import dukpy
from dukpy import _dukpy

from fazt.runtime.modulesource import BundleModules

CJS_SOURCE = importlib.resources.files("fazt.runtime").joinpath("js/cjs.js").read_text(encoding="utf-8")


class ModuleInterpreter(dukpy.JSInterpreter):
    """QuickJS with module loading over C{paths}/C{read_text} and nothing else."""

    def __init__(self, paths, read_text, check=False):
        self.bundle = BundleModules(paths, read_text, check)
        self.paths, self.read_text = self.bundle.paths, read_text
        self.loaded, self.asked = [], []  # what QuickJS loaded / asked to resolve, in order
        self._loader = self
        self._ctx = _dukpy.create_context()
        self._funcs = {}
        self.export_function("fazt.modules.require", self.bundle.require)
        self._evaljs(CJS_SOURCE, True, "fazt:cjs", {})

    @property
    def errors(self):
        return [failure[-1] for failure in self.bundle.failures]

    def _normalize_module(self, importer, specifier):
        self.asked.append((importer, specifier))
        return self.bundle.normalize(importer, specifier)

    def load(self, path):
        self.loaded.append(path)
        return self.bundle.load(path)

    def run_module(self, source, name="api/entry.js"):
        """Evaluate C{source} as the ES module C{name} (its imports load through the hooks)."""
        return self._evaljs(source, True, name, {})

    def value(self, expression):
        return self.evaljs(expression)
