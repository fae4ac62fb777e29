"""The worker's side of host calls: their ids, the async calls in flight, blocking for a reply.

A script's host call leaves the worker as a ``call`` frame (PROTOCOL.md). An async one (``await``-ed:
``fetch``, any Promise) is kept here until the parent's ``reply`` comes, and the loop resumes its
run with it in a later slice. A ``sync`` one (the store, module sources) holds the slice until its
reply, and so does ``fazt.wait`` (a fazt-style getter that needs an async call's reply now).
Waiting for the parent is I/O, not CPU: the CPU guard defers its ticks meanwhile.
"""

from fazt.runtime.runs import Call
from fazt.runtime.sandbox import HostCallError


class HostCalls:
    """The host calls of the runs in flight (``runs``: the loop's dict of them by id, read here).

    ``send(frame)`` sends a frame to the parent; ``wait_reply(call_id)`` blocks until the parent's
    reply to a call (buffering everything else); ``guard`` is the worker's CPU guard. Interpreters
    call L{sync_call} and L{wait_call} from inside a slice; a check calls L{checking} and L{sync_call}.
    """

    def __init__(self, send, wait_reply, guard, runs):
        self._send = send
        self._wait_reply = wait_reply
        self._guard = guard
        self._runs = runs
        self._calls = {}  # wire call id -> Call (async calls sent and not yet resumed)
        self._ids = 0
        self._check_id = None
        self.current = None  # the Run whose slice is running: calls made without a run id are its

    def send_async(self, run, key, fn, args):
        """Send async call ``key`` of ``run`` (``fn(*args)``); its reply resumes the run later."""
        self._ids += 1
        self._calls[self._ids] = Call(run.id, key)
        run.calls[key] = self._ids
        self._send({"t": "call", "id": self._ids, "run": run.id, "fn": fn, "args": args, "sync": False})

    def accept_reply(self, message):
        """Keep a ``reply`` frame with its call: the run to resume with it, or None (nothing waits for it)."""
        call = self._calls.get(message.get("id"))
        if call is None:
            return None  # its run ended (or a blocking read already took it)
        call.reply = message
        run = self._runs.get(call.run_id)
        if run is None:
            del self._calls[message["id"]]
        return run

    def take(self, call_id):
        """The answered call ``call_id``, no longer in flight (None: a blocking getter took it already)."""
        return self._calls.pop(call_id, None)

    def forget(self, run):
        """``run`` ended: replies to its calls are dropped when they come."""
        for call_id in run.calls.values():
            self._calls.pop(call_id, None)
        run.calls.clear()

    # -- called from inside a slice, through the interpreter's exported functions --------------

    def sync_call(self, run_id, fn, args):
        """Send a ``sync`` call for the slice's run and block until its reply; return its value."""
        run = self._runs.get(run_id) if run_id is not None else None
        owner = run.id if run is not None else (self.current.id if self.current is not None else self._check_id)
        self._ids += 1
        call_id = self._ids
        self._guard.enter_io()
        try:
            self._send({"t": "call", "id": call_id, "run": owner, "fn": fn, "args": args, "sync": True})
            reply = self._wait_reply(call_id)
        finally:
            self._guard.leave_io()
        if reply.get("ok") is True:
            return reply.get("value")
        raise HostCallError(str(reply.get("error") or f"{fn} failed"))

    def checking(self, check_id):
        """The id host calls are made for while a check runs (None when it is over)."""
        self._check_id = check_id

    def wait_call(self, run_id, key):
        """``fazt.wait``: the reply of async call ``key`` of run ``run_id``, blocking if it has not come."""
        run = self._runs.get(run_id)
        call_id = run.calls.pop(key, None) if run is not None else None
        call = self._calls.pop(call_id, None) if call_id is not None else None
        if call is None:
            return {"ok": False, "error": "no such call in flight"}
        reply = call.reply
        if reply is None:
            self._guard.enter_io()
            try:
                reply = self._wait_reply(call_id)
            finally:
                self._guard.leave_io()
        if reply.get("ok") is True:
            return {"ok": True, "value": reply.get("value")}
        return {"ok": False, "error": str(reply.get("error") or "failed")}
