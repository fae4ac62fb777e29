"""Fuzz every operation of /api/openapi.json with hostile input against one live server.

A seeded generator (plain Python, reproducible) sends malformed JSON, wrong types, huge and
unicode values, wrong content types and methods, missing fields and odd path parameters.
Checked: no 5xx; every non-2xx /api answer is exactly the error envelope; rows that existed
before (site, deployments, keys, kv, env, redirects, webhooks) are unchanged afterwards.
"""

from __future__ import annotations

import json
import random
import sqlite3
from urllib.parse import quote

import pytest
import pytest_twisted
from twisted.internet.defer import Deferred, gatherResults

from fazt_testing import start_server, stop_server

SEED = 20240604
CASES = 4000
CONCURRENCY = 24
SITE = "fuzzsite"
# Tables whose earlier rows must survive the fuzz as they were (ignoring bookkeeping columns).
TABLES = ("sites", "deployments", "api_keys", "kv", "env_vars", "redirects", "webhooks", "users")
IGNORED_COLUMNS = {"last_used_at", "updated_at", "last_login_at"}

HOSTILE_SEGMENTS = [
    "..", "%2e%2e", "%00", "a%00b", "%ff", "%C0%AF", "%25", "%20", " ", "ü", "%F0%9F%98%80", "😀",
    "..%2f..%2fetc%2fpasswd", "a/b", "", "null", "-1", "0", "99999999999999999999999", "1e999",
    "nosuch-site", "x" * 2000, "%ED%A0%80", "NaN", "true", "<script>", "'; DROP TABLE sites;--",
]
HOSTILE_VALUES = [
    None, True, False, 0, -1, 2**63, 2**64, -(2**63) - 1, 10**400, 1.5, 1e308, -0.0, "", " ", "\x00",
    "\ud800", "é" * 300, "😀", "x" * 5000, [], {}, [1, "a", None], {"a": {"b": [None]}}, "1", "-5",
    "http://", "javascript:alert(1)", "ftp://x", "https://example.com/" + "a" * 3000, ["admin"],
    ["deploy:*", "", None, 5], "../../etc/passwd", "a\nb", "\u202e", 10**6 + 7,
]
FIELDS = [
    "name", "scopes", "site_id", "site_name", "value", "vars", "slug", "destination", "url", "tags",
    "secret", "enabled", "active", "username", "password", "remember_me", "id", "endpoint",
    "description", "deployment_id", "domain", "source", "event", "path", "expires_in",
]
QUERY_NAMES = ["limit", "offset", "site_id", "site", "id", "domain", "tags", "source", "from", "to",
               "type", "since", "q", "name", "page", "after_id", "level", "days", "prefix", "source_type"]
QUERY_VALUES = ["", "-1", "0", "101", "1000000", str(2**63), str(2**64), "1e3", "abc", "%00", "%ff",
                "ü", "1.5", "nosuch", "x" * 3000, "[]", "null", "999999999", "1001", " 5", "+5", "debug"]
RAW_BODIES = [
    b"{", b"{'a':1}", b"[1,2", b"\xff\xfe\x00", b"null", b"[]", b'"str"', b"1e999999", b"NaN",
    b'{"a":NaN}', b"[" * 50000, b'{"a":' * 20000, b"", b"   ", b"\x00" * 100, b"{}", b"true",
    b'{"name": "\\ud800"}', b"--x\r\nContent-Disposition: form-data\r\n\r\n--x--",
]
CONTENT_TYPES = [None, "application/json", "text/plain", "multipart/form-data; boundary=x",
                 "application/x-www-form-urlencoded", "application/json; charset=utf-16", "*/*"]
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]


def hostile_body(rng: random.Random) -> bytes:
    """A request body: raw garbage, a JSON object of wrong-typed fields, or a huge string."""
    kind = rng.random()
    if kind < 0.3:
        return rng.choice(RAW_BODIES)
    if kind < 0.33:
        return json.dumps({rng.choice(FIELDS): "y" * 100_000}).encode()
    if kind < 0.35:
        return json.dumps({"deep": json.loads("[" * 500 + "]" * 500)}).encode()
    fields = rng.sample(FIELDS, rng.randint(0, 5))
    body = {name: rng.choice(HOSTILE_VALUES) for name in fields}
    return json.dumps(body).encode()  # ensure_ascii: lone surrogates travel escaped


def hostile_query(rng: random.Random, documented: tuple = ()) -> str:
    """A query string: hostile values for common names and for the operation's documented ones."""
    if rng.random() < 0.4:
        return ""
    names = QUERY_NAMES + list(documented) * 3
    pairs = [(rng.choice(names), rng.choice(QUERY_VALUES)) for _ in range(rng.randint(1, 3))]
    return "?" + "&".join(f"{quote(k)}={quote(v, safe='%')}" for k, v in pairs)


def fill_path(rng: random.Random, template: str) -> str:
    """The template with each {param} replaced by a hostile segment (already URL-safe)."""
    out = template
    while "{" in out:
        start, end = out.index("{"), out.index("}")
        segment = rng.choice(HOSTILE_SEGMENTS)
        out = out[:start] + quote(segment, safe="%/") + out[end + 1:]
    return out


def snapshot(db: str) -> dict:
    """Every row of L{TABLES} (as a tuple of its columns, bookkeeping columns left out), by table."""
    conn = sqlite3.connect(db)
    try:
        rows = {}
        for table in TABLES:
            cursor = conn.execute(f"SELECT * FROM {table}")
            names = [d[0] for d in cursor.description]
            rows[table] = {tuple((n, v) for n, v in zip(names, row) if n not in IGNORED_COLUMNS)
                           for row in cursor.fetchall()}
        return rows
    finally:
        conn.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """One live server for the whole module, rate limits off: thousands of requests come from 127.0.0.1."""
    server = start_server(str(tmp_path_factory.mktemp("fuzz") / "data.db"),
                          extra_args=("--api-rate-limit", "0", "--login-rate-limit", "0"))
    yield server
    stop_server(server)


def check_envelope(path: str, response, problems: list) -> None:
    if response.code >= 500:
        problems.append(f"{response.code} for {path}: {response.body[:300]!r}")
        return
    if response.code < 300 or not path.startswith("/api"):
        return
    try:
        payload = response.json()
    except ValueError:
        problems.append(f"non-JSON {response.code} for {path}: {response.body[:200]!r}")
        return
    error = payload.get("error") if isinstance(payload, dict) else None
    if (set(payload) != {"error"} or not isinstance(error, dict) or not {"code", "message"} <= set(error)
            or not set(error) <= {"code", "message", "details"}):
        problems.append(f"not an error envelope ({response.code}) for {path}: {payload!r:.300}")


@pytest_twisted.ensureDeferred
async def test_fuzz_every_operation(live):
    token = live.admin_token
    auth = {"Authorization": f"Bearer {token}"}
    assert (await live.deploy(SITE, {"index.html": "<h1>fuzz</h1>"})).code in (200, 201)
    setup = [
        ("PUT", f"/api/sites/{SITE}/env/FUZZ_VAR", {"value": "kept"}),
        ("POST", "/api/redirects", {"slug": "fuzz-slug", "destination": "https://example.com/"}),
        ("POST", "/api/webhooks", {"name": "fuzz-hook"}),
    ]
    for method, path, body in setup:
        await live.request(method, path, headers={**auth, "Content-Type": "application/json"},
                           body=json.dumps(body).encode())
    page_before = (await live.get("/", host=f"{SITE}.{live.domain}")).body
    before = snapshot(live.db)

    document = (await live.get("/api/openapi.json")).json()
    # Event streams answer forever by design; everything else must answer at once.
    operations = [(path, method.upper(), tuple(p["name"] for p in operation["parameters"] if p["in"] == "query"))
                  for path, item in document["paths"].items() for method, operation in item.items()
                  if not path.endswith("/stream")]
    assert len(operations) > 30

    rng = random.Random(SEED)
    problems: list[str] = []
    cases = []
    for index in range(CASES):
        template, method, documented = operations[index % len(operations)]
        if rng.random() < 0.15:
            method = rng.choice(METHODS)
        headers = dict(auth) if rng.random() > 0.1 else {}
        content_type = rng.choice(CONTENT_TYPES)
        if content_type:
            headers["Content-Type"] = content_type
        body = hostile_body(rng) if method in ("POST", "PUT", "PATCH") or rng.random() < 0.1 else None
        cases.append((method, fill_path(rng, template) + hostile_query(rng, documented), headers, body))

    async def send(case):
        method, path, headers, body = case
        response = await live.request(method, path, headers=headers, body=body)
        check_envelope(path, response, problems)

    for start in range(0, len(cases), CONCURRENCY):
        await gatherResults([Deferred.fromCoroutine(send(c)) for c in cases[start:start + CONCURRENCY]])
    print(f"fuzz: {len(cases)} requests")
    assert len(cases) > 1000
    assert not problems, "\n".join(problems[:20]) + f"\n({len(problems)} problems)"

    after = snapshot(live.db)
    for table, rows in before.items():
        assert rows <= after[table], (table, rows - after[table])
    assert (await live.get("/", host=f"{SITE}.{live.domain}")).body == page_before
