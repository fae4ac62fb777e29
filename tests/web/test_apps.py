"""Serverless apps (SPEC §7) through the whole server: real worker processes, real SQLite."""

from __future__ import annotations

import os
import signal
import sqlite3
import time

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.task import deferLater

from fazt_testing import start_server, stop_server

COUNTER = 'let n = (db.get("count") || 0) + 1; db.set("count", n); res.send(`<h1>${n}</h1>`);'


def site_logs(db: str, site: str) -> list[tuple[str, str]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT level, message FROM site_logs WHERE site_name = ? ORDER BY id", (site,)).fetchall()
    finally:
        conn.close()


async def eventually(check, timeout=5.0):
    """Wait until C{check()} is truthy (logs are written in batches, off the request path)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        await deferLater(reactor, 0.05, lambda: None)


@pytest.fixture
def app_server(tmp_path):
    live = start_server(str(tmp_path / "data.db"), extra_args=("--js-workers", "2"))
    yield live
    stop_server(live)


async def deploy(server, site, files):
    response = await server.deploy(site, files)
    assert response.code == 200, response.body


@pytest_twisted.ensureDeferred
async def test_original_fazt_counter_counts(app_server):
    await deploy(app_server, "counter", {"main.js": COUNTER})
    bodies = [(await app_server.get("/", "counter.example.test")).body for _ in range(3)]
    assert bodies == [b"<h1>1</h1>", b"<h1>2</h1>", b"<h1>3</h1>"]
    page = await app_server.get("/anything/else", "counter.example.test")
    assert page.header("content-type") == "text/html; charset=utf-8"


@pytest_twisted.ensureDeferred
async def test_main_js_source_is_never_served(app_server):
    await deploy(app_server, "app", {"main.js": 'res.send("ran")', "index.html": "static"})
    assert (await app_server.get("/main.js", "app.example.test")).body == b"ran"
    assert (await app_server.get("/index.html", "app.example.test")).body == b"ran"


@pytest_twisted.ensureDeferred
async def test_handler_style_with_request_fields(app_server):
    script = """
    export default async function (req) {
      const seen = await Promise.resolve({
        method: req.method, path: req.path, query: req.query, params: req.params,
        agent: req.headers["x-test"], body: req.body, host: req.host, cookie: req.cookies.flavour,
        ip: typeof req.ip,
      });
      return Response.json(seen, {status: 201, headers: {"X-App": "yes"}});
    }
    """
    await deploy(app_server, "jsapi", {"main.js": script})
    response = await app_server.request("POST", "/items/7?x=1&y=two", "jsapi.example.test",
                                        headers={"X-Test": "hello", "Cookie": "flavour=mint; a=b"}, body=b"payload")
    assert response.code == 201
    assert response.header("x-app") == "yes"
    assert response.header("content-type").startswith("application/json")
    assert response.json() == {"method": "POST", "path": "/items/7", "query": "x=1&y=two",
                               "params": {"x": "1", "y": "two"}, "agent": "hello", "body": "payload",
                               "host": "jsapi.example.test", "cookie": "mint", "ip": "string"}


@pytest_twisted.ensureDeferred
async def test_res_is_chainable_and_redirects(app_server):
    await deploy(app_server, "chain", {"main.js": """
      if (req.path === "/go") { res.redirect("/there", 307); }
      else { res.status(202).header("X-One", "1").json({ok: true}); }
    """})
    moved = await app_server.get("/go", "chain.example.test")
    assert (moved.code, moved.header("location")) == (307, "/there")
    done = await app_server.get("/", "chain.example.test")
    assert (done.code, done.header("x-one"), done.json()) == (202, "1", {"ok": True})


@pytest_twisted.ensureDeferred
async def test_kv_and_globals_are_private_to_each_site(app_server):
    writer = 'db.set("secret", "alpha-only"); globalThis.leak = "alpha"; res.send("ok")'
    reader = 'res.json({kv: db.get("secret"), list: db.list(""), leak: typeof globalThis.leak})'
    await deploy(app_server, "alpha", {"main.js": writer})
    await deploy(app_server, "beta", {"main.js": reader})
    assert (await app_server.get("/", "alpha.example.test")).body == b"ok"
    for _ in range(4):  # whichever worker answers, nothing of alpha's is visible
        seen = (await app_server.get("/", "beta.example.test")).json()
        assert seen == {"kv": None, "list": [], "leak": "undefined"}


@pytest_twisted.ensureDeferred
async def test_process_env_holds_only_the_sites_variables(app_server, monkeypatch):
    os.environ["FAZT_HOST_SECRET"] = "do-not-leak"
    try:
        conn = sqlite3.connect(app_server.db)
        conn.execute("INSERT INTO env_vars (site_name, name, value, created_at, updated_at)"
                     " VALUES ('envy', 'GREETING', 'hi', 0, 0), ('other', 'NOPE', 'x', 0, 0)")
        conn.commit()
        conn.close()
        await deploy(app_server, "envy", {"main.js": """
          let found = [];
          try { found.push(typeof require); } catch (e) { found.push("throws"); }
          try { call_python("dukpy.load_module", "/etc/passwd"); found.push("loaded"); } catch (e) { found.push("refused"); }
          res.json({env: process.env, found, all: JSON.stringify(globalThis).includes("do-not-leak")});
        """})
        seen = (await app_server.get("/", "envy.example.test")).json()
        assert seen["env"] == {"GREETING": "hi"}
        assert seen["found"] == ["undefined", "refused"]
        assert seen["all"] is False
    finally:
        del os.environ["FAZT_HOST_SECRET"]


@pytest_twisted.ensureDeferred
async def test_console_lines_reach_site_logs(app_server):
    await deploy(app_server, "talker", {"main.js": """
      console.log("hello", {a: 1}); console.warn("careful"); console.error("bad"); console.debug("dbg");
      res.send("ok");
    """})
    assert (await app_server.get("/", "talker.example.test")).body == b"ok"
    logs = await eventually(lambda: site_logs(app_server.db, "talker"))
    assert logs == [("info", 'hello {"a":1}'), ("warn", "careful"), ("error", "bad"), ("debug", "dbg")]


@pytest_twisted.ensureDeferred
async def test_exception_gives_500_and_the_stack_goes_to_the_log(app_server):
    await deploy(app_server, "broken", {"main.js": 'function f() { throw new Error("kaboom"); } f();'})
    response = await app_server.get("/", "broken.example.test")
    assert response.code == 500
    assert b"kaboom" not in response.body and b"Traceback" not in response.body
    logs = await eventually(lambda: site_logs(app_server.db, "broken"))
    assert logs and logs[-1][0] == "error" and "kaboom" in logs[-1][1]


HOSTILE = {
    "loop": "while (true) {}",
    "recursion": "function f(n) { return f(n + 1) + 1; } f(0);",
    "allocation": 'let parts = []; let s = "x".repeat(1 << 20); while (true) { parts.push(s + parts.length); }',
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
@pytest_twisted.ensureDeferred
async def test_hostile_scripts_fail_alone(app_server, kind):
    await deploy(app_server, "hostile", {"main.js": HOSTILE[kind]})
    await deploy(app_server, "calm", {"main.js": 'res.send("calm")'})
    started = time.monotonic()
    response = await app_server.get("/", "hostile.example.test")
    assert response.code == 500
    assert time.monotonic() - started < 5
    for _ in range(3):
        assert (await app_server.get("/", "calm.example.test")).body == b"calm"
    assert (await app_server.get("/health", "calm.example.test")).code == 200


@pytest_twisted.ensureDeferred
async def test_other_site_keeps_answering_while_a_loop_runs(app_server):
    await deploy(app_server, "hostile", {"main.js": HOSTILE["loop"]})
    await deploy(app_server, "calm", {"main.js": 'res.send("calm")'})
    finished = []
    hostile = []
    for _ in range(6):
        pending = Deferred.fromCoroutine(app_server.get("/", "hostile.example.test"))
        pending.addCallback(lambda response: finished.append(response.code) or response)
        hostile.append(pending)
    for _ in range(10):
        assert (await app_server.get("/", "calm.example.test")).body == b"calm"
    # Each hostile run stops at 100 ms of CPU; the calm site must never queue behind all of them:
    # its ten answers come while hostile runs are still waiting (an order, not a timing).
    assert len(finished) < 6, finished
    for pending in hostile:
        assert (await pending).code == 500


@pytest.fixture
def one_slow_worker(tmp_path):
    live = start_server(str(tmp_path / "data.db"), extra_args=("--js-workers", "1", "--js-cpu-ms", "5000"))
    yield live
    stop_server(live)


@pytest_twisted.ensureDeferred
async def test_a_killed_worker_fails_only_its_request(one_slow_worker):
    server = one_slow_worker
    await deploy(server, "spin", {"main.js": 'if (req.path === "/spin") { while (true) {} } res.send("fine")'})
    assert (await server.get("/", "spin.example.test")).body == b"fine"
    pool = next(s for s in server.services if type(s).__name__ == "WorkerPool")
    pending = server.get("/spin", "spin.example.test")
    await deferLater(reactor, 0.3, lambda: None)
    os.kill(pool._workers[0].pid, signal.SIGKILL)
    assert (await pending).code == 500
    answer = await eventually_response(server)
    assert answer.body == b"fine"


async def eventually_response(server):
    for _ in range(50):
        response = await server.get("/", "spin.example.test")
        if response.code == 200:
            return response
        await deferLater(reactor, 0.1, lambda: None)
    return response


@pytest_twisted.ensureDeferred
async def test_request_body_over_one_mib_is_refused(app_server):
    await deploy(app_server, "echo", {"main.js": 'res.send(String(req.body.length))'})
    small = await app_server.request("POST", "/", "echo.example.test", body=b"x" * 1000)
    assert small.body == b"1000"
    big = await app_server.request("POST", "/", "echo.example.test", body=b"x" * (1024 * 1024 + 10))
    assert big.code == 413


@pytest_twisted.ensureDeferred
async def test_fetch_to_private_addresses_is_blocked_and_sockets_answer(app_server):
    await deploy(app_server, "fetcher", {"main.js": """
      export default async function (req) {
        const sync = fetch("http://127.0.0.1:1/secret");
        let rejected = null;
        try { await fetch("http://169.254.169.254/latest/meta-data/"); } catch (e) { rejected = e.message; }
        return Response.json({status: sync.status, error: sync.error, rejected,
                              reached: socket.broadcast("hi"), clients: socket.clients()});
      }
    """})
    seen = (await app_server.get("/", "fetcher.example.test")).json()
    assert seen["status"] == 0 and "blocked" in seen["error"]
    assert "blocked" in seen["rejected"]
    assert (seen["reached"], seen["clients"]) == (0, 0)
