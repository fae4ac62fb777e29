"""Puts automatic HTTPS into a fazt service tree (called from C{fazt.app.tap}; wiring only).

C{--https ssl:...} endpoints use the operator's own certificate as given; every other C{--https}
endpoint is wrapped in TLS whose certificate is chosen by SNI from the cartridge, and (unless
C{--no-acme}) obtained by ACME HTTP-01.
"""

from __future__ import annotations

from typing import Any, Optional

from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.threadpool import ThreadPool

from fazt.acme.policy import base_names, is_public_ca, orderable
from fazt.acme.redirect import HttpsRedirect, endpoint_port
from fazt.acme.responder import HTTP01Responder
from fazt.acme.retire import Retirement
from fazt.acme.service import CHECK_INTERVAL, SERVICE_NAME, CertificateManager
from fazt.acme.sni import CertificateMap, fallback_options, tls_factory
from fazt.base.bus import IEventBus
from fazt.store.certificates import all_certificates
from fazt.base.threads import ThreadPoolService
from fazt.store.engines import connect

_log = Logger()
ACME_THREADS = 4


def own_certificate(endpoint: str) -> bool:
    """Whether an C{--https} endpoint brings its own certificate (C{ssl:}), served as given."""
    return endpoint.strip().lower().startswith("ssl:")


def _stored(path: str):
    conn = connect(path)  # the cartridge's file or its postgresql:// URL
    try:
        return all_certificates(conn)
    finally:
        conn.close()


def install(config: Any, reactor: IReactorTime, parent, store, root,
            bus: Optional[IEventBus] = None, duties=None) -> CertificateManager:
    """Add the certificate service (and, if ordering, the ACME pool and responder) to C{parent}.

    Stored certificates are loaded before the reactor runs, so the first handshake after a start
    already gets them. With C{bus}, the manager orders a certificate for a site that switched
    deployments (C{site.changed}) and serves those another process stored (C{certificate.stored}).
    With C{duties} (L{fazt.app.leaderduties.LeaderDuties}), orders and renewals happen only while
    this process leads; serving and answering challenges happen in every process. With an automatic
    C{--https} listener, certificates no site or domain needs any more are deleted and no longer
    served (L{fazt.acme.retire}); without one they are not served and are left alone.
    """
    domain = config["domain"]
    automatic = [e for e in config["https"] if not own_certificate(e)]
    certificates = CertificateMap(fallback_options(domain, reactor.seconds()))
    certificates.load(_stored(config["db"]))
    issuer = None
    if automatic and not config["no-acme"]:
        from fazt.acme.issuer import AcmeIssuer  # acme and requests: only loaded when ordering

        pool = ThreadPoolService(ThreadPool(1, ACME_THREADS, name="fazt-acme"))
        pool.setServiceParent(parent)
        responder = HTTP01Responder(store, reactor)  # answers from the store in every process
        root.acme_challenge = responder
        verify = config["acme-ca-bundle"] or True
        issuer = AcmeIssuer(reactor, pool.pool, store, responder, config["acme-directory"],
                            config["acme-email"], verify)
    public_ca = is_public_ca(config["acme-directory"])
    if issuer is not None and not any(orderable(n, public_ca) for n in base_names(domain)):
        _log.info("No certificate can be ordered for {domain} from {directory}: TLS uses a self-signed one",
                  domain=domain, directory=config["acme-directory"])
    manager = CertificateManager(store, certificates, domain, reactor, issuer,
                                 public_ca=public_ca, serving_tls=bool(automatic), bus=bus, duties=duties)
    manager.setServiceParent(parent)
    if automatic:
        # Certificates nothing needs any more: deleted by the leader, dropped by every process.
        Retirement(store, certificates, domain, reactor, bus, CHECK_INTERVAL).setServiceParent(
            duties if duties is not None else manager)
        root.https_redirect = HttpsRedirect(certificates, reactor, endpoint_port(automatic[0]))
    return manager


def https_factory(parent, endpoint: str, site):
    """The factory to listen with on C{endpoint}: C{site} itself for C{ssl:}, else TLS with SNI."""
    if own_certificate(endpoint):
        return site
    return tls_factory(parent.getServiceNamed(SERVICE_NAME).certificates, site)
