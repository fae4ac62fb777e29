"""Certificates that end and certificates renewed on request, on a real twistd with two serving
processes (SPEC §19) and a real ACME server (Pebble).

A handshake lands on either process, so what every process serves is read from several fresh
handshakes. C{fazt certs renew NAME} orders a new certificate at once (only the leader orders: a
request answered by the other process asks it over the bus) and answers once it is served there; a
deleted site's certificate is deleted, no longer listed or renewed, and served by no process.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request

from cryptography import x509

from fazt_testing import sql
from tls_testing import handshake
from test_processes_process import wait_for_processes

WAIT = 90.0
HANDSHAKES = 12  # fresh connections: with two processes, each answers some of them (the kernel spreads them)
NAMES = ["404.example.test", "admin.example.test", "blog.example.test", "example.test", "root.example.test",
         "shop.example.test"]


def api(server, token: str, method: str, path: str):
    """(status, envelope) of an admin API call on the loopback admin host (never redirected)."""
    request = urllib.request.Request(f"http://127.0.0.1:{server.port}{path}", method=method,
                                     headers={"Authorization": f"Bearer {token}", "Host": "127.0.0.1"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def served(port: int, name: str, root: str) -> set:
    """The serial numbers of the certificates served for C{name} over several fresh handshakes
    (None for a handshake that did not verify: the self-signed fallback)."""
    serials = set()
    for _ in range(HANDSHAKES):
        try:
            der = handshake(port, name, root)[0]
        except ssl.SSLCertVerificationError:
            serials.add(None)
        else:
            serials.add(x509.load_der_x509_certificate(der).serial_number)
    return serials


def test_a_renewed_certificate_is_served_everywhere_and_a_deleted_sites_is_served_nowhere(
        twistd, fz, cli_env, pebble, tmp_path):
    https_port = fz.free_port()
    server = twistd.start(port=pebble.http_port, args=(
        "--processes", "2", "--https", f"tcp:{https_port}:interface=127.0.0.1",
        "--acme-directory", pebble.directory, "--acme-ca-bundle", pebble.ca_bundle))
    wait_for_processes(server, fz)
    token = fz.create_token(cli_env, server.db)
    for site in ("blog", "shop"):
        done = fz.cli_deploy(cli_env, server, token, fz.write_tree(tmp_path / site, {"index.html": site}), site=site)
        assert done.returncode == 0, done.stderr

    def all_valid():
        entries = api(server, token, "GET", "/api/certificates")[1]["data"]
        return [e["name"] for e in entries] == NAMES and all(e["status"] == "valid" for e in entries)
    fz.wait_for(all_valid, "six valid certificates", server, WAIT)
    root = pebble.root_pem()
    before = fz.wait_for(lambda: (lambda s: s if len(s) == 1 and None not in s else None)(
        served(https_port, "blog.example.test", root)), "both processes serving blog's certificate", server, WAIT)
    cli = ("--server", server.url, "--token", token)

    # Renew now: a new certificate (another serial), served by every process.
    renewed = fz.run_fazt(cli_env, "certs", "renew", "blog.example.test", *cli, timeout=180)
    assert renewed.returncode == 0, renewed.stderr
    assert "blog.example.test: new certificate from Pebble Intermediate CA" in renewed.stdout
    after = fz.wait_for(lambda: (lambda s: s if len(s) == 1 and s != before and None not in s else None)(
        served(https_port, "blog.example.test", root)), "both processes serving the renewed certificate",
        server, WAIT)
    assert after.isdisjoint(before)
    unknown = fz.run_fazt(cli_env, "certs", "renew", "nobody.example.test", *cli)
    assert unknown.returncode == 1 and "CERTIFICATE_NOT_FOUND" in unknown.stderr

    # Delete shop: its certificate goes from the store, the list, the renewals and every process.
    assert served(https_port, "shop.example.test", root) != {None}
    status, _ = api(server, token, "DELETE", "/api/sites/shop")
    assert status == 200
    fz.wait_for(lambda: served(https_port, "shop.example.test", root) == {None},
                "no process serving the deleted site's certificate", server, WAIT)
    listed = [e["name"] for e in api(server, token, "GET", "/api/certificates")[1]["data"]]
    assert listed == [n for n in NAMES if n != "shop.example.test"]
    assert sql(server.db, "SELECT name FROM certificates WHERE name = 'shop.example.test'") == []
    assert sql(server.db, "SELECT name FROM certificate_schedule WHERE name = 'shop.example.test'") == []
    assert served(https_port, "blog.example.test", root) == after  # the others are untouched
