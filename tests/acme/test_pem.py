"""Keys, certificates and TLS options from PEM text (fazt.acme.pem)."""

from __future__ import annotations

import pytest
from cryptography.x509.oid import NameOID

from fazt.acme import pem

NOW = 1_800_000_000.0


def common_name(cert) -> str:
    return cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def test_self_signed_facts():
    key = pem.new_key_pem()
    cert = pem.self_signed(["a.example.com", "*.example.com"], key, NOW, days=10)
    about = pem.facts(cert)
    assert about.names == ("a.example.com", "*.example.com")
    assert about.self_signed
    assert about.issuer == pem.SELF_SIGNED_ISSUER
    assert about.not_before == NOW - 3600
    assert about.not_after == NOW + 10 * 86400


def test_split_chain_keeps_order_and_ignores_other_blocks():
    key = pem.new_key_pem()
    one, two = (pem.self_signed([n], key, NOW) for n in ("one.test", "two.test"))
    blocks = pem.split_chain(key + one + "junk\n" + two)
    assert blocks == [one, two]


def test_tls_options_serve_leaf_with_chain():
    key = pem.new_key_pem()
    leaf, extra = (pem.self_signed([n], key, NOW) for n in ("leaf.test", "chain.test"))
    options = pem.tls_options(leaf + extra, key)
    assert common_name(options.certificate) == "leaf.test"
    assert [common_name(c) for c in options.extraCertChain] == ["chain.test"]
    options.getContext()  # the key matches the certificate


@pytest.mark.parametrize("text", ["", "not a certificate", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"])
def test_unreadable_certificates_raise_value_error(text):
    with pytest.raises(ValueError):
        pem.facts(text)
