"""C{fazt certs} against a real HTTP server standing in for fazt (the real server: tests/app/test_https_process.py)."""

from fazt.cli.main import main

CERTS = {
    "data": [
        {"name": "blog.example.com", "issuer": "R11", "not_after": "2027-03-01T00:00:00Z", "status": "valid",
         "last_error": None, "last_attempt": "2026-12-01T00:00:00Z", "next_attempt": "2027-01-30T00:00:00Z"},
        {"name": "shop.example.com", "issuer": None, "not_after": None, "status": "failed",
         "last_error": "validation failed: shop.example.com: connection :: refused",
         "last_attempt": "2026-12-01T00:00:00Z", "next_attempt": "2026-12-01T00:05:00Z"},
    ],
    "meta": {"total": 3, "limit": 100, "offset": 0},
}


def run(fake_server, *argv):
    return main([*argv, "--server", fake_server.url, "--token", "tok"])


def test_certs_prints_a_table(fake_server, capsys):
    fake_server.answer("GET", "/api/certificates?limit=100", 200, CERTS)
    assert run(fake_server, "certs") == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "ISSUER", "EXPIRES", "LAST", "ERROR"]
    assert lines[1].split() == ["blog.example.com", "valid", "R11", "2027-03-01T00:00:00Z", "-"]
    assert lines[2].split()[:4] == ["shop.example.com", "failed", "-", "-"]
    assert lines[2].endswith("validation failed: shop.example.com: connection :: refused")
    assert err == "showing 2 of 3 certificates\n"
    assert fake_server.only_request().headers["Authorization"] == "Bearer tok"


def test_certs_when_there_are_none(fake_server, capsys):
    fake_server.answer("GET", "/api/certificates?limit=100", 200, {"data": [], "meta": {"total": 0}})
    assert run(fake_server, "certs") == 0
    assert capsys.readouterr().out.startswith("No certificates")


def test_certs_refused(fake_server, capsys):
    fake_server.answer("GET", "/api/certificates?limit=100", 403,
                       {"error": {"code": "FORBIDDEN", "message": "admin only"}})
    assert run(fake_server, "certs") == 1
    assert capsys.readouterr().err == "error: admin only (FORBIDDEN)\n"
