"""
Tests for C{fazt deploy} against a real HTTP server that checks the upload.
"""

import http.client
import io
import json
import os
import zipfile

import pytest

from fazt.cli.main import main
from fazt.cli.multipart import UPLOAD_CHUNK_SIZE

DEPLOYED = {
    "data": {
        "site": "blog",
        "deployment_id": 42,
        "file_count": 2,
        "size_bytes": 1536,
        "url": "http://blog.example.com",
        "message": "Deployed blog",
    }
}


@pytest.fixture
def site_dir(tmp_path):
    """A small site with a dot-file and dot-directories to leave out (.fazt/ is `fazt dev`'s scratch folder)."""
    root = tmp_path / "public"
    (root / "css").mkdir(parents=True)
    (root / "index.html").write_bytes(b"<h1>blog</h1>")
    (root / "css" / "site.css").write_bytes(b"h1{color:red}")
    (root / ".env").write_bytes(b"SECRET=1")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_bytes(b"ref")
    (root / ".fazt").mkdir()
    (root / ".fazt" / "dev.db").write_bytes(b"SQLite format 3\x00")
    return root


@pytest.fixture
def scratch_dir(tmp_path, monkeypatch):
    """Where temporary files go during the test, to check none are left."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    return scratch


def uploaded_zip(request, parse_form):
    """Check the multipart upload of C{request}; return its form and zip."""
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert int(request.headers["Content-Length"]) == len(request.body)
    form = parse_form(request.headers["Content-Type"], request.body)
    assert set(form) == {"site_name", "file"}
    assert form["file"].filename == "deploy.zip"
    assert form["file"].content_type == "application/zip"
    return form, zipfile.ZipFile(io.BytesIO(form["file"].content))


def test_deploy_uploads_the_zip_and_prints_the_result(
    fake_server, site_dir, scratch_dir, parse_form, capsys
):
    fake_server.answer("POST", "/api/deploy", 200, DEPLOYED)

    status = main(["deploy", str(site_dir), "--site", "blog",
                   "--server", fake_server.url, "--token", "secret-token"])

    out, err = capsys.readouterr()
    assert status == 0, err
    request = fake_server.only_request()
    assert (request.method, request.path) == ("POST", "/api/deploy")
    assert request.headers["Authorization"] == "Bearer secret-token"
    form, archive = uploaded_zip(request, parse_form)
    assert form["site_name"].content == b"blog"
    assert sorted(archive.namelist()) == ["css/site.css", "index.html"]
    assert archive.read("index.html") == b"<h1>blog</h1>"
    assert "http://blog.example.com" in out
    assert "42" in out
    assert "files:         2" in out
    assert "1.5 KiB (1536 bytes)" in out
    assert list(scratch_dir.iterdir()) == []


def test_deploy_reads_server_and_token_from_environment(
    fake_server, site_dir, monkeypatch, capsys
):
    fake_server.answer("POST", "/api/deploy", 200, DEPLOYED)
    monkeypatch.setenv("FAZT_SERVER", fake_server.url)
    monkeypatch.setenv("FAZT_TOKEN", "env-token")

    assert main(["deploy", str(site_dir), "--site", "blog"]) == 0
    assert fake_server.only_request().headers["Authorization"] == "Bearer env-token"


def test_deploy_reads_the_config_file(fake_server, site_dir, isolated_environment, capsys):
    fake_server.answer("POST", "/api/deploy", 200, DEPLOYED)
    config = isolated_environment / ".config" / "fazt" / "config.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"server": fake_server.url, "token": "file-token"}))

    assert main(["deploy", str(site_dir), "--site", "blog"]) == 0
    assert fake_server.only_request().headers["Authorization"] == "Bearer file-token"


@pytest.mark.parametrize(
    "status, code, message",
    [
        (401, "INVALID_API_KEY", "Invalid API key"),
        (403, "FORBIDDEN", "This key may not deploy blog"),
        (413, "PAYLOAD_TOO_LARGE", "Archive exceeds 100 MiB"),
        (400, "INVALID_ZIP", "Entry ../x escapes the site"),
    ],
)
def test_deploy_error_envelope_is_one_line_and_exit_1(
    fake_server, site_dir, scratch_dir, capsys, status, code, message
):
    fake_server.answer("POST", "/api/deploy", status, {"error": {"code": code, "message": message}})

    result = main(["deploy", str(site_dir), "--site", "blog",
                   "--server", fake_server.url, "--token", "t"])

    out, err = capsys.readouterr()
    assert result == 1
    assert out == ""
    assert err.splitlines()[-1] == f"error: {message} ({code})"
    assert "Traceback" not in err
    assert list(scratch_dir.iterdir()) == []


def test_deploy_non_json_answer_is_a_clear_error(fake_server, site_dir, capsys):
    fake_server.answer("POST", "/api/deploy", 502, raw_body=b"<html>Bad Gateway</html>",
                       content_type="text/html")

    result = main(["deploy", str(site_dir), "--site", "blog",
                   "--server", fake_server.url, "--token", "t"])

    err = capsys.readouterr().err
    assert result == 1
    assert "502" in err and "not JSON" in err
    assert len(err.strip().splitlines()) == 2  # the "packed" note, then the error


def test_deploy_without_token_says_how_to_pass_one(fake_server, site_dir, capsys):
    result = main(["deploy", str(site_dir), "--site", "blog", "--server", fake_server.url])

    err = capsys.readouterr().err
    assert result == 1
    assert err.startswith("error: no API token")
    assert "--token" in err and "FAZT_TOKEN" in err
    assert fake_server.requests == []


def test_deploy_missing_directory(fake_server, tmp_path, capsys):
    result = main(["deploy", str(tmp_path / "nope"), "--site", "blog",
                   "--server", fake_server.url, "--token", "t"])
    assert result == 1
    assert capsys.readouterr().err == f"error: directory not found: {tmp_path / 'nope'}\n"
    assert fake_server.requests == []


def test_deploy_empty_directory(fake_server, tmp_path, capsys):
    (tmp_path / "empty" / ".git").mkdir(parents=True)
    result = main(["deploy", str(tmp_path / "empty"), "--site", "blog",
                   "--server", fake_server.url, "--token", "t"])
    assert result == 1
    assert capsys.readouterr().err.startswith("error: nothing to deploy")
    assert fake_server.requests == []


def test_deploy_to_unreachable_server(site_dir, scratch_dir, capsys):
    result = main(["deploy", str(site_dir), "--site", "blog",
                   "--server", "http://127.0.0.1:1", "--token", "t"])
    err = capsys.readouterr().err
    assert result == 1
    assert err.splitlines()[-1].startswith("error: cannot reach http://127.0.0.1:1")
    assert list(scratch_dir.iterdir()) == []


def test_large_deploy_is_streamed_in_chunks(
    fake_server, tmp_path, scratch_dir, parse_form, monkeypatch, capsys
):
    content = os.urandom(5 * 1024 * 1024)
    site = tmp_path / "big"
    site.mkdir()
    (site / "blob.bin").write_bytes(content)
    fake_server.answer("POST", "/api/deploy", 200, DEPLOYED)

    sent_sizes = []
    original_send = http.client.HTTPConnection.send

    def recording_send(connection, data):
        sent_sizes.append(len(data))
        return original_send(connection, data)

    monkeypatch.setattr(http.client.HTTPConnection, "send", recording_send)

    result = main(["deploy", str(site), "--site", "big",
                   "--server", fake_server.url, "--token", "t"])

    out, err = capsys.readouterr()
    assert result == 0, err
    request = fake_server.only_request()
    form, archive = uploaded_zip(request, parse_form)
    assert archive.read("blob.bin") == content
    assert sum(sent_sizes) > len(content)
    assert max(sent_sizes) <= UPLOAD_CHUNK_SIZE
    assert len(sent_sizes) >= len(content) // UPLOAD_CHUNK_SIZE
    progress_lines = [line for line in err.splitlines() if line.startswith("uploading:")]
    assert [line.split()[1] for line in progress_lines] == ["25%", "50%", "75%", "100%"]
    assert list(scratch_dir.iterdir()) == []


def test_small_deploy_shows_no_progress(fake_server, site_dir, capsys):
    fake_server.answer("POST", "/api/deploy", 200, DEPLOYED)
    main(["deploy", str(site_dir), "--site", "blog", "--server", fake_server.url, "--token", "t"])
    assert "uploading" not in capsys.readouterr().err


def test_server_that_answers_before_reading_the_upload(fake_server, tmp_path, capsys):
    site = tmp_path / "big"
    site.mkdir()
    (site / "blob.bin").write_bytes(os.urandom(8 * 1024 * 1024))
    fake_server.answer("POST", "/api/deploy", 401,
                       {"error": {"code": "INVALID_API_KEY", "message": "Invalid API key"}},
                       read_body=False)

    result = main(["deploy", str(site), "--site", "big",
                   "--server", fake_server.url, "--token", "t"])

    err = capsys.readouterr().err
    assert result == 1
    # Refused on its headers, before the 100 Continue it waits for: nothing was uploaded.
    assert err.splitlines()[-1] == "error: Invalid API key (INVALID_API_KEY)"
    assert "uploading" not in err and "Traceback" not in err


def test_deploy_asks_for_100_continue_and_uploads_anyway_when_none_comes(fake_server, site_dir, parse_form):
    # The fake server speaks HTTP/1.0: it never sends "100 Continue"; the CLI goes on after its short wait.
    fake_server.answer("POST", "/api/deploy", 200, DEPLOYED)

    assert main(["deploy", str(site_dir), "--site", "blog", "--server", fake_server.url, "--token", "t"]) == 0

    request = fake_server.only_request()
    assert request.headers["Expect"] == "100-continue"
    form, archive = uploaded_zip(request, parse_form)
    assert archive.read("index.html") == b"<h1>blog</h1>"

