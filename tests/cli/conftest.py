"""
Fixtures for the CLI tests: an isolated environment, and a small real HTTP
server standing in for fazt that records every request and answers with
canned envelopes.
"""

import email
import email.policy
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional, Tuple

import pytest


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path, monkeypatch):
    """
    Point HOME at an empty directory and clear the variables the CLI reads,
    so no test sees the developer's own settings.
    """
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("FAZT_SERVER", "FAZT_TOKEN", "XDG_CONFIG_HOME", "FAZT_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    return home


@dataclass
class RecordedRequest:
    """One request as the fake server received it."""

    method: str
    path: str
    headers: Dict[str, str]
    body: bytes

    def json(self):
        """Decode the body as JSON."""
        return json.loads(self.body.decode("utf-8"))


@dataclass
class CannedAnswer:
    """What the fake server answers on one route."""

    status: int
    body: bytes
    content_type: str
    read_body: bool = True


@dataclass
class FakeFaztServer:
    """
    A threaded C{http.server} on 127.0.0.1 with canned answers per route.

    Unknown routes get a 404 C{NOT_FOUND} envelope.
    """

    url: str = ""
    requests: List[RecordedRequest] = field(default_factory=list)
    routes: Dict[Tuple[str, str], CannedAnswer] = field(default_factory=dict)

    def answer(
        self,
        method: str,
        path: str,
        status: int = 200,
        payload: object = None,
        raw_body: Optional[bytes] = None,
        content_type: str = "application/json",
        read_body: bool = True,
    ) -> None:
        """Answer C{method path} with C{payload} as JSON (or C{raw_body})."""
        body = raw_body if raw_body is not None else json.dumps(payload).encode("utf-8")
        self.routes[(method, path)] = CannedAnswer(status, body, content_type, read_body)

    def only_request(self) -> RecordedRequest:
        """Return the single request received, failing if there were others."""
        assert len(self.requests) == 1, [r.path for r in self.requests]
        return self.requests[0]


class _RecordingHandler(BaseHTTPRequestHandler):
    """Records the request on the fake server and sends its canned answer."""

    def do_GET(self):
        self._handle()

    def do_POST(self):
        self._handle()

    def do_DELETE(self):
        self._handle()

    def _handle(self):
        fake: FakeFaztServer = self.server.fake
        canned = fake.routes.get((self.command, self.path))
        if canned is None:
            canned = CannedAnswer(
                404,
                json.dumps({"error": {"code": "NOT_FOUND", "message": "no such route"}}).encode(),
                "application/json",
            )
        body = b""
        if canned.read_body:
            body = self._read_body(int(self.headers.get("Content-Length") or 0))
        fake.requests.append(
            RecordedRequest(self.command, self.path, dict(self.headers.items()), body)
        )
        self.send_response(canned.status)
        self.send_header("Content-Type", canned.content_type)
        self.send_header("Content-Length", str(len(canned.body)))
        self.end_headers()
        self.wfile.write(canned.body)

    def _read_body(self, length: int) -> bytes:
        """Read exactly C{length} bytes, in pieces as they arrive."""
        pieces = []
        remaining = length
        while remaining:
            piece = self.rfile.read(min(remaining, 256 * 1024))
            if not piece:
                break
            pieces.append(piece)
            remaining -= len(piece)
        return b"".join(pieces)

    def log_message(self, format, *args):
        """Keep the test output quiet."""


@pytest.fixture
def fake_server():
    """Run a L{FakeFaztServer} for the duration of one test."""
    fake = FakeFaztServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _RecordingHandler)
    httpd.daemon_threads = True
    httpd.fake = fake
    host, port = httpd.server_address[:2]
    fake.url = f"http://{host}:{port}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@dataclass
class FormPart:
    """One part of a parsed multipart form."""

    name: str
    filename: Optional[str]
    content_type: str
    content: bytes


def parse_multipart_form(content_type: str, body: bytes) -> Dict[str, FormPart]:
    """Parse a C{multipart/form-data} body with the C{email} package."""
    message = email.message_from_bytes(
        b"Content-Type: " + content_type.encode("ascii") + b"\r\n\r\n" + body,
        policy=email.policy.HTTP,
    )
    assert message.is_multipart()
    parts = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        parts[name] = FormPart(
            name=name,
            filename=part.get_filename(),
            content_type=part.get_content_type(),
            content=part.get_payload(decode=True),
        )
    return parts


@pytest.fixture
def parse_form():
    """The multipart parser, for tests that check an upload's body."""
    return parse_multipart_form
