"""The scenarios users depend on, under each production listener configuration (issue 11).

One real C{twistd -n fazt} per configuration, shared by its scenarios (a module-scoped fixture,
so the servers run one after the other):

  - C{http}: plain HTTP only (C{--http tcp:PORT:interface=127.0.0.1});
  - C{pebble}: C{--https tcp:PORT} with certificates from a real ACME server (Pebble, HTTP-01),
    every client verifying the chain to Pebble's root with SNI;
  - C{self-signed}: C{--https tcp:PORT} before any certificate exists (C{--no-acme}): the
    self-signed fallback, used by clients that do not verify (the CLI pins it: C{SSL_CERT_FILE});
  - C{ssl-files}: C{--https ssl:PORT:privateKey=...:certKey=...} with files made here.

Scenarios: a static site, a fazt-style KV app, a handler-style app, a WebSocket chat (two
Autobahn clients relaying through a site's C{/ws}), the dashboard login (the API call the
dashboard makes, then its page and an API route with the session cookie), and a deploy, a second
deploy and a rollback with the C{fazt} CLI.

The CLI talks to C{https://admin.example.test:PORT} as a user's would: the name is resolved by a
private C{/etc/hosts} (bind-mounted in a mount namespace of its own, C{unshare}) and the CA is
trusted through C{SSL_CERT_FILE}, which Python's default context (the CLI's) honours.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pytest
import pytest_twisted
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID
from twisted.internet.ssl import Certificate, CertificateOptions, optionsForClientTLS

from tls_testing import make_certificate
from wsclient import close_all, join

CONFIGS = ["http", "pebble", "self-signed", "ssl-files"]
DOMAIN = "example.test"
ADMIN = f"admin.{DOMAIN}"
PASSWORD = "a long production password"
CERT_WAIT = 60.0
COUNTER = 'let n = (db.get("count") || 0) + 1; db.set("count", n); res.send(`<h1>${n}</h1>`);'
HANDLER = """export default async function (req) {
  return Response.json({ method: req.method, visits: db.incr("visits") });
}"""
# Runs the command after it in a mount namespace whose /etc/hosts is $0.
WITH_HOSTS = 'mount --bind "$0" /etc/hosts && exec "$@"'


@dataclass
class Production:
    """One running configuration and how clients reach it."""

    name: str
    server: object                  # conftest's Twistd
    port: int                       # where the scenarios connect: the HTTPS port, or the HTTP one
    context: Optional[ssl.SSLContext]
    cli_env: dict
    trust_pem: Optional[bytes]      # what verifying clients trust (None: plain HTTP, or no verification)
    workdir: Path
    fz: object
    hosts_file: Optional[Path] = None
    token: str = ""
    ready: set = field(default_factory=set)

    @property
    def tls(self) -> bool:
        return self.context is not None

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    def origin(self, host: str) -> str:
        return f"{self.scheme}://{host}:{self.port}"

    def request(self, host: str, path: str = "/", method: str = "GET", headers: Optional[dict] = None,
                body: Optional[bytes] = None) -> tuple[int, http.client.HTTPMessage, bytes]:
        """One request to C{host} through 127.0.0.1 (with SNI for C{host} under TLS)."""
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        conn = http.client.HTTPConnection(host, self.port, timeout=10)
        conn.sock = self.context.wrap_socket(raw, server_hostname=host) if self.tls else raw
        try:
            conn.request(method, path, body, headers or {})
            response = conn.getresponse()
            return response.status, response.headers, response.read()
        finally:
            conn.close()

    def cli(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        """The real C{fazt} command with C{--server} and C{--token} of this configuration (and C{env})."""
        command = [self.fz.FAZT, *args, "--server", self.cli_server, "--token", self.token]
        if self.hosts_file is not None:
            command = ["unshare", "--mount", "--map-root-user", "sh", "-c", WITH_HOSTS, str(self.hosts_file),
                       *command]
        return subprocess.run(command, env={**self.cli_env, **env}, capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)

    @property
    def cli_server(self) -> str:
        return self.origin(ADMIN) if self.tls else self.server.url

    def deploy(self, site: str, files: dict) -> None:
        """C{fazt deploy} a folder holding C{files}; then wait until C{site} can be reached."""
        folder = self.fz.write_tree(self.workdir / f"{site}-{len(list(self.workdir.iterdir()))}", files)
        done = self.cli("deploy", str(folder), "--site", site)
        assert done.returncode == 0, done.stdout + done.stderr + self.server.log()
        self.wait_reachable(f"{site}.{DOMAIN}")

    def wait_reachable(self, host: str) -> None:
        """With Pebble, wait for C{host}'s certificate (a verified handshake); else nothing to wait for."""
        if self.name != "pebble" or host in self.ready:
            return
        deadline = time.monotonic() + CERT_WAIT
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as raw:
                    self.context.wrap_socket(raw, server_hostname=host).close()
                self.ready.add(host)
                return
            except ssl.SSLCertVerificationError:
                if time.monotonic() > deadline or self.server.proc.poll() is not None:
                    raise AssertionError(f"no certificate for {host} within {CERT_WAIT} s:\n{self.server.log()}")
                time.sleep(0.1)

    def ws_tls(self, host: str):
        """Twisted client TLS options for a WebSocket to C{host} (None on plain HTTP)."""
        if not self.tls:
            return None
        if self.trust_pem is None:
            return CertificateOptions()  # verifies nothing, as a client that accepts any certificate
        return optionsForClientTLS(host, trustRoot=Certificate.loadPEM(self.trust_pem))


def shown_certificate(port: int, name: str) -> bytes:
    """The certificate (DER) a TLS server on 127.0.0.1:C{port} shows for SNI C{name}, unverified."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=name) as tls:
            return tls.getpeercert(binary_form=True)


def _start(name: str, request, workdir: Path, fz) -> Production:
    env = fz.subprocess_env(workdir / "home")
    db = str(workdir / "data.db")
    init = subprocess.run([fz.FAZT, "init", "--db", db, "--domain", DOMAIN, "--username", "admin",
                           "--password", "-"], input=PASSWORD + "\n", env=env, capture_output=True, text=True,
                          timeout=60)
    assert init.returncode == 0, init.stderr
    launcher = fz.TwistdLauncher(workdir, env)
    request.addfinalizer(launcher.cleanup)
    https_port = fz.free_port()
    https = f"tcp:{https_port}:interface=127.0.0.1"
    http_port, context, trust, args = None, None, None, ()
    if name == "pebble":
        pebble = request.getfixturevalue("pebble")
        http_port = pebble.http_port  # where Pebble checks http-01
        args = ("--https", https, "--acme-directory", pebble.directory, "--acme-ca-bundle", pebble.ca_bundle)
        trust = pebble.root_pem().encode("ascii")
    elif name == "self-signed":
        args = ("--https", https, "--no-acme")
    elif name == "ssl-files":
        cert, key, trust = make_certificate(workdir, [DOMAIN, f"*.{DOMAIN}"])
        args = ("--https", f"ssl:{https_port}:interface=127.0.0.1:privateKey={key}:certKey={cert}")
    server = launcher.start(db=db, port=http_port, args=args)
    if name == "http":
        return Production(name, server, server.port, None, env, None, workdir / "sites", fz)
    context = ssl.create_default_context(cadata=trust.decode("ascii") if trust else None)
    if trust is None:  # a client that accepts whatever it is shown
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    production = Production(name, server, https_port, context, env, trust, workdir / "sites", fz)
    production.wait_reachable(ADMIN)
    # The CLI trusts what a verifying client trusts; with the fallback, the certificate it is shown
    # (pinned, as a user of a fresh server would after checking its fingerprint).
    shown = ssl.DER_cert_to_PEM_cert(shown_certificate(https_port, ADMIN)).encode("ascii")
    bundle = workdir / "trusted.pem"
    bundle.write_bytes(trust or shown)
    env["SSL_CERT_FILE"] = str(bundle)
    production.hosts_file = workdir / "hosts"
    production.hosts_file.write_text(f"127.0.0.1 localhost {ADMIN}\n")
    return production


@pytest.fixture(scope="module", params=CONFIGS)
def prod(request, tmp_path_factory, fz) -> Production:
    """A running twistd in one configuration, with an admin (password L{PASSWORD}) and an API key."""
    workdir = tmp_path_factory.mktemp(request.param)
    production = _start(request.param, request, workdir, fz)
    production.workdir.mkdir()
    production.token = fz.create_token(production.cli_env, production.server.db, "prod")
    return production


def test_the_certificate_shown_is_the_configured_one(prod):
    if not prod.tls:  # no certificate: the port speaks plain HTTP
        assert prod.request(ADMIN, "/health")[::2] == (200, b"OK")
        return
    cert = x509.load_der_x509_certificate(shown_certificate(prod.port, ADMIN))
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName)
    issuer = cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    if prod.name == "pebble":
        assert issuer.startswith("Pebble Intermediate CA") and names == [ADMIN]
    elif prod.name == "self-signed":
        assert cert.issuer == cert.subject and names == [DOMAIN, f"*.{DOMAIN}"]
    else:
        assert cert.public_bytes(serialization.Encoding.PEM) == prod.trust_pem


def test_static_site(prod):
    prod.deploy("static", {"index.html": "<h1>home</h1>", "about.html": "<p>about</p>",
                           "404.html": "<p>not here</p>", "css/app.css": "body{}"})
    host = f"static.{DOMAIN}"
    status, headers, body = prod.request(host, "/")
    assert (status, body) == (200, b"<h1>home</h1>") and headers["content-type"].startswith("text/html")
    assert prod.request(host, "/about")[::2] == (200, b"<p>about</p>")
    assert prod.request(host, "/css/app.css")[::2] == (200, b"body{}")
    assert prod.request(host, "/missing")[::2] == (404, b"<p>not here</p>")
    again = prod.request(host, "/", headers={"If-None-Match": headers["etag"]})
    assert again[0] == 304
    if prod.name == "pebble":  # a name with a real certificate tells browsers to stay on HTTPS
        assert headers["strict-transport-security"].startswith("max-age=")


def test_fazt_style_kv_app(prod):
    prod.deploy("counter", {"main.js": COUNTER})
    host = f"counter.{DOMAIN}"
    assert [prod.request(host, "/")[::2] for _ in range(3)] == [
        (200, b"<h1>1</h1>"), (200, b"<h1>2</h1>"), (200, b"<h1>3</h1>")]


def test_handler_style_app(prod):
    prod.deploy("handler", {"main.js": HANDLER})
    host = f"handler.{DOMAIN}"
    first = prod.request(host, "/x", method="POST", body=b"")
    second = prod.request(host, "/")
    assert first[0] == 200 and first[1]["content-type"].startswith("application/json")
    assert json.loads(first[2]) == {"method": "POST", "visits": 1}
    assert (second[0], json.loads(second[2])) == (200, {"method": "GET", "visits": 2})


@pytest_twisted.ensureDeferred
async def test_websocket_chat_relays_between_two_clients(prod):
    prod.deploy("chat", {"index.html": "<p>chat</p>"})
    name = f"chat.{DOMAIN}"
    host = f"{name}:{prod.port}"
    try:
        alice = await join(prod.port, host, origin=prod.origin(name), tls=prod.ws_tls(name))
        bob = await join(prod.port, host, origin=prod.origin(name), tls=prod.ws_tls(name))
    except ConnectionError as error:  # the server's log says why
        raise AssertionError(f"{error}\n{prod.server.log()}") from error
    try:
        alice.sendMessage(b"hello from alice")
        assert await bob.messages(1) == ["hello from alice"]
        bob.sendMessage(b"hello from bob")
        assert await alice.messages(2) == ["hello from alice", "hello from bob"]
    finally:
        await close_all([alice, bob])


def test_dashboard_login(prod):
    cookie_name = "__Host-fazt_session" if prod.tls else "fazt_session"
    body = json.dumps({"username": "admin", "password": PASSWORD}).encode()
    status, headers, answer = prod.request(ADMIN, "/api/login", "POST", body=body, headers={
        "Content-Type": "application/json", "Accept": "application/json", "X-Fazt-CSRF": "1",
        "Origin": prod.origin(ADMIN)})
    assert status == 200, answer
    assert json.loads(answer)["data"]["username"] == "admin"
    cookies = headers.get_all("set-cookie")
    (cookie,) = [c for c in cookies if c.startswith(cookie_name + "=")]
    attributes = [a.strip().lower() for a in cookie.split(";")[1:]]
    assert "httponly" in attributes and "path=/" in attributes and "samesite=strict" in attributes
    assert ("secure" in attributes) == prod.tls
    session = cookie.split(";")[0]

    page = prod.request(ADMIN, "/", headers={"Cookie": session})
    assert page[0] == 200 and page[1]["content-type"].startswith("text/html") and b"<script" in page[2]
    status, _, answer = prod.request(ADMIN, "/api/auth/status", headers={"Cookie": session,
                                                                         "Accept": "application/json"})
    assert status == 200, answer
    data = json.loads(answer)["data"]
    assert (data["username"], data["method"]) == ("admin", "session")
    assert prod.request(ADMIN, "/api/auth/status")[0] == 401


def test_deploy_twice_then_roll_back(prod):
    host = f"blog.{DOMAIN}"
    prod.deploy("blog", {"index.html": "<h1>v1</h1>"})
    assert prod.request(host, "/")[::2] == (200, b"<h1>v1</h1>")
    prod.deploy("blog", {"index.html": "<h1>v2</h1>"})
    assert prod.request(host, "/")[::2] == (200, b"<h1>v2</h1>")
    listed = prod.cli("deployments", "blog")
    assert listed.returncode == 0, listed.stderr
    rolled = prod.cli("rollback", "blog")
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert prod.request(host, "/")[::2] == (200, b"<h1>v1</h1>")


def test_the_cli_verifies_the_certificate(prod, tmp_path):
    """The trust above is needed: with a CA bundle that does not hold it, the CLI refuses to talk."""
    stranger, _, _ = make_certificate(tmp_path, [f"elsewhere.{DOMAIN}"])
    answered = prod.cli("deployments", "blog", SSL_CERT_FILE=str(stranger))
    if prod.tls:
        assert answered.returncode != 0
        assert f"cannot reach {prod.cli_server}: TLS failed: CERTIFICATE_VERIFY_FAILED" in answered.stderr
    else:  # no TLS, nothing to verify
        assert answered.returncode == 0, answered.stderr
