"""TEST DOUBLE of a version-2 JS worker (fazt/runtime/PROTOCOL.md), for test_pool.py only.

Used only until the real v2 worker (fazt/runtime/worker.py, the "worker" helper's branch) is merged:
it lets the parent's tests show what the version-1 worker on this branch cannot (many runs in
flight, cancel, stalls, late frames, checks). The lead switches those tests to the real worker
after the merge. It speaks the real framing (fazt.runtime.protocol) and runs no JavaScript: a
run's entry file, fetched with C{module.source} like the real worker does, holds one instruction
per line:

  burn MS          use MS ms of CPU in one slice (over the run's cpu_ms: fails "timeout")
  sleep S          wait S seconds without blocking the other runs
  call FN [ARGS]   an async host call (ARGS: a JSON list); its value goes to the output
  sync FN [ARGS]   the same, blocking the whole worker until the reply (a fazt-style call)
  orphan FN        a sync call naming a run the parent never sent, its answer to the output
  inflight         the number of runs this worker holds now, to the output
  cancels          the ids of the runs the parent cancelled so far, to the output
  late MESSAGE     after the response, send MESSAGE in a "late" frame
  method           fail with kind "method" (allow: GET, POST)
  throw MESSAGE    fail with kind "exception"
  hang             stop answering anything (a stalled worker)
  exit             die at once

The response body is JSON: {"out": [...], "pid": ..., "id": ...}. A check answers ok unless an
entry is missing or holds a line "syntax error" (reported with its line number).
Usage: python v2worker_double.py [MAX_RUNS]
"""

import heapq
import json
import os
import select
import sys
import time

from fazt.runtime.protocol import FrameDecoder, encode_frame

MAX_RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 8


class Double:
    def __init__(self):
        self.decoder = FrameDecoder()
        self.inbox = []
        self.runs = {}  # id -> generator
        self.calls = {}  # call id -> run id
        self.timers = []  # heap of (at, seq, run id)
        self.cancelled = []
        self.call_ids = 0
        self.seq = 0

    def send(self, message):
        data = encode_frame(message)
        while data:
            data = data[os.write(1, data):]

    def read(self, timeout):
        if select.select([0], [], [], timeout)[0]:
            data = os.read(0, 1 << 16)
            if not data:
                sys.exit(0)
            self.inbox.extend(self.decoder.feed(data))

    def serve(self):
        self.send({"t": "ready", "pid": os.getpid(), "max_runs": MAX_RUNS})
        while True:
            timeout = max(0.0, self.timers[0][0] - time.monotonic()) if self.timers else None
            if not self.inbox:
                self.read(timeout)
            while self.inbox:
                self.handle(self.inbox.pop(0))
            while self.timers and self.timers[0][0] <= time.monotonic():
                _, _, run_id = heapq.heappop(self.timers)
                self.step(run_id, None)

    def handle(self, frame):
        kind = frame["t"]
        if kind in ("run", "check"):
            self.runs[frame["id"]] = (run if kind == "run" else check)(self, frame)
            self.step(frame["id"], None)
        elif kind == "reply":
            run_id = self.calls.pop(frame["id"], None)
            self.step(run_id, frame.get("value") if frame["ok"] else {"error": frame["error"]})
        elif kind == "cancel":
            self.cancelled.append(frame["id"])
            self.runs.pop(frame["id"], None)
        elif kind == "ping":
            self.send({"t": "pong"})

    def step(self, run_id, value):
        while run_id in self.runs:
            try:
                request = self.runs[run_id].send(value)
            except StopIteration as end:
                del self.runs[run_id]
                outcome, late = end.value
                self.send({**outcome, "id": run_id})
                if late:
                    self.send({"t": "late", "id": run_id, "logs": [["info", m] for m in late]})
                return
            if request[0] == "sleep":
                self.seq += 1
                heapq.heappush(self.timers, (time.monotonic() + request[1], self.seq, run_id))
                return
            _, fn, args, sync = request
            self.call_ids += 1
            owner = -1 if fn.startswith("orphan:") else run_id
            self.send({"t": "call", "id": self.call_ids, "run": owner, "fn": fn.replace("orphan:", ""), "args": args,
                       "sync": sync})
            if not sync:
                self.calls[self.call_ids] = run_id
                return
            value = self.wait_reply(self.call_ids)

    def wait_reply(self, call_id):
        while True:
            for i, frame in enumerate(self.inbox):
                if frame["t"] == "reply" and frame["id"] == call_id:
                    del self.inbox[i]
                    return frame.get("value") if frame["ok"] else {"error": frame["error"]}
            self.read(None)


def burn(ms):
    end = time.process_time() + ms / 1000
    while time.process_time() < end:
        pass


def run(double, frame):
    source = yield ("call", "module.source", [frame["entry"]["path"]], False)
    out, late, cpu = [], [], 0.0
    for line in (source or "").splitlines():
        op, _, arg = line.strip().partition(" ")
        if op == "burn":
            ms = min(float(arg), frame["cpu_ms"])
            burn(ms)
            cpu += ms
            if float(arg) > frame["cpu_ms"]:
                return {"t": "failed", "kind": "timeout", "message": "CPU time limit exceeded", "logs": [],
                        "cpu_ms": cpu, "stack": None}, []
        elif op == "sleep":
            yield ("sleep", float(arg))
        elif op in ("call", "sync"):
            fn, _, args = arg.partition(" ")
            out.append((yield ("call", fn, json.loads(args or "[]"), op == "sync")))
        elif op == "orphan":
            out.append((yield ("call", "orphan:" + arg, [], True)))
        elif op == "inflight":
            out.append(len(double.runs))
        elif op == "cancels":
            out.append(list(double.cancelled))
        elif op == "late":
            late.append(arg)
        elif op == "method":
            return {"t": "failed", "kind": "method", "message": "no handler for the method", "logs": [],
                    "cpu_ms": cpu, "stack": None, "allow": ["GET", "POST"]}, []
        elif op == "throw":
            return {"t": "failed", "kind": "exception", "message": arg, "logs": [["error", arg]], "cpu_ms": cpu,
                    "stack": None}, []
        elif op == "hang":
            time.sleep(3600)
        elif op == "exit":
            os._exit(3)
    body = json.dumps({"out": out, "pid": os.getpid(), "id": frame["id"]})
    return {"t": "done", "response": {"status": 200, "headers": [], "body": body, "body_base64": False},
            "logs": [], "cpu_ms": cpu}, late


def check(double, frame):
    for entry in frame["entries"]:
        source = yield ("call", "module.source", [entry], False)
        if source is None:
            return {"t": "checked", "ok": False, "file": entry, "line": None, "message": "not found"}, []
        for number, line in enumerate(source.splitlines(), 1):
            if line.strip() == "syntax error":
                return {"t": "checked", "ok": False, "file": entry, "line": number,
                        "message": "SyntaxError: unexpected token"}, []
    return {"t": "checked", "ok": True, "file": None, "line": None, "message": ""}, []


if __name__ == "__main__":
    Double().serve()
