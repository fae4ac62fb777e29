"""In-process tests of the sandboxed interpreter and the fazt JS API (SPEC §7), driven through the worker engine."""

import importlib.metadata
import json

import pytest

from fakeparent import REQUEST, FakeParent
from fazt.runtime.interpreters import Interpreters
from fazt.runtime.sandbox import SandboxedInterpreter
from fazt.runtime.scripts import prepare_source

COUNTER = 'let n = (db.get("count") || 0) + 1; db.set("count", n); res.send(`<h1>${n}</h1>`);'


def request(**overrides):
    return {**REQUEST, **overrides}


@pytest.fixture
def host():
    return FakeParent()


@pytest.fixture
def run(host):
    def run_script(source, req=None, env=None, site="blog", host_call=None):
        if host_call is not None:
            host.answer = lambda run_id, fn, args: host_call(fn, args) if fn.startswith(("db.", "fetch", "socket")) \
                else FakeParent.answer(host, run_id, fn, args)
        return host.run(source, req=req, env=env, site=site)

    return run_script


def body_of(outcome):
    assert outcome["t"] == "done", outcome
    return outcome["response"]["body"]


def test_fazt_counter_script_counts_across_runs(run, host):
    assert [body_of(run(COUNTER)) for _ in range(3)] == ["<h1>1</h1>", "<h1>2</h1>", "<h1>3</h1>"]
    assert host.kv == {"count": 3}
    assert [c for c in host.calls if c[0].startswith("db.")][:2] == [("db.get", ["count"], True), ("db.set", ["count", 1, None], True)]


def test_script_style_defaults_to_empty_html_200(run):
    assert run("let x = 1;")["response"] == {
        "status": 200, "headers": [["content-type", "text/html; charset=utf-8"]], "body": "", "body_base64": False}


def test_res_methods_chain_and_send_appends(run):
    outcome = run('res.status(201).header("X-One", "1").header("x-one", "2").send("a").send("b")')
    assert outcome["response"]["status"] == 201
    assert outcome["response"]["headers"] == [["x-one", "2"], ["content-type", "text/html; charset=utf-8"]]
    assert outcome["response"]["body"] == "ab"
    outcome = run('res.json({a: [1, 2]})')
    assert outcome["response"]["headers"] == [["content-type", "application/json"]]
    assert json.loads(outcome["response"]["body"]) == {"a": [1, 2]}
    outcome = run('res.redirect("/elsewhere")')
    assert outcome["response"]["status"] == 302 and ["location", "/elsewhere"] in outcome["response"]["headers"]
    assert run('res.redirect("/x", 301)')["response"]["status"] == 301
    outcome = run('res.header("Set-Cookie", "a=1").header("Set-Cookie", "b=2")')
    assert [v for k, v in outcome["response"]["headers"] if k == "set-cookie"] == ["a=1", "b=2"]


def test_res_rejects_bad_status_and_header_injection(run):
    assert run("res.status(42)")["kind"] == "exception"
    outcome = run('res.header("X-A", "1\\r\\nSet-Cookie: evil=1")')
    assert outcome["t"] == "failed" and "invalid value for header" in outcome["message"]


def test_req_fields(run):
    source = "res.json({m: req.method, p: req.path, q: req.query, params: req.params, ua: req.headers['user-agent'], " \
             "ua2: req.headers.get('User-Agent'), ip: req.ip, host: req.host, sid: req.cookies.sid, body: req.body})"
    assert json.loads(body_of(run(source, request(method="POST", body="payload")))) == {
        "m": "POST", "p": "/hello", "q": "a=1&b=2", "params": {"a": "1", "b": "2"}, "ua": "pytest", "ua2": "pytest",
        "ip": "203.0.113.9", "host": "blog.example.test", "sid": "abc", "body": "payload"}


def test_odd_request_headers_are_passed_through(run):
    outcome = run("res.send(req.headers.get('Odd Name') + req.headers['x-a'])",
                  request(headers={"Odd Name": "1", "x-a": "2"}))
    assert body_of(outcome) == "12"


def test_handler_style_sync_and_async(run):
    assert body_of(run("export default function (req) { return 'hi ' + req.path }")) == "hi /hello"
    source = """export default async function (req) {
        const r = await fetch("https://api.example.test/x");
        return Response.json({status: r.status, ok: r.ok, data: await r.json(), type: r.headers.get('content-type')});
    }"""
    outcome = run(source)
    assert outcome["response"]["headers"] == [["content-type", "application/json"]]
    assert json.loads(outcome["response"]["body"]) == {
        "status": 200, "ok": True, "data": {"answer": 42}, "type": "application/json"}


def test_handler_style_is_detected_by_the_leading_export_default():
    assert prepare_source("export default (req) => 1")[1] is True
    assert prepare_source("  export   default\nasync function handler(req) {}")[1] is True
    assert prepare_source("res.send('export default')")[1] is False


def test_handler_return_values(run):
    full = run("export default () => ({status: 404, headers: {'X-Why': 'gone'}, body: 'nope'})")["response"]
    assert full["status"] == 404 and full["body"] == "nope"
    assert full["headers"] == [["x-why", "gone"], ["content-type", "text/html; charset=utf-8"]]
    as_json = run("export default () => ({status: 200, body: {a: 1}})")["response"]
    assert as_json["headers"] == [["content-type", "application/json"]] and json.loads(as_json["body"]) == {"a": 1}
    response = run("export default () => new Response('made', {status: 202, headers: {'X-A': 'b'}})")["response"]
    assert response["status"] == 202 and response["body"] == "made" and ["x-a", "b"] in response["headers"]
    as_response_json = run("export default async () => Response.json([1, 2], {status: 201})")["response"]
    assert as_response_json["status"] == 201 and as_response_json["body"] == "[1,2]"
    redirect = run("export default () => Response.redirect('https://example.test/', 307)")["response"]
    assert redirect["status"] == 307 and ["location", "https://example.test/"] in redirect["headers"]
    fallback = run("export default (req) => { res.status(418).send('teapot') }")["response"]
    assert fallback["status"] == 418 and fallback["body"] == "teapot"
    with_fetch = run("export default { fetch(req) { return 'object with fetch' } }")
    assert body_of(with_fetch) == "object with fetch"


def test_db_api(run, host):
    source = """
        db.set("a:1", {x: 1}, {ttl: 60}); db.set("a:2", "two"); db.set("b", 3);
        const listed = db.list("a:");
        const n = db.incr("hits"); const m = db.incr("hits", 5);
        const gone = db.delete("b"), missing = db.get("b");
        res.json({listed, n, m, gone, missing, x: db.get("a:1").x});
    """
    assert json.loads(body_of(run(source))) == {
        "listed": [{"key": "a:1", "value": {"x": 1}}, {"key": "a:2", "value": "two"}],
        "n": 1, "m": 6, "gone": True, "missing": None, "x": 1}
    assert ("db.set", ["a:1", {"x": 1}, 60], True) in host.calls


def test_host_errors_throw_in_js(run):
    def refusing(fn, args):
        raise ValueError("quota exceeded")
    outcome = run('db.set("k", 1)', host_call=refusing)
    assert outcome["kind"] == "exception" and outcome["message"] == "Error: quota exceeded"


def test_fetch_failure_is_fazt_style_and_rejects_when_awaited(run):
    source = 'const r = fetch("http://10.0.0.1/"); res.json({error: r.error, status: r.status, ok: r.ok})'
    assert json.loads(body_of(run(source))) == {"error": "blocked: http://10.0.0.1/", "status": 0, "ok": False}
    outcome = run('export default async () => { await fetch("http://10.0.0.1/"); return "not reached" }')
    assert outcome["kind"] == "exception" and outcome["message"] == "Error: blocked: http://10.0.0.1/"
    caught = ('export default async () => {'
              ' try { await fetch("http://x/") } catch (e) { return "caught " + e.message } }')
    assert body_of(run(caught)) == "caught blocked: http://x/"


def test_successful_fetch_is_readable_at_once_and_awaitable(run, host):
    source = """const r = fetch("https://api.example.test/x");
        res.json({status: r.status, body: r.body, then: typeof r.then, ct: r.headers["content-type"], ok: r.ok})"""
    assert json.loads(body_of(run(source))) == {
        "status": 200, "body": '{"answer": 42}', "then": "function", "ct": "application/json", "ok": True}
    assert ("fetch", ["https://api.example.test/x", {"method": "GET", "headers": {}, "body": None,
                                                     "body_base64": False}], True) in host.calls
    awaited = 'export default async () => { const r = await fetch("https://api.example.test/x"); return r.body }'
    assert body_of(run(awaited)) == '{"answer": 42}'


def test_socket_api(run, host):
    assert body_of(run('res.send(String(socket.broadcast("hi")) + "/" + socket.clients())')) == "3/3"
    assert ("socket.broadcast", ["hi"], True) in host.calls


def test_console_levels_are_collected(run):
    outcome = run('console.log("a", 1, {b: 2}); console.info("i"); console.warn("w"); '
                  'console.error("e"); console.debug("d"); res.send("ok")')
    assert outcome["logs"] == [["info", 'a 1 {"b":2}'], ["info", "i"], ["warn", "w"], ["error", "e"], ["debug", "d"]]


def test_console_is_capped(run):
    outcome = run('for (let i = 0; i < 250; i++) console.log("x".repeat(10000))')
    assert len(outcome["logs"]) == 201 and len(outcome["logs"][0][1]) == 4096
    assert outcome["logs"][-1] == ["warn", "50 more log lines dropped (limit 200 per request)"]


def test_process_env_holds_only_the_site_env(run, monkeypatch):
    monkeypatch.setenv("FAZT_TEST_SECRET", "hunter2")
    source = "res.json({env: process.env, frozen: Object.isFrozen(process.env), binding: typeof process.binding})"
    assert json.loads(body_of(run(source, env={"API_KEY": "k1"}))) == {
        "env": {"API_KEY": "k1"}, "frozen": True, "binding": "undefined"}


def test_no_require_no_modules_no_file_access(run):
    source = """
        const out = {require: typeof require, module: typeof module, exports: typeof exports};
        for (const name of ['dukpy.load_module', 'dukpy.normalize_module', 'dukpy.log.info']) {
            try { call_python(name, '/etc/passwd'); out[name] = 'reached'; } catch (e) { out[name] = e.name; }
        }
        import('/etc/passwd').then(() => { out.import = 'loaded' }, (e) => { out.import = 'refused' })
            .then(() => res.json(out));
    """
    assert json.loads(body_of(run(source))) == {
        "require": "undefined", "module": "undefined", "exports": "undefined", "dukpy.load_module": "ReferenceError",
        "dukpy.normalize_module": "ReferenceError", "dukpy.log.info": "ReferenceError", "import": "refused"}


def test_pinned_dukpy_private_api():
    """The sandbox relies on dukpy 0.6 internals; this fails loudly if they change."""
    assert importlib.metadata.version("dukpy").startswith("0.6.")
    interpreter = SandboxedInterpreter()
    interpreter.export_function("echo", lambda value: value)
    assert interpreter.evaljs("call_python('echo', {a: [1]})") == {"a": [1]}
    interpreter.aborting = True  # call_python answered by a C-level callable
    assert interpreter.evaljs("call_python('echo', 5)") == {"abort": True}
    interpreter.aborting = False
    assert interpreter.evaljs("call_python('echo', 5)") == 5
    assert interpreter.evaljs("try { call_python('nope') } catch (e) { e.name }") == "ReferenceError"
    interpreter.evaluate_module("globalThis.fromModule = import.meta.url", "fazt:test")
    assert interpreter.evaljs("fromModule") == "fazt:test"


def test_interpreter_keeps_no_stock_shims():
    interpreter = SandboxedInterpreter()
    assert interpreter.evaljs("[typeof process, typeof require, typeof console]") == [
        "undefined", "undefined", "undefined"]
    with pytest.raises(PermissionError):
        interpreter.run("/etc/passwd")


def test_a_throw_gives_an_exception_with_its_stack(run):
    outcome = run("function inner() { throw new TypeError('boom') }\nexport default () => inner()")
    assert outcome["t"] == "failed" and outcome["kind"] == "exception"
    assert outcome["message"] == "TypeError: boom"
    assert "at inner (main.js:1:" in outcome["stack"] and "main.js:2:" in outcome["stack"]
    syntax = run("let x = ;")
    assert syntax["kind"] == "exception" and syntax["message"].startswith("SyntaxError")
    thrown = run("console.log('before'); throw 'plain string'")
    assert thrown["message"] == "Uncaught plain string" and thrown["logs"] == [["info", "before"]]


def test_a_pending_promise_is_reported(run):
    outcome = run("export default () => new Promise(() => {})")
    assert outcome["kind"] == "exception" and "never finished" in outcome["message"]


def test_top_level_let_and_await_rerun_in_a_fresh_scope(run):
    source = 'const x = await Promise.resolve(1); let y = typeof z; var z = 2; res.send(x + ":" + y)'
    assert [body_of(run(source)) for _ in range(2)] == ["1:undefined", "1:undefined"]


def test_sites_do_not_see_each_others_globals(host):
    source = "if (req.path === '/set') globalThis.x = 'from ' + req.host; res.send(String(globalThis.x))"
    outcomes = []
    for site, path in (("a", "/set"), ("b", "/"), ("a", "/")):
        run_id = host.submit({"main.js": source}, site=site, code=f"{site}:1", req={"path": path, "host": site})
        host.run_all()
        outcomes.append(body_of(host.outcome(run_id)))
    assert outcomes == ["from a", "undefined", "from a"]


def test_a_new_deployment_starts_in_a_fresh_interpreter(host):
    source = "globalThis.n = (globalThis.n || 0) + 1; res.send(String(globalThis.n))"
    bodies = []
    for code in ("blog:1", "blog:1", "blog:2"):
        run_id = host.submit({"main.js": source}, code=code)
        host.run_all()
        bodies.append(body_of(host.outcome(run_id)))
    assert bodies == ["1", "2", "1"]


def test_api_globals_cannot_be_replaced_for_later_runs(host):
    source = """if (req.path === '/break') { globalThis.db = null; globalThis.fetch = null; call_python = null; console = null }
        res.send(typeof db.get + typeof fetch + typeof call_python)"""
    bodies = []
    for path in ("/break", "/"):
        run_id = host.submit({"main.js": source}, code="blog:1", req={"path": path})
        host.run_all()
        bodies.append(body_of(host.outcome(run_id)))
    assert bodies[1] == "functionfunctionfunction"


def test_interpreters_are_a_bounded_set_that_keeps_busy_ones(host):
    interpreters = Interpreters(host.engine.calls, capacity=2)
    a = interpreters.get("a", "a:1")
    interpreters.get("b", "b:1")
    assert interpreters.get("a", "a:1") is a
    a.runs.add(99)  # a run in flight: never evicted
    interpreters.get("c", "c:1")
    interpreters.get("d", "d:1")
    assert interpreters.get("a", "a:1") is a
    a.runs.clear()
    newer = interpreters.get("a", "a:2")  # a new deployment: the old interpreter retires
    assert newer is not a and a.retired


def test_req_headers_keep_part_one_shape(run):
    source = "const seen = []; req.headers.forEach((v, k) => seen.push(k + '=' + v)); " \
             "res.json({keys: Object.keys(req.headers), seen, has: req.headers.has('Accept')})"
    assert json.loads(body_of(run(source))) == {
        "keys": ["user-agent", "accept"], "seen": ["user-agent=pytest", "accept=*/*"], "has": True}
