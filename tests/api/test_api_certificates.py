"""C{GET /api/certificates} against a live in-process server (the dashboard's and C{fazt certs}' source).

The servers here order nothing: one has no TLS listener, the other C{--no-acme}; certificates are
put in the cartridge as an issuance would. Issuance itself is in tests/acme and tests/app.
"""

from __future__ import annotations

import time

import pytest
import pytest_twisted

from fazt.acme import pem
from fazt.cli.operator import create_key
from fazt_testing import assert_error, sql, start_server, stop_server

NOW = 1_800_000_000.0
ENTRY = {"name", "issuer", "not_after", "status", "last_error", "last_attempt", "next_attempt"}


def put_certificate(db: str, name: str, start: float = NOW, error=None) -> None:
    key = pem.new_key_pem()
    cert = pem.self_signed([name], key, start, days=90)
    about = pem.facts(cert)
    sql(db, "INSERT INTO certificates (name, cert_pem, key_pem, not_after, issuer, updated_at)"
        " VALUES (?, ?, ?, ?, 'Test CA', ?)", name, cert, key, about.not_after, NOW)
    if error:
        sql(db, "INSERT INTO certificate_schedule (name, failures, next_attempt, last_attempt, last_error)"
            " VALUES (?, 1, ?, ?, ?)", name, NOW + 300, NOW, error)


@pytest.fixture
def plain(tmp_path):
    server = start_server(str(tmp_path / "data.db"))
    yield server
    stop_server(server)


@pytest.fixture
def tls(tmp_path):
    server = start_server(str(tmp_path / "data.db"), extra_args=("--https", "tcp:0:interface=127.0.0.1", "--no-acme"))
    yield server
    stop_server(server)


async def listing(server, query: str = ""):
    response = await server.request("GET", "/api/certificates" + query,
                                    headers={"Authorization": f"Bearer {server.admin_token}"})
    assert (response.code, response.header("content-type")) == (200, "application/json"), response.body
    body = response.json()
    assert set(body) == {"data", "meta"}
    assert all(set(entry) == ENTRY for entry in body["data"])
    return body


@pytest_twisted.ensureDeferred
async def test_without_tls_only_stored_certificates_are_listed(plain):
    assert await listing(plain) == {"data": [], "meta": {"total": 0, "limit": 50, "offset": 0}}
    put_certificate(plain.db, "blog.example.test", error="urn:ietf:params:acme:error:rateLimited :: too many")
    put_certificate(plain.db, "example.test", start=time.time() - 100 * 86400)
    body = await listing(plain)
    assert [(e["name"], e["status"], e["issuer"]) for e in body["data"]] == [
        ("blog.example.test", "failed", "Test CA"), ("example.test", "expired", "Test CA")]
    failed = body["data"][0]
    assert failed["last_error"].startswith("urn:ietf:params:acme:error:rateLimited")
    assert failed["last_attempt"] == "2027-01-15T08:00:00Z"
    assert failed["not_after"] == "2027-04-15T08:00:00Z"


@pytest_twisted.ensureDeferred
async def test_with_tls_and_no_acme_every_name_of_ours_is_listed(tls):
    put_certificate(tls.db, "admin.example.test", start=time.time())
    body = await listing(tls)
    statuses = {e["name"]: e["status"] for e in body["data"]}
    assert statuses == {"404.example.test": "self-signed", "admin.example.test": "valid",
                        "example.test": "self-signed", "root.example.test": "self-signed"}
    assert body["meta"] == {"total": 4, "limit": 50, "offset": 0}
    assert {e["issuer"] for e in body["data"] if e["status"] == "self-signed"} == {"fazt self-signed"}
    assert all(e["next_attempt"] is None for e in body["data"])   # nothing will be ordered
    page = await listing(tls, "?limit=2&offset=1")
    assert [e["name"] for e in page["data"]] == ["admin.example.test", "example.test"]
    assert page["meta"] == {"total": 4, "limit": 2, "offset": 1}


@pytest_twisted.ensureDeferred
async def test_only_admins_may_look(plain):
    assert_error(await plain.request("GET", "/api/certificates"), 401, "UNAUTHORIZED")
    assert_error(await plain.request("GET", "/api/certificates", headers={"Authorization": "Bearer fazt_nope"}),
                 401, "INVALID_API_KEY")
    deployer = create_key(plain.db, "ci", ["deploy:blog"])
    assert_error(await plain.request("GET", "/api/certificates", headers={"Authorization": f"Bearer {deployer}"}),
                 403, "FORBIDDEN")


@pytest.mark.parametrize("query, field", [("?limit=0", "limit"), ("?limit=abc", "limit"), ("?offset=-1", "offset"),
                                          ("?limit=1001", "limit"), ("?offset=99999999999999999999", "offset")])
@pytest_twisted.ensureDeferred
async def test_bad_paging_is_answered_with_the_envelope(plain, query, field):
    response = await plain.request("GET", "/api/certificates" + query,
                                   headers={"Authorization": f"Bearer {plain.admin_token}"})
    assert_error(response, 400, "VALIDATION_FAILED", field=field)


@pytest_twisted.ensureDeferred
async def test_other_methods_are_refused(plain):
    response = await plain.request("POST", "/api/certificates", headers={"Authorization": f"Bearer {plain.admin_token}"})
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
