"""Site names and host routing rules (pure).

Hosts map to the admin surface or to one site by the rules of SPEC §4; site names follow
SPEC §5 and are always stored lowercased.
"""

from __future__ import annotations

import re
from typing import Optional

SITE_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
RESERVED_NAMES = frozenset(
    "www api admin mail ftp smtp pop imap ns1 ns2 localhost".split()
)
ADMIN = "admin"
PREVIEW = "preview"
# d<ID>--NAME: one deployment of site NAME (SPEC §15), a single label so that each preview is one
# plain name with its own certificate. Site names of this form are refused.
PREVIEW_LABEL = re.compile(r"^d([1-9][0-9]{0,17})--([a-z0-9](?:[a-z0-9-]*[a-z0-9])?)$")


class InvalidSiteName(ValueError):
    """A site name that cannot be deployed."""


def normalise_site_name(raw: str, domain: str) -> str:
    """The site name a deploy form's C{site_name} means: lowercased, C{.DOMAIN} stripped.

    Raises L{InvalidSiteName} with a message a user can act on.
    """
    name = raw.strip().lower().rstrip(".")
    for suffix in ("." + domain.lower(), ".localhost"):
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    if not name:
        raise InvalidSiteName("site_name is empty")
    if len(name) > 63:
        raise InvalidSiteName("site_name is longer than 63 characters")
    if not SITE_NAME.match(name):
        raise InvalidSiteName(
            "site_name may hold only a-z, 0-9 and inner '-' (1-63 characters)"
        )
    if name in RESERVED_NAMES:
        raise InvalidSiteName(f"site_name '{name}' is reserved")
    if PREVIEW_LABEL.match(name):
        raise InvalidSiteName(f"site_name '{name}' has the form of a preview host (dID--NAME)")
    return name


def preview_target(label: str) -> Optional[tuple[str, int]]:
    """C{(site, deployment_id)} of a preview host's label C{d<ID>--NAME}, or None."""
    match = PREVIEW_LABEL.match(label)
    if match is None:
        return None
    return match.group(2), int(match.group(1))


def preview_label(site: str, deployment_id: int) -> str:
    """The host label of one deployment of a site: C{d<ID>--NAME}."""
    return f"d{deployment_id}--{site}"


def split_host(host_header: Optional[bytes | str]) -> str:
    """The Host header lowercased, without port and without a trailing dot."""
    if not host_header:
        return ""
    host = host_header.decode("latin-1") if isinstance(host_header, bytes) else host_header
    host = host.strip().lower()
    if host.startswith("["):  # IPv6 literal
        end = host.find("]")
        return host[: end + 1] if end != -1 else host
    return host.split(":", 1)[0].rstrip(".")


def route_host(host: str, domain: str) -> tuple[str, Optional[str]]:
    """Where a request for C{host} goes: C{("admin", None)}, C{("site", NAME)},
    C{("preview", "d<ID>--NAME")} (see L{preview_target}) or C{("none", None)}.

    C{NAME} is returned even when no such site exists; the caller answers 404 then.
    """
    domain = domain.lower()
    if host in ("localhost", "admin.localhost", "127.0.0.1", "[::1]", "admin." + domain):
        return ADMIN, None
    if host in (domain, "root." + domain, "root.localhost"):
        return "site", "root"
    for parent in (domain, "localhost"):
        suffix = "." + parent
        if host.endswith(suffix):
            label = host[: -len(suffix)]
            if label and "." not in label and SITE_NAME.match(label):
                # Ordinary hosts pay one substring test for previews.
                if "--" in label and PREVIEW_LABEL.match(label):
                    return PREVIEW, label
                return "site", label
    return "none", None
