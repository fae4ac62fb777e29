"""Custom domains as every process routes them: an in-memory map, cheap to ask (SPEC §15).

L{CustomHosts} answers "which site serves this host, or where does it redirect" with one dict
lookup; it is replaced whole from the store's rows whenever a domain is added or removed anywhere
(the C{domains.changed} topic on the event bus), so each serving process keeps its own copy fresh.
The same map tells the certificate service which names it may order on demand.

C{www} modes: C{none} serves only the name; C{serve} serves C{www.NAME} too; C{redirect} sends
C{www.NAME} to C{NAME} with a 301 (the apex is canonical, as the option's name says).
"""

from __future__ import annotations

import re
from typing import Iterable, Optional

CHECK_PREFIX = b"/.well-known/fazt/check/"  # answered on every host by fazt.web.domaincheck
DOMAINS_CHANGED = "domains.changed"  # message: {"name": the domain, "change": "added" | "removed"}
WWW_MODES = ("none", "serve", "redirect")
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


class InvalidDomain(ValueError):
    """A name that cannot be registered as a custom domain; the message says why."""


def normalise_domain(raw, own_domain: str) -> str:
    """A custom domain as stored: lowercase ASCII, no trailing dot, two labels or more, not ours.

    Names under the server's own domain (or C{localhost}) are refused: they route as sites already.
    """
    if not isinstance(raw, str):
        raise InvalidDomain("the domain must be a host name such as example.org")
    name = raw.strip().lower().rstrip(".")
    if name.startswith("www."):
        raise InvalidDomain("register the name without www. (see --www for the www. name)")
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels) \
            or labels[-1].isdigit():
        raise InvalidDomain(f"{raw[:100]!r} is not a host name such as example.org")
    for ours in (own_domain.lower(), "localhost"):
        if name == ours or name.endswith("." + ours):
            raise InvalidDomain(f"{name} is under this server's own domain {ours}: it is served as a site already")
    return name


class CustomHosts:
    """C{host -> (site, redirect target or None)} for every registered name (and its www. name)."""

    def __init__(self) -> None:
        self._hosts: dict[str, tuple[str, Optional[str]]] = {}

    def replace(self, rows: Iterable[tuple[str, str, str]]) -> None:
        """Serve exactly C{rows} (name, site, www mode) from now on."""
        hosts: dict[str, tuple[str, Optional[str]]] = {}
        for name, site, www in rows:
            hosts[name] = (site, None)
            if www == "serve":
                hosts["www." + name] = (site, None)
            elif www == "redirect":
                hosts["www." + name] = (site, name)
        self._hosts = hosts  # one assignment: a request sees the old map or the new one

    def lookup(self, host: str) -> Optional[tuple[str, Optional[str]]]:
        """(site, None) for a host a site serves, (site, NAME) for one that redirects to NAME, or None."""
        return self._hosts.get(host)

    def registered(self, host: str) -> bool:
        """Whether C{host} is a registered name (or the www. name of one): ours to order a certificate for."""
        return host in self._hosts

    def names(self) -> list[str]:
        """Every host the map answers for, sorted."""
        return sorted(self._hosts)
