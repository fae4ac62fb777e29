"""What the worker's loop keeps about a run, and the checks of the frames that start one.

Plain records and pure functions for L{fazt.runtime.loop}: L{Run} (one run in flight: its
interpreter, CPU budget, async calls and timers), L{Call} (an async host call sent), the
validation of ``run``/``check`` frames, and the slices that start a run and resume it.
"""

import base64

from fazt.runtime import protocol


class Run:
    """The worker's record of one run: its interpreter, budget, calls and timers in flight."""

    def __init__(self, message, interpreter, now):
        self.id = message["id"]
        self.message = message
        self.interpreter = interpreter
        self.budget_ms = float(message["cpu_ms"])
        self.cpu_ms = 0.0
        self.started = now
        self.responded = False
        self.calls = {}     # JS call key -> wire call id (async calls not yet resumed)
        self.timers = set()  # JS timer ids armed


class Call:
    """An async call sent for a run; ``reply`` is its frame once it came."""

    __slots__ = ("run_id", "key", "reply")

    def __init__(self, run_id, key):
        self.run_id = run_id
        self.key = key
        self.reply = None


def start_call(run):
    """The code and arguments of the slice that starts ``run`` (``__fazt.start``)."""
    message = run.message
    request = message["req"]
    text = request.get("body") or ""
    if request.get("body_base64"):
        text = text_of_base64(text)
    return "__fazt.start(dukpy.id, dukpy.entry, dukpy.req, dukpy.env, dukpy.site, dukpy.text)", {
        "id": run.id, "entry": message["entry"], "req": request, "env": message["env"], "site": message["site"],
        "text": text}


def resume_call(run_id, call):
    """The code and arguments of the slice that resumes run ``run_id`` with its async ``call``'s reply."""
    reply = call.reply
    ok = reply.get("ok") is True
    return "__fazt.resume(dukpy.id, dukpy.key, dukpy.ok, dukpy.value)", {
        "id": run_id, "key": call.key, "ok": ok,
        "value": reply.get("value") if ok else str(reply.get("error") or "failed")}


def text_of_base64(data):
    try:
        return base64.b64decode(data).decode("utf-8", "replace")
    except ValueError:
        return ""


def run_problem(message):
    """What is wrong with a ``run`` message, or None."""
    entry = message.get("entry")
    checks = (
        (isinstance(message.get("id"), int), "id must be an integer"),
        (isinstance(message.get("site"), str), "site must be a string"),
        (isinstance(message.get("code"), str), "code must be a string"),
        (isinstance(entry, dict) and entry.get("kind") in ("script", "module") and isinstance(entry.get("path"), str),
         "entry must be {kind: script|module, path}"),
        (isinstance(message.get("req"), dict), "req must be an object"),
        (isinstance(message.get("env"), dict), "env must be an object"),
        (isinstance(message.get("cpu_ms"), int) and message.get("cpu_ms") > 0, "cpu_ms must be a positive integer"),
    )
    for ok, problem in checks:
        if not ok:
            return problem
    return None


def check_problem(message):
    entries = message.get("entries")
    if not (isinstance(message.get("id"), int) and isinstance(message.get("site"), str)
            and isinstance(message.get("code"), str) and isinstance(entries, list)
            and all(isinstance(e, str) for e in entries)
            and isinstance(message.get("cpu_ms"), int) and message.get("cpu_ms") > 0):
        return "check needs id, site, code, entries [path] and cpu_ms"
    return None


def failed_frame(run_id, kind, message, stack, logs, cpu_ms, allow=None):
    """A ``failed`` frame: protocol.failed's limits, the run's CPU, and ``allow`` for kind "method"."""
    return {"id": run_id, **protocol.failed(kind, message, stack, logs, round(cpu_ms, 3), allow)}
