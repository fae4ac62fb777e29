"""Custom domains (SPEC §15) on a real twistd: the CLI adds, lists and removes them, requests are
routed by the registered name (with the www. modes), C{fazt domain check} tells a name that
reaches this server from one that resolves elsewhere and one that does not resolve (DNS answered
by Pebble's challtestsrv, C{--check-dns}), and with Pebble a registered name gets its certificate
at its first TLS handshake while an unregistered one triggers no order."""

from __future__ import annotations

import json
import ssl
import urllib.request

import pytest

from tls_testing import handshake, plain_get

WAIT = 60.0


def certificates(server, token: str) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{server.port}/api/certificates",
                                     headers={"Authorization": f"Bearer {token}", "Host": "127.0.0.1"})
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=5) as response:
        return {entry["name"]: entry for entry in json.loads(response.read())["data"]}


def deploy(fz, cli_env, server, tmp_path, site: str, text: str) -> str:
    token = fz.create_token(cli_env, server.db, site)
    done = fz.cli_deploy(cli_env, server, token, fz.write_tree(tmp_path / site, {"index.html": text}), site=site)
    assert done.returncode == 0, done.stderr
    return token


def test_domains_route_redirect_www_and_check_tells_the_three_cases_apart(twistd, fz, cli_env, pebble, tmp_path):
    server = twistd.start(args=("--check-dns", f"127.0.0.1:{pebble.dns_port}"))
    token = deploy(fz, cli_env, server, tmp_path, "shop", "the shop")
    deploy(fz, cli_env, server, tmp_path, "blog", "the blog")
    cli = ("--server", server.url, "--token", token)

    assert plain_get(server.port, "/", "shop-customer.test")[0] == 404  # not registered yet
    done = fz.run_fazt(cli_env, "domain", "add", "shop", "Shop-Customer.test.", "--www", "redirect", *cli)
    assert done.returncode == 0, done.stderr
    assert plain_get(server.port, "/", "shop-customer.test") == (200, None, b"the shop")
    assert plain_get(server.port, "/a?b=1", "www.shop-customer.test")[:2] == (301, "http://shop-customer.test/a?b=1")
    done = fz.run_fazt(cli_env, "domain", "add", "blog", "blog-customer.test", "--www", "serve", *cli)
    assert done.returncode == 0, done.stderr
    assert plain_get(server.port, "/", "www.blog-customer.test") == (200, None, b"the blog")
    assert plain_get(server.port, "/", "other-customer.test")[0] == 404

    listed = fz.run_fazt(cli_env, "domain", "list", "shop", *cli)
    assert listed.returncode == 0 and "shop-customer.test" in listed.stdout and "redirect" in listed.stdout
    taken = fz.run_fazt(cli_env, "domain", "add", "blog", "shop-customer.test", *cli)
    assert taken.returncode == 1 and "CONFLICT" in taken.stderr and len(taken.stderr.splitlines()) == 1
    ours = fz.run_fazt(cli_env, "domain", "add", "blog", "x.example.test", *cli)
    assert ours.returncode == 1 and "VALIDATION_FAILED" in ours.stderr

    port = ("--port", str(server.port))
    reaches = fz.run_fazt(cli_env, "domain", "check", "shop", "shop-customer.test", *port, *cli)
    assert reaches.returncode == 0, reaches.stderr
    assert "shop-customer.test: reaches this server" in reaches.stdout
    pebble.set_dns("add-a", {"host": "elsewhere-customer.test", "addresses": ["127.0.0.2"]})
    elsewhere = fz.run_fazt(cli_env, "domain", "check", "shop", "elsewhere-customer.test", *port, *cli)
    assert elsewhere.returncode == 1
    assert "resolves elsewhere" in elsewhere.stdout and "127.0.0.2" in elsewhere.stdout
    pebble.set_dns("set-servfail", {"host": "nowhere-customer.test"})
    nowhere = fz.run_fazt(cli_env, "domain", "check", "shop", "nowhere-customer.test", *port, *cli)
    assert nowhere.returncode == 1 and "does not resolve" in nowhere.stdout

    done = fz.run_fazt(cli_env, "domain", "remove", "shop", "shop-customer.test", *cli)
    assert done.returncode == 0, done.stderr
    assert plain_get(server.port, "/", "shop-customer.test")[0] == 404
    assert plain_get(server.port, "/", "www.shop-customer.test")[0] == 404
    gone = fz.run_fazt(cli_env, "domain", "remove", "shop", "shop-customer.test", *cli)
    assert gone.returncode == 1 and "DOMAIN_NOT_FOUND" in gone.stderr


def test_a_registered_domain_gets_its_certificate_at_the_first_handshake_and_no_other_name_does(
        twistd, fz, cli_env, pebble, tmp_path):
    https_port = fz.free_port()
    server = twistd.start(port=pebble.http_port, args=(
        "--https", f"tcp:{https_port}:interface=127.0.0.1", "--acme-directory", pebble.directory,
        "--acme-ca-bundle", pebble.ca_bundle))
    token = deploy(fz, cli_env, server, tmp_path, "shop", "the shop over TLS")
    done = fz.run_fazt(cli_env, "domain", "add", "shop", "tls-customer.test", "--server", server.url,
                       "--token", token)
    assert done.returncode == 0, done.stderr
    root = pebble.root_pem()

    # An unregistered name, then the registered one: both first get the self-signed fallback.
    for name in ("unregistered-customer.test", "tls-customer.test"):
        with pytest.raises(ssl.SSLCertVerificationError):
            handshake(https_port, name, root)

    def served():
        try:
            return handshake(https_port, "tls-customer.test", root,
                             b"GET / HTTP/1.1\r\nHost: tls-customer.test\r\nConnection: close\r\n\r\n")[1]
        except ssl.SSLCertVerificationError:
            return None
    reply = fz.wait_for(served, "a Pebble certificate for tls-customer.test", server, WAIT)
    assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"the shop over TLS")
    listed = certificates(server, token)
    assert listed["tls-customer.test"]["status"] == "valid"
    assert listed["tls-customer.test"]["issuer"].startswith("Pebble")
    # The unregistered name's handshake came first: an order for it would have been logged before this one.
    assert "ordering a certificate for tls-customer.test" in server.log()
    assert "unregistered-customer.test" not in server.log()
    assert "unregistered-customer.test" not in listed
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(https_port, "unregistered-customer.test", root)
