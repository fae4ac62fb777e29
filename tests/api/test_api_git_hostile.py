"""Deploy from Git against a hostile Git server on 127.0.0.1 (a live fazt tree, the admin API): an
endless ref list and a trickling server get a clear error in the envelope, never a 500 and never a
fetch without end; slow fetches hold only their own threads, so uploads still deploy, and too
many waiting fetches are refused with 503 GIT_BUSY; stopping the server cuts a running fetch."""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from contextlib import closing

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import ensureDeferred
from twisted.internet.task import deferLater

from fazt.deploy.gitdeploy import MAX_WAITING, THREADS
from fazt.store.sources import GitLink, set_link
from fazt.web import gitwebhook
from fazt_testing import assert_error, start_server, stop_server
from git_testing import HostileGitServer

HOST = "blog.example.test"


@pytest.fixture
def hostile(request):
    server = HostileGitServer(request.param)
    yield server
    server.stop()


def start(tmp_path, hostile, *extra):
    return start_server(str(tmp_path / "data.db"),
                        extra_args=("--unsafe-git-fetch-allow", f"127.0.0.1:{hostile.port}", *extra))


@pytest.fixture
def live(tmp_path, hostile, request):
    server = start(tmp_path, hostile, *getattr(request, "param", ()))
    yield server
    hostile.release()  # fetches still running end now, so the fetch threads can stop
    stop_server(server)


def git_deploy(server, url: str):
    headers = {"Authorization": f"Bearer {server.admin_token}", "Content-Type": "application/json",
               "Host": "admin.example.test"}
    return ensureDeferred(server.request("POST", "/api/sites/blog/git", headers=headers,
                                         body=json.dumps({"url": url}).encode()))


async def until(predicate, what: str) -> None:
    for _ in range(600):
        if predicate():
            return
        await deferLater(reactor, 0.05, lambda: None)
    raise AssertionError(f"never: {what}")


@pytest.mark.parametrize("hostile, live, status, code", [
    ("endless", (), 413, "PAYLOAD_TOO_LARGE"),
    ("trickle", ("--git-fetch-seconds", "2"), 422, "GIT_TIMEOUT"),
], indirect=["hostile", "live"])
@pytest_twisted.ensureDeferred
async def test_a_hostile_git_server_gets_a_clear_error(hostile, live, status, code):
    error = assert_error(await git_deploy(live, hostile.url()), status, code)
    assert "Git server" in error["message"] or "list of refs" in error["message"]
    assert not hostile.released.is_set()  # fazt gave up; the server would have gone on
    listing = await live.request("GET", "/api/sites/blog/deployments", headers={
        "Authorization": f"Bearer {live.admin_token}", "Host": "admin.example.test"})
    assert_error(listing, 404, "SITE_NOT_FOUND")  # nothing was deployed


@pytest.mark.parametrize("hostile", ["trickle"], indirect=True)
@pytest_twisted.ensureDeferred
async def test_slow_git_fetches_do_not_hold_up_uploads(hostile, live):
    running = [git_deploy(live, hostile.url()) for _ in range(THREADS)]
    await until(lambda: hostile.connections == THREADS, "every fetch thread busy with the slow server")
    waiting = [git_deploy(live, hostile.url()) for _ in range(MAX_WAITING)]

    # An upload deploys while every fetch thread waits on the slow server.
    uploaded = await live.deploy("blog", {"index.html": "<h1>uploaded</h1>"})
    assert uploaded.code == 200, uploaded.body
    page = await live.get("/", HOST)
    assert (page.code, page.body) == (200, b"<h1>uploaded</h1>")
    assert not any(fetch.called for fetch in running + waiting)

    # One more than may wait is refused at once.
    assert_error(await git_deploy(live, hostile.url()), 503, "GIT_BUSY")

    # The server hangs up: every fetch, those that waited too, gets an error of the remote's.
    hostile.release()
    for fetch in running + waiting:
        assert_error(await fetch, 422, "GIT_FETCH_FAILED")
    assert hostile.connections == THREADS + MAX_WAITING


@pytest.mark.parametrize("hostile", ["trickle"], indirect=True)
@pytest_twisted.ensureDeferred
async def test_stopping_the_server_cuts_a_running_fetch(hostile, tmp_path):
    server = start(tmp_path, hostile)
    git_deploy(server, hostile.url()).addErrback(lambda _: None)  # its answer may never be sent
    await until(lambda: hostile.connections == 1, "the fetch started")
    await server.listener.stopListening()
    await server.pool.closeCachedConnections()
    await server.services.stopService()  # joins the fetch threads: once the fetch is cut, not at its deadline
    await until(lambda: hostile.hangups == 1, "the fetch hung up")
    assert not hostile.released.is_set()


@pytest.fixture
def quick_answer(monkeypatch):
    monkeypatch.setattr(gitwebhook, "ANSWER_WITHIN", 0.5)  # read when the webhook is built (8 s in use)


@pytest.mark.parametrize("hostile, live", [("trickle", ("--git-fetch-seconds", "30"))], indirect=True)
@pytest_twisted.ensureDeferred
async def test_a_push_whose_deploy_is_slow_is_answered_202_and_the_deploy_goes_on(quick_answer, hostile, live):
    # GitHub gives up on a webhook delivery after 10 s: a slow fetch must not show there as a failure.
    assert (await live.deploy("blog", {"index.html": "<h1>uploaded</h1>"})).code == 200
    secret = "s3cret"
    with closing(sqlite3.connect(live.db)) as conn, conn:
        set_link(conn, GitLink("blog", hostile.url(), "refs/heads/main", "", secret, 0))
    body = json.dumps({"ref": "refs/heads/main"}).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    answer = await live.request("POST", "/webhook/git/blog", host="admin.example.test", body=body, headers={
        "X-Hub-Signature-256": signature, "X-GitHub-Event": "push", "Content-Type": "application/json"})
    assert answer.code == 202, answer.body
    assert answer.json()["data"]["deploying"] is True
    await until(lambda: hostile.connections >= 1, "the deploy still fetching after the answer")
    assert not hostile.released.is_set()
