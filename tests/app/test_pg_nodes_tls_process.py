"""A certificate obtained from Pebble by one of two nodes on one PostgreSQL is served by both.

Pebble validates HTTP-01 at one port of 127.0.0.1 (node A's --http); whichever node leads orders,
the challenge's answer is in the shared store, and the certificate, once stored, is announced on
the bus: both nodes' --https listeners then present it.
"""

from __future__ import annotations

import socket
import ssl

from pgnodes_testing import pg_dsn, postgres  # noqa: F401

WAIT = 90.0


def leaf(port: int, name: str, root_pem: str) -> bytes:
    """The certificate (DER) a verified TLS handshake with 127.0.0.1:port for C{name} gets."""
    context = ssl.create_default_context(cadata=root_pem)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=name) as tls:
            return tls.getpeercert(binary_form=True)


def test_a_certificate_obtained_by_one_node_is_served_by_both(twistd, fz, cli_env, pebble, pg_dsn, tmp_path):
    acme = ("--acme-directory", pebble.directory, "--acme-ca-bundle", pebble.ca_bundle)
    a_tls, b_tls = fz.free_port(), fz.free_port()
    a = twistd.start(pg_dsn, port=pebble.http_port, args=("--https", f"tcp:{a_tls}:interface=127.0.0.1", *acme))
    b = twistd.start(pg_dsn, args=("--https", f"tcp:{b_tls}:interface=127.0.0.1", *acme))
    token = fz.create_token(cli_env, pg_dsn, "t", "admin")
    # Through the CLI (its requests name 127.0.0.1, which plain HTTP still serves once admin.* has TLS).
    deployed = fz.cli_deploy(cli_env, b, token, fz.write_tree(tmp_path / "blog", {"index.html": "<h1>blog</h1>"}),
                             site="blog")
    assert deployed.returncode == 0, deployed.stderr
    root = pebble.root_pem()

    def served_by_both():
        try:
            ders = {leaf(port, "blog.example.test", root) for port in (a_tls, b_tls)}
        except (ssl.SSLError, OSError):
            return None  # still the self-signed fallback somewhere
        return ders if len(ders) == 1 else None

    fz.wait_for(served_by_both, "one Pebble certificate for blog served by both nodes", a, WAIT)
    logs = a.log() + b.log()
    assert "Traceback" not in logs, logs
    # One node (the leader) ordered; the other never tried, so never failed Pebble's validation.
    assert "Could not obtain a certificate" not in logs, logs
    assert sum("takes on the leader's duties" in node.log() for node in (a, b)) == 1
