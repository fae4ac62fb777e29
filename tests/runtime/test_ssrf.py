"""The SSRF rules of SPEC §7, table by table: addresses, URLs and resolved address lists."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from fazt.runtime.ssrf import AddressPolicy, FetchBlocked, check_url, is_blocked_address, pick_address

LOOPBACK_ALLOWED = AddressPolicy(allowed_networks=(ip_network("127.0.0.0/8"),))

# (address, a word the reason must contain)
BLOCKED = [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("::1", "loopback"),
    ("10.0.0.1", "private"),
    ("10.255.255.255", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"),
    ("169.254.0.1", "link-local"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.255", "carrier-grade NAT"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("ff02::1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "unspecified"),
    ("::", "unspecified"),
    ("198.18.0.1", "benchmarking"),
    ("198.19.255.255", "benchmarking"),
    ("192.0.2.1", "documentation"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("2001:db8::1", "documentation"),
    ("192.0.0.9", "IETF protocol"),
    ("192.88.99.1", "6to4 relay"),
    ("fc00::1", "unique-local"),
    ("fd12::1", "unique-local"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "scoped"),
    ("fec0::1", "site-local"),
    ("100::1", "discard"),
    # IPv6 forms that embed IPv4, whatever the embedded address
    ("::ffff:127.0.0.1", "IPv4-mapped IPv6 embedding 127.0.0.1 (loopback)"),
    ("::ffff:7f00:1", "IPv4-mapped IPv6 embedding 127.0.0.1 (loopback)"),
    ("::ffff:169.254.169.254", "IPv4-mapped IPv6 embedding 169.254.169.254 (link-local)"),
    ("::ffff:8.8.8.8", "IPv4-mapped"),
    ("::127.0.0.1", "IPv4-compatible IPv6 embedding 127.0.0.1 (loopback)"),
    ("::a00:1", "IPv4-compatible IPv6 embedding 10.0.0.1 (private)"),
    ("64:ff9b::a00:1", "NAT64 IPv6 embedding 10.0.0.1 (private)"),
    ("64:ff9b::808:808", "NAT64"),
    ("64:ff9b:1::a00:1", "NAT64"),
    ("2002:a00:1::", "6to4 IPv6 embedding 10.0.0.1 (private)"),
    ("2002:808:808::1", "6to4"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
    ("2001::1", "Teredo"),
    # anything ipaddress does not parse, including odd IPv4 spellings
    ("127.1", "not an IP address"),
    ("0x7f.0.0.1", "not an IP address"),
    ("0177.0.0.1", "not an IP address"),
    ("2130706433", "not an IP address"),
    ("017700000001", "not an IP address"),
    (" 8.8.8.8", "not an IP address"),
    ("", "not an IP address"),
    ("localhost", "not an IP address"),
    (2130706433, "not an IP address"),
]

ALLOWED = [
    "8.8.8.8", "1.1.1.1", "93.184.215.14", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e",
    "100.63.255.255", "100.128.0.1", "172.15.255.255", "172.32.0.1", "192.167.255.255", "192.169.0.1",
    "169.253.255.255", "198.17.255.255", "198.20.0.1", "223.255.255.255", "11.0.0.1", "126.255.255.255",
    "128.0.0.1",
]


@pytest.mark.parametrize("address, reason", BLOCKED)
def test_blocked_addresses(address, reason):
    result = is_blocked_address(address)
    assert result is not None and reason in result


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed(address):
    assert is_blocked_address(address) is None


def test_policy_allows_only_the_named_networks():
    assert is_blocked_address("127.0.0.1", LOOPBACK_ALLOWED) is None
    assert is_blocked_address("127.9.9.9", LOOPBACK_ALLOWED) is None
    assert is_blocked_address("::ffff:127.0.0.1", LOOPBACK_ALLOWED) is not None
    assert is_blocked_address("::1", LOOPBACK_ALLOWED) is not None
    assert is_blocked_address("10.0.0.1", LOOPBACK_ALLOWED) is not None
    assert is_blocked_address("127.1", LOOPBACK_ALLOWED) == "not an IP address"
    assert is_blocked_address("127.0.0.1") == "loopback"  # the default policy allows nothing extra


@pytest.mark.parametrize("url, scheme, host, port, path", [
    ("http://example.com", "http", "example.com", 80, "/"),
    ("https://Example.COM/a/b?x=1&y=2#frag", "https", "example.com", 443, "/a/b?x=1&y=2"),
    ("http://example.com:8080/p", "http", "example.com", 8080, "/p"),
    ("HTTP://example.com:65535/", "http", "example.com", 65535, "/"),
    ("http://example.com:/", "http", "example.com", 80, "/"),
    ("http://bücher.test/ä b", "http", "xn--bcher-kva.test", 80, "/%C3%A4%20b"),
    ("http://93.184.215.14/", "http", "93.184.215.14", 80, "/"),
    ("https://[2606:4700:4700::1111]:8443/x", "https", "2606:4700:4700::1111", 8443, "/x"),
    ("http://api_1.example.com/", "http", "api_1.example.com", 80, "/"),
])
def test_check_url_accepts(url, scheme, host, port, path):
    target = check_url(url)
    assert (target.scheme, target.host, target.port, target.path) == (scheme, host, port, path)


def test_check_url_host_header_and_literal_flag():
    assert check_url("http://example.com:8080/").host_header == "example.com:8080"
    assert check_url("https://example.com:443/").host_header == "example.com"
    assert check_url("https://[2606:4700::1]:8443/").host_header == "[2606:4700::1]:8443"
    assert check_url("http://8.8.8.8/").is_ip_literal
    assert not check_url("http://example.com/").is_ip_literal


@pytest.mark.parametrize("url, reason", [
    ("file:///etc/passwd", "scheme"),
    ("gopher://example.com/", "scheme"),
    ("ftp://example.com/", "scheme"),
    ("javascript:alert(1)", "scheme"),
    ("//example.com/", "scheme"),
    ("example.com", "scheme"),
    ("", "non-empty"),
    ("http:///path", "no host"),
    ("http://user:pass@example.com/", "credentials"),
    ("http://user@example.com/", "credentials"),
    ("http://example.com@10.0.0.1/", "credentials"),
    ("http://example.com:0/", "port"),
    ("http://example.com:65536/", "port"),
    ("http://example.com:http/", "port"),
    ("http://example.com:+80/", "port"),
    ("http://example.com/\r\nX-Injected: 1", "control"),
    ("http://example.com\\@10.0.0.1/", "backslash"),
    ("http://127.0.0.1/", "loopback"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://10.0.0.1:8080/", "private"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://[::1]/", "loopback"),
    ("http://[::ffff:127.0.0.1]/", "IPv4-mapped"),
    ("http://[fe80::1%25eth0]/", "scoped"),
    ("http://::1/", "invalid host"),
    ("http://[example.com]/", "IPv6"),
    ("http://[8.8.8.8]/", "malformed URL"),
    ("http://[::1/", "IPv6"),
    ("http://127.1/", "non-standard IPv4"),
    ("http://2130706433/", "non-standard IPv4"),
    ("http://0x7f000001/", "non-standard IPv4"),
    ("http://0x7f.0.0.1/", "non-standard IPv4"),
    ("http://017700000001/", "non-standard IPv4"),
    ("http://127.0.0.1./", "non-standard IPv4"),
    ("http://%31%32%37.0.0.1/", "invalid hostname"),
    ("http://exa mple.com/", "invalid hostname"),
    ("http://a..b/", "invalid hostname"),
    ("http://" + "a" * 64 + ".com/", "invalid hostname"),
])
def test_check_url_blocks(url, reason):
    with pytest.raises(FetchBlocked) as caught:
        check_url(url)
    assert reason in caught.value.reason


def test_check_url_literal_allowed_by_policy():
    assert check_url("http://127.0.0.1:8000/x", LOOPBACK_ALLOWED).host == "127.0.0.1"


@pytest.mark.parametrize("addresses", [
    ["93.184.215.14", "10.0.0.1"],
    ["10.0.0.1", "93.184.215.14"],
    ["2606:4700:4700::1111", "::1"],
    ["8.8.8.8", "::ffff:8.8.8.8"],
    ["8.8.8.8", "169.254.169.254"],
    ["garbage"],
    [],
])
def test_pick_address_blocks_if_any_is_blocked(addresses):
    with pytest.raises(FetchBlocked):
        pick_address(addresses)


def test_pick_address_returns_the_first_of_all_public():
    assert pick_address(["93.184.215.14", "8.8.8.8"]) == "93.184.215.14"
    assert pick_address(["2606:4700:4700::1111", "1.1.1.1"]) == "2606:4700:4700::1111"


def test_pick_address_with_policy():
    assert pick_address(["127.0.0.1"], LOOPBACK_ALLOWED) == "127.0.0.1"
    with pytest.raises(FetchBlocked, match="10.0.0.1"):
        pick_address(["127.0.0.1", "10.0.0.1"], LOOPBACK_ALLOWED)
