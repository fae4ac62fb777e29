"""Helpers for tests: live fazt servers on 127.0.0.1, zips and multipart bodies.

Imported by name (C{pytest.ini} puts C{tests/} on the path); fixtures live in C{conftest.py}.
"""

from __future__ import annotations

import io
import os
import sqlite3
import zipfile
from dataclasses import dataclass, field
from typing import Optional

import pytest_twisted
from twisted.internet import reactor
from twisted.web.client import Agent, FileBodyProducer, HTTPConnectionPool, readBody
from twisted.web.http_headers import Headers

from fazt.app.options import Options
from fazt.app.tap import build, prepare_cartridge
from fazt.cli.operator import create_key

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_zip(files: dict[str, bytes | str], compression=zipfile.ZIP_DEFLATED) -> bytes:
    """A zip archive (in memory) holding C{files}."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as zf:
        for name, content in files.items():
            zf.writestr(name, content.encode() if isinstance(content, str) else content)
    return out.getvalue()


def multipart_body(fields: dict[str, str], files: dict[str, tuple[str, bytes]], boundary: str = "fazt-test-boundary"):
    """(body, content type) of a multipart/form-data request as a browser would send it."""
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, data) in files.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: application/zip\r\n\r\n".encode() + data + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@dataclass
class Response:
    code: int
    headers: dict[str, list[str]]
    body: bytes

    def header(self, name: str) -> Optional[str]:
        values = self.headers.get(name.lower())
        return values[0] if values else None

    def json(self):
        import json

        return json.loads(self.body)


@dataclass
class LiveServer:
    """A fazt service tree listening on a random loopback port, in this process."""

    db: str
    domain: str
    port: int
    services: object
    listener: object
    admin_token: str
    pool: HTTPConnectionPool = field(default=None)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def request(self, method: str, path: str, host: Optional[str] = None, headers=None,
                      body: Optional[bytes] = None) -> Response:
        """One HTTP request with an explicit Host header; the body is read whole."""
        # A bare Agent: treq would decode gzip behind the test's back.
        all_headers = Headers({"Host": [host or f"admin.{self.domain}"]})
        for name, value in (headers or {}).items():
            all_headers.setRawHeaders(name, [value])
        producer = FileBodyProducer(io.BytesIO(body)) if body is not None else None
        agent = Agent(reactor, pool=self.pool)
        response = await agent.request(method.encode(), (self.url + path).encode(), all_headers, producer)
        content = await readBody(response)
        return Response(response.code, {k.decode().lower(): [x.decode("latin-1") for x in v]
                                        for k, v in response.headers.getAllRawHeaders()}, content)

    async def get(self, path: str, host: Optional[str] = None, **headers) -> Response:
        return await self.request("GET", path, host=host, headers={k.replace("_", "-"): v for k, v in headers.items()})

    async def deploy(self, site: str, files: dict[str, bytes | str], token: Optional[str] = None) -> Response:
        body, ctype = multipart_body({"site_name": site}, {"file": ("site.zip", make_zip(files))})
        return await self.request("POST", "/api/deploy", headers={
            "Authorization": f"Bearer {token or self.admin_token}", "Content-Type": ctype}, body=body)


_TEMPLATE: dict[str, str] = {}


def fresh_cartridge(db: str) -> None:
    """Put a fully prepared cartridge at C{db}: migrated, default sites, an admin user.

    Prepared once per session and copied with SQLite's backup API, so each test does not pay
    for bcrypt at cost 12; the copy went through the same production code.
    """
    if "path" not in _TEMPLATE:
        import tempfile

        path = os.path.join(tempfile.mkdtemp(prefix="fazt-template-"), "template.db")
        prepare_cartridge(path)
        _TEMPLATE["path"] = path
    source = sqlite3.connect(_TEMPLATE["path"])
    target = sqlite3.connect(db)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


def start_server(db: str, domain: str = "example.test", extra_args: tuple = (), **wiring) -> LiveServer:
    """A fazt tree on 127.0.0.1; C{wiring} goes to L{build} (e.g. C{bus}, C{leadership}).
    A postgresql:// C{db} must be prepared already (L{prepare_cartridge})."""
    if not db.startswith("postgresql://") and not os.path.exists(db):
        fresh_cartridge(db)
    options = Options()
    options.parseOptions(["--domain", domain, "--db", db, *extra_args])
    services, site = build(options, reactor, **wiring)
    services.startService()
    listener = reactor.listenTCP(0, site, interface="127.0.0.1")
    token = create_key(db, "test-admin", ["admin"])
    pool = HTTPConnectionPool(reactor, persistent=False)
    return LiveServer(db, domain, listener.getHost().port, services, listener, token, pool)


def stop_server(server: LiveServer) -> None:
    pytest_twisted.blockon(server.listener.stopListening())
    pytest_twisted.blockon(server.pool.closeCachedConnections())
    result = server.services.stopService()
    if result is not None:
        pytest_twisted.blockon(result)


def assert_error(response, status: int, code: str | None = None, field: str | None = None) -> dict:
    """Assert an API error answer: C{status}, JSON, exactly C{{"error": {code, message, details?}}}."""
    assert (response.code, response.header("content-type")) == (status, "application/json"), (response.code, response.body)
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert error["message"], error
    assert code is None or error["code"] == code, error
    assert field is None or error["details"]["field"] == field, error
    return error


def set_admin_password(db: str, password: str) -> None:
    """Give user C{admin} a known password (bcrypt cost 4: tests need not be slow)."""
    import bcrypt

    digest = bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE users SET password_hash = ? WHERE username = 'admin'", (digest,))
    conn.close()


def sql(db: str, query: str, *args) -> list:
    """Run one statement on a cartridge file (committed) and return its rows."""
    conn = sqlite3.connect(db)
    try:
        with conn:
            return conn.execute(query, args).fetchall()
    finally:
        conn.close()
