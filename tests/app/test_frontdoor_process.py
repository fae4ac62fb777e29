"""The front door of a real twistd (SPEC §18): connection caps, the open-file limit, the backlog.

Held connections come from many loopback addresses (all of 127.0.0.0/8 is loopback on Linux), as
an attack from many machines would, and each is a slow client: part of a request's headers, then
nothing. They are held for a few seconds only, well within any header-read timeout. Every socket
is closed before each test ends.
"""

from __future__ import annotations

import contextlib
import http.client
import re
import resource
import selectors
import socket
import ssl
import subprocess
import time

import pytest

from tls_testing import make_certificate

TOKEN = "front-door-scraper"
SLOW_START = b"GET / HTTP/1.1\r\nHost: example.test\r\nUser-Agent: slow\r\n"


@contextlib.contextmanager
def open_file_limit(soft: int):
    """Run the block with this process's soft RLIMIT_NOFILE at C{soft} (at most the hard limit)."""
    before, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, hard), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (before, hard))


def metrics(port: int) -> dict[str, float]:
    """The /metrics samples of the server on C{port}: C{'name{labels}'} -> value."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/metrics", headers={"Host": "admin.example.test", "Authorization": f"Bearer {TOKEN}",
                                                 "Connection": "close"})
        response = conn.getresponse()
        text = response.read().decode()
        assert response.status == 200, text
    finally:
        conn.close()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def hold_slow_connections(port: int, sources: list[str], each: int) -> list[socket.socket]:
    """C{each} connections from every source address, each sending only the start of a request."""
    held: list[socket.socket] = []
    selector = selectors.DefaultSelector()
    try:
        for source in sources:
            for _ in range(each):
                sock = socket.socket()
                held.append(sock)
                sock.setblocking(False)
                sock.bind((source, 0))
                sock.connect_ex(("127.0.0.1", port))
                selector.register(sock, selectors.EVENT_WRITE)
        pending = len(held)
        deadline = time.monotonic() + 30.0
        while pending and time.monotonic() < deadline:
            for key, _ in selector.select(1.0):
                selector.unregister(key.fileobj)
                pending -= 1
                key.fileobj.sendall(SLOW_START)  # a few bytes into an empty send buffer: never blocks
        assert pending == 0, f"{pending} of {len(held)} connections were not established"
    except BaseException:
        close_all(held)
        raise
    finally:
        selector.close()
    return held


def dropped(held: list[socket.socket]) -> int:
    """How many held connections the server closed or answered (they are readable)."""
    with selectors.DefaultSelector() as selector:
        for sock in held:
            selector.register(sock, selectors.EVENT_READ)
        return len(selector.select(0))


def close_all(held: list[socket.socket]) -> None:
    for sock in held:
        sock.close()
    held.clear()


def refused_at_once(port: int, source: str, hello: bytes = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n") -> bool:
    """Whether a new connection from C{source} is closed without an answer (rather than served)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0)) as sock:
        try:
            sock.sendall(hello)
            return sock.recv(4096) == b""
        except (ConnectionResetError, BrokenPipeError):
            return True


def get_from(port: int, source: str) -> int:
    """The status of one GET /health from source address C{source}."""
    return _status(http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0)))


def listen_backlog(port: int) -> int:
    """The backlog of the socket listening on C{port}, as C{ss} shows it (Send-Q of a listener)."""
    out = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True, check=True).stdout
    lines = [line.split() for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, out
    return int(lines[0][2])


def soft_open_files(pid: int) -> tuple[int, int]:
    with open(f"/proc/{pid}/limits") as limits:
        line = next(line for line in limits if line.startswith("Max open files"))
    soft, hard = re.findall(r"\d+", line)[:2]
    return int(soft), int(hard)


def test_5000_slow_connections_from_many_addresses_leave_other_clients_served(twistd, fz):
    # Started as a service manager often starts it, with a soft limit of 1,024 open files.
    with open_file_limit(1024):
        server = twistd.spawn(args=("--metrics-token", TOKEN))
    server.wait_healthy()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert soft_open_files(server.proc.pid) == (hard, hard)
    assert "Raised the open-file limit from 1024" in server.log()

    held: list[socket.socket] = []
    with open_file_limit(hard):
        try:
            started = time.monotonic()
            # 40 addresses x 125 connections: under the per-address cap, as in a distributed attack.
            held = hold_slow_connections(server.port, [f"127.0.0.{n}" for n in range(2, 42)], 125)
            # The scrape's own connection is open too while it is answered.
            fz.wait_for(lambda: metrics(server.port)["fazt_open_connections"] > 5000, "5000 open connections",
                     server)
            holding = time.monotonic()
            statuses = [fz.http_get(server.port, "/")[0] for _ in range(100)]
            statuses += [fz.http_get(server.port, "/health")[0] for _ in range(100)]
            served = time.monotonic()
            assert statuses == [200] * 200
            assert dropped(held) == 0
            figures = metrics(server.port)
            assert figures["fazt_open_connections"] > 5000
            assert figures['fazt_connections_refused_total{reason="per_address"}'] == 0
            assert figures['fazt_connections_refused_total{reason="total"}'] == 0
            print(f"5000 held after {holding - started:.2f} s; 200 other requests served in {served - holding:.2f} s")
        finally:
            close_all(held)
    fz.wait_for(lambda: metrics(server.port)["fazt_open_connections"] <= 1, "the held connections to close", server)


def test_one_address_is_capped_at_256_connections_while_others_are_served(twistd, fz):
    server = twistd.start(args=("--metrics-token", TOKEN))
    held: list[socket.socket] = []
    try:
        held = hold_slow_connections(server.port, ["127.0.0.7"], 256)
        fz.wait_for(lambda: metrics(server.port)["fazt_open_connections"] > 256, "256 open connections", server)
        assert refused_at_once(server.port, "127.0.0.7")
        assert get_from(server.port, "127.0.0.8") == 200
        figures = metrics(server.port)
        assert figures['fazt_connections_refused_total{reason="per_address"}'] == 1
        assert figures['fazt_connections_refused_total{reason="total"}'] == 0
        assert dropped(held) == 0
        # One closes: the address has room again.
        held.pop().close()
        fz.wait_for(lambda: metrics(server.port)["fazt_open_connections"] <= 256, "one connection to close", server)
        assert get_from(server.port, "127.0.0.7") == 200
    finally:
        close_all(held)


def test_the_caps_are_options_and_count_every_listener_together(twistd, fz, tmp_path):
    """--max-connections and --max-connections-per-address, across HTTP, HTTPS by ACME and ssl:."""
    cert, key, _ = make_certificate(tmp_path, ["example.test", "*.example.test"])
    acme_port, own_port = free_ports(2)
    server = twistd.start(args=("--metrics-token", TOKEN, "--no-acme", "--max-connections", "3",
                                "--max-connections-per-address", "2",
                                "--https", f"tcp:{acme_port}:interface=127.0.0.1",
                                "--https", f"ssl:{own_port}:interface=127.0.0.1:privateKey={key}:certKey={cert}"))
    hello = tls_client_hello()
    held = []
    try:
        held += [tls_open(acme_port, "127.0.0.11"), tls_open(own_port, "127.0.0.11")]
        # A third from that address is closed at once, before any TLS handshake answer.
        assert refused_at_once(acme_port, "127.0.0.11", hello)
        assert refused_at_once(own_port, "127.0.0.11", hello)
        assert refused_at_once(server.port, "127.0.0.11")
        assert https_status(acme_port, "127.0.0.12") == 200
        assert https_status(own_port, "127.0.0.12") == 200
        held.append(keep_alive_open(server.port, "127.0.0.13"))
        # Three open in all: the fourth is refused, whatever its address and listener.
        assert refused_at_once(own_port, "127.0.0.14", hello)
        assert refused_at_once(server.port, "127.0.0.14")
        held.pop().close()
        refusals = fz.wait_for(lambda: _refusals(server.port), "room for /metrics", server)
        # Attempts at /metrics made before the close was seen are refused too: "total" may be higher.
        assert refusals["per_address"] == 3 and refusals["total"] >= 2, refusals
    finally:
        close_all(held)


def _refusals(port: int):
    try:
        figures = metrics(port)
    except (OSError, http.client.HTTPException):
        return None
    return {reason: figures[f'fazt_connections_refused_total{{reason="{reason}"}}'] for reason in
            ("per_address", "total")}


def free_ports(count: int) -> list[int]:
    """C{count} distinct TCP ports on 127.0.0.1 that were free a moment ago."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _any_certificate() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def tls_client_hello() -> bytes:
    """The first flight of a real TLS client (a ClientHello), to send on a raw socket."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = _any_certificate().wrap_bio(incoming, outgoing, server_hostname="example.test")
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def tls_open(port: int, source: str) -> socket.socket:
    """A TLS connection from C{source} whose handshake completed (so the server accepted it), held open."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
    try:
        return _any_certificate().wrap_socket(raw, server_hostname="example.test")
    except BaseException:
        raw.close()
        raise


def keep_alive_open(port: int, source: str) -> socket.socket:
    """A plain connection from C{source} that was served one request and is kept open."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: example.test\r\n\r\n")
    reply = b""
    while not reply.endswith(b"\r\n\r\nOK"):
        chunk = sock.recv(4096)
        assert chunk, reply
        reply += chunk
    assert reply.startswith(b"HTTP/1.1 200"), reply
    return sock


def https_status(port: int, source: str) -> int:
    """The status of GET /health over TLS (any certificate) from source address C{source}."""
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, source_address=(source, 0),
                                       context=_any_certificate())
    return _status(conn)


def _status(conn: http.client.HTTPConnection, path: str = "/health", host: str = "example.test") -> int:
    # Connection: close, so that the server closes it (and forgets it) before the answer is complete.
    try:
        conn.request("GET", path, headers={"Host": host, "Connection": "close"})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_listeners_get_a_real_backlog_unless_the_endpoint_sets_one(twistd, fz):
    explicit, chosen = free_ports(2)
    server = twistd.start(args=("--http", f"tcp:{explicit}:interface=127.0.0.1:backlog=64"))
    assert listen_backlog(server.port) == 511
    assert listen_backlog(explicit) == 64
    other = twistd.start(db=str(twistd.workdir / "other.db"),
                         args=("--listen-backlog", "1000", "--http", f"tcp:{chosen}:interface=127.0.0.1"))
    assert listen_backlog(other.port) == 1000
    assert listen_backlog(chosen) == 1000
