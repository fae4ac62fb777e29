"""The txacme-shaped interfaces fazt's ACME code is built around (our own; txacme is unusable).

A certificate store keeps issued certificates by server name; a responder answers one kind of
ACME challenge while an order waits for validation.
"""

from __future__ import annotations

from zope.interface import Attribute, Interface


class ICertificateStore(Interface):
    """Issued certificates by server name."""

    def get(server_name):
        """A Deferred firing with the L{fazt.store.certificates.StoredCertificate} of C{server_name};
        it fails with C{KeyError} when there is none."""

    def store(server_name, cert_pem, key_pem):
        """A Deferred firing once C{cert_pem} (leaf then chain) and C{key_pem} are kept for
        C{server_name}, replacing what was there."""

    def as_dict():
        """A Deferred firing with every stored certificate: C{{server_name: StoredCertificate}}."""


class IResponder(Interface):
    """Answers the challenges of one type while an ACME server validates a name."""

    challenge_type = Attribute("The ACME challenge type answered, e.g. C{'http-01'}.")

    def start_responding(server_name, challenge, response):
        """Begin answering C{challenge} (an C{acme.challenges} challenge) for C{server_name};
        C{response} is the key authorization text the server expects."""

    def stop_responding(server_name, challenge, response):
        """Stop answering C{challenge}; answering one that is not active is not an error."""
