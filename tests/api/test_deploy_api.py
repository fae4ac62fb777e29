"""The admin deploy API as a client sees it (SPEC §6, §9), against a live server on a real socket."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import zipfile

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred, ensureDeferred
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol

from fazt.cli.operator import create_key
from fazt_testing import assert_error, make_zip, multipart_body, start_server, stop_server


MIB = 1024 * 1024
HOST = "blog.example.test"
V1 = {"index.html": "<h1>v1</h1>", "about.html": "<h1>about</h1>"}
V2 = {"index.html": "<h1>v2</h1>", "about.html": "<h1>about</h1>"}
LIMITED = ("--max-entries", "5", "--max-unpacked-mb", "1", "--max-archive-mb", "1")


# -- helpers -------------------------------------------------------------------------------


def form(archive: bytes | None, site: str | None = "blog") -> tuple[bytes, str]:
    fields = {} if site is None else {"site_name": site}
    files = {} if archive is None else {"file": ("site.zip", archive)}
    return multipart_body(fields, files)


async def post_deploy(server, body: bytes, ctype: str | None, auth: str | None = "admin", host=None):
    headers = {}
    if ctype is not None:
        headers["Content-Type"] = ctype
    if auth == "admin":
        auth = f"Bearer {server.admin_token}"
    if auth is not None:
        headers["Authorization"] = auth
    return await server.request("POST", "/api/deploy", host=host, headers=headers, body=body)


async def api(server, method: str, path: str, body=None, token: str | None = None):
    headers = {"Authorization": f"Bearer {token or server.admin_token}"}
    if body is not None:
        headers["Content-Type"] = "application/json"
        body = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await server.request(method, path, headers=headers, body=body)


async def deployed(server, files, site="blog", token=None) -> dict:
    response = await server.deploy(site, files, token)
    assert response.code == 200, response.body
    return response.json()["data"]


async def assert_unchanged(server, index=b"<h1>v1</h1>", count=1) -> None:
    """The site still serves its earlier content and nothing was recorded."""
    page = await server.get("/", HOST)
    assert (page.code, page.body) == (200, index)
    listing = await api(server, "GET", "/api/sites/blog/deployments")
    assert listing.code == 200, listing.body
    assert len(listing.json()["data"]) == count and listing.json()["meta"]["total"] == count


def query(db: str, sql: str, *args):
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        return conn.execute(sql, args).fetchall()


def blob_count(db: str) -> int:
    return query(db, "SELECT COUNT(*) FROM blobs")[0][0]


def sha(content: str | bytes) -> str:
    return hashlib.sha256(content.encode() if isinstance(content, str) else content).hexdigest()


class _Raw(Protocol):
    def __init__(self):
        self.received = b""
        self.done = Deferred()

    def dataReceived(self, data):
        self.received += data

    def connectionLost(self, reason):
        self.done.callback(self.received)


async def raw_exchange(server, data: bytes) -> bytes:
    """Write C{data} on a fresh connection and collect everything until the server closes it."""
    proto = _Raw()
    await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", server.port), proto)
    proto.transport.write(data)
    proto.done.addTimeout(5, reactor)
    return await proto.done


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    """One server with blog at v1 for every refused upload: none of them may change it."""
    live = start_server(str(tmp_path_factory.mktemp("guarded") / "data.db"))
    pytest_twisted.blockon(ensureDeferred(deployed(live, V1)))
    yield live
    stop_server(live)


@pytest.fixture
def limited(tmp_path):
    live = start_server(str(tmp_path / "limited.db"), extra_args=LIMITED)
    yield live
    stop_server(live)


@pytest.fixture
def keep_two(tmp_path):
    live = start_server(str(tmp_path / "keep.db"), extra_args=("--keep-deployments", "2"))
    yield live
    stop_server(live)


# -- hostile and malformed uploads ---------------------------------------------------------------

HOSTILE = {
    "zip slip": (lambda: form(make_zip({"../../evil.html": "x"})), 400, "INVALID_ZIP", None),
    "absolute path": (lambda: form(make_zip({"/evil.html": "x"})), 400, "INVALID_ZIP", None),
    "backslash": (lambda: form(make_zip({"a\\evil.html": "x"})), 400, "INVALID_ZIP", None),
    "drive letter": (lambda: form(make_zip({"C:/x": "x"})), 400, "INVALID_ZIP", None),
    "zip bomb": (lambda: form(make_zip({"index.html": b"\0" * (20 * MIB)})), 413, "PAYLOAD_TOO_LARGE", None),
    "not a zip": (lambda: form(b"this is not a zip archive at all"), 400, "INVALID_ZIP", None),
    "truncated zip": (lambda: form(make_zip(V2)[:60]), 400, "INVALID_ZIP", None),
    "missing site_name": (lambda: form(make_zip(V2), site=None), 400, "MISSING_FIELD", "site_name"),
    "missing file": (lambda: form(None), 400, "MISSING_FIELD", "file"),
    "invalid name": (lambda: form(make_zip(V2), "Bad_Name!"), 400, "VALIDATION_FAILED", "site_name"),
    "reserved name": (lambda: form(make_zip(V2), "admin"), 400, "VALIDATION_FAILED", "site_name"),
    "not multipart": (lambda: (make_zip(V2), "application/zip"), 415, "UNSUPPORTED_MEDIA_TYPE", None),
    "no content type": (lambda: (make_zip(V2), None), 415, "UNSUPPORTED_MEDIA_TYPE", None),
    "malformed multipart": (lambda: (b"no boundary in here", "multipart/form-data; boundary=xyz"), 400, None, None),
    "unterminated multipart": (lambda: (form(make_zip(V2))[0][:-40], form(b"")[1]), 400, None, None),
}
AUTH = {
    "no authorization": (None, 401, "UNAUTHORIZED"),
    "basic scheme": ("Basic xyz", 401, "UNAUTHORIZED"),
    "empty bearer": ("Bearer ", 401, "UNAUTHORIZED"),
    "unknown token": ("Bearer not-a-real-token", 401, "INVALID_API_KEY"),
    "other site's key": ("deploy:other", 403, "FORBIDDEN"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
@pytest_twisted.ensureDeferred
async def test_hostile_upload_is_refused_and_changes_nothing(guarded, case):
    blobs = blob_count(guarded.db)
    build, status, code, field = HOSTILE[case]
    assert_error(await post_deploy(guarded, *build()), status, code, field)
    await assert_unchanged(guarded)
    assert blob_count(guarded.db) == blobs


@pytest.mark.parametrize("case", list(AUTH))
@pytest_twisted.ensureDeferred
async def test_unauthorised_deploy_is_refused_and_changes_nothing(guarded, case):
    auth, status, code = AUTH[case]
    if auth == "deploy:other":
        auth = "Bearer " + create_key(guarded.db, "other", ["deploy:other"])
    assert_error(await post_deploy(guarded, *form(make_zip(V2)), auth=auth), status, code)
    await assert_unchanged(guarded)


@pytest_twisted.ensureDeferred
async def test_wrong_method_and_unknown_route(guarded):
    response = await api(guarded, "GET", "/api/deploy")
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert "POST" in response.header("allow")
    assert_error(await api(guarded, "GET", "/api/nothing"), 404, "NOT_FOUND")
    assert_error(await api(guarded, "POST", "/api/sites"), 405, "METHOD_NOT_ALLOWED")


@pytest_twisted.ensureDeferred
async def test_entry_count_and_unpacked_limits(limited):
    await deployed(limited, V1)
    too_many = make_zip({f"f{i}.html": str(i) for i in range(6)})
    assert_error(await post_deploy(limited, *form(too_many)), 413, "PAYLOAD_TOO_LARGE")
    await assert_unchanged(limited)
    # Two entries under the per-entry ratio exemption, together over 1 MiB unpacked.
    too_big = make_zip({"a.bin": b"\0" * (MIB * 9 // 10), "b.bin": b"\0" * (MIB * 9 // 10)})
    assert len(too_big) < MIB
    error = assert_error(await post_deploy(limited, *form(too_big)), 413, "PAYLOAD_TOO_LARGE")
    assert "unpacks" in error["message"]
    await assert_unchanged(limited)
    # Exactly at the limits is fine.
    ok = await deployed(limited, {f"f{i}.html": str(i) for i in range(5)})
    assert ok["file_count"] == 5


@pytest_twisted.ensureDeferred
async def test_archive_over_limit_is_refused_by_the_archive_check(limited):
    await deployed(limited, V1)
    archive = make_zip({"index.html": os.urandom(MIB + 64 * 1024)}, compression=zipfile.ZIP_STORED)
    body, ctype = form(archive)
    assert MIB < len(body) < 2 * MIB  # under the request limit (archive limit + 1 MiB slack)
    error = assert_error(await post_deploy(limited, body, ctype), 413, "PAYLOAD_TOO_LARGE")
    assert "archive is larger" in error["message"]
    await assert_unchanged(limited)


@pytest_twisted.ensureDeferred
async def test_oversized_request_is_refused_from_its_declared_length(limited):
    await deployed(limited, V1)
    _, ctype = form(b"")
    head = (
        f"POST /api/deploy HTTP/1.1\r\nHost: admin.example.test\r\nAuthorization: Bearer {limited.admin_token}\r\n"
        f"Content-Type: {ctype}\r\nContent-Length: {2 * MIB + 4096}\r\n\r\n"
    ).encode()
    # Only the headers and a first scrap of the body are sent: the answer must not wait for the rest.
    raw = await raw_exchange(limited, head + b"--fazt-test-boundary\r\n")
    status_line, _, rest = raw.partition(b"\r\n")
    assert status_line.split(b" ")[1] == b"413", raw
    payload = json.loads(rest.split(b"\r\n\r\n", 1)[1])
    assert set(payload) == {"error"} and payload["error"]["code"] == "PAYLOAD_TOO_LARGE"
    await assert_unchanged(limited)


@pytest_twisted.ensureDeferred
async def test_oversized_chunked_request_is_refused_while_streaming(limited):
    await deployed(limited, V1)
    _, ctype = form(b"")
    head = (
        f"POST /api/deploy HTTP/1.1\r\nHost: admin.example.test\r\nAuthorization: Bearer {limited.admin_token}\r\n"
        f"Content-Type: {ctype}\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    sent = 2 * MIB + 1024  # over the request limit; the declared chunk is larger still and never finished
    raw = await raw_exchange(limited, head + b"%x\r\n" % (4 * MIB) + b"\0" * sent)
    assert raw.split(b" ", 2)[1] == b"413", raw[:200]
    assert json.loads(raw.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "PAYLOAD_TOO_LARGE"
    await assert_unchanged(limited)


# -- scoped keys ---------------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_site_scoped_key(server):
    await deployed(server, {"index.html": "docs"}, site="docs")
    token = create_key(server.db, "blog-ci", ["deploy:blog"])
    await deployed(server, V1, token=token)
    second = await deployed(server, V2, token=token)
    assert second["site"] == "blog"
    assert (await server.get("/", HOST)).body == b"<h1>v2</h1>"
    # A deploy key deploys its site and does nothing else (reads and rollbacks are admin work).
    for method, path, body in (("GET", "/api/sites/blog/deployments", None), ("POST", "/api/sites/blog/rollback", {}),
                               ("GET", "/api/sites", None), ("POST", "/api/sites/docs/rollback", {})):
        assert_error(await api(server, method, path, body, token=token), 403, "FORBIDDEN")
    assert (await server.get("/", HOST)).body == b"<h1>v2</h1>"
    assert_error(await server.deploy("docs", V1, token), 403, "FORBIDDEN")
    everything = await api(server, "GET", "/api/sites")
    assert {"blog", "docs"} <= {s["name"] for s in everything.json()["data"]}


# -- successful deploys ---------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_deploy_response_fields(server):
    files = {"index.html": "<h1>v1</h1>", "css/a.css": "a" * 1000, "img/x.bin": bytes(300)}
    host = f"admin.example.test:{server.port}"
    response = await post_deploy(server, *form(make_zip(files), "Blog.Example.Test"), host=host)
    assert response.code == 200, response.body
    payload = response.json()
    assert set(payload) == {"data"}
    data = payload["data"]
    assert data["site"] == "blog"
    assert isinstance(data["deployment_id"], int)
    assert data["file_count"] == 3
    assert data["size_bytes"] == len("<h1>v1</h1>") + 1000 + 300
    assert data["url"] == f"http://blog.example.test:{server.port}/"
    assert data["message"]
    assert (await server.get("/", HOST)).body == b"<h1>v1</h1>"
    site = await api(server, "GET", "/api/sites/blog")
    assert site.json()["data"]["active_deployment_id"] == data["deployment_id"]


@pytest_twisted.ensureDeferred
async def test_redeploy_stores_only_new_content(server):
    files = {"index.html": "<h1>v1</h1>", "a.css": "a" * 2000, "b.js": "b" * 2000}
    first = await deployed(server, files)
    assert first["new_blobs"] == 3
    blobs = blob_count(server.db)
    again = await deployed(server, files)
    assert again["new_blobs"] == 0 and again["deployment_id"] != first["deployment_id"]
    assert blob_count(server.db) == blobs
    changed = await deployed(server, {**files, "b.js": "c" * 2000})
    assert changed["new_blobs"] == 1
    assert blob_count(server.db) == blobs + 1


# -- history and rollback -------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_history_and_rollback(server):
    v1 = (await deployed(server, V1))["deployment_id"]
    v2 = (await deployed(server, V2))["deployment_id"]
    listing = await api(server, "GET", "/api/sites/blog/deployments")
    assert listing.code == 200
    assert [(d["id"], d["active"]) for d in listing.json()["data"]] == [(v2, True), (v1, False)]
    assert listing.json()["meta"]["total"] == 2
    assert all(d["site"] == "blog" and d["file_count"] == 2 for d in listing.json()["data"])

    back = await api(server, "POST", "/api/sites/blog/rollback", {})
    assert back.code == 200 and back.json()["data"]["deployment_id"] == v1
    assert (await server.get("/", HOST)).body == b"<h1>v1</h1>"
    flags = [(d["id"], d["active"]) for d in (await api(server, "GET", "/api/sites/blog/deployments")).json()["data"]]
    assert flags == [(v2, False), (v1, True)]

    forward = await api(server, "POST", "/api/sites/blog/rollback", {"deployment_id": v2})
    assert forward.code == 200 and forward.json()["data"]["deployment_id"] == v2
    assert (await server.get("/", HOST)).body == b"<h1>v2</h1>"

    other = (await deployed(server, {"index.html": "other"}, site="other"))["deployment_id"]
    assert_error(await api(server, "POST", "/api/sites/blog/rollback", {"deployment_id": other}), 404)
    assert_error(await api(server, "POST", "/api/sites/blog/rollback", {"deployment_id": 999999}), 404)
    assert_error(await api(server, "POST", "/api/sites/blog/rollback", {"deployment_id": "x"}),
                 400, "VALIDATION_FAILED", "deployment_id")
    assert_error(await api(server, "POST", "/api/sites/blog/rollback", {"deployment_id": True}),
                 400, "VALIDATION_FAILED", "deployment_id")
    assert_error(await api(server, "POST", "/api/sites/blog/rollback", b'{"deployment_id": 99999999999999999999}'),
                 400, "VALIDATION_FAILED", "deployment_id")
    assert_error(await api(server, "POST", "/api/sites/blog/rollback", b"not json"), 400, "INVALID_JSON")
    assert_error(await api(server, "POST", "/api/sites/blog/rollback", b"[1, 2]"), 400, "INVALID_JSON")
    assert (await server.get("/", HOST)).body == b"<h1>v2</h1>"
    assert (await server.get("/", "other.example.test")).body == b"other"

    assert_error(await api(server, "POST", "/api/sites/other/rollback", {}), 409, "CONFLICT")
    assert_error(await api(server, "POST", "/api/sites/ghost/rollback", {}), 404, "SITE_NOT_FOUND")
    assert_error(await api(server, "GET", "/api/sites/ghost"), 404, "SITE_NOT_FOUND")
    assert_error(await api(server, "GET", "/api/sites/ghost/deployments"), 404, "SITE_NOT_FOUND")
    assert_error(await api(server, "GET", "/api/sites/Bad_Name!"), 404, "SITE_NOT_FOUND")


@pytest_twisted.ensureDeferred
async def test_old_deployments_and_their_blobs_are_pruned(keep_two):
    await deployed(keep_two, {"index.html": "<h1>one</h1>", "only-v1.txt": "only in the first"})
    await deployed(keep_two, {"index.html": "<h1>two</h1>", "shared.txt": "shared"})
    assert query(keep_two.db, "SELECT 1 FROM blobs WHERE hash = ?", sha("only in the first"))
    third = await deployed(keep_two, {"index.html": "<h1>three</h1>", "shared.txt": "shared"})
    listing = (await api(keep_two, "GET", "/api/sites/blog/deployments")).json()
    assert len(listing["data"]) == 2 and listing["meta"]["total"] == 2
    assert listing["data"][0]["id"] == third["deployment_id"]
    assert query(keep_two.db, "SELECT 1 FROM blobs WHERE hash = ?", sha("only in the first")) == []
    assert query(keep_two.db, "SELECT 1 FROM blobs WHERE hash = ?", sha("<h1>one</h1>")) == []
    assert query(keep_two.db, "SELECT 1 FROM blobs WHERE hash = ?", sha("shared"))
    assert (await keep_two.get("/", HOST)).body == b"<h1>three</h1>"


# -- pagination -----------------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_pagination(server):
    v1 = (await deployed(server, V1))["deployment_id"]
    await deployed(server, V2)
    for query_string in ("limit=0", "limit=abc", "limit=1001", "offset=-1", "offset=x", "offset=99999999999999999999"):
        for path in ("/api/sites/blog/deployments", "/api/sites"):
            assert_error(await api(server, "GET", f"{path}?{query_string}"), 400, "VALIDATION_FAILED")
    page = await api(server, "GET", "/api/sites/blog/deployments?limit=1&offset=1")
    assert page.code == 200
    assert [d["id"] for d in page.json()["data"]] == [v1]
    assert page.json()["meta"] == {"total": 2, "limit": 1, "offset": 1}
    beyond = await api(server, "GET", "/api/sites/blog/deployments?limit=1&offset=5")
    assert beyond.json()["data"] == [] and beyond.json()["meta"]["total"] == 2


# Code that does not compile (SPEC §14): (files added to V2, the file named, the line named or None).
BROKEN_CODE = {
    "main.js syntax error": ({"main.js": "res.send('a');\nlet = ;\n"}, "main.js", 2),
    "function syntax error": ({"api/a.js": "export default function () {\n  return (;\n}\n"}, "api/a.js", 2),
    "missing relative import": ({"api/a.js": "import x from './_nope.js';\nexport default () => x;\n"}, "api/a.js", None),
    "missing package": ({"api/a.js": "import { z } from 'zod';\nexport default () => z;\n"}, "api/a.js", None),
    # Reached only through CommonJS require() of a string literal (issue 13): a relative file, then a package.
    "required file syntax error": ({**{"api/a.js": "import lib from './_lib/lib.cjs';\nexport default () => lib;\n",
                                       "api/_lib/lib.cjs": "module.exports = require('./helper');\n"},
                                    "api/_lib/helper.js": "exports.a = 1;\nexports.b = (;\n"},
                                   "api/_lib/helper.js", 2),
    "required package syntax error": ({"api/a.js": "import lib from './_lib/lib.cjs';\nexport default () => lib;\n",
                                       "api/_lib/lib.cjs": "const ok = require(\"./ok.json\");\n"
                                                           "module.exports = require('bad-pkg');\n",
                                       "api/_lib/ok.json": "{}",
                                       "node_modules/bad-pkg/package.json": '{"main": "lib/index.js"}',
                                       "node_modules/bad-pkg/lib/index.js":
                                           "module.exports = {\n  a: 1,\n  b: ,\n};\n"},
                                      "node_modules/bad-pkg/lib/index.js", 3),
    "required JSON not JSON": ({"api/a.js": "const data = require('./_data.json');\nmodule.exports = () => data;\n",
                                "api/_data.json": "{\n  \"a\": 1,\n}\n"}, "api/_data.json", 3),
}


@pytest.fixture
def coded(tmp_path):
    """A server with blog at v1, for uploads whose code is checked (not shared: a check that wrongly
    passed would change the site)."""
    live = start_server(str(tmp_path / "data.db"))
    pytest_twisted.blockon(ensureDeferred(deployed(live, V1)))
    yield live
    stop_server(live)


@pytest.mark.parametrize("case", list(BROKEN_CODE))
@pytest_twisted.ensureDeferred
async def test_code_that_does_not_compile_is_refused_and_changes_nothing(coded, case):
    blobs = blob_count(coded.db)
    files, file, line = BROKEN_CODE[case]
    error = assert_error(await post_deploy(coded, *form(make_zip({**V2, **files}))), 400, "INVALID_SCRIPT")
    assert error["details"]["file"] == file
    assert error["message"].startswith(file + ":")
    if line is not None:
        assert error["details"]["line"] == line
    await assert_unchanged(coded)
    assert blob_count(coded.db) == blobs


@pytest_twisted.ensureDeferred
async def test_a_require_the_check_cannot_follow_is_left_to_run_time(coded):
    """An optional package in try/catch, a dynamic require(expr), a require() of a missing file that is
    never reached: none of them refuses the deploy; what a followed require() reaches compiles."""
    files = {"api/a.js": "import lib from './_lib/lib.cjs';\nexport default () => Response.json(lib);\n",
             "api/_lib/lib.cjs": ("let optional = null;\ntry { optional = require('not-installed'); } catch (e) {}\n"
                                  "const name = './dyn' + '.js';\nexports.dyn = () => require(name);\n"
                                  "exports.never = () => require('./absent.js');\n"
                                  "exports.helper = require('./helper').value;\n"),
             "api/_lib/helper.js": "exports.value = 'helped';\n"}
    assert (await post_deploy(coded, *form(make_zip({**V2, **files})))).code == 200
