"""Serving one site's deployments side by side (SPEC §15): preview hosts and traffic splits.

A preview host C{d<ID>--NAME.D} serves one deployment of a site with C{X-Robots-Tag: noindex}
on every response. A site with a traffic split serves each visitor one of the split's
deployments: a visitor without a valid cookie is drawn by weight (C{secrets}, the OS's random
source) and given a host-only cookie naming the deployment; a cookie naming a deployment that is
no longer in the split is drawn again.

Caching: every response of a split site depends on the visitor's cookie, so it is marked
C{Cache-Control: private} (a shared cache would hand the first visitor's deployment, and its
Set-Cookie, to everyone) and C{Vary: Cookie} (the browser's own cache forgets a response when its
visitor is reassigned). Netlify's split testing decides at its own CDN edge (cookie C{nf_ab}, a
random number mapped onto the percentages; Netlify warns that a proxy in front breaks the
affinity), and Vercel likewise routes at its edge; fazt has no edge of its own, so it tells every
cache in front of it not to share these responses.
"""

from __future__ import annotations

import secrets
from typing import Callable, Optional

from twisted.web.server import Request

COOKIE = b"fazt_split"
COOKIE_MAX_AGE = 30 * 86400
NOINDEX = [b"noindex"]


def mark_noindex(request: Request) -> None:
    """Make every response of C{request} say C{X-Robots-Tag: noindex} (a preview host)."""
    request.fazt_before_headers = _noindex


def _noindex(request: Request) -> None:
    request.responseHeaders.setRawHeaders(b"x-robots-tag", NOINDEX)


def _private(request: Request) -> None:
    """A split's response: private to the visitor, varying with the cookie."""
    headers = request.responseHeaders
    cache = b", ".join(headers.getRawHeaders(b"cache-control") or [])
    directives = [d.strip() for d in cache.split(b",") if d.strip() and d.strip().lower() != b"public"]
    if not any(d.lower() in (b"private", b"no-store") for d in directives):
        directives.insert(0, b"private")
    headers.setRawHeaders(b"cache-control", [b", ".join(directives)])
    vary = b", ".join(headers.getRawHeaders(b"vary") or [])
    if b"cookie" not in vary.lower():
        headers.setRawHeaders(b"vary", [vary + b", Cookie" if vary else b"Cookie"])


class SplitChooser:
    """Picks a visitor's deployment of a split site, sticky by cookie.

    C{randbelow(n)} draws an integer in C{[0, n)}; the default is C{secrets.randbelow}.
    """

    def __init__(self, randbelow: Callable[[int], int] = secrets.randbelow) -> None:
        self._randbelow = randbelow

    def choose(self, request: Request, split: tuple) -> int:
        """The deployment id C{request} is served from; sets the cookie when it draws one."""
        request.fazt_before_headers = _private
        kept = _cookie_choice(request, split)
        if kept is not None:
            return kept
        draw = self._randbelow(sum(weight for _, weight in split))
        chosen = split[-1][0]
        for deployment_id, weight in split:
            if draw < weight:
                chosen = deployment_id
                break
            draw -= weight
        request.addCookie(COOKIE, str(chosen).encode("ascii"), path=b"/", max_age=str(COOKIE_MAX_AGE),
                          httpOnly=True, sameSite="lax", secure=request.isSecure())
        return chosen


def _cookie_choice(request: Request, split: tuple) -> Optional[int]:
    value = request.getCookie(COOKIE)
    if not value or not value.isdigit() or len(value) > 18:
        return None
    chosen = int(value)
    return chosen if any(deployment_id == chosen for deployment_id, _ in split) else None
