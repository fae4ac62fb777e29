"""Test support for the Web platform globals: a sandboxed interpreter with only the web files.

It depends on ``SandboxedInterpreter`` alone (not on prelude.js or SiteRuntime): the files are
evaluated exactly as the worker does, each as its own ES module in ``js/web/ORDER`` order.
"""

import json

from fazt.runtime import webhost
from fazt.runtime.sandbox import SandboxedInterpreter

SOURCES = webhost.web_sources()


class WebJS:
    """One interpreter with the Web globals installed; ``run`` evaluates a snippet."""

    def __init__(self):
        self.interpreter = SandboxedInterpreter()
        webhost.install(self.interpreter, SOURCES)

    def run(self, source, **kwargs):
        """The value of the last expression of ``source`` (JSON); kwargs arrive as ``dukpy.NAME``.

        ``source`` runs in a block of its own, so its ``let``/``const`` do not outlive it.
        """
        return self.interpreter.evaljs("{\n" + source + "\n}", **kwargs)

    def wait(self, source, **kwargs):
        """Evaluate ``source`` as the body of an async function and return what it returns.

        The microtask queue is drained at the end of every evaljs, so a promise that needs no
        host event loop is settled when this returns. A rejection raises ``AssertionError``
        with the error's name and message.
        """
        self.interpreter.evaljs(
            "globalThis.__outcome = null;"
            f"(async () => {{ {source}\n }})().then("
            "  v => { globalThis.__outcome = {ok: true, value: v === undefined ? null : v}; },"
            "  e => { globalThis.__outcome = {ok: false, error: (e && e.name) + ': ' + (e && e.message)}; });"
            "null",
            **kwargs,
        )
        outcome = self.interpreter.evaljs("globalThis.__outcome")
        assert outcome is not None, "the promise did not settle"
        if not outcome["ok"]:
            raise AssertionError(outcome["error"])
        return outcome["value"]

    def error(self, source, **kwargs):
        """The ``name: message`` of the error that ``source`` (an async function body) throws."""
        try:
            value = self.wait(source, **kwargs)
        except AssertionError as exc:
            return str(exc)
        raise AssertionError(f"expected an error, got {json.dumps(value)}")
