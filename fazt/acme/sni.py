"""The certificate for each TLS handshake, chosen by SNI (the mapping C{txsni.SNIMap} reads).

Handshakes happen on the reactor thread, so lookups are in memory: the map is filled from the
cartridge at start and updated whenever a certificate is issued. A name without a certificate
(including any name that is not ours) gets the self-signed fallback; a lookup never orders one
itself, but tells C{on_missing}, which orders certificates for registered custom domains.
"""

from __future__ import annotations

from typing import Callable, Iterable, Optional

from OpenSSL.SSL import Connection
from twisted.internet.ssl import CertificateOptions
from twisted.logger import Logger
from twisted.protocols.tls import TLSMemoryBIOFactory
from txsni.snimap import SNIMap

from fazt.acme import pem
from fazt.store.certificates import StoredCertificate

_log = Logger()
DEFAULT = "DEFAULT"


def _server_name(raw) -> str:
    if raw is None:
        return ""
    if isinstance(raw, bytes):
        raw = raw.decode("ascii", "replace")
    return raw.strip().lower().rstrip(".")


class CertificateMap:
    """C{servername -> CertificateOptions}, never raising: unknown names get the fallback."""

    def __init__(self, fallback: CertificateOptions) -> None:
        self.fallback = fallback
        self._options: dict[str, CertificateOptions] = {}
        self._expiry: dict[str, float] = {}
        # Called (on the reactor thread, during the handshake) with a name that has no certificate.
        self.on_missing: Optional[Callable[[str], None]] = None

    def __getitem__(self, server_name) -> CertificateOptions:
        name = _server_name(server_name)
        options = self._options.get(name)
        if options is None:
            if name and self.on_missing is not None:
                try:
                    self.on_missing(name)  # on-demand ordering (fazt.acme.ondemand); must not fail a handshake
                except Exception:
                    _log.failure("on-demand certificate hook failed for {name}", name=name)
            return self.fallback
        return options

    def __contains__(self, server_name) -> bool:
        return _server_name(server_name) in self._options

    def names(self) -> list[str]:
        """The names that have a real certificate."""
        return sorted(self._options)

    def has_valid(self, server_name, now: float) -> bool:
        """Whether C{server_name} has a certificate that has not expired at C{now}."""
        name = _server_name(server_name)
        return name in self._options and self._expiry[name] > now

    def not_after(self, server_name) -> Optional[float]:
        """When the certificate served for C{server_name} expires (None: it has none)."""
        return self._expiry.get(_server_name(server_name))

    def put(self, cert: StoredCertificate) -> None:
        """Serve C{cert} for its name from the next handshake on."""
        self._options[cert.name] = pem.tls_options(cert.cert_pem, cert.key_pem)
        self._expiry[cert.name] = cert.not_after

    def remove(self, names: Iterable[str]) -> None:
        """Stop serving the certificates of C{names}: their next handshakes get the fallback."""
        for name in names:
            self._options.pop(name, None)
            self._expiry.pop(name, None)

    def load(self, certs: Iterable[StoredCertificate]) -> None:
        """Serve every certificate of C{certs} that can be read; a broken one is logged and skipped."""
        for cert in certs:
            try:
                self.put(cert)
            except Exception:
                _log.failure("the stored certificate of {name} cannot be used", name=cert.name)


def fallback_options(domain: str, now: float, key_pem: Optional[str] = None) -> CertificateOptions:
    """TLS options with a self-signed certificate for C{domain} and C{*.domain}."""
    key_pem = key_pem or pem.new_key_pem()
    return pem.tls_options(pem.self_signed([domain, "*." + domain], key_pem, now), key_pem)


def tls_factory(certificates: CertificateMap, wrapped) -> TLSMemoryBIOFactory:
    """C{wrapped} (an HTTP factory) behind TLS whose certificate is chosen by SNI."""
    return TLSMemoryBIOFactory(_PlainConnectionSNIMap(_WithDefault(certificates)), False, wrapped)


class _PlainConnectionSNIMap(SNIMap):
    """txsni's SNIMap, handing out a real C{OpenSSL.SSL.Connection} for each handshake.

    SNIMap wraps each connection in a proxy that only exists to carry NPN/ALPN callbacks across
    the SNI context switch (fazt negotiates neither). Autobahn asserts that a TLS transport's
    handle is an C{OpenSSL.SSL.Connection}, so behind that proxy every C{wss://} handshake failed
    (issue 11). The context (C{self.context}, with SNIMap's servername callback) is the same.
    """

    def serverConnectionForTLS(self, protocol):
        return Connection(self.context, None)


class _WithDefault:
    """What SNIMap expects: C{mapping["DEFAULT"]} and C{mapping[None]} are the fallback too."""

    def __init__(self, certificates: CertificateMap) -> None:
        self._certificates = certificates

    def __getitem__(self, server_name) -> CertificateOptions:
        if server_name == DEFAULT:
            return self._certificates.fallback
        return self._certificates[server_name]
