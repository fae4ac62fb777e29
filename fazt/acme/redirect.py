"""Plain HTTP to HTTPS: a 301 for hosts that have a certificate (the ACME path and /health excepted).

A host without a real certificate yet keeps being served over HTTP, so a new site works at once
and HTTP-01 validation of its name is never redirected.
"""

from __future__ import annotations

import re
from typing import Optional
from urllib.parse import urlsplit

from twisted.internet.interfaces import IReactorTime
from twisted.web.server import Request

from fazt.acme.sni import CertificateMap
from fazt.base.names import split_host

_PORT = re.compile(r"^(?:tcp6?|ssl):(?:port=)?(\d+)(?::|$)")
_PORT_ARG = re.compile(r"(?:^|:)port=(\d+)(?::|$)")


def endpoint_port(endpoint: str) -> Optional[int]:
    """The TCP port of a server endpoint string, where it says one (else None)."""
    match = _PORT.match(endpoint) or _PORT_ARG.search(endpoint)
    return int(match.group(1)) if match else None


class HttpsRedirect:
    """C{redirect(request)}: the HTTPS URL to send a plain-HTTP request to, or None."""

    def __init__(self, certificates: CertificateMap, clock: IReactorTime, https_port: Optional[int] = None) -> None:
        self._certificates = certificates
        self._clock = clock
        self._suffix = "" if https_port in (None, 443) else f":{https_port}"

    def __call__(self, request: Request) -> Optional[bytes]:
        if request.isSecure():
            return None
        host = split_host(request.getHeader(b"host"))
        if not host or not self._certificates.has_valid(host, self._clock.seconds()):
            return None
        target = request.uri
        if not target.startswith(b"/"):
            # Absolute-form (what clients send to proxies) or junk: keep only its path and query,
            # so nothing of it is glued onto our host ("https://blog.D" + ".evil.com/x").
            parts = urlsplit(target)
            target = (parts.path if parts.path.startswith(b"/") else b"/") + \
                (b"?" + parts.query if parts.query else b"")
        return f"https://{host}{self._suffix}".encode("ascii", "replace") + target
