"""A site's script as the sandbox runs it, and what comes back as a protocol outcome.

The author's C{main.js} is wrapped into an async function registered with the prelude, run once
per request in a fresh scope (L{compile_wrapper}); its result record or a QuickJS error becomes a
L{fazt.runtime.protocol} outcome with a stack that names C{main.js} lines (L{clean_stack}). Pure
text work: nothing here touches an interpreter (L{fazt.runtime.sandbox} does).
"""

import hashlib
import json
import re

from fazt.runtime import protocol

_DEFAULT_EXPORT = re.compile(r"^([ \t]*)export\s+default\b\s*", re.MULTILINE)


def script_hash_of(source):
    """The content hash used to key compiled scripts when the caller has none (sha256 hex)."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def prepare_source(source):
    """Return ``(body, handler_style)``: ``source`` ready to go inside the per-request wrapper.

    The first line-leading ``export default`` becomes an assignment to the wrapper's
    ``__fazt_default`` parameter, which the wrapper returns; a leading ``#!`` line is blanked.
    """
    if source.startswith("#!"):
        source = "//" + source[2:]
    body, count = _DEFAULT_EXPORT.subn(r"\1__fazt_default = ", source, count=1)
    return body, count == 1


_WRAPPER_HEAD = "__fazt.register(async function (__fazt_default) {"


def compile_wrapper(script_hash, source):
    """JS that registers ``source`` as an async function run once per request (fresh scope).

    User line N stays line N in stack traces: the wrapper's head shares line 1
    (``clean_stack`` takes its length off line-1 columns).
    """
    body, _ = prepare_source(source)
    return f"{_WRAPPER_HEAD}{body}\n;return __fazt_default; }}, {json.dumps(script_hash)});\nnull"


_USER_LINE_ONE = re.compile(r"main\.js:1:(\d+)")


def clean_stack(stack):
    """Relabel a QuickJS stack for the site's author: user frames say main.js, internals go."""
    if not stack:
        return None
    lines = []
    for line in stack.splitlines():
        if "fazt:prelude" in line or line.lstrip().startswith("at <eval> (<dukpy>"):
            continue
        line = line.replace("<dukpy>", "main.js").replace("__fazt_default", "default")
        lines.append(_USER_LINE_ONE.sub(lambda m: f"main.js:1:{max(int(m[1]) - len(_WRAPPER_HEAD), 1)}", line))
    return "\n".join(lines) or None


def outcome_from_script(result):
    """Turn the prelude's finish() record into a protocol outcome."""
    if not isinstance(result, dict):
        return protocol.failed("exception", "the runtime returned no outcome", None, [])
    logs = result.get("logs")
    if result.get("ok") is True:
        return protocol.done(result.get("response"), logs)
    kind = "memory" if result.get("kind") == "memory" else "exception"
    return protocol.failed(kind, result.get("message"), clean_stack(result.get("stack")), logs)


def failure_from_js_error(text):
    """Turn a ``JSRuntimeError`` text ("Name: message\\n    at ...") into a failed outcome."""
    message, _, stack = text.partition("\n")
    kind = "memory" if message.startswith("InternalError: out of memory") else "exception"
    return protocol.failed(kind, message, clean_stack(stack), [])
