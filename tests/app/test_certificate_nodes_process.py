"""Certificates on two fazt nodes sharing one PostgreSQL (SPEC §19), with a real ACME server (Pebble).

Node A answers Pebble's HTTP-01 port; each node has its own TLS port. Whichever node leads orders;
a renewal asked through one node is served by that node when the answer comes, and by the other
soon after (PostgreSQL NOTIFY); a site deleted through one node has its certificate served by none.
"""

from __future__ import annotations

from pg_testing import postgres, pg_dsn  # noqa: F401  (the fixtures this test needs)
from test_certificate_lifecycle_process import WAIT, api, served


def single(serials: set):
    """The one certificate every handshake got (None when it varied or was the fallback)."""
    return serials if len(serials) == 1 and None not in serials else None


def test_a_renewal_through_one_node_is_served_by_both_and_a_deleted_sites_certificate_by_neither(
        twistd, fz, cli_env, pebble, pg_dsn, tmp_path):
    tls = {"a": fz.free_port(), "b": fz.free_port()}

    def args(node: str) -> tuple:
        return ("--https", f"tcp:{tls[node]}:interface=127.0.0.1", "--acme-directory", pebble.directory,
                "--acme-ca-bundle", pebble.ca_bundle)
    a = twistd.start(pg_dsn, port=pebble.http_port, args=args("a"))
    b = twistd.start(pg_dsn, args=args("b"))
    token = fz.create_token(cli_env, pg_dsn, "t", "admin")
    done = fz.cli_deploy(cli_env, a, token, fz.write_tree(tmp_path / "shop", {"index.html": "shop"}), site="shop")
    assert done.returncode == 0, done.stderr
    root = pebble.root_pem()
    before = {node: fz.wait_for(lambda: single(served(tls[node], "shop.example.test", root)),
                                f"node {node} serving shop's certificate", a, WAIT) for node in tls}
    assert before["a"] == before["b"]

    status, body = api(b, token, "POST", "/api/certificates/shop.example.test/renew")
    assert status == 200, body
    assert body["data"]["status"] == "valid"
    renewed = single(served(tls["b"], "shop.example.test", root))  # the node that answered: at once
    assert renewed and renewed != before["b"]
    fz.wait_for(lambda: served(tls["a"], "shop.example.test", root) == renewed,
                "node a serving the renewed certificate", a, WAIT)

    status, _ = api(b, token, "DELETE", "/api/sites/shop")
    assert status == 200
    for node in tls:
        fz.wait_for(lambda: served(tls[node], "shop.example.test", root) == {None},
                    f"node {node} no longer serving the deleted site's certificate", a, WAIT)
    names = [entry["name"] for entry in api(a, token, "GET", "/api/certificates")[1]["data"]]
    assert "shop.example.test" not in names and "admin.example.test" in names
