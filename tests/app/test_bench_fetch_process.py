"""C{--unsafe-bench-fetch-allow}, as a script on a real twistd sees it: off unless given on the command line,
and then only the one loopback address:port it names (bench/js.py's upstream), never another."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

import pytest

# fazt style, so it runs the same on every runtime: the URL comes from the query string.
FETCHER = 'const r = fetch(req.params.url); res.send(r.error ? "error: " + r.error : r.status + " " + r.body)'
HOST = "fetcher.example.test"


class _Answer(BaseHTTPRequestHandler):
    def do_GET(self):
        body = self.server.name.encode()
        self.server.served += 1
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def upstreams():
    """Two HTTP servers on 127.0.0.1 answering their name: C{allowed} and C{other}."""
    servers = {}
    for name in ("allowed", "other"):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
        server.name, server.served = name, 0
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers[name] = server
    yield {name: server for name, server in servers.items()}
    for server in servers.values():
        server.shutdown()
        server.server_close()


def fetched(server, url: str) -> str:
    status, body = server.get(f"/?url={quote(url, safe='')}", HOST)
    assert status == 200, body
    return body.decode()


def deploy_fetcher(fz, cli_env, server, tmp_path) -> None:
    token = fz.create_token(cli_env, server.db)
    deployed = fz.cli_deploy(cli_env, server, token, fz.write_tree(tmp_path / "fetcher", {"main.js": FETCHER}),
                             site="fetcher")
    assert deployed.returncode == 0, deployed.stderr


def test_only_the_named_loopback_port_is_reachable(twistd, fz, cli_env, tmp_path, upstreams):
    port, other_port = (upstreams[name].server_address[1] for name in ("allowed", "other"))
    server = twistd.start(args=("--unsafe-bench-fetch-allow", f"127.0.0.1:{port}"))
    deploy_fetcher(fz, cli_env, server, tmp_path)
    assert fetched(server, f"http://127.0.0.1:{port}/") == "200 allowed"
    assert fetched(server, f"http://127.0.0.1:{other_port}/") == "error: blocked: address 127.0.0.1 is blocked (loopback)"
    assert fetched(server, f"http://127.0.0.2:{port}/") == "error: blocked: address 127.0.0.2 is blocked (loopback)"
    assert fetched(server, f"http://10.0.0.1:{port}/") == "error: blocked: address 10.0.0.1 is blocked (private)"
    assert (upstreams["allowed"].served, upstreams["other"].served) == (1, 0)
    assert "--unsafe-bench-fetch-allow" in server.log()  # the warning at start


def test_loopback_stays_refused_by_default_and_from_the_environment(twistd, fz, cli_env, tmp_path, upstreams):
    port = upstreams["allowed"].server_address[1]
    plain = twistd.start()
    deploy_fetcher(fz, cli_env, plain, tmp_path)
    assert fetched(plain, f"http://127.0.0.1:{port}/") == "error: blocked: address 127.0.0.1 is blocked (loopback)"
    plain.terminate()
    # fazt.tac reads every option from FAZT_*, but never this one.
    from_env = twistd.start(db=plain.db, tac=True, env={"FAZT_UNSAFE_BENCH_FETCH_ALLOW": f"127.0.0.1:{port}"})
    assert fetched(from_env, f"http://127.0.0.1:{port}/") == "error: blocked: address 127.0.0.1 is blocked (loopback)"
    assert upstreams["allowed"].served == 0


def test_refused_in_production(twistd, upstreams):
    port = upstreams["allowed"].server_address[1]
    server = twistd.spawn(args=("--env", "production", "--unsafe-bench-fetch-allow", f"127.0.0.1:{port}"))
    assert server.proc.wait(30) != 0
    assert "refused with --env production" in server.log()
