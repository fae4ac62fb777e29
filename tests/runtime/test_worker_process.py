"""The real worker process (python -m fazt.runtime.worker) driven over its pipes with PROTOCOL.md frames."""

import json
import os
import select
import subprocess
import time

import pytest

from fazt.runtime.protocol import FrameDecoder, encode_frame
from installed import PYTHON

REQUEST = {"method": "GET", "url": "http://s.example.test/", "path": "/", "query": "", "params": {},
           "headers": {"host": "s.example.test"}, "body": "", "body_base64": False, "ip": "127.0.0.1",
           "host": "s.example.test", "cookies": {}, "route": {"params": {}}}


class WorkerProcess:
    """Drives one worker: sends frames, reads frames, answers host calls from code bundles and a dict."""

    def __init__(self, stderr_path):
        self._stderr = open(stderr_path, "wb")
        self.process = subprocess.Popen(
            [PYTHON, "-m", "fazt.runtime.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr, env={"PATH": "/usr/bin:/bin"}, cwd="/")
        self._decoder = FrameDecoder()
        self._inbox = []
        self._run_ids = 0
        self.bundles = {}   # code key -> {path: source}
        self.code_of = {}   # run id -> code key
        self.kv = {}
        self.calls = []     # every call frame received
        self.outcomes = {}  # run id -> done/failed frame
        self.late = {}      # run id -> late frame
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

    def run_message(self, source=None, files=None, site="site-a", code=None, entry="main.js", cpu_ms=100, env=None,
                    req=None):
        self._run_ids += 1
        files = {"main.js": source} if files is None else files
        code = code or f"{site}:{abs(hash(tuple(sorted(files.items()))))}"
        self.bundles[code] = files
        self.code_of[self._run_ids] = code
        kind = "script" if entry == "main.js" else "module"
        return {"t": "run", "id": self._run_ids, "site": site, "code": code, "entry": {"kind": kind, "path": entry},
                "req": {**REQUEST, **(req or {})}, "env": env or {}, "cpu_ms": cpu_ms}

    def start(self, source=None, **options):
        message = self.run_message(source, **options)
        self.send(message)
        return message["id"]

    def answer(self, frame):
        files = self.bundles.get(self.code_of.get(frame["run"]), {})
        fn, args = frame["fn"], frame["args"]
        if fn == "module.paths":
            return sorted(files)
        if fn == "module.source":
            return files.get(args[0])
        return answer(self.kv, fn, args)

    def step(self, reply_delay=0.0, hold=()):
        """Read one frame: answer a call (unless its fn is in ``hold``), record an outcome; return the frame."""
        frame = self.receive()
        if frame["t"] == "call":
            self.calls.append(frame)
            if frame["fn"] not in hold:
                time.sleep(reply_delay)
                self.send({"t": "reply", "id": frame["id"], "ok": True, "value": self.answer(frame)})
        elif frame["t"] in ("done", "failed"):
            assert frame["id"] not in self.outcomes
            self.outcomes[frame["id"]] = frame
        elif frame["t"] == "late":
            self.late[frame["id"]] = frame
        return frame

    def wait(self, *run_ids, **options):
        """Answer calls until every run in ``run_ids`` has its outcome; return them in that order."""
        while not all(run_id in self.outcomes for run_id in run_ids):
            self.step(**options)
        return [self.outcomes[run_id] for run_id in run_ids]

    def run(self, source=None, reply_delay=0.0, **options):
        """Run ``source`` (a root main.js) to its done/failed frame."""
        return self.wait(self.start(source, **options), reply_delay=reply_delay)[0]

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
    assert worker.ready == {"t": "ready", "pid": worker.process.pid, "max_runs": 256}
    with open(f"/proc/{worker.process.pid}/limits") as limits:
        assert [line for line in limits if line.startswith("Max address space")][0].split()[3] == str(1536 << 20)
    outcome = worker.run('export default () => "hello"')
    assert outcome["response"] == {"status": 200, "headers": [["content-type", "text/html; charset=utf-8"]],
                                   "body": "hello", "body_base64": False}
    assert outcome["logs"] == [] and outcome["cpu_ms"] > 0
    worker.send({"t": "ping"})
    assert worker.receive() == {"t": "pong"}


def test_code_is_loaded_once_per_deployment(worker):
    source = 'res.send("compiled once")'
    assert [body_of(worker.run(source, code="site-a:1")) for _ in range(3)] == ["compiled once"] * 3
    asked = [(c["fn"], c["args"], c["sync"]) for c in worker.calls]
    assert asked == [("module.paths", [], True), ("module.source", ["main.js"], True)]
    worker.run(source, code="site-a:2")  # a new deployment: a fresh interpreter loads it again
    assert [c["fn"] for c in worker.calls[2:]] == ["module.paths", "module.source"]


def test_counter_over_host_calls(worker):
    source = 'let n = (db.get("count") || 0) + 1; db.set("count", n); res.send(`<h1>${n}</h1>`);'
    assert [body_of(worker.run(source)) for _ in range(3)] == ["<h1>1</h1>", "<h1>2</h1>", "<h1>3</h1>"]
    assert all(c["sync"] for c in worker.calls)


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
    assert body_of(worker.run('res.send("fine")', code="site-a:1")) == "fine"
    cpu_before, started = cpu_seconds(worker.process.pid), time.monotonic()
    outcome = worker.run("console.log('before');\n" + source, cpu_ms=100)
    elapsed, cpu_used = time.monotonic() - started, cpu_seconds(worker.process.pid) - cpu_before
    assert outcome["t"] == "failed" and outcome["kind"] == "timeout", outcome
    assert cpu_used < 0.5 and outcome["cpu_ms"] > 0
    if source in PURE_JS_LOOPS:
        # Stopped by its CPU budget, long before the parent's 10 s wall deadline would kill it.
        assert elapsed < 5.0
    assert ["info", "before"] in outcome["logs"] or outcome["logs"] == []
    if source == "while (true) {}":
        assert outcome["logs"] == [["info", "before"]]
    assert body_of(worker.run('res.send("fine")', code="site-a:1")) == "fine"
    assert worker.alive()


def test_host_call_wait_does_not_count_as_cpu(worker):
    started = time.monotonic()
    outcome = worker.run('db.get("a"); res.send("waited")', cpu_ms=100, reply_delay=0.3)
    assert body_of(outcome) == "waited"
    assert time.monotonic() - started >= 0.3 and outcome["cpu_ms"] < 300


def test_ping_and_frames_during_a_sync_host_call(worker):
    source = 'res.send(req.path === "/other" ? "second" : req.path === "/warm" ? "warm" : String(db.get("k")))'
    assert body_of(worker.run(source, code="site-a:1", req={"path": "/warm"})) == "warm"
    first = worker.start(source, code="site-a:1")
    call = worker.receive()
    assert call["t"] == "call" and call["fn"] == "db.get" and call["args"] == ["k"] and call["sync"] is True
    worker.send({"t": "ping"})
    assert worker.receive() == {"t": "pong"}  # answered while the run is blocked on its call
    second = worker.start(None, files=worker.bundles["site-a:1"], code="site-a:1", req={"path": "/other"})
    worker.send({"t": "reply", "id": call["id"], "ok": False, "error": "db unavailable"})
    first_outcome, second_outcome = worker.wait(first, second)
    assert first_outcome["t"] == "failed" and first_outcome["message"] == "Error: db unavailable"
    assert body_of(second_outcome) == "second"


ASYNC_WAIT = """export default async (req) => {
    const started = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 200));
    return Response.json({started, finished: Date.now()});
}"""


def test_fifty_runs_wait_on_timers_at_once(worker):
    run_ids = [worker.start(ASYNC_WAIT, code="site-a:1") for _ in range(50)]
    outcomes = worker.wait(*run_ids)
    times = [json.loads(body_of(outcome)) for outcome in outcomes]
    # Every run had started before any had finished: they waited together, not one after another.
    assert max(t["started"] for t in times) <= min(t["finished"] for t in times)
    assert all(t["finished"] - t["started"] >= 200 for t in times)
    # More runs than one interpreter takes: the deployment got a second one, its files still read once.
    assert [c["args"] for c in worker.calls if c["fn"] == "module.source"] == [["main.js"]]


FETCH_WAIT = """export default async (req) => {
    const response = await fetch("https://upstream.example.test" + req.path);
    return (await response.text()) + " for " + req.path;
}"""


def test_awaited_fetches_are_async_calls_answered_in_any_order(worker):
    ids = [worker.start(FETCH_WAIT, code="site-a:1", req={"path": f"/{n}"}) for n in range(3)]
    held = []
    while len(held) < 3:
        frame = worker.step(hold=("fetch",))
        if frame["t"] == "call" and frame["fn"] == "fetch":
            held.append(frame)
    assert [f["sync"] for f in held] == [False] * 3 and {f["run"] for f in held} == set(ids)
    for frame in reversed(held):  # the parent answers in any order
        worker.send({"t": "reply", "id": frame["id"], "ok": True, "value": {
            "status": 200, "headers": {}, "body": "upstream" + frame["args"][0][-2:], "body_base64": False}})
    outcomes = worker.wait(*ids)
    assert [body_of(o) for o in outcomes] == [f"upstream/{n} for /{n}" for n in range(3)]


def test_a_hostile_run_fails_alone_while_another_of_its_site_waits(worker):
    source = """export default async (req) => {
        if (req.path === "/spin") { for (;;) {} }
        const response = await fetch("https://upstream.example.test/slow");
        return "waited " + response.status;
    }"""
    waiting = worker.start(source, code="site-a:1")
    fetch_call = worker.step(hold=("fetch",))
    while fetch_call["t"] != "call" or fetch_call["fn"] != "fetch":
        fetch_call = worker.step(hold=("fetch",))
    spinning = worker.start(source, code="site-a:1", req={"path": "/spin"})
    (failed,) = worker.wait(spinning)
    assert failed["kind"] == "timeout" and failed["cpu_ms"] > 0
    # The interpreter is retired, yet the run still in flight in it finishes normally.
    worker.send({"t": "reply", "id": fetch_call["id"], "ok": True,
                 "value": {"status": 204, "headers": {}, "body": "", "body_base64": False}})
    assert body_of(worker.wait(waiting)[0]) == "waited 204"
    # The next run of the site gets a fresh interpreter: the deployment's code is loaded again.
    loads = sum(1 for c in worker.calls if c["fn"] == "module.source")
    worker.run(source, code="site-a:1", req={"path": "/ok"})
    assert sum(1 for c in worker.calls if c["fn"] == "module.source") == loads + 1


def test_cpu_is_counted_per_run_across_slices(worker):
    source = """export default async (req) => {
        let x = 0;
        for (let slice = 0; slice < 6; slice++) {
            for (let i = 0; i < 400000; i++) x += i;  // tens of ms of CPU per slice, far below 100 each
            await new Promise((resolve) => setTimeout(resolve, 1));
        }
        return "survived";
    }"""
    outcome = worker.run(source, cpu_ms=100)  # no single slice reaches 100 ms; together they do
    assert outcome["t"] == "failed" and outcome["kind"] == "timeout"
    assert body_of(worker.run(source, cpu_ms=5000)) == "survived"


def test_cancel_drops_a_run(worker):
    run_id = worker.start('export default async () => { await fetch("https://x.test/"); return "late" }')
    frame = worker.step(hold=("fetch",))
    while frame["t"] != "call" or frame["fn"] != "fetch":
        frame = worker.step(hold=("fetch",))
    worker.send({"t": "cancel", "id": run_id})
    worker.send({"t": "reply", "id": frame["id"], "ok": True, "value": {"status": 200, "headers": {}, "body": "x"}})
    assert body_of(worker.run('res.send("next")')) == "next"
    assert run_id not in worker.outcomes


def test_wait_until_logs_arrive_late(worker):
    source = """export default { fetch(request, env, ctx) {
        console.log("in the handler");
        ctx.waitUntil(new Promise((resolve) => setTimeout(resolve, 50)).then(() => console.log("after the response")));
        return new Response("answered");
    } }"""
    run_id = worker.start(source)
    (outcome,) = worker.wait(run_id)
    assert body_of(outcome) == "answered" and outcome["logs"] == [["info", "in the handler"]]
    while run_id not in worker.late:
        worker.step()
    assert worker.late[run_id] == {"t": "late", "id": run_id, "logs": [["info", "after the response"]]}


def check(worker, check_id, files, entries):
    """Send a check of ``files`` and answer its calls until ``checked`` comes."""
    worker.bundles[f"check:{check_id}"] = files
    worker.code_of[check_id] = f"check:{check_id}"
    worker.send({"t": "check", "id": check_id, "site": "site-a", "code": f"check:{check_id}", "entries": entries,
                 "cpu_ms": 1000})
    frame = worker.step()
    while frame["t"] != "checked":
        frame = worker.step()
    return frame


def test_check_compiles_without_running(worker):
    files = {"main.js": "import { hello } from './api/_lib.js';\ndb.set('main ran', 1); res.send(hello)",
             "api/x.js": "import data from './data.json';\ndb.set('module ran', data.n);\nexport const GET = () => 1;",
             "api/data.json": '{"n": 1}', "api/_lib.js": "db.set('lib ran', 1); export const hello = 'hi';"}
    verdict = check(worker, 900, files, ["main.js", "api/x.js"])
    assert verdict == {"t": "checked", "id": 900, "ok": True, "file": None, "line": None, "message": ""}
    assert {c["fn"] for c in worker.calls} == {"module.paths", "module.source"}  # no db call: nothing ran
    broken = {**files, "api/x.js": "// a comment\nimport data from './nope.json';\nexport const GET = () => 1;"}
    verdict = check(worker, 901, broken, ["main.js", "api/x.js"])
    assert (verdict["ok"], verdict["file"], verdict["line"]) == (False, "api/x.js", 2)
    assert "./nope.json" in verdict["message"]


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
    source = "if (req.path === '/set') globalThis.x = 'a'; res.send(String(globalThis.x))"
    assert body_of(worker.run(source, site="a", code="k", req={"path": "/set"})) == "a"
    assert body_of(worker.run(source, site="b", code="k")) == "undefined"
    assert body_of(worker.run(source, site="a", code="k")) == "a"


def test_malformed_run_and_oversized_response(worker):
    worker.send({"t": "run", "id": 99, "site": "s", "code": "c", "entry": {"kind": "script", "path": "main.js"},
                 "req": {}, "env": {}, "cpu_ms": "fast"})
    outcome = worker.receive()
    assert outcome["id"] == 99 and outcome["kind"] == "protocol"
    outcome = worker.run("res.send('x'.repeat(9 * 1024 * 1024))", cpu_ms=1000)
    assert outcome["t"] == "failed" and "response too large" in outcome["message"]
    assert body_of(worker.run('res.send("fine")')) == "fine"


def test_worker_exits_when_stdin_closes(worker):
    worker.process.stdin.close()
    assert worker.process.wait(timeout=5) == 0


def test_a_fazt_style_getter_blocks_on_an_async_call_already_sent(worker):
    source = """export default async () => {
        const pending = fetch("https://upstream.example.test/");
        const later = pending.then((response) => response.status);
        await new Promise((resolve) => setTimeout(resolve, 1));  // the call goes out with this slice
        return pending.status + " " + await later;
    }"""
    run_id = worker.start(source)
    frame = worker.step(hold=("fetch",))
    while frame["t"] != "call" or frame["fn"] != "fetch":
        frame = worker.step(hold=("fetch",))
    assert frame["sync"] is False
    worker.send({"t": "ping"})
    assert worker.receive() == {"t": "pong"}  # pings are answered while the getter waits
    worker.send({"t": "reply", "id": frame["id"], "ok": True, "value": {"status": 201, "headers": {}, "body": ""}})
    assert body_of(worker.wait(run_id)[0]) == "201 201"
    assert [c["fn"] for c in worker.calls].count("fetch") == 1


def test_interleaved_runs_are_charged_their_own_cpu(worker):
    source = """export default async (req) => {
        const order = [];
        let x = 0;
        for (let slice = 0; slice < 3; slice++) {
            for (let i = 0; i < 150000; i++) x += i;  // a few tens of ms of CPU per slice
            order.push(req.path + slice);
            await new Promise((resolve) => setTimeout(resolve, 1));
        }
        return String(x);
    }"""
    ids = [worker.start(source, code="site-a:1", req={"path": f"/{n}"}, cpu_ms=1000) for n in range(4)]
    outcomes = worker.wait(*ids)
    assert [o["t"] for o in outcomes] == ["done"] * 4
    # Each run is charged what it used itself (about the same for all four), not what the worker did meanwhile.
    charged = [o["cpu_ms"] for o in outcomes]
    assert max(charged) < sum(charged) / 2
