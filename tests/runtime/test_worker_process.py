"""The real worker process (python -m fazt.runtime.worker) driven over its pipes with PROTOCOL.md frames."""

import json
import os
import select
import subprocess
import sys
import time

import pytest

from fazt.runtime.protocol import FrameDecoder, encode_frame
from fazt.runtime.scripts import script_hash_of

from installed import PYTHON
REQUEST = {"method": "GET", "path": "/", "query": "", "params": {}, "headers": {"host": "s.example.test"},
           "body": "", "ip": "127.0.0.1", "host": "s.example.test", "cookies": {}}


class WorkerProcess:
    """Drives one worker: sends frames, reads frames, answers host calls from a dict."""

    def __init__(self, stderr_path):
        self._stderr = open(stderr_path, "wb")
        self.process = subprocess.Popen(
            [PYTHON, "-m", "fazt.runtime.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr, env={"PATH": "/usr/bin:/bin"}, cwd="/")
        self._decoder = FrameDecoder()
        self._inbox = []
        self._run_ids = 0
        self.sources_requested = 0
        self.ready = self.receive()

    def send(self, message):
        self.process.stdin.write(encode_frame(message))
        self.process.stdin.flush()

    def receive(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while not self._inbox:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.process.stdout], [], [], remaining)[0]:
                raise TimeoutError("no frame from the worker")
            data = os.read(self.process.stdout.fileno(), 1 << 16)
            if not data:
                raise EOFError("the worker closed its stdout")
            self._inbox.extend(self._decoder.feed(data))
        return self._inbox.pop(0)

    def run_message(self, source, site="site-a", cpu_ms=100, env=None, with_source=True):
        self._run_ids += 1
        return {"t": "run", "id": self._run_ids, "site": site, "hash": script_hash_of(source),
                "src": source if with_source else None, "req": REQUEST, "env": env or {}, "cpu_ms": cpu_ms}

    def run(self, source, kv=None, reply_delay=0.0, **options):
        """Run ``source`` to its done/failed frame, answering host calls (db.* from ``kv``)."""
        message = self.run_message(source, **options)
        self.send(message)
        kv = {} if kv is None else kv
        while True:
            frame = self.receive()
            if frame["t"] == "need_src":
                self.sources_requested += 1
                self.send({**message, "src": source})
            elif frame["t"] == "call":
                assert frame["run"] == message["id"]
                time.sleep(reply_delay)
                value = answer(kv, frame["fn"], frame["args"])
                self.send({"t": "reply", "id": frame["id"], "ok": True, "value": value})
            else:
                assert frame["id"] == message["id"]
                return frame

    def alive(self):
        return self.process.poll() is None

    def close(self):
        self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        self._stderr.close()


def answer(kv, fn, args):
    if fn == "db.get":
        return kv.get(args[0])
    if fn == "db.set":
        kv[args[0]] = args[1]
        return None
    if fn == "fetch":
        return {"error": "no network in tests"}
    return 0


@pytest.fixture
def worker(tmp_path, installed):
    process = WorkerProcess(tmp_path / "worker.stderr")
    yield process
    process.close()


def body_of(outcome):
    assert outcome["t"] == "done", outcome
    return outcome["response"]["body"]


def test_ready_then_hello(worker):
    assert worker.ready == {"t": "ready", "pid": worker.process.pid}
    with open(f"/proc/{worker.process.pid}/limits") as limits:
        assert [line for line in limits if line.startswith("Max address space")][0].split()[3] == str(1536 << 20)
    outcome = worker.run('export default () => "hello"')
    assert outcome["response"] == {"status": 200, "headers": [["content-type", "text/html; charset=utf-8"]],
                                   "body": "hello", "body_base64": False}
    assert outcome["logs"] == []
    worker.send({"t": "ping"})
    assert worker.receive() == {"t": "pong"}


def test_need_src_flow(worker):
    source = 'res.send("compiled once")'
    first = worker.run_message(source, with_source=False)
    worker.send(first)
    assert worker.receive() == {"t": "need_src", "id": first["id"]}
    worker.send({**first, "src": source})
    assert body_of(worker.receive()) == "compiled once"
    again = worker.run_message(source, with_source=False)
    worker.send(again)
    assert body_of(worker.receive()) == "compiled once"


def test_counter_over_host_calls(worker):
    kv = {}
    source = 'let n = (db.get("count") || 0) + 1; db.set("count", n); res.send(`<h1>${n}</h1>`);'
    assert [body_of(worker.run(source, kv=kv)) for _ in range(3)] == ["<h1>1</h1>", "<h1>2</h1>", "<h1>3</h1>"]


def cpu_seconds(pid):
    """User + system CPU time used so far by process ``pid``."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


PURE_JS_LOOPS = [
    "while (true) {}",
    "for (;;) { try { for (;;) {} } catch (e) {} finally { continue } }",
    "for (;;) { import('x').catch(() => {}) }",
    "Array.prototype.toJSON = () => { for (;;) {} }; throw 'x'",
]
HOST_CALL_LOOPS = [  # the driver answers every call, so wall time is mostly the driver's
    "for (;;) { try { db.get('k') } catch (e) {} }",
    "for (;;) { try { call_python('fazt.host', 'db.get', ['k']) } catch (e) {} }",
    "export default async () => { for (;;) { try { await fetch('x') } catch (e) {} } }",
]


@pytest.mark.parametrize("source", PURE_JS_LOOPS + HOST_CALL_LOOPS)
def test_cpu_timeout_then_the_next_run_succeeds(worker, source):
    assert body_of(worker.run('res.send("fine")')) == "fine"
    cpu_before, started = cpu_seconds(worker.process.pid), time.monotonic()
    outcome = worker.run("console.log('before');\n" + source, cpu_ms=100)
    elapsed, cpu_used = time.monotonic() - started, cpu_seconds(worker.process.pid) - cpu_before
    assert outcome["t"] == "failed" and outcome["kind"] == "timeout", outcome
    assert cpu_used < 0.5
    if source in PURE_JS_LOOPS:
        # Stopped by its CPU budget, long before the parent's 10 s wall deadline would kill it.
        assert elapsed < 5.0
    assert ["info", "before"] in outcome["logs"] or outcome["logs"] == []
    if source == "while (true) {}":
        assert outcome["logs"] == [["info", "before"]]
    # The site's interpreter was dropped: a run without source asks for it again.
    assert body_of(worker.run('res.send("fine")', with_source=False)) == "fine"
    assert worker.sources_requested == 1
    assert worker.alive()


def test_host_call_wait_does_not_count_as_cpu(worker):
    started = time.monotonic()
    outcome = worker.run('db.get("a"); res.send("waited")', cpu_ms=100, reply_delay=0.3)
    assert body_of(outcome) == "waited"
    assert time.monotonic() - started >= 0.3


def test_ping_during_a_host_call(worker):
    message = worker.run_message('res.send(String(db.get("k")))')
    worker.send(message)
    call = worker.receive()
    assert call["t"] == "call" and call["fn"] == "db.get" and call["args"] == ["k"]
    worker.send({"t": "ping"})
    assert worker.receive() == {"t": "pong"}
    worker.send({"t": "reply", "id": call["id"], "ok": False, "error": "db unavailable"})
    outcome = worker.receive()
    assert outcome["t"] == "failed" and outcome["message"] == "Error: db unavailable"


def test_a_run_sent_ahead_during_a_host_call_runs_next(worker):
    first = worker.run_message('res.send("first " + db.get("k"))')
    second = worker.run_message('res.send("second")')
    worker.send(first)
    call = worker.receive()
    assert call["t"] == "call" and call["run"] == first["id"]
    worker.send(second)  # the parent sends a site's next run before this one is over
    worker.send({"t": "reply", "id": call["id"], "ok": True, "value": "v"})
    assert (worker.receive()["id"], worker.receive()["id"]) == (first["id"], second["id"])


def test_runs_sent_ahead_wait_their_turn(worker):
    source = 'res.send(req.path)'
    messages = [worker.run_message(source, with_source=n == 0) for n in range(3)]
    for message in messages:
        worker.send(message)
    assert [body_of(worker.receive()) for _ in messages] == ["/"] * 3


def test_deep_recursion_fails_and_the_worker_survives(worker):
    outcome = worker.run("function down(n) { return down(n + 1) + 1 }\ndown(0)")
    assert outcome["t"] == "failed" and outcome["kind"] in ("exception", "memory")
    assert "Maximum call stack size exceeded" in outcome["message"]
    assert body_of(worker.run('res.send("fine")')) == "fine"


# The CPU budget is generous so that the memory cap, not the clock, is what stops these scripts:
# page faults count as CPU time, and on a loaded machine string doubling can take past 100 ms.
@pytest.mark.parametrize("source", [
    "new Array(2 ** 28).fill(1)",
    "let s = 'x'; for (;;) s += s;",
])
def test_huge_allocation_fails_with_memory(worker, source):
    started = time.monotonic()
    outcome = worker.run(source, cpu_ms=5000)
    assert outcome["t"] == "failed" and outcome["kind"] == "memory", outcome
    # The worker answered by itself, long before the parent's wall deadline would have killed it.
    assert time.monotonic() - started < 10.0
    assert body_of(worker.run('res.send("fine")')) == "fine"
    assert worker.alive()


SNOOP = """
const seen = [];
const add = (value) => { try { seen.push(typeof value === 'string' ? value : JSON.stringify(value)) } catch (e) {} };
add(process.env); add(Object.getOwnPropertyNames(globalThis)); add(globalThis.dukpy);
for (const name of Object.getOwnPropertyNames(globalThis)) { try { add(globalThis[name]) } catch (e) {} }
for (const name of ['dukpy.load_module', 'dukpy.normalize_module', 'dukpy.log.info', 'os.environ', 'fazt.host']) {
  try { add(call_python(name, '/proc/self/environ')) } catch (e) { add(String(e)) }
}
try { add(call_python('fazt.host', 'env', [])) } catch (e) { add(String(e)) }
export default async () => {
  for (const path of ['/proc/self/environ', '/etc/passwd']) {
    try { add(await import(path)) } catch (e) { add(String(e)) }
  }
  return {body: {seen, env: process.env}};
};
"""


def test_host_environment_is_invisible(tmp_path, monkeypatch, installed):
    monkeypatch.setenv("FAZT_TEST_SECRET", "s3cr3t-value-from-the-parent")
    process = WorkerProcess(tmp_path / "worker.stderr")
    try:
        outcome = process.run(SNOOP, env={"SITE_VAR": "visible"})
    finally:
        process.close()
    body = body_of(outcome)
    assert json.loads(body)["env"] == {"SITE_VAR": "visible"}
    assert "s3cr3t" not in body and "FAZT_TEST_SECRET" not in body
    assert "root:" not in body  # /etc/passwd was not read either


def test_sites_are_isolated_in_one_worker(worker):
    assert body_of(worker.run("globalThis.x = 'a'; res.send(globalThis.x)", site="a")) == "a"
    assert body_of(worker.run("res.send(String(globalThis.x))", site="b")) == "undefined"


def test_malformed_run_and_oversized_response(worker):
    worker.send({"t": "run", "id": 99, "site": "s", "hash": "h", "src": "1", "req": {}, "env": {}, "cpu_ms": "fast"})
    outcome = worker.receive()
    assert outcome["id"] == 99 and outcome["kind"] == "protocol"
    outcome = worker.run("res.send('x'.repeat(9 * 1024 * 1024))", cpu_ms=1000)
    assert outcome["t"] == "failed" and "response too large" in outcome["message"]
    assert body_of(worker.run('res.send("fine")')) == "fine"


def test_worker_exits_when_stdin_closes(worker):
    worker.process.stdin.close()
    assert worker.process.wait(timeout=5) == 0
