"""Automatic HTTPS end to end: the real twistd, a real ACME server (Pebble) and real HTTP-01 validation.

Pebble validates http-01 on its http port of each name, which its DNS (challtestsrv) resolves to
127.0.0.1: so the first server's --http listens there on 127.0.0.1. Pebble's root is regenerated
at each start and fetched from its management port; every certificate is checked against it.
"""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import time

import pytest

from tls_testing import handshake, plain_get

NAMES = ["404.example.test", "admin.example.test", "blog.example.test", "example.test", "root.example.test"]
WAIT = 60.0


def api(server, token: str, path: str):
    """GET an admin API path on the loopback admin host (never redirected: 127.0.0.1 has no certificate)."""
    import urllib.request

    request = urllib.request.Request(f"http://127.0.0.1:{server.port}{path}",
                                     headers={"Authorization": f"Bearer {token}", "Host": "127.0.0.1"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=5) as response:
        return json.loads(response.read())


def trap() -> socket.socket:
    """A listening socket standing in for an ACME server that must never be contacted."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    return sock


def assert_untouched(sock: socket.socket) -> None:
    with pytest.raises(BlockingIOError):
        sock.accept()


def test_certificates_from_pebble_are_served_redirected_to_and_survive_a_restart_and_a_copy(
        twistd, fz, cli_env, pebble, tmp_path):
    https_port = fz.free_port()
    https = ("--https", f"tcp:{https_port}:interface=127.0.0.1")
    started = time.monotonic()
    server = twistd.start(port=pebble.http_port, args=(*https, "--acme-directory", pebble.directory,
                                                   "--acme-ca-bundle", pebble.ca_bundle,
                                                   "--acme-email", "ops@example.test"))
    token = fz.create_token(cli_env, server.db)
    site = fz.write_tree(tmp_path / "blog", {"index.html": "<h1>blog over TLS</h1>"})
    deployed = fz.cli_deploy(cli_env, server, token, site, site="blog")
    assert deployed.returncode == 0, deployed.stderr

    def all_valid():
        entries = api(server, token, "/api/certificates")["data"]
        return entries if [e["name"] for e in entries] == NAMES and \
            all(e["status"] == "valid" for e in entries) else None

    entries = fz.wait_for(all_valid, "five valid certificates", server, WAIT)
    issued_in = time.monotonic() - started
    assert all(e["issuer"].startswith("Pebble Intermediate CA") and e["last_error"] is None for e in entries)
    print(f"start + deploy + 5 certificates from Pebble: {issued_in:.1f} s")

    # The site's certificate chains to this Pebble run's root and names the site (verified by ssl).
    root = pebble.root_pem()
    der, reply = handshake(https_port, "blog.example.test", root,
                           b"GET / HTTP/1.1\r\nHost: blog.example.test\r\nConnection: close\r\n\r\n")
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"blog over TLS" in body
    assert b"strict-transport-security: max-age=31536000" in head.lower()
    with pytest.raises(ssl.SSLCertVerificationError):   # an unknown name gets the self-signed fallback
        handshake(https_port, "unknown.example.test", root)

    # Plain HTTP now redirects, except the ACME path and /health.
    assert plain_get(server.port, "/notes?x=1", "blog.example.test")[:2] == (
        301, f"https://blog.example.test:{https_port}/notes?x=1")
    assert plain_get(server.port, "/.well-known/acme-challenge/unknown-token", "blog.example.test")[0] == 404
    assert plain_get(server.port, "/health", "blog.example.test") == (200, None, b"OK")

    listed = fz.run_fazt(cli_env, "certs", "--server", server.url, "--token", token)
    assert listed.returncode == 0, listed.stderr
    assert any(line.split()[:2] == ["blog.example.test", "valid"] for line in listed.stdout.splitlines())

    # A restart, then a copy of data.db at a new path: the same certificate, no ACME server contacted.
    server.terminate()  # twistd re-raises SIGTERM after a clean stop
    copy = tmp_path / "moved" / "data.db"
    copy.parent.mkdir()
    shutil.copyfile(server.db, copy)
    for db in (server.db, str(copy)):
        acme = trap()
        try:
            again = twistd.start(db=db, args=(*https, "--acme-directory",
                                              f"https://127.0.0.1:{acme.getsockname()[1]}/dir"))
            fz.wait_for(lambda: "Certificates: 5 names checked, 0 to order" in again.log(), "the start-up check",
                        again, WAIT)
            assert handshake(https_port, "blog.example.test", root)[0] == der
            assert_untouched(acme)
            again.terminate()
        finally:
            acme.close()
