"""SIGTERM to a real twistd under load: in-flight requests finish whole, buffered analytics reach the disk."""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import signal
import socket
import sqlite3
import threading
import time

# Each run marks its start in KV (visible in the file once committed), then keeps its worker busy.
SLOW_APP = """
db.incr("started", 1);
const until = Date.now() + 1000;
while (Date.now() < until) {}
res.send("y".repeat(200000));
"""
BIG = base64.b64encode(os.urandom(12 * 1024 * 1024))  # 16 MiB of text: far more than socket buffers hold


def sql(db: str, query: str, *args) -> list:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(query, args).fetchall()
    finally:
        conn.close()


def wait_for(check, timeout: float = 60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what() if callable(what) else what}")


class Download:
    """A GET whose response is read in two steps: the head and a first chunk, then the rest."""

    def __init__(self, port: int, host: str, path: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.conn.request("GET", path, headers={"Host": host})
        self.response = self.conn.getresponse()
        self.first = self.response.read(65536)

    def finish(self) -> tuple[int, bytes]:
        body = self.first + self.response.read()
        self.conn.close()
        return self.response.status, body


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def test_sigterm_finishes_in_flight_requests_and_flushes_analytics(twistd, cli_env, fz):
    server = twistd.start(args=("--analytics-flush-seconds", "3600", "--js-workers", "3", "--js-cpu-ms", "5000",
                                "--grace-seconds", "60"))
    token = fz.create_token(cli_env, server.db)
    for site, files in (("files", {"index.html": b"<h1>hi</h1>", "big.html": BIG}), ("slow", {"main.js": SLOW_APP})):
        status, body = fz.upload_zip(server.port, token, site, fz.make_zip(files))
        assert status == 200, body

    pageviews = 5
    for _ in range(pageviews):
        assert server.get("/", "files.example.test")[0] == 200
    assert sql(server.db, "SELECT COUNT(*) FROM events") == [(0,)]  # buffered, not yet written

    results: list = []

    def slow_request() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        conn.request("GET", "/", headers={"Host": "slow.example.test"})
        response = conn.getresponse()
        results.append((response.status, response.read()))
        conn.close()

    threads = [threading.Thread(target=slow_request) for _ in range(2)]
    for thread in threads:
        thread.start()
    # Three workers let one site run two scripts at once (a site may use all workers but one).
    wait_for(lambda: sql(server.db, "SELECT value FROM kv WHERE site_name = 'slow' AND key = 'started'") == [("2",)],
             what=lambda: f"both scripts to start; results {results}; log:\n{server.log()}")
    downloads = [Download(server.port, "files.example.test", "/big.html") for _ in range(3)]
    live = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)  # `fazt logs --follow`
    live.request("GET", "/api/logs/stream?site_id=slow", headers={"Host": "admin.example.test",
                                                                 "Authorization": f"Bearer {token}"})
    stream = live.getresponse()
    assert (stream.status, stream.readline()) == (200, b": connected\n")

    server.proc.send_signal(signal.SIGTERM)
    wait_for(lambda: refused(server.port), what="the listener to close")  # the stop is under way
    assert server.proc.poll() is None  # ...and waits for the requests below

    expected = hashlib.sha256(BIG).hexdigest()
    for download in downloads:
        status, body = download.finish()
        assert (status, len(body), hashlib.sha256(body).hexdigest()) == (200, len(BIG), expected)
    for thread in threads:
        thread.join(60)
    assert results == [(200, b"y" * 200000)] * 2

    # The event stream is closed, not waited for: the stop ends well within the 60 s grace.
    # twistd re-raises SIGTERM after a clean stop, so the status is -15 (systemd counts it as clean).
    assert server.proc.wait(40) in (0, -signal.SIGTERM)
    live.close()
    log = server.log()
    assert "Traceback" not in log, log
    # The buffered pageviews (and those of the requests above) were written before the store closed.
    (count,) = sql(server.db, "SELECT COUNT(*) FROM events WHERE event_type = 'pageview'")[0]
    assert count >= pageviews + 3 + 2, log
