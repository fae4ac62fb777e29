"""The original fazt's shell test flow (test_auth_flow.sh / test_api.sh) as one test against a live server:
log in, create a key with the session, deploy with that key, list the site, log out."""

from __future__ import annotations

import json
import pytest_twisted

from fazt_testing import make_zip, multipart_body, set_admin_password

PASSWORD = "a long admin password"


@pytest_twisted.ensureDeferred
async def test_login_create_key_deploy_list_logout(server):
    set_admin_password(server.db, PASSWORD)
    json_headers = {"Content-Type": "application/json"}
    login = await server.request("POST", "/api/login", headers=json_headers,
                                 body=json.dumps({"username": "admin", "password": PASSWORD}).encode())
    assert login.code == 200, login.body
    cookie = next(h for h in login.headers["set-cookie"] if h.startswith("fazt_session=")).split(";")[0]

    created = await server.request("POST", "/api/keys", headers={**json_headers, "Cookie": cookie},
                                   body=json.dumps({"name": "ci", "scopes": ["deploy:flow"]}).encode())
    assert created.code == 201, created.body
    token = created.json()["data"]["token"]

    body, content_type = multipart_body({"site_name": "flow"}, {"file": ("site.zip", make_zip({"index.html": "flow!"}))})
    deployed = await server.request("POST", "/api/deploy", headers={"Authorization": f"Bearer {token}",
                                                                    "Content-Type": content_type}, body=body)
    assert deployed.code == 200, deployed.body
    assert (await server.get("/", "flow.example.test")).body == b"flow!"

    listed = await server.request("GET", "/api/sites", headers={"Cookie": cookie})
    assert "flow" in [site["name"] for site in listed.json()["data"]]

    out = await server.request("POST", "/api/logout", headers={**json_headers, "Cookie": cookie})
    assert out.code == 200
    after = await server.request("GET", "/api/sites", headers={"Cookie": cookie})
    assert after.code == 401
