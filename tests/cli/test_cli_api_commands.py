"""
Tests for the API client commands other than deploy: C{sites},
C{deployments}, C{rollback} and C{status}, against a real HTTP server.
"""

import pytest

from fazt.cli.main import main

SITES = {
    "data": [
        {"name": "blog", "url": "http://blog.example.com", "active_deployment_id": 7,
         "file_count": 12, "size_bytes": 2 * 1024 * 1024, "updated_at": "2026-01-02T03:04:05Z"},
        {"name": "root", "url": "http://example.com", "active_deployment_id": None,
         "file_count": 0, "size_bytes": 0, "updated_at": None},
    ],
    "meta": {"total": 2, "limit": 50, "offset": 0},
}

DEPLOYMENTS = {
    "data": [
        {"id": 8, "site": "blog", "created_at": "2026-01-03T00:00:00Z", "file_count": 3,
         "size_bytes": 2048, "deployed_by": "laptop", "active": True,
         "source_url": "https://example.org/s.git", "source_ref": "refs/heads/main",
         "source_commit": "0123456789abcdef0123456789abcdef01234567"},
        {"id": 7, "site": "blog", "created_at": "2026-01-02T00:00:00Z", "file_count": 2,
         "size_bytes": 100, "deployed_by": "ci", "active": False},
    ],
    "meta": {"total": 5, "limit": 2, "offset": 0},
}


def run(fake_server, *argv, token="tok"):
    """Run C{fazt ARGV} against the fake server."""
    return main([*argv, "--server", fake_server.url, "--token", token])


def test_sites_prints_a_table(fake_server, capsys):
    fake_server.answer("GET", "/api/sites", 200, SITES)

    assert run(fake_server, "sites") == 0

    out = capsys.readouterr().out.splitlines()
    request = fake_server.only_request()
    assert request.headers["Authorization"] == "Bearer tok"
    assert out[0].split() == ["NAME", "URL", "DEPLOYMENT", "FILES", "SIZE", "UPDATED"]
    assert out[1].split() == ["blog", "http://blog.example.com", "7", "12", "2.0", "MiB",
                              "2026-01-02T03:04:05Z"]
    assert out[2].split() == ["root", "http://example.com", "-", "0", "0", "B", "-"]
    assert out[1].index("http://") == out[0].index("URL")


def test_sites_when_there_are_none(fake_server, capsys):
    fake_server.answer("GET", "/api/sites", 200, {"data": [], "meta": {"total": 0}})
    assert run(fake_server, "sites") == 0
    assert capsys.readouterr().out == "No sites.\n"


def test_sites_with_a_rejected_token(fake_server, capsys):
    fake_server.answer("GET", "/api/sites", 401,
                       {"error": {"code": "INVALID_API_KEY", "message": "Invalid API key"}})
    assert run(fake_server, "sites", token="wrong") == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "error: Invalid API key (INVALID_API_KEY)\n"


def test_sites_without_a_token(fake_server, capsys):
    assert main(["sites", "--server", fake_server.url]) == 1
    assert "--token" in capsys.readouterr().err
    assert fake_server.requests == []


def test_deployments_prints_a_table_and_notes_a_partial_list(fake_server, capsys):
    fake_server.answer("GET", "/api/sites/blog/deployments", 200, DEPLOYMENTS)

    assert run(fake_server, "deployments", "blog") == 0

    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "CREATED", "FILES", "SIZE", "DEPLOYED", "BY", "SOURCE", "ACTIVE"]
    assert lines[1].split() == ["8", "2026-01-03T00:00:00Z", "3", "2.0", "KiB", "laptop", "0123456789ab", "yes"]
    assert lines[2].split() == ["7", "2026-01-02T00:00:00Z", "2", "100", "B", "ci", "-", "no"]
    assert err == "showing 2 of 5 deployments\n"


def test_deployments_of_an_unknown_site(fake_server, capsys):
    fake_server.answer("GET", "/api/sites/nope/deployments", 404,
                       {"error": {"code": "SITE_NOT_FOUND", "message": "Site not found"}})
    assert run(fake_server, "deployments", "nope") == 1
    assert capsys.readouterr().err == "error: Site not found (SITE_NOT_FOUND)\n"


def test_site_names_are_quoted_in_the_path(fake_server, capsys):
    run(fake_server, "deployments", "a/b c")
    assert fake_server.only_request().path == "/api/sites/a%2Fb%20c/deployments"


@pytest.mark.parametrize("extra, expected_body", [([], {}), (["--to", "3"], {"deployment_id": 3})])
def test_rollback_posts_json(fake_server, capsys, extra, expected_body):
    fake_server.answer("POST", "/api/sites/blog/rollback", 200,
                       {"data": {"site": "blog", "deployment_id": 3,
                                 "message": "Rolled back blog to deployment 3"}})

    assert run(fake_server, "rollback", "blog", *extra) == 0

    request = fake_server.only_request()
    assert request.headers["Content-Type"] == "application/json"
    assert int(request.headers["Content-Length"]) == len(request.body)
    assert request.json() == expected_body
    out = capsys.readouterr().out
    assert "Rolled back blog to deployment 3" in out
    assert "deployment id: 3" in out


def test_rollback_refused(fake_server, capsys):
    fake_server.answer("POST", "/api/sites/blog/rollback", 409,
                       {"error": {"code": "CONFLICT", "message": "No earlier deployment"}})
    assert run(fake_server, "rollback", "blog") == 1
    assert capsys.readouterr().err == "error: No earlier deployment (CONFLICT)\n"


def test_rollback_needs_a_numeric_id(fake_server, capsys):
    assert run(fake_server, "rollback", "blog", "--to", "latest") == 2
    assert "invalid int value" in capsys.readouterr().err


def test_status_of_a_healthy_server(fake_server, capsys):
    fake_server.answer("GET", "/health", 200, raw_body=b"OK", content_type="text/plain")
    fake_server.answer("GET", "/api/system/health", 200,
                       {"data": {"status": "healthy", "version": "0.1.0",
                                 "uptime_seconds": 93784, "sites": 4}})

    assert run(fake_server, "status") == 0

    out = capsys.readouterr().out
    assert f"server:  {fake_server.url}" in out
    assert "status:  healthy" in out
    assert "version: 0.1.0" in out
    assert "uptime:  1d 2h" in out
    assert "sites:   4" in out
    assert [r.path for r in fake_server.requests] == ["/health", "/api/system/health"]


def test_status_without_a_token_checks_only_health(fake_server, capsys):
    fake_server.answer("GET", "/health", 200, raw_body=b"OK", content_type="text/plain")
    assert main(["status", "--server", fake_server.url]) == 0
    out, err = capsys.readouterr()
    assert "status:  ok" in out
    assert "--token" in err
    assert [r.path for r in fake_server.requests] == ["/health"]
    assert "Authorization" not in fake_server.requests[0].headers


def test_status_of_an_unhealthy_server(fake_server, capsys):
    fake_server.answer("GET", "/health", 503, raw_body=b"Database unhealthy",
                       content_type="text/plain")
    assert run(fake_server, "status") == 1
    assert "unhealthy (503 Service Unavailable: Database unhealthy)" in capsys.readouterr().out


def test_status_of_an_unreachable_server(capsys):
    assert main(["status", "--server", "http://127.0.0.1:1"]) == 1
    out, err = capsys.readouterr()
    assert err == ("error: cannot reach http://127.0.0.1:1: "
                   "connection refused (is the server running?)\n")


def test_answer_without_data_is_a_clear_error(fake_server, capsys):
    fake_server.answer("GET", "/api/sites", 200, {"sites": []})
    assert run(fake_server, "sites") == 1
    assert 'without a "data" member' in capsys.readouterr().err


def test_error_status_without_an_envelope(fake_server, capsys):
    fake_server.answer("GET", "/api/sites", 500, {"oops": True})
    assert run(fake_server, "sites") == 1
    assert capsys.readouterr().err == "error: Internal Server Error (HTTP_500)\n"


def test_server_url_with_a_path_prefix(fake_server, capsys):
    fake_server.answer("GET", "/fazt/api/sites", 200, {"data": []})
    assert main(["sites", "--server", fake_server.url + "/fazt/", "--token", "t"]) == 0
    assert fake_server.only_request().path == "/fazt/api/sites"
