"""The admin host's public endpoints: /track, /pixel.gif, /r/{slug}, /webhook/{endpoint} (SPEC §10),
and the pageview hook for hosted sites.

None of them needs credentials; each turns a request into an event for the L{EventBuffer}
(the address only ever becomes a salted visitor hash) and answers at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Callable, Optional

from klein import Klein
from twisted.internet.interfaces import IReactorTime
from twisted.internet.defer import inlineCallbacks
from twisted.web.server import Request

from fazt.analytics.buffer import EventBuffer
from fazt.analytics.events import (
    SOURCE_HOSTING,
    InvalidEvent,
    PendingEvent,
    pixel_event,
    redirect_click,
    track_event,
    webhook_event,
    webhook_payload,
)
from fazt.base.errors import ApiError, payload_too_large, validation_failed
from fazt.store.interfaces import IStore
from fazt.store.redirects import count_click, find_redirect
from fazt.store.webhooks import find_receiver
from fazt.web.envelope import add_error_handlers, ok
from fazt.web.shapes import ENDPOINT, SLUG, TAGS_SCHEMA
from fazt.web.spec import Param, nullable, obj, takes

TRACK_LIMIT = 10 * 1024
WEBHOOK_LIMIT = 64 * 1024
SIGNATURE_PREFIX = b"sha256="
# A 1x1 transparent GIF89a: header, screen, 2-colour table, transparency extension, image, trailer.
TRANSPARENT_GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff"
    b"!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
_TEXT = nullable({"type": "string"})
TRACK_BODY = obj({"h": _TEXT, "d": _TEXT, "p": _TEXT, "e": _TEXT, "ref": _TEXT, "t": nullable(TAGS_SCHEMA),
                  "q": nullable({"type": "object", "additionalProperties": {"type": "string"}})})
PIXEL_QUERY = tuple(Param(name, {"type": "string"}, description=text) for name, text in (
    ("domain", "The site the hit counts for."), ("tags", "Comma-separated tags."), ("source", "The event type.")))
NO_CACHE = ((b"cache-control", b"no-cache, no-store, must-revalidate"), (b"pragma", b"no-cache"), (b"expires", b"0"))


def client_ip(request: Request) -> Optional[str]:
    """The peer's address (only ever hashed, never stored)."""
    return getattr(request.getClientAddress(), "host", None)


def read_body(request: Request, limit: int) -> bytes:
    """The request body, or 413 PAYLOAD_TOO_LARGE when it is longer than C{limit} bytes."""
    body = request.content.read(limit + 1) if request.content is not None else b""
    if len(body) > limit:
        raise payload_too_large(f"request body is larger than {limit} bytes")
    return body


def signature_valid(secret: str, body: bytes, header: Optional[bytes]) -> bool:
    """Whether C{header} is the lowercase hex HMAC-SHA256 of C{body} (optionally C{sha256=...})."""
    if not header:
        return False
    given = header.strip().lower()
    if given.startswith(SIGNATURE_PREFIX):
        given = given[len(SIGNATURE_PREFIX):]
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest().encode("ascii")
    return hmac.compare_digest(expected, given)


class PublicEndpoints:
    """Routes served on the admin host without auth."""

    app = Klein()

    def __init__(self, store: IStore, writer, events: EventBuffer, clock: IReactorTime) -> None:
        self.store = store
        self.writer = writer
        self.events = events
        self._clock = clock

    @app.route("/track", methods=["POST"])
    @takes(body=TRACK_BODY, body_required=True, status=204, errors=(400, 413),
           summary="Record an analytics event sent by a hosted page.")
    def track(self, request: Request):
        body = read_body(request, TRACK_LIMIT)
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            raise ApiError(400, "INVALID_JSON", "request body is not valid JSON") from None
        if not isinstance(payload, dict):
            raise ApiError(400, "INVALID_JSON", "request body must be a JSON object")
        try:
            event = track_event(payload, request.getHeader(b"referer"), request.getHeader(b"user-agent"),
                                client_ip(request), self._clock.seconds())
        except InvalidEvent as error:
            raise validation_failed(error.field, str(error)) from None
        self.events.add(event)
        _allow_any_origin(request)
        request.setResponseCode(204)
        return b""

    @app.route("/track", methods=["OPTIONS"])
    @takes(status=204, summary="CORS preflight for /track.")
    def track_preflight(self, request: Request):
        _allow_any_origin(request)
        request.setHeader(b"access-control-allow-methods", b"POST")
        request.setHeader(b"access-control-allow-headers", b"Content-Type")
        request.setHeader(b"access-control-max-age", b"86400")
        request.setResponseCode(204)
        return b""

    @app.route("/pixel.gif", methods=["GET"])
    @takes(params=PIXEL_QUERY, answer_media="image/gif", answer_schema={"type": "string", "format": "binary"},
           summary="Record an event and answer a 1x1 GIF.")
    def pixel(self, request: Request):
        if request.method == b"GET":
            args = request.args
            first = lambda name: (args.get(name) or [None])[0]  # noqa: E731
            self.events.add(pixel_event(first(b"domain"), first(b"tags"), first(b"source"),
                                        request.getHeader(b"referer"), request.getHeader(b"user-agent"),
                                        client_ip(request), self._clock.seconds()))
        request.setHeader(b"content-type", b"image/gif")
        for name, value in NO_CACHE:
            request.setHeader(name, value)
        return TRANSPARENT_GIF

    @app.route("/r", methods=["GET"])
    @app.route("/r/", methods=["GET"])
    @takes(documented=False)
    def no_slug(self, request: Request):
        raise ApiError(404, "REDIRECT_NOT_FOUND", "no redirect slug given")

    @app.route("/r/<path:slug>", methods=["GET"])
    @takes(params=(Param("tags", {"type": "string"}, description="Tags added to the click's event."),),
           status=302, errors=(404,), headers={"Location": {"schema": {"type": "string"}, "required": True}},
           summary="Count a click and redirect to the slug's destination.")
    @inlineCallbacks
    def follow(self, request: Request, slug: str):
        found = (yield self.store.read(find_redirect, slug)) if SLUG.fullmatch(slug) else None
        if found is None:
            raise ApiError(404, "REDIRECT_NOT_FOUND", "no such redirect")
        redirect_id, destination, tags = found
        if request.method == b"GET":  # HEAD (link previews) is answered, not counted
            try:
                yield self.writer.submit(count_click, redirect_id)
            except Exception:  # the redirect was deleted meanwhile; still send the visitor on
                pass
            extra = (request.args.get(b"tags") or [None])[0]
            self.events.add(redirect_click(slug, tags, extra, request.getHeader(b"referer"),
                                           request.getHeader(b"user-agent"), client_ip(request), self._clock.seconds()))
        request.setResponseCode(302)
        request.setHeader(b"location", destination.encode("ascii"))
        request.setHeader(b"cache-control", b"no-store")
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return b"Redirecting\n"

    @app.route("/webhook", methods=["POST"])
    @app.route("/webhook/", methods=["POST"])
    @takes(documented=False)
    def no_endpoint(self, request: Request):
        raise ApiError(404, "WEBHOOK_NOT_FOUND", "no webhook endpoint given")

    @app.route("/webhook/<path:receiver>", methods=["POST"])
    @takes(body={}, errors=(401, 404, 413),
           summary="Receive an inbound webhook (HMAC-verified if configured); any body.")
    @inlineCallbacks
    def receive(self, request: Request, receiver: str):
        endpoint = receiver  # (Klein reserves the keyword "endpoint")
        body = read_body(request, WEBHOOK_LIMIT)
        found = (yield self.store.read(find_receiver, endpoint)) if ENDPOINT.fullmatch(endpoint) else None
        if found is None:
            raise ApiError(404, "WEBHOOK_NOT_FOUND", "no such webhook endpoint")
        name, secret, active = found
        if not active:
            raise ApiError(401, "UNAUTHORIZED", "Webhook is disabled")
        if secret is not None:
            header = request.getHeader(b"x-webhook-signature")
            if not header:
                raise ApiError(401, "UNAUTHORIZED", "Missing signature")
            if not signature_valid(secret, body, header):
                raise ApiError(401, "UNAUTHORIZED", "Invalid signature")
        self.events.add(webhook_event(endpoint, webhook_payload(body), request.getHeader(b"user-agent"),
                                      client_ip(request), self._clock.seconds()))
        return ok(request, {"message": "Webhook received", "webhook": name})


add_error_handlers(PublicEndpoints.app)


def _allow_any_origin(request: Request) -> None:
    # Beacons come from every hosted site's origin; the response carries nothing to protect.
    request.setHeader(b"access-control-allow-origin", b"*")


def pageview_hook(events: EventBuffer, clock: IReactorTime) -> Callable[[Request, str], None]:
    """A site hook recording a C{hosting}/C{pageview} event for GETs of pages.

    On the static fast path: no decoding, no hashing, no I/O; only a tuple is queued. A page is
    a path without a file extension, or ending in C{.html}; assets and C{/ws} are skipped.
    """
    add = events.add

    def hook(request: Request, site: str) -> None:
        if request.method != b"GET":
            return
        path = request.path
        last = path[path.rfind(b"/") + 1:]
        if (b"." in last and not last.endswith(b".html")) or path == b"/ws":
            return
        headers = request.requestHeaders
        referrer = headers.getRawHeaders(b"referer")
        agent = headers.getRawHeaders(b"user-agent")
        add(PendingEvent(clock.seconds(), site, SOURCE_HOSTING, "pageview", path, referrer[-1] if referrer else None,
                         agent[-1] if agent else None, getattr(request.getClientAddress(), "host", None)))

    return hook


def mount(services) -> None:
    """Serve the public endpoints on the admin host and count hosted sites' pageviews."""
    events = services.extras["events"]
    resource = PublicEndpoints(services.store, services.writer, events, services.clock).app.resource()
    for segment in ("track", "pixel.gif", "r", "webhook"):
        services.root.mount_public(segment, resource)
    git = services.extras.get("git_webhook")  # fazt.web.gitwebhook: /webhook/git/SITE (SPEC §15)
    if git is not None:
        from fazt.web.gitwebhook import WebhookSplit  # here: gitwebhook imports this module's helpers
        services.root.mount_public("webhook", WebhookSplit(git.app.resource(), resource))
    services.root.add_site_hook(pageview_hook(events, services.clock))
