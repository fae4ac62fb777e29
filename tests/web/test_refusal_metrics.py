"""/metrics counts the requests that the HTTP connection refuses itself (issue 11), one series per
reason, and those answers, like every admin API answer, carry C{Cache-Control: no-store}.

Each refusal is provoked over a real socket; the count is read back from /metrics as a scraper does.
"""

from __future__ import annotations

import socket

import pytest
import pytest_twisted
from prometheus_client.parser import text_string_to_metric_families
from twisted.internet.threads import deferToThread

from fazt.web.framing import RefusalCounter
from fazt_testing import start_server, stop_server

SCRAPE = "scrape-refusals-0123456789"
REASONS = ("bad_request", "timeout", "too_large", "uri_too_long", "headers_too_large", "unauthorized",
           "method_not_allowed")


@pytest.fixture
def server(tmp_path):
    live = start_server(str(tmp_path / "data.db"), extra_args=(
        "--metrics-token", SCRAPE, "--js-workers", "1", "--header-timeout", "0.5", "--drain-seconds", "0.5"))
    yield live
    stop_server(live)


def exchange(port: int, data: bytes) -> bytes:
    """Send C{data}, then read until the server closes (blocking: run in a thread)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def provocation(reason: str, domain: str) -> bytes:
    """A request the connection refuses for C{reason}, to the admin host."""
    admin = f"Host: admin.{domain}\r\n"
    return {
        "bad_request": f"GET /api/sites HTTP/1.1\r\n{admin}{admin}\r\n",
        "timeout": f"GET /api/sites HTTP/1.1\r\n{admin}X-Slow: ",  # never finished: 408 after 0.5 s
        "too_large": f"POST /api/sites HTTP/1.1\r\n{admin}Content-Type: application/json\r\n"
                     f"Content-Length: {2 * 1024 * 1024}\r\n\r\n{{",
        "uri_too_long": f"GET /{'a' * 9000} HTTP/1.1\r\n{admin}\r\n",
        "headers_too_large": f"GET /api/sites HTTP/1.1\r\n{admin}" + "X-Many: 1\r\n" * 101 + "\r\n",
        "unauthorized": f"POST /api/deploy HTTP/1.1\r\n{admin}Authorization: Bearer wrong\r\n"
                        "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000000\r\n\r\n",
        "method_not_allowed": f"CONNECT admin.{domain}:443 HTTP/1.1\r\n{admin}\r\n",
    }[reason].encode()


async def refused(server) -> dict:
    response = await server.get("/metrics", Authorization=f"Bearer {SCRAPE}")
    assert response.code == 200, response.body
    [family] = [f for f in text_string_to_metric_families(response.body.decode()) if f.name == "fazt_http_refused"]
    return {s.labels["reason"]: s.value for s in family.samples if s.name == "fazt_http_refused_total"}


@pytest.mark.parametrize("reason", REASONS)
@pytest_twisted.ensureDeferred
async def test_each_refusal_by_the_connection_is_counted_by_reason(server, reason):
    before = await refused(server)
    assert set(REASONS) <= set(before) and not any(before.values())   # every series exists, at 0
    answer = await deferToThread(exchange, server.port, provocation(reason, server.domain))
    head = answer.split(b"\r\n\r\n", 1)[0].lower()
    expected = {"bad_request": 400, "timeout": 408, "too_large": 413, "uri_too_long": 414,
                "headers_too_large": 431, "unauthorized": 401, "method_not_allowed": 405}[reason]
    assert head.startswith(b"http/1.1 %d " % expected), answer[:200]
    assert b"\r\ncache-control: no-store" in head and b"content-type: application/json" in head
    after = await refused(server)
    assert after == {**before, reason: 1}


def test_statuses_outside_the_known_reasons_count_as_other():
    counter = RefusalCounter()
    for status in (403, 403, 429):
        counter.count(status)
    assert counter.counts["forbidden"] == 2 and counter.counts["other"] == 1
    assert sum(counter.counts.values()) == 3
