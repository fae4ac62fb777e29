"""What the CLI's API client needs of HTTP/1.1 beyond C{http.client}: whole answers, and 100-continue.

L{await_continue} lets an upload wait for the server's C{100 Continue} (or its refusal, answered on
the request's headers) before sending the body, which C{http.client} cannot do by itself.
"""

import http.client
import io
import select
import ssl
from dataclasses import dataclass
from typing import Mapping, Optional

MAX_INTERIM_LINE = 65536


@dataclass(frozen=True)
class RawResponse:
    """An HTTP answer as received: status, reason, headers and body bytes."""

    status: int
    reason: str
    headers: Mapping[str, str]
    body: bytes


def read_response(response: http.client.HTTPResponse) -> RawResponse:
    """Read all of C{response} into a L{RawResponse}."""
    body = response.read()
    return RawResponse(response.status, response.reason, dict(response.headers), body)


def await_continue(sock, wait: float) -> Optional[RawResponse]:
    """
    After a request's headers were sent with C{Expect: 100-continue}: wait up
    to C{wait} seconds for the server's first answer.

    @return: C{None} to go on and send the body (a C{100 Continue} came and
        was consumed, or nothing came in time), or the server's final answer,
        read whole, when it refused the request on its headers.
    """
    pending = sock.pending() if isinstance(sock, ssl.SSLSocket) else 0
    if not pending and not select.select([sock], [], [], wait)[0]:
        return None
    # Unbuffered, so that after a 100 not a byte of what follows is taken from the socket
    # before http.client reads the final answer.
    raw = sock.makefile("rb", buffering=0)
    status_line = raw.readline(MAX_INTERIM_LINE)
    parts = status_line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise http.client.BadStatusLine(status_line.decode("latin-1", "replace").strip())
    status = int(parts[1])
    if 100 <= status < 200:
        while raw.readline(MAX_INTERIM_LINE) not in (b"\r\n", b"\n", b""):
            pass  # an interim answer's header lines
        return None
    reader = io.BufferedReader(raw)
    headers = http.client.parse_headers(reader)
    length = headers.get("Content-Length")
    body = reader.read(int(length)) if length and length.isdigit() else reader.read()
    reason = parts[2].decode("latin-1").strip() if len(parts) > 2 else ""
    return RawResponse(status, reason, dict(headers), body)
