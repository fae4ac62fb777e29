"""SSRF rules for outbound C{fetch} from site scripts (SPEC §7): pure and synchronous.

Three steps, each usable alone:
  - L{check_url} accepts only C{http}/C{https} URLs with a plain host and no credentials, and checks a
    literal IP host at once;
  - L{pick_address} takes every address a name resolved to and refuses the name if any one is blocked;
  - L{is_blocked_address} says why one address must not be reached, or C{None} for a public unicast one.

Nothing here does I/O. Exceptions to the rules are never global: an L{AddressPolicy} names the extra
networks a caller may reach (tests pass C{127.0.0.0/8} to talk to a local server).
"""

from __future__ import annotations

import ipaddress
import re
import string
from dataclasses import dataclass
from typing import Iterable, Optional, Union
from urllib.parse import quote, urlsplit

import idna

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

DEFAULT_PORTS = {"http": 80, "https": 443}


class FetchBlocked(Exception):
    """A URL or address that a site script may not fetch; C{reason} says why, briefly."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses may be reached beyond public unicast ones: C{allowed_networks}, nothing else."""

    allowed_networks: tuple[IPNetwork, ...] = ()

    def allows(self, address: IPAddress) -> bool:
        """Whether C{address} lies in one of the explicitly allowed networks."""
        return any(address in network for network in self.allowed_networks)


DEFAULT_POLICY = AddressPolicy()


def _networks(table: Iterable[tuple[str, str]]) -> tuple[tuple[IPNetwork, str], ...]:
    return tuple((ipaddress.ip_network(cidr), reason) for cidr, reason in table)


BLOCKED_IPV4 = _networks([
    ("0.0.0.0/8", "unspecified"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "carrier-grade NAT"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "6to4 relay anycast"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),  # includes the broadcast address 255.255.255.255
])

# IPv6 forms that carry an IPv4 address: always blocked (SPEC §7); the reason names the embedded one.
EMBEDDED_IPV4_FORMS = _networks([
    ("::ffff:0:0/96", "IPv4-mapped"),
    ("::/96", "IPv4-compatible"),
    ("64:ff9b::/96", "NAT64"),
    ("64:ff9b:1::/48", "local-use NAT64"),
    ("2002::/16", "6to4"),
    ("2001::/32", "Teredo"),
])

BLOCKED_IPV6 = _networks([
    ("::1/128", "loopback"),
    ("::/128", "unspecified"),
    ("100::/64", "discard-only"),
    ("2001::/23", "IETF protocol assignments"),
    ("2001:db8::/32", "documentation"),
    ("3fff::/20", "documentation"),
    ("fc00::/7", "unique-local"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local"),
    ("ff00::/8", "multicast"),
])

IPV6_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")


def _embedded_ipv4(address: ipaddress.IPv6Address, form: str) -> Optional[ipaddress.IPv4Address]:
    """The IPv4 address carried by C{address} in the given embedding C{form}, if it has one."""
    if form == "6to4":
        return address.sixtofour
    if form == "Teredo":
        return address.teredo[1] if address.teredo else None
    if form == "local-use NAT64":
        return None  # the IPv4 bits may sit at any prefix length; the whole /48 is blocked anyway
    return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)


def _ipv4_reason(address: ipaddress.IPv4Address) -> Optional[str]:
    for network, reason in BLOCKED_IPV4:
        if address in network:
            return reason
    return None


def _ipv6_reason(address: ipaddress.IPv6Address) -> Optional[str]:
    if address.scope_id:
        return "scoped IPv6 address"
    for network, reason in BLOCKED_IPV6:
        if network.prefixlen == 128 and address in network:
            return reason  # :: and ::1 before the IPv4-compatible ::/96
    for network, form in EMBEDDED_IPV4_FORMS:
        if address in network:
            embedded = _embedded_ipv4(address, form)
            if embedded is None:
                return f"{form} IPv6"
            inner = _ipv4_reason(embedded) or "public"
            return f"{form} IPv6 embedding {embedded} ({inner})"
    for network, reason in BLOCKED_IPV6:
        if address in network:
            return reason
    if address not in IPV6_GLOBAL_UNICAST:
        return "not IPv6 global unicast"
    return None


def is_blocked_address(ip: str, policy: AddressPolicy = DEFAULT_POLICY) -> Optional[str]:
    """C{None} if C{ip} is a public unicast address (or allowed by C{policy}), else a short reason.

    Only the canonical text forms that L{ipaddress} parses are accepted; anything else (C{0x7f.1},
    C{127.1}, integers, surrounding spaces) is blocked as unparseable.
    """
    if not isinstance(ip, str):
        return "not an IP address"
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return "not an IP address"
    if policy.allows(address):
        return None
    if isinstance(address, ipaddress.IPv4Address):
        return _ipv4_reason(address)
    return _ipv6_reason(address)


@dataclass(frozen=True)
class ParsedTarget:
    """A checked fetch target: C{host} is lowercased ASCII (IDNA), IPv6 literals without brackets."""

    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent in the request line; never empty
    is_ip_literal: bool

    @property
    def host_header(self) -> str:
        """The C{Host} header value: the name as written, with the port when it is not the default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if DEFAULT_PORTS[self.scheme] == self.port else f"{host}:{self.port}"

    @property
    def origin(self) -> tuple[str, str, int]:
        """(scheme, host, port): redirects to another origin drop credentials."""
        return (self.scheme, self.host, self.port)

    def url(self) -> str:
        """The URL again, normalised, for resolving relative redirects."""
        return f"{self.scheme}://{self.host_header}{self.path}"


_BAD_URL_CHARS = re.compile(r"[\x00-\x1f\x7f\\]")
_HOST_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
# Printable ASCII but '#' stays as written: quote() escapes only spaces and non-ASCII characters.
_PATH_SAFE = "".join(c for c in string.punctuation if c != "#")


def _split_host_port(netloc: str) -> tuple[str, Optional[str], bool]:
    """(host, port text or None, bracketed) of an authority without userinfo."""
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            raise FetchBlocked("invalid IPv6 literal")
        rest = netloc[end + 1:]
        if rest and not rest.startswith(":"):
            raise FetchBlocked("invalid host")
        return netloc[1:end], (rest[1:] if rest else None), True
    host, colon, port = netloc.partition(":")
    if ":" in port:
        raise FetchBlocked("invalid host")
    return host, (port if colon else None), False


def _normalise_name(host: str) -> str:
    """A DNS name as lowercase ASCII, or L{FetchBlocked}; numeric look-alikes are refused."""
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError):
            raise FetchBlocked("invalid hostname") from None
    host = host.lower()
    labels = host[:-1].split(".") if host.endswith(".") else host.split(".")
    if len(host) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        raise FetchBlocked("invalid hostname")
    if _NUMERIC_LABEL.match(labels[-1]):
        raise FetchBlocked("non-standard IPv4 notation")
    return host


def check_url(url: str, policy: AddressPolicy = DEFAULT_POLICY) -> ParsedTarget:
    """Check C{url} for fetching; returns the L{ParsedTarget} or raises L{FetchBlocked}.

    Only C{http} and C{https}; a host is required; no C{user:pass@}; port 1-65535. A literal IP host
    is checked here with L{is_blocked_address}; a name is checked later, once resolved.
    """
    if not isinstance(url, str) or not url:
        raise FetchBlocked("URL must be a non-empty string")
    if _BAD_URL_CHARS.search(url):
        raise FetchBlocked("URL contains control characters or backslashes")
    try:
        parts = urlsplit(url)
    except ValueError as error:
        raise FetchBlocked(f"malformed URL: {error}") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise FetchBlocked(f"scheme {scheme or '(none)'!r} not allowed; only http and https")
    if "@" in parts.netloc:
        raise FetchBlocked("credentials in URL not allowed")
    host, port_text, bracketed = _split_host_port(parts.netloc)
    if not host:
        raise FetchBlocked("URL has no host")
    if port_text is None or port_text == "":
        port = DEFAULT_PORTS[scheme]
    elif port_text.isdigit() and port_text.isascii() and 1 <= int(port_text) <= 65535:
        port = int(port_text)
    else:
        raise FetchBlocked("port must be 1-65535")

    literal: Optional[IPAddress]
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if bracketed != isinstance(literal, ipaddress.IPv6Address):
        raise FetchBlocked("invalid IPv6 literal")
    if literal is not None:
        host = str(literal)
        reason = is_blocked_address(host, policy)
        if reason:
            raise FetchBlocked(f"address {host} is blocked ({reason})")
    else:
        host = _normalise_name(host)

    try:
        path = quote(parts.path or "/", safe=_PATH_SAFE)
        if parts.query:
            path += "?" + quote(parts.query, safe=_PATH_SAFE)
    except UnicodeError:
        raise FetchBlocked("malformed URL") from None
    return ParsedTarget(scheme, host, port, path, literal is not None)


def pick_address(addresses: list[str], policy: AddressPolicy = DEFAULT_POLICY) -> str:
    """The address to connect to among everything a name resolved to: the first one.

    Raises L{FetchBlocked} when the list is empty or when ANY address is blocked, so a name that
    resolves to both a public and a private address is refused as a whole.
    """
    if not addresses:
        raise FetchBlocked("host did not resolve to any address")
    for address in addresses:
        reason = is_blocked_address(address, policy)
        if reason:
            raise FetchBlocked(f"resolves to blocked address {address} ({reason})")
    return addresses[0]
