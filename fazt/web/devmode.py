"""What C{fazt dev} adds in front of the real site renderer: every host is the one dev site,
open pages reload on change, and a deploy that failed shows as an error page until it is fixed.

Nothing here serves a site: L{DevRoot} hands every request to the same L{SiteRenderer} the
server uses (routing, rules, functions, KV), and only the reserved paths under C{/.fazt/dev/}
are its own:

- C{/.fazt/dev/events}: a server-sent event stream; C{hello} with the current version on
  connect, C{reload} with the new one after every deploy or failure;
- C{/.fazt/dev/client.js}: the script L{DevRequest} adds to every HTML response; it reloads the
  page when the stream names a version other than the one the page was served with (so a
  change between the page load and the stream's connect is not missed).

The dev server's responses differ from a deployed site's in three ways, all so that a reload
always shows the files on disk: HTML bodies carry the script tag, requests lose their
conditional and C{Accept-Encoding} headers (no 304, no compressed body to rewrite), and every
response is C{Cache-Control: no-cache}.
"""

from __future__ import annotations

import html
import json
import re
from typing import Callable, Optional

from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from fazt.web.request import FaztRequest

PREFIX = b"/.fazt/dev/"
EVENTS = PREFIX + b"events"
CLIENT = PREFIX + b"client.js"
_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)
# Dropped from every request in dev mode (see the module docstring).
_STRIPPED = (b"accept-encoding", b"if-none-match", b"if-modified-since", b"if-range")

CLIENT_JS = b"""// fazt dev: reload this page when the site changes.
(() => {
  const served = new URL(document.currentScript.src).searchParams.get("v");
  const events = new EventSource("/.fazt/dev/events");
  const check = (event) => { if (event.data !== served) { events.close(); location.reload(); } };
  events.addEventListener("hello", check);
  events.addEventListener("reload", check);
})();
"""


class DevState:
    """The dev site's state: a version that changes on every deploy or failure, the failure
    that is being shown (None when the last deploy succeeded) and the open event streams."""

    def __init__(self, start: float) -> None:
        # Versions differ across restarts too, so a page served before a restart reloads.
        self._prefix = format(int(start * 1000), "x")
        self._count = 0
        self.error: Optional[dict] = None
        self._streams: set[Request] = set()

    @property
    def version(self) -> str:
        return f"{self._prefix}-{self._count}"

    def deployed(self) -> None:
        """A deploy succeeded: clear the error page and reload every open page."""
        self.error = None
        self._changed()

    def failed(self, error: dict) -> None:
        """A deploy failed with C{error} (C{code}, C{message}, C{details}): show it until fixed."""
        self.error = error
        self._changed()

    def _changed(self) -> None:
        self._count += 1
        self._send(b"event: reload\ndata: " + self.version.encode() + b"\n\n")

    def ping(self) -> None:
        """A comment line on every stream, so that dead clients are noticed and dropped."""
        self._send(b": ping\n\n")

    def close(self) -> None:
        """End every open stream (on stop: a graceful stop would otherwise wait for them)."""
        for request in list(self._streams):
            self._streams.discard(request)
            request.finish()

    def streams(self) -> int:
        """How many event streams are open."""
        return len(self._streams)

    def _send(self, chunk: bytes) -> None:
        for request in list(self._streams):
            request.write(chunk)

    def stream(self, request: Request):
        """Answer C{request} with the event stream; it stays open until the client leaves."""
        request.setHeader(b"content-type", b"text/event-stream; charset=utf-8")
        request.setHeader(b"cache-control", b"no-cache")
        request.write(b"retry: 500\nevent: hello\ndata: " + self.version.encode() + b"\n\n")
        self._streams.add(request)
        request.notifyFinish().addBoth(lambda _: self._streams.discard(request))
        return NOT_DONE_YET


class DevRoot(Resource):
    """The dev server's root: reserved paths, the error page, else the site renderer for C{site}."""

    isLeaf = True

    def __init__(self, state: DevState, render_site: Callable[[Request, str], object], site: str) -> None:
        super().__init__()
        self.state = state
        self._render_site = render_site
        self._site = site

    def render(self, request: Request):
        path = request.path
        if path == EVENTS:
            return self.state.stream(request)
        if path == CLIENT:
            request.setHeader(b"content-type", b"text/javascript; charset=utf-8")
            request.setHeader(b"cache-control", b"no-cache")
            return CLIENT_JS
        for name in _STRIPPED:
            request.requestHeaders.removeHeader(name)
        if isinstance(request, DevRequest):
            request.dev_snippet = (b'<script src="/.fazt/dev/client.js?v=' + self.state.version.encode()
                                   + b'"></script>')
        if self.state.error is not None:
            return error_response(request, self.state.error)
        return self._render_site(request, self._site)


def wants_json(request: Request) -> bool:
    """Whether a request is an API call rather than a page load: under C{/api}, or asking for
    JSON and not HTML."""
    path = request.path
    if path == b"/api" or path.startswith(b"/api/"):
        return True
    accept = (request.getHeader(b"accept") or b"").lower()
    return b"json" in accept and b"text/html" not in accept


def error_response(request: Request, error: dict) -> bytes:
    """The failed deploy's error: the JSON envelope for API calls, a readable page otherwise (500)."""
    request.setResponseCode(500)
    request.setHeader(b"cache-control", b"no-cache")
    if wants_json(request):
        request.setHeader(b"content-type", b"application/json")
        return json.dumps({"error": error}).encode()
    request.setHeader(b"content-type", b"text/html; charset=utf-8")
    return error_page(error).encode()


_PAGE_STYLE = ("body{font-family:system-ui,sans-serif;margin:2rem;color:#222}"
               "pre{background:#fee;border-left:4px solid #c00;padding:1rem;white-space:pre-wrap}")


def error_page(error: dict) -> str:
    """An HTML page naming the file, the line and the message of a failed deploy."""
    details = error.get("details") or {}
    where = details.get("file") or ""
    if where and details.get("line"):
        where = f"{where}:{details['line']}"
    code = html.escape(str(error.get("code", "ERROR")))
    message = html.escape(str(details.get("message") or error.get("message", "")))
    located = f'<p class="where"><code>{html.escape(where)}</code></p>' if where else ""
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>fazt dev: {code}</title>'
            f"<style>{_PAGE_STYLE}</style></head><body><h1>The site did not deploy: {code}</h1>{located}"
            f'<pre class="message">{message}</pre>'
            "<p>Fix the file and save: this page reloads when the site deploys again.</p></body></html>\n")


class DevRequest(FaztRequest):
    """A request whose HTML body gets the reload script before C{</body>}, and whose response is
    always C{Cache-Control: no-cache} (see the module docstring).

    An HTML body is held back until C{finish} (dev pages are small), then written once with
    its new length. C{dev_snippet} is set by L{DevRoot}; without it nothing changes.
    """

    dev_snippet: Optional[bytes] = None
    _held: Optional[list] = None

    def write(self, data: bytes) -> None:
        if not self.startedWriting and self._held is None:
            self.setHeader(b"cache-control", b"no-cache")
            if self._injects():
                self._held = []
        if self._held is not None:
            self._held.append(data)
            return
        super().write(data)

    def finish(self) -> None:
        if self._held is None and not self.startedWriting and self.method == b"HEAD" and self._injects():
            self._held = []  # a HEAD that wrote nothing: its headers are still GET's (below)
        if self._held is not None:
            held, self._held = b"".join(self._held), None
            snippet = self.dev_snippet or b""
            declared = (self.responseHeaders.getRawHeaders(b"content-length") or [b""])[0]
            if self.method == b"HEAD" and not held and declared.isdigit():
                # RFC 9110 §9.3.2: HEAD answers GET's headers. The renderer declared the file's length
                # without writing it; GET's body is the file with the snippet, which inject always adds.
                length = int(declared) + len(snippet)
            else:
                held = inject(held, snippet)
                length = len(held)
            self.setHeader(b"content-length", str(length).encode())
            super().write(held)  # nothing goes out for a HEAD: Twisted drops its body
        elif not self.startedWriting:
            self.setHeader(b"cache-control", b"no-cache")
            # No body was written: Twisted's finish writes the headers with an empty write, which
            # must go straight out (holding it back here would lose the response).
            self.dev_snippet = None
        super().finish()

    def _injects(self) -> bool:
        # 204 and 304 have no body; a 206 names byte ranges of the file as it is. A HEAD is treated
        # as its GET: same headers, Content-Length included (its body is dropped by Twisted).
        if self.dev_snippet is None or self.code in (204, 206, 304):
            return False
        content_type = (self.responseHeaders.getRawHeaders(b"content-type") or [b""])[0]
        encoded = self.responseHeaders.hasHeader(b"content-encoding")
        return content_type.lower().startswith(b"text/html") and not encoded


def inject(body: bytes, snippet: bytes) -> bytes:
    """C{body} with C{snippet} before its last C{</body>}, or at its end if it has none."""
    matches = list(_BODY_END.finditer(body))
    if not matches:
        return body + snippet
    at = matches[-1].start()
    return body[:at] + snippet + body[at:]
