"""The admin session cookie under TLS: C{__Host-fazt_session}, so no hosted site can plant or replace it.

Every C{NAME.D} is same-site with C{admin.D}: a page there may set a cookie for the whole domain
(C{Domain=D}). Browsers refuse that for C{__Host-} names, so under TLS only that name is believed.
"""

from __future__ import annotations

import json

import pytest
import pytest_twisted

from fazt_testing import set_admin_password, start_server, stop_server
from tls_testing import https_request, listen_tls

PASSWORD = "correct horse battery"
ADMIN = "admin.example.test"


@pytest.fixture
def tls_admin(tmp_path):
    live = start_server(str(tmp_path / "data.db"))
    set_admin_password(live.db, PASSWORD)
    port = listen_tls(live, tmp_path)
    yield live
    pytest_twisted.blockon(port.stopListening())
    stop_server(live)


def set_cookies(response) -> dict[str, list[str]]:
    """Set-Cookie headers by cookie name, each as its lowercased attribute parts."""
    found = {}
    for header in response.headers.get("set-cookie", []):
        first, *attributes = [part.strip() for part in header.split(";")]
        name, _, value = first.partition("=")
        found[name] = [value] + [a.lower() for a in attributes]
    return found


async def log_in(server):
    body = json.dumps({"username": "admin", "password": PASSWORD}).encode()
    response = await https_request(server, ADMIN, "POST", "/api/login",
                                   headers={"Content-Type": "application/json"}, body=body)
    assert response.code == 200, response.body
    return set_cookies(response)


@pytest_twisted.ensureDeferred
async def test_login_over_tls_sets_a_host_prefixed_secure_cookie(tls_admin):
    cookies = await log_in(tls_admin)
    assert "fazt_session" not in cookies
    value, *attributes = cookies["__Host-fazt_session"]
    assert value and "secure" in attributes and "path=/" in attributes and "httponly" in attributes
    assert "samesite=strict" in attributes
    assert not any(a.startswith("domain=") for a in attributes)


@pytest_twisted.ensureDeferred
async def test_under_tls_only_the_host_prefixed_cookie_is_believed(tls_admin):
    token = (await log_in(tls_admin))["__Host-fazt_session"][0]
    me = await https_request(tls_admin, ADMIN, "GET", "/api/user/me",
                             headers={"Cookie": f"__Host-fazt_session={token}"})
    assert me.code == 200, me.body
    # The same token under the plain name, as a hosted site could plant it for the whole domain.
    planted = await https_request(tls_admin, ADMIN, "GET", "/api/user/me", headers={"Cookie": f"fazt_session={token}"})
    assert planted.code == 401, planted.body
    assert json.loads(planted.body)["error"]["code"] == "UNAUTHORIZED"


@pytest_twisted.ensureDeferred
async def test_plain_http_keeps_the_plain_cookie(tls_admin):
    body = json.dumps({"username": "admin", "password": PASSWORD}).encode()
    response = await tls_admin.request("POST", "/api/login", headers={"Content-Type": "application/json"}, body=body)
    cookies = set_cookies(response)
    assert "fazt_session" in cookies and "secure" not in cookies["fazt_session"]
    token = cookies["fazt_session"][0]
    me = await tls_admin.request("GET", "/api/user/me", headers={"Cookie": f"fazt_session={token}"})
    assert me.code == 200, me.body


@pytest_twisted.ensureDeferred
async def test_logout_over_tls_clears_the_host_prefixed_cookie(tls_admin):
    token = (await log_in(tls_admin))["__Host-fazt_session"][0]
    out = await https_request(tls_admin, ADMIN, "POST", "/api/logout",
                              headers={"Cookie": f"__Host-fazt_session={token}", "X-Fazt-CSRF": "1"})
    assert out.code == 200, out.body
    cleared = set_cookies(out)["__Host-fazt_session"]
    assert cleared[0] == "" and "max-age=0" in cleared
    me = await https_request(tls_admin, ADMIN, "GET", "/api/user/me",
                             headers={"Cookie": f"__Host-fazt_session={token}"})
    assert me.code == 401
