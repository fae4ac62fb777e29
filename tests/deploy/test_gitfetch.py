"""Fetching one ref from a real Git server on 127.0.0.1 (fazt.deploy.gitfetch, gittree): refs, tags,
folders, limits, and the address check applied to every connection made, redirects included."""

from __future__ import annotations

import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fazt.base.errors import ApiError
from fazt.deploy.archive import Limits
from fazt.deploy.gitbudget import MIB, FetchBudget
from fazt.deploy.gitfetch import FetchLimits, allowance, fetch_ref
from fazt.deploy.gittree import clean_dir, write_zip
from git_testing import HostileGitServer, git_server  # noqa: F401


@pytest.fixture
def repo(git_server):
    repo = git_server.repo("site")
    repo.commit({"index.html": "main", "app/index.html": "app", "app/css/a.css": "a{}"})
    repo.tag("v1")
    repo.commit({"index.html": "main two"})
    repo.commit({"index.html": "dev"}, branch="dev")
    return repo


def fetch(server, ref, tmp_path, reach=None, limits=FetchLimits(), url=None):
    tmp_path.mkdir(exist_ok=True)
    with open(tmp_path / "pack", "w+b") as pack:
        return fetch_ref(url or server.url("site"), ref, str(tmp_path / "repo"), pack,
                         reach or allowance(f"127.0.0.1:{server.port}"), limits)


def files_of(fetched, subdir, tmp_path) -> dict:
    with open(tmp_path / "out.zip", "w+b") as out:
        write_zip(fetched.repo, fetched.commit, subdir, out, Limits())
        with zipfile.ZipFile(out) as archive:
            return {name: archive.read(name).decode() for name in archive.namelist()}


@pytest.mark.parametrize("ref, full, text", [(None, "refs/heads/main", "main two"), ("dev", "refs/heads/dev", "dev"),
                                             ("v1", "refs/tags/v1", "main"),
                                             ("refs/heads/dev", "refs/heads/dev", "dev")])
def test_a_ref_is_fetched_with_its_files(git_server, repo, tmp_path, ref, full, text):
    fetched = fetch(git_server, ref, tmp_path)
    assert fetched.ref == full
    assert files_of(fetched, "", tmp_path)["index.html"] == text
    fetched.repo.close()


def test_a_folder_becomes_the_top(git_server, repo, tmp_path):
    fetched = fetch(git_server, "v1", tmp_path)
    assert files_of(fetched, clean_dir("/app/"), tmp_path) == {"index.html": "app", "css/a.css": "a{}"}
    with pytest.raises(ApiError) as missing, open(tmp_path / "x.zip", "w+b") as out:
        write_zip(fetched.repo, fetched.commit, "nope", out, Limits())
    assert missing.value.code == "GIT_DIR_NOT_FOUND"
    fetched.repo.close()


@pytest.mark.parametrize("raw", ["../x", "a/../../b", "a\\b"])
def test_a_folder_cannot_leave_the_tree(raw):
    with pytest.raises(ApiError) as refused:
        clean_dir(raw)
    assert refused.value.code == "VALIDATION_FAILED"


def test_errors_have_codes(git_server, repo, tmp_path):
    with pytest.raises(ApiError) as unknown:
        fetch(git_server, "nope", tmp_path / "a")
    assert (unknown.value.status, unknown.value.code) == (404, "GIT_REF_NOT_FOUND")
    with pytest.raises(ApiError) as large:
        fetch(git_server, None, tmp_path / "b", limits=FetchLimits(max_pack_bytes=100))
    assert (large.value.status, large.value.code) == (413, "PAYLOAD_TOO_LARGE")
    with pytest.raises(ApiError) as absent:
        fetch(git_server, None, tmp_path / "c", url=f"http://127.0.0.1:{git_server.port}/absent.git")
    assert (absent.value.status, absent.value.code) == (422, "GIT_FETCH_FAILED")


class _Redirect(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(302)
        self.send_header("Location", self.server.target + self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_redirect_is_checked_on_the_connection_it_makes(git_server, repo, tmp_path):
    redirector = ThreadingHTTPServer(("127.0.0.1", 0), _Redirect)
    redirector.target = f"http://127.0.0.1:{git_server.port}"
    threading.Thread(target=redirector.serve_forever, daemon=True).start()
    try:
        # Allowed: the redirector's port only. The repository's port is loopback like any other.
        reach = allowance(f"127.0.0.1:{redirector.server_address[1]}")
        with pytest.raises(ApiError) as refused:
            fetch(git_server, None, tmp_path, reach=reach,
                  url=f"http://127.0.0.1:{redirector.server_address[1]}/site.git")
        assert refused.value.code == "GIT_URL_BLOCKED"
        assert "127.0.0.1" in refused.value.message
    finally:
        redirector.shutdown()
        redirector.server_close()


@pytest.mark.parametrize("url", ["http://10.0.0.1/x.git", "http://[::1]/x.git", "ftp://example.org/x.git",
                                 "http://user:pw@example.org/x.git", "http://localhost:1/x.git"])
def test_private_or_odd_urls_are_refused_before_anything_is_fetched(tmp_path, url):
    with pytest.raises(ApiError) as refused, open(tmp_path / "pack", "w+b") as pack:
        fetch_ref(url, None, str(tmp_path / "repo"), pack)
    assert (refused.value.status, refused.value.code) == (400, "GIT_URL_BLOCKED")


@pytest.fixture
def hostile(request):
    server = HostileGitServer(request.param, max_bytes=16 * MIB)
    yield server
    server.stop()


def fetch_from(server, tmp_path, limits, budget=None):
    with open(tmp_path / "pack", "w+b") as pack:
        return fetch_ref(server.url(), None, str(tmp_path / "repo"), pack, allowance(f"127.0.0.1:{server.port}"),
                         limits, budget=budget)


@pytest.mark.parametrize("hostile", ["endless"], indirect=True)
def test_an_endless_list_of_refs_is_cut_at_its_cap(hostile, tmp_path):
    with pytest.raises(ApiError) as large:
        fetch_from(hostile, tmp_path, FetchLimits(max_refs_bytes=256 * 1024))
    assert (large.value.status, large.value.code) == (413, "PAYLOAD_TOO_LARGE")
    assert "list of refs" in large.value.message
    assert not hostile.released.is_set()  # cut by the cap, while the server still had more to send


@pytest.mark.parametrize("hostile", ["pack"], indirect=True)
def test_an_endless_pack_answer_is_cut_at_its_cap(hostile, tmp_path):
    with pytest.raises(ApiError) as large:
        fetch_from(hostile, tmp_path, FetchLimits(max_pack_bytes=64 * 1024))
    assert (large.value.status, large.value.code) == (413, "PAYLOAD_TOO_LARGE")


@pytest.mark.parametrize("hostile", ["trickle"], indirect=True)
def test_a_trickling_server_runs_out_of_time(hostile, tmp_path):
    with pytest.raises(ApiError) as late:
        fetch_from(hostile, tmp_path, FetchLimits(seconds=1))
    assert (late.value.status, late.value.code) == (422, "GIT_TIMEOUT")
    assert not hostile.released.is_set()


@pytest.mark.parametrize("hostile", ["trickle"], indirect=True)
def test_expiring_the_budget_from_another_thread_ends_a_blocked_fetch(hostile, tmp_path):
    limits = FetchLimits(seconds=600, socket_timeout=600)
    budget = FetchBudget(limits)
    threading.Timer(0.5, budget.expire).start()  # what the reactor's watchdog does at the deadline
    with pytest.raises(ApiError) as late:
        fetch_from(hostile, tmp_path, limits, budget)
    assert late.value.code == "GIT_TIMEOUT"
    assert not hostile.released.is_set()
