"""C{fazt login} reads the session cookie under either name: plain, or C{__Host-} from a TLS server."""

from __future__ import annotations

import pytest

from fazt.cli.account import _session_cookie
from fazt.cli.httpwire import RawResponse


@pytest.mark.parametrize("name", ["fazt_session", "__Host-fazt_session"])
def test_the_cookie_is_sent_back_under_the_name_it_came_with(name):
    response = RawResponse(200, "OK", {"Set-Cookie": f"{name}=abc123; Path=/; HttpOnly; SameSite=Strict"}, b"{}")
    assert _session_cookie(response) == f"{name}=abc123"


def test_no_session_cookie_is_none():
    assert _session_cookie(RawResponse(200, "OK", {"Set-Cookie": "other=1; Path=/"}, b"{}")) is None
    assert _session_cookie(RawResponse(200, "OK", {}, b"{}")) is None
