"""
A small synchronous client for the fazt admin API.

Requests go out with C{http.client}; answers are the JSON envelope of the
admin API: C{{"data": ...}} (with C{"meta"} for lists) on success,
C{{"error": {"code", "message"}}} on failure. An error envelope raises
L{ApiError}; an unreachable server, a dropped connection or an answer that
is not JSON raises L{ClientError} with a message fit to show the user.
"""

import http.client
import json
import socket
import ssl
from typing import BinaryIO, Callable, Optional
from urllib.parse import urlsplit

from fazt.cli.errors import CliError
from fazt.cli.httpwire import RawResponse, await_continue, read_response
from fazt.cli.multipart import MultipartFileBody

DEFAULT_TIMEOUT = 30.0
UPLOAD_TIMEOUT = 300.0
# How long an upload waits for "100 Continue" before sending its body anyway (curl waits 1 s).
CONTINUE_WAIT = 1.0
DOWNLOAD_CHUNK = 64 * 1024
USER_AGENT = "fazt-cli"


class ClientError(CliError):
    """The server could not be reached or gave an answer the CLI cannot use."""


class ApiError(ClientError):
    """
    The server answered with an error envelope.

    @ivar status: the HTTP status code.
    @ivar code: the envelope's error code, such as C{INVALID_API_KEY}.
    @ivar message: the envelope's human-readable message.
    @ivar details: the envelope's optional C{details} object.
    """

    def __init__(self, status: int, code: str, message: str, details: Optional[dict] = None):
        super().__init__(status, code, message)
        self.status = status
        self.code = code
        self.details = details or {}
        self._message = message

    @property
    def message(self) -> str:
        """The envelope's message."""
        return self._message

    def __str__(self) -> str:
        return f"{self._message} ({self.code})"


class ApiClient:
    """
    Talks to one fazt server with one (optional) API token.

    @ivar server: the base URL, such as C{https://admin.example.com}.
    @ivar token: sent as C{Authorization: Bearer TOKEN} when not C{None}.
    """

    def __init__(self, server: str, token: Optional[str] = None, timeout: float = DEFAULT_TIMEOUT,
                 continue_wait: float = CONTINUE_WAIT):
        self.server = server.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.continue_wait = continue_wait
        parts = urlsplit(self.server)
        self._scheme = parts.scheme
        self._host = parts.hostname or ""
        self._port = parts.port
        self._path_prefix = parts.path.rstrip("/")

    def get(self, path: str) -> dict:
        """GET C{path} and return the success envelope."""
        return self.envelope(self.request("GET", path))

    def post_json(self, path: str, payload: object) -> dict:
        """POST C{payload} as JSON to C{path} and return the success envelope."""
        body = json.dumps(payload).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        return self.envelope(self.request("POST", path, body, headers))

    def request(
        self, method: str, path: str, body: Optional[bytes] = None, headers: Optional[dict] = None
    ) -> RawResponse:
        """
        Send one request and return the raw answer, whatever its status.

        @raise ClientError: if the server cannot be reached or the
            connection fails.
        """
        connection = self._connect(self.timeout)
        try:
            connection.request(method, self._path_prefix + path, body, self._headers(headers))
            return read_response(connection.getresponse())
        except (OSError, http.client.HTTPException) as error:
            raise self._transport_error(error) from error
        finally:
            connection.close()

    def upload(
        self,
        path: str,
        form: MultipartFileBody,
        on_progress: Optional[Callable[[int], None]] = None,
    ) -> dict:
        """
        POST C{form} to C{path}, streaming it chunk by chunk, and return the
        success envelope.

        The request asks for C{100 Continue} first: a server that refuses it on
        its headers (a wrong token) answers before a byte of the archive is
        sent. A server that says nothing within C{continue_wait} seconds gets
        the body anyway, as curl does.

        @param on_progress: called with the number of body bytes sent so
            far after each chunk.
        """
        connection = self._connect(UPLOAD_TIMEOUT)
        headers = self._headers({"Content-Type": form.content_type, "Content-Length": str(form.content_length),
                                 "Expect": "100-continue"})
        try:
            connection.putrequest("POST", self._path_prefix + path, skip_accept_encoding=True)
            for name, value in headers.items():
                connection.putheader(name, value)
            connection.endheaders()
            early = await_continue(connection.sock, self.continue_wait)
            if early is not None:
                # Refused on its headers (a bad token, a too large archive): nothing was uploaded.
                return self.envelope(early)
            try:
                self._send_body(connection, form, on_progress)
            except (BrokenPipeError, ConnectionResetError) as send_error:
                # The server may have answered early (a bad token, a too
                # large archive) and closed; its answer says more than the
                # broken pipe does.
                try:
                    return self.envelope(read_response(connection.getresponse()))
                except (OSError, http.client.HTTPException):
                    raise self._transport_error(send_error) from send_error
            return self.envelope(read_response(connection.getresponse()))
        except (OSError, http.client.HTTPException) as error:
            raise self._transport_error(error) from error
        finally:
            connection.close()

    def download(
        self,
        method: str,
        path: str,
        sink: BinaryIO,
        on_progress: Optional[Callable[[int, Optional[int]], None]] = None,
    ) -> RawResponse:
        """
        Send one request and copy a successful answer's body into C{sink}
        chunk by chunk, never holding it whole in memory.

        @param on_progress: called with the bytes received so far and the
            announced total (C{None} without a C{Content-Length}).
        @return: the answer, with an empty body.
        @raise ApiError: for an error answer (its envelope is read).
        @raise ClientError: if the transfer fails or ends early.
        """
        connection = self._connect(UPLOAD_TIMEOUT)
        try:
            connection.request(method, self._path_prefix + path, None,
                               self._headers({"Accept": "*/*", "Content-Length": "0"}))
            response = connection.getresponse()
            if response.status >= 300:
                self.envelope(read_response(response))
                raise ApiError(response.status, f"HTTP_{response.status}", response.reason)
            length = response.getheader("Content-Length")
            total = int(length) if length and length.isdigit() else None
            received = 0
            while True:
                chunk = response.read(DOWNLOAD_CHUNK)
                if not chunk:
                    break
                sink.write(chunk)
                received += len(chunk)
                if on_progress is not None:
                    on_progress(received, total)
            if total is not None and received != total:
                raise ClientError(f"the download from {self.server} ended after {received} of {total} bytes")
            return RawResponse(response.status, response.reason, dict(response.headers), b"")
        except (OSError, http.client.HTTPException) as error:
            raise self._transport_error(error) from error
        finally:
            connection.close()

    def envelope(self, response: RawResponse) -> dict:
        """
        Decode the JSON envelope of C{response}.

        @return: the envelope of a successful answer (it has C{"data"}).
        @raise ApiError: for an error envelope or an error status.
        @raise ClientError: if the body is not a JSON envelope.
        """
        try:
            decoded = json.loads(response.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ClientError(
                f"{self.server} answered {response.status} {response.reason} "
                "with a body that is not JSON; is it the admin address of a fazt server?"
            ) from None
        error = decoded.get("error") if isinstance(decoded, dict) else None
        if isinstance(error, dict):
            raise ApiError(
                response.status,
                str(error.get("code") or f"HTTP_{response.status}"),
                str(error.get("message") or response.reason),
                error.get("details") if isinstance(error.get("details"), dict) else None,
            )
        if response.status >= 400:
            raise ApiError(response.status, f"HTTP_{response.status}", response.reason)
        if not isinstance(decoded, dict) or "data" not in decoded:
            raise ClientError(f"{self.server} answered JSON without a \"data\" member")
        return decoded

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        """Return an unopened connection to the server."""
        if self._scheme == "https":
            return http.client.HTTPSConnection(self._host, self._port, timeout=timeout)
        return http.client.HTTPConnection(self._host, self._port, timeout=timeout)

    def _headers(self, extra: Optional[dict]) -> dict:
        """Return the headers of every request, plus C{extra}."""
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        headers.update(extra or {})
        return headers

    def _send_body(self, connection, form: MultipartFileBody, on_progress) -> None:
        """Write C{form} to C{connection} chunk by chunk."""
        sent = 0
        for chunk in form.chunks():
            connection.send(chunk)
            sent += len(chunk)
            if on_progress is not None:
                on_progress(sent)

    def _transport_error(self, error: BaseException) -> ClientError:
        """Describe a connection-level failure as a L{ClientError}."""
        if isinstance(error, socket.gaierror):
            reason = f"unknown host {self._host!r}"
        elif isinstance(error, ConnectionRefusedError):
            reason = "connection refused (is the server running?)"
        elif isinstance(error, (socket.timeout, TimeoutError)):
            reason = "timed out"
        elif isinstance(error, ssl.SSLError):
            reason = f"TLS failed: {error.reason or error}"
        elif isinstance(error, http.client.RemoteDisconnected):
            reason = "the server closed the connection without answering"
        elif isinstance(error, (BrokenPipeError, ConnectionResetError)):
            reason = "the server closed the connection"
        else:
            reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        return ClientError(f"cannot reach {self.server}: {reason}")
