"""C{fazt deploy --git} and C{fazt domain ...} against a recording HTTP server: what they send, what
they print, and one clear error line with a non-zero exit on bad usage or a refusal."""

from __future__ import annotations

import pytest

from fazt.cli.main import main


def run(fake_server, *argv):
    return main([*argv, "--server", fake_server.url, "--token", "tok"])


def test_deploy_git_asks_the_server_with_the_ref_folder_and_link(fake_server, capsys):
    fake_server.answer("POST", "/api/sites/blog/git", 200, {"data": {
        "site": "blog", "deployment_id": 3, "file_count": 2, "source_url": "https://example.org/s.git",
        "source_ref": "refs/heads/main", "source_commit": "ab" * 20, "linked_ref": "refs/heads/main",
        "webhook_url": "https://admin.example.com/webhook/git/blog", "webhook_secret": "s3cret",
        "message": "Deployment successful"}})
    assert run(fake_server, "deploy", "--git", "https://example.org/s.git#main", "--dir", "public",
               "--site", "blog", "--link") == 0
    assert fake_server.only_request().json() == {"url": "https://example.org/s.git", "ref": "main",
                                                 "dir": "public", "link": True}
    out = capsys.readouterr().out
    assert "ab" * 20 in out and "https://admin.example.com/webhook/git/blog" in out
    assert out.rstrip().endswith("s3cret")


@pytest.mark.parametrize("argv, message", [
    (("deploy", "--site", "blog"), "give the directory to deploy, or --git URL"),
    (("deploy", "dir", "--site", "blog", "--link"), "--dir and --link go with --git URL"),
    (("deploy", "dir", "--git", "https://example.org/x.git", "--site", "blog"), "either DIR or --git URL"),
    (("deploy", "--git", "#main", "--site", "blog"), "--git needs a repository URL"),
    (("domain", "check", "blog", "example.org", "--port", "0"), "--port must be from 1 to 65535"),
])
def test_bad_usage_is_one_error_line(fake_server, capsys, argv, message):
    assert run(fake_server, *argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and len(err.splitlines()) == 1
    assert fake_server.requests == []


def test_domain_add_list_remove(fake_server, capsys):
    fake_server.answer("POST", "/api/sites/blog/domains", 201, {"data": {"name": "example.org", "www": "redirect"}})
    fake_server.answer("GET", "/api/sites/blog/domains", 200, {"data": [
        {"id": 1, "site": "blog", "name": "example.org", "www": "redirect", "created_at": "2026-12-07T00:00:00Z"}],
        "meta": {"total": 1, "limit": 50, "offset": 0}})
    fake_server.answer("DELETE", "/api/sites/blog/domains/example.org", 200, {"data": {"message": "Domain removed"}})
    assert run(fake_server, "domain", "add", "blog", "example.org", "--www", "redirect") == 0
    assert fake_server.requests[0].json() == {"name": "example.org", "www": "redirect"}
    assert run(fake_server, "domain", "list", "blog") == 0
    assert run(fake_server, "domain", "remove", "blog", "example.org") == 0
    out = capsys.readouterr().out
    assert "example.org" in out and "redirect" in out and "no longer answers on example.org" in out


@pytest.mark.parametrize("result, code, shown", [("reaches_this_server", 0, "reaches this server"),
                                                 ("resolves_elsewhere", 1, "resolves elsewhere"),
                                                 ("does_not_resolve", 1, "does not resolve")])
def test_domain_check_says_which_case_and_exits_zero_only_when_it_reaches(fake_server, capsys, result, code, shown):
    fake_server.answer("POST", "/api/sites/blog/domains/example.org/check", 200, {"data": {
        "name": "example.org", "result": result, "addresses": ["192.0.2.7"], "registered": True,
        "message": f"example.org: {shown}"}})
    assert run(fake_server, "domain", "check", "blog", "example.org", "--port", "8080") == code
    assert fake_server.only_request().json() == {"port": 8080}
    captured = capsys.readouterr()
    assert f"example.org: {shown}" in captured.out
    assert (captured.err == "") == (code == 0)


def test_domain_add_refused_by_the_server(fake_server, capsys):
    fake_server.answer("POST", "/api/sites/blog/domains", 409, {"error": {
        "code": "CONFLICT", "message": "example.org is already registered"}})
    assert run(fake_server, "domain", "add", "blog", "example.org") == 1
    assert capsys.readouterr().err == "error: example.org is already registered (CONFLICT)\n"
