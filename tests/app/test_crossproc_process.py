"""`twistd fazt --processes 2` (SPEC §19, issue 14's done-whens): WebSockets and cron across processes.

A WebSocket client is put on a known process by asking C{/health} first on the same connection
(its C{X-Fazt-Process} header names the process; a connection stays with the process that accepted
it), then upgrading that connection to C{/ws}: the client below speaks just enough RFC 6455 for
that (masked text frames out, text frames in).
"""

from __future__ import annotations

import base64
import os
import socket
import time

import pytest

from cron_testing import TICKER, runs_in, start_early_in_a_minute


class RawSocketClient:
    """A WebSocket client on one connection whose serving process is known (C{pid})."""

    def __init__(self, port: int, host: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.reader = self.sock.makefile("rb")
        self.sock.sendall(b"GET /health HTTP/1.1\r\nHost: %s\r\n\r\n" % host.encode())
        status, headers = self._head()
        assert status == 200
        self.reader.read(int(headers["content-length"]))
        fields = dict(part.strip().split("=") for part in headers["x-fazt-process"].split(";"))
        self.pid = int(fields["pid"])
        key = base64.b64encode(os.urandom(16))
        self.sock.sendall(b"GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (host.encode(), key))
        status, _ = self._head()
        assert status == 101

    def _head(self) -> tuple[int, dict]:
        status = int(self.reader.readline().split()[1])
        headers = {}
        while True:
            line = self.reader.readline().strip()
            if not line:
                return status, headers
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()

    def send(self, text: str) -> None:
        payload = text.encode()
        assert len(payload) < 126
        mask = os.urandom(4)
        self.sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask
                          + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def receive(self) -> str:
        """The next text message (pings are skipped)."""
        while True:
            first, second = self.reader.read(2)
            length = second & 0x7F
            if length == 126:
                length = int.from_bytes(self.reader.read(2), "big")
            payload = self.reader.read(length)
            if first & 0x0F == 0x1:
                return payload.decode()

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


def clients_on_every_process(port: int, host: str, count: int = 2, attempts: int = 200) -> dict:
    """pid -> a WebSocket client served by that process."""
    held: dict = {}
    for _ in range(attempts):
        client = RawSocketClient(port, host)
        if client.pid in held:
            client.close()
        else:
            held[client.pid] = client
        if len(held) == count:
            return held
    raise AssertionError(f"only processes {sorted(held)} took WebSocket clients in {attempts} connections")


@pytest.fixture
def cluster(twistd, cli_env, fz):
    server = twistd.start(args=("--processes", "2", "--ws-ping-seconds", "0"))
    token = fz.create_token(cli_env, server.db)
    yield server, token


def test_a_websocket_message_reaches_the_clients_on_the_other_process(cluster, fz):
    server, token = cluster
    script = b'res.send(String(socket.clients()));'
    assert fz.upload_zip(server.port, token, "chat", fz.make_zip({"main.js": script}))[0] == 200
    clients = clients_on_every_process(server.port, "chat.example.test")
    first, second = clients.values()
    try:
        # Each process counts the other's client too (socket.clients() in a script, on either process).
        fz.wait_for(lambda: {fz.http_get(server.port, "/", "chat.example.test")[1] for _ in range(20)} == {b"2"},
                    "both processes counting 2 clients", server, timeout=20)
        first.send("from the first process")
        assert first.receive() == second.receive() == "from the first process"
        second.send("and back")
        assert second.receive() == first.receive() == "and back"
    finally:
        for client in clients.values():
            client.close()


def test_a_cron_entry_runs_once_per_minute_with_two_processes(twistd, cli_env, fz):
    """The one process test that waits for a real minute boundary (tests/cron covers the rules on a
    fake clock): the installed fazt's scheduler fires there, in one of the two processes."""
    # Deployed before the two processes start, so that the leader's check of the minute it starts in
    # runs it at once: one boundary to wait for, not two.
    single = twistd.start()
    token = fz.create_token(cli_env, single.db)
    assert fz.upload_zip(single.port, token, "ticker", fz.make_zip(TICKER))[0] == 200
    single.terminate()
    first = int(time.time() // 60)
    server = start_early_in_a_minute(lambda: twistd.start(single.db, args=("--processes", "2")))

    def ran() -> dict:
        now = int(time.time() // 60)
        counts = {minute: runs_in(server, minute) for minute in range(first, now + 1)}
        return {minute: n for minute, n in counts.items() if n}

    # The start minute's run, then the one at the next boundary (up to a minute away)...
    fz.wait_for(lambda: len(ran()) >= 2, "runs in two minutes", server, timeout=90)
    time.sleep(3.0)  # a second run of the same minute, if any, would have landed by now
    # ...each once, whichever process leads.
    assert set(ran().values()) == {1}, ran()
