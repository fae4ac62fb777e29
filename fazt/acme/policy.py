"""Which names fazt orders certificates for, and when (pure).

Names: C{D}, C{admin.D}, C{root.D} and C{NAME.D} for each deployed site, and C{d<ID>--NAME.D}
for a deployment of a site stored as a preview (ordered when the preview is stored, SPEC §15);
never anything else, whatever a TLS client asks for. Names that no public CA can validate (no dot, C{localhost}, IP
addresses; with a public CA also the reserved C{.test}/C{.example}/C{.invalid}/C{.local}/C{.internal})
are never ordered: they are served the self-signed fallback.
"""

from __future__ import annotations

import ipaddress
from typing import Iterable
from urllib.parse import urlsplit

LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
DAY = 86400.0
RENEW_BEFORE = 30 * DAY
RETRY_FIRST = 300.0
RETRY_MAX = DAY
ARI_INTERVAL = 12 * 3600.0
PUBLIC_CA_HOSTS = ("letsencrypt.org", "zerossl.com", "pki.goog", "buypass.com", "ssl.com")
RESERVED_SUFFIXES = (".test", ".example", ".invalid", ".local", ".internal", ".localhost", ".home.arpa")


def base_names(domain: str) -> list[str]:
    """The names wanted from the start: the domain, its admin host and its root site host."""
    return [domain, "admin." + domain, "root." + domain]


def site_host(site: str, domain: str) -> str:
    """The host name a site is served at (C{root} is served at C{root.D}, already a base name)."""
    return f"{site}.{domain}"


def preview_host(site: str, deployment_id: int, domain: str) -> str:
    """The host name one deployment of a site is previewed at: C{d<ID>--NAME.D}."""
    return f"d{deployment_id}--{site}.{domain}"


def wanted_names(domain: str, sites: Iterable[str]) -> list[str]:
    """Every name fazt wants a certificate for, in order, without repeats."""
    names = base_names(domain)
    for site in sites:
        host = site_host(site, domain)
        if host not in names:
            names.append(host)
    return names


def needed_names(domain: str, sites: Iterable[str], deployments: Iterable[tuple[int, str]],
                 custom: Iterable[tuple[str, str, str]]) -> set[str]:
    """Every name something still answers on: the domain's own names, each deployed site, each
    stored deployment's preview host, and each custom domain C{(name, site, www)} with its
    C{www.} name unless C{www} is C{none}. A certificate for any other name is not needed."""
    names = set(wanted_names(domain, sites))
    names.update(preview_host(site, deployment_id, domain) for deployment_id, site in deployments)
    for name, _site, www in custom:
        names.add(name)
        if www != "none":
            names.add("www." + name)
    return names


def judged_by_domain(name: str, domain: str) -> bool:
    """Whether C{domain}'s own rules decide if C{name} is needed: the domain itself, or one label under
    it (every site, preview, C{admin.} and C{root.} name is). Any other name is a custom domain's, or
    belongs to another domain entirely: a cartridge once served with another (or a mistyped)
    C{--domain} keeps that domain's certificates, and a custom domain's are let go only when it is
    removed (L{fazt.acme.retire})."""
    name, domain = name.lower().rstrip("."), domain.lower().rstrip(".")
    if name == domain:
        return True
    prefix, dot, rest = name.partition(".")
    return bool(prefix) and bool(dot) and rest == domain


def is_public_ca(directory_url: str) -> bool:
    """Whether C{directory_url} belongs to a public CA (which will refuse reserved names)."""
    host = (urlsplit(directory_url).hostname or "").lower()
    return any(host == h or host.endswith("." + h) for h in PUBLIC_CA_HOSTS)


def orderable(name: str, public_ca: bool) -> bool:
    """Whether a certificate for C{name} may be ordered at all."""
    name = name.lower().rstrip(".")
    if "." not in name or name == "localhost" or name.endswith(".localhost"):
        return False
    try:
        ipaddress.ip_address(name.strip("[]"))
        return False
    except ValueError:
        pass
    if public_ca and name.endswith(RESERVED_SUFFIXES):
        return False
    return True


def renewal_due(not_before: float, not_after: float) -> float:
    """When to renew without ARI: 30 days before expiry, or a third of the lifetime if shorter."""
    return not_after - min(RENEW_BEFORE, (not_after - not_before) / 3.0)


def retry_delay(failures: int) -> float:
    """Exponential back-off after C{failures} failures in a row (5 min, 10 min, ... up to a day)."""
    return min(RETRY_FIRST * (2.0 ** max(failures - 1, 0)), RETRY_MAX)


def describe(error: BaseException) -> str:
    """One line (at most 500 characters) about a failed order, for the log and the API."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text[:500]
