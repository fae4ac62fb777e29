"""`twistd fazt --processes 2` (SPEC §19): a supervisor and two serving processes on one port.

Which process answered is read from the X-Fazt-Process header of /health. To read from a given
process, a test holds a kept-alive connection to it (a connection stays with the process that
accepted it), found by opening fresh connections until each process has answered one.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import signal
import socket
import ssl
import threading
import time

import pytest

HEADER = "X-Fazt-Process"
BIG = os.urandom(24 * 1024 * 1024)  # far more than socket buffers hold: the download is in flight


def process_of(response: http.client.HTTPResponse) -> tuple[int, int]:
    """(index, pid) from an X-Fazt-Process header: C{index=I; pid=P}."""
    fields = dict(part.strip().split("=") for part in response.getheader(HEADER).split(";"))
    return int(fields["index"]), int(fields["pid"])


def health(port: int, conn: http.client.HTTPConnection | None = None) -> tuple[int, int]:
    """Which process answers /health, on a fresh connection (closed) or on C{conn} (kept)."""
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/health", headers={"Host": "example.test"})
        response = conn.getresponse()
        assert (response.status, response.read()) == (200, b"OK")
        return process_of(response)
    finally:
        if own:
            conn.close()


def connection_per_process(port: int, count: int = 2, attempts: int = 400) -> dict:
    """pid -> a kept-alive connection served by that process."""
    held: dict = {}
    for _ in range(attempts):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        _, pid = health(port, conn)
        if pid in held:
            conn.close()
        else:
            held[pid] = conn
        if len(held) == count:
            return held
    raise AssertionError(f"only {sorted(held)} answered in {attempts} fresh connections")


def process_ids(port: int) -> set:
    """The pids of the serving processes, from fresh connections until each has answered one (a busy
    process may lose many accepts in a row: a fixed number of tries is not enough on a loaded machine)."""
    held = connection_per_process(port)
    for conn in held.values():
        conn.close()
    return set(held)


def get(conn: http.client.HTTPConnection, path: str, host: str) -> tuple[int, bytes]:
    conn.request("GET", path, headers={"Host": host})
    response = conn.getresponse()
    return response.status, response.read()


def api(port: int, token: str, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Host": "admin.example.test", "Authorization": f"Bearer {token}"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


def read_everywhere(held: dict, path: str, host: str, expected: bytes, within: float) -> dict:
    """Poll every process over its own connection until each serves C{expected}; pid -> seconds it took."""
    started = time.monotonic()
    seen: dict = {}
    while len(seen) < len(held) and time.monotonic() - started < within:
        for pid, conn in held.items():
            if pid not in seen and get(conn, path, host) == (200, expected):
                seen[pid] = time.monotonic() - started
    return seen


def wait_for_processes(server, fz, count: int = 2) -> None:
    """Wait until C{count} processes answer: /health answers as soon as one of them listens."""
    seen: set = set()

    def all_up() -> bool:
        seen.update(index for index, _ in (health(server.port) for _ in range(10)))
        return len(seen) == count
    fz.wait_for(all_up, f"{count} serving processes to answer", server)


@pytest.fixture
def cluster(twistd, cli_env, fz):
    server = twistd.start(args=("--processes", "2"))
    wait_for_processes(server, fz)
    token = fz.create_token(cli_env, server.db)
    yield server, token


def test_fresh_connections_reach_both_processes_and_each_knows_its_index(cluster):
    server, _ = cluster
    answers = {health(server.port) for _ in range(200)}
    assert {index for index, _ in answers} == {0, 1}, answers
    assert len({pid for _, pid in answers}) == 2 and server.proc.pid not in {pid for _, pid in answers}
    log = server.log()
    assert log.count("Created the admin user") == 1, log  # the supervisor prepared the cartridge, once


def test_deploys_rollbacks_and_env_changes_are_served_by_every_process_within_100_ms(cluster, fz):
    server, token = cluster
    app = "export default (request, ctx) => new Response('v' + ctx.env.V);\n"
    for version in (b"one", b"two"):
        status, body = fz.upload_zip(server.port, token, "blog", fz.make_zip({"index.html": version}))
        assert status == 200, body
    assert fz.upload_zip(server.port, token, "app", fz.make_zip({"api/v.js": app}))[0] == 200
    assert api(server.port, token, "PUT", "/api/sites/app/env/V", {"value": "1"})[0] == 200
    held = connection_per_process(server.port)
    # Every process has the current state in its caches before each change.
    assert read_everywhere(held, "/", "blog.example.test", b"two", 10).keys() == held.keys()
    assert read_everywhere(held, "/api/v", "app.example.test", b"v1", 10).keys() == held.keys()

    status, body = fz.upload_zip(server.port, token, "blog", fz.make_zip({"index.html": b"three"}))
    assert status == 200, body
    assert read_everywhere(held, "/", "blog.example.test", b"three", 0.1).keys() == held.keys()

    status, body = api(server.port, token, "POST", "/api/sites/blog/rollback", {})
    assert status == 200, body
    assert read_everywhere(held, "/", "blog.example.test", b"two", 0.1).keys() == held.keys()

    assert api(server.port, token, "PUT", "/api/sites/app/env/V", {"value": "2"})[0] == 200
    assert read_everywhere(held, "/api/v", "app.example.test", b"v2", 0.1).keys() == held.keys()
    for conn in held.values():
        conn.close()


def test_a_killed_process_loses_only_its_in_flight_requests_and_is_replaced(cluster, fz):
    server, token = cluster
    assert fz.upload_zip(server.port, token, "blog", fz.make_zip({"index.html": b"hello"}))[0] == 200
    before = process_ids(server.port)
    victim = min(before)
    clients, stop = 4, threading.Event()
    answered, failed = [0] * clients, [0] * clients

    def hammer(n: int) -> None:
        while not stop.is_set():
            try:
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
                assert get(conn, "/", "blog.example.test") == (200, b"hello")
                conn.close()
                answered[n] += 1
            except (OSError, http.client.HTTPException):
                failed[n] += 1

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    try:
        fz.wait_for(lambda: sum(answered) >= 200, "load to be under way", server)
        os.kill(victim, signal.SIGKILL)
        counted = sum(answered)
        fz.wait_for(lambda: sum(answered) >= counted + 500, "500 more answers after the kill", server)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    # Each client has at most one request in flight: at most one per client died with the process.
    assert sum(failed) <= clients, (failed, answered)
    fresh = fz.wait_for(lambda: {pid for _, pid in (health(server.port) for _ in range(20))} - before,
                        "a replacement process to answer", server)
    assert victim not in fresh
    assert "Serving process" in server.log() and "replacing it" in server.log()


def test_sigterm_lets_a_slow_download_finish_and_the_supervisor_exits(cluster, fz):
    server, token = cluster
    assert fz.upload_zip(server.port, token, "files", fz.make_zip({"big.bin": BIG}))[0] == 200
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    conn.request("GET", "/big.bin", headers={"Host": "files.example.test"})
    response = conn.getresponse()
    first = response.read(65536)  # the rest waits in the server: the client reads slowly

    server.proc.send_signal(signal.SIGTERM)

    def refused() -> bool:
        try:
            socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
        except ConnectionRefusedError:
            return True
        return False
    fz.wait_for(refused, "the listeners to close", server, timeout=30)
    assert server.proc.poll() is None  # still waiting for the download
    body = first + response.read()
    conn.close()
    assert (response.status, len(body), hashlib.sha256(body).digest()) == (200, len(BIG), hashlib.sha256(BIG).digest())
    # twistd re-raises SIGTERM after a clean stop (-15), as with one process.
    assert server.proc.wait(60) in (0, -signal.SIGTERM)
    log = server.log()
    assert "Traceback" not in log, log
    # Each child stops as one process does, re-raising SIGTERM after its clean stop.
    assert log.count(") stopped (signal 15)") == 2, log


def test_an_https_listener_is_shared_too_and_tac_reads_processes_from_the_environment(twistd, fz):
    tls_port = fz.free_port()
    server = twistd.start(tac=True, env={"FAZT_PROCESSES": "2", "FAZT_NO_ACME": "1",
                                         "FAZT_HTTPS": f"tcp:{tls_port}:interface=127.0.0.1"})
    wait_for_processes(server, fz)
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # the self-signed fallback

    def over_tls() -> tuple[int, int]:
        conn = http.client.HTTPSConnection("127.0.0.1", tls_port, timeout=10, context=context)
        try:
            return health(tls_port, conn)
        finally:
            conn.close()
    def both_answer(ask) -> bool:  # fresh connections until each index has answered one
        seen: set = set()
        for _ in range(400):
            seen.add(ask()[0])
            if seen == {0, 1}:
                return True
        return False
    assert both_answer(over_tls) and both_answer(lambda: health(server.port))


def test_serving_processes_stop_when_the_supervisor_is_killed(cluster, fz):
    server, _ = cluster
    children = process_ids(server.port)
    server.proc.kill()
    server.proc.wait(10)

    def gone() -> bool:
        for pid in children:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                continue
            # A zombie (exited, not yet reaped by init) counts as gone.
            try:
                with open(f"/proc/{pid}/stat") as stat:
                    if stat.read().split(") ", 1)[1][0] != "Z":
                        return False
            except FileNotFoundError:
                continue
        return True
    deadline = time.monotonic() + 30
    while not gone():
        assert time.monotonic() < deadline, f"orphaned serving processes {children} still run"
        time.sleep(0.1)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2)


def test_a_second_sigterm_to_a_stopping_process_is_ignored(cluster, fz):
    # systemd's default KillMode=control-group signals every process of the unit, and the supervisor
    # passes its own SIGTERM on: a serving process gets two.
    server, token = cluster
    assert fz.upload_zip(server.port, token, "files", fz.make_zip({"big.bin": BIG}))[0] == 200
    children = process_ids(server.port)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    conn.request("GET", "/big.bin", headers={"Host": "files.example.test"})
    response = conn.getresponse()
    first = response.read(65536)  # one process stays busy with the rest while it stops
    for pid in children:
        os.kill(pid, signal.SIGTERM)
    time.sleep(0.3)
    server.proc.send_signal(signal.SIGTERM)
    body = first + response.read()
    conn.close()
    assert len(body) == len(BIG)
    assert server.proc.wait(60) in (0, -signal.SIGTERM)
    log = server.log()
    assert "Traceback" not in log and "ReactorNotRunning" not in log, log
