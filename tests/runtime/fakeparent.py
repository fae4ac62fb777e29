"""An in-process parent for the worker's engine (fazt.runtime.loop.Engine): answers host calls from dicts.

Drives the real engine, interpreters and CPU guard in the test process (SIGPROF in its main thread),
without pipes: sync calls are answered at once, async ones when ``run_all`` gets to them.
"""

import time

from fazt.runtime.guards import CpuGuard
from fazt.runtime.loop import Engine
from fazt.runtime.protocol import encode_frame

REQUEST = {"method": "GET", "url": "http://blog.example.test/hello?a=1&b=2", "path": "/hello", "query": "a=1&b=2",
           "params": {"a": "1", "b": "2"}, "headers": {"user-agent": "pytest", "accept": "*/*"}, "body": "",
           "body_base64": False, "ip": "203.0.113.9", "host": "blog.example.test", "cookies": {"sid": "abc"},
           "route": {"params": {}}}


class FakeParent:
    """The parent's side: code bundles, a KV store, canned fetch answers; records every frame."""

    def __init__(self):
        self.kv = {}
        self.bundles = {}  # code key -> {path: source}
        self.fetches = {"https://api.example.test/x": {"status": 200, "headers": {"content-type": "application/json"},
                                                        "body": '{"answer": 42}', "body_base64": False}}
        self.frames = []
        self.calls = []
        self._async = []
        self._run_ids = 0
        self._run_code = {}
        self.engine = Engine(self._receive, self._wait_reply, CpuGuard())

    # -- what the engine sends ---------------------------------------------------------------

    def _receive(self, message):
        encode_frame(message)  # what could not cross the pipe fails here too
        self.frames.append(message)
        if message["t"] == "call":
            self.calls.append((message["fn"], message["args"], message["sync"]))
            if not message["sync"]:
                self._async.append(message)

    def _wait_reply(self, call_id):
        for message in self._async:
            if message["id"] == call_id:
                self._async.remove(message)
                return self.reply_to(message)
        message = next(m for m in reversed(self.frames) if m["t"] == "call" and m["id"] == call_id)
        return self.reply_to(message)

    def reply_to(self, message):
        try:
            value = self.answer(message["run"], message["fn"], message["args"])
        except Exception as exc:
            return {"t": "reply", "id": message["id"], "ok": False, "error": str(exc)}
        return {"t": "reply", "id": message["id"], "ok": True, "value": value}

    def answer(self, run_id, fn, args):
        files = self.bundles[self._run_code[run_id]]
        if fn == "module.paths":
            return sorted(files)
        if fn == "module.source":
            return files.get(args[0])
        if fn == "db.get":
            return self.kv.get(args[0])
        if fn == "db.set":
            self.kv[args[0]] = args[1]
            return None
        if fn == "db.delete":
            return self.kv.pop(args[0], None) is not None
        if fn == "db.list":
            return [{"key": k, "value": v} for k, v in sorted(self.kv.items()) if k.startswith(args[0])]
        if fn == "db.incr":
            self.kv[args[0]] = self.kv.get(args[0], 0) + args[1]
            return self.kv[args[0]]
        if fn == "fetch":
            return self.fetches.get(args[0], {"error": f"blocked: {args[0]}"})
        if fn in ("socket.broadcast", "socket.clients"):
            return 3
        raise ValueError(f"no such host function {fn}")

    # -- driving ---------------------------------------------------------------------------

    def submit(self, files, entry="main.js", kind=None, site="blog", req=None, env=None, cpu_ms=100, code=None):
        """Send a run of ``files`` (a bundle); returns its id."""
        self._run_ids += 1
        code = code or f"{site}:{hash(tuple(sorted(files.items())))}"
        self.bundles[code] = files
        self._run_code[self._run_ids] = code
        kind = kind or ("script" if entry == "main.js" else "module")
        self.engine.handle({"t": "run", "id": self._run_ids, "site": site, "code": code,
                            "entry": {"kind": kind, "path": entry}, "req": {**REQUEST, **(req or {})},
                            "env": env or {}, "cpu_ms": cpu_ms})
        return self._run_ids

    def check(self, files, entries, cpu_ms=1000):
        self._run_ids += 1
        code = f"check:{self._run_ids}"
        self.bundles[code] = files
        self._run_code[self._run_ids] = code
        self.engine.handle({"t": "check", "id": self._run_ids, "site": "blog", "code": code, "entries": entries,
                            "cpu_ms": cpu_ms})
        self.run_all()
        return self.outcome(self._run_ids, "checked")

    def run_all(self, deadline=10.0):
        """Work until nothing is left: slices, then async replies, then timers."""
        engine = self.engine
        limit = time.monotonic() + deadline
        while time.monotonic() < limit:
            engine.fire_due()
            if engine.has_work():
                engine.step()
            elif self._async:
                engine.handle(self.reply_to(self._async.pop(0)))
            elif engine.next_wakeup() is not None:
                time.sleep(engine.next_wakeup())
            else:
                return
        raise TimeoutError("the engine kept working")

    def outcome(self, run_id, kinds=("done", "failed")):
        for frame in self.frames:
            if frame["t"] in kinds and frame.get("id") == run_id:
                return frame
        return None

    def run(self, source, files=None, **options):
        """Run a root main.js to its outcome."""
        run_id = self.submit({"main.js": source, **(files or {})}, **options)
        self.run_all()
        return self.outcome(run_id)
