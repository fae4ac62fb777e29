"""Tests for fazt.base.mimetypes."""

import mimetypes as stdlib_mimetypes

import pytest
from hypothesis import given, strategies as st

from fazt.base.mimetypes import DEFAULT_TYPE, content_type_for, is_compressible

UTF8 = "; charset=utf-8"


@pytest.mark.parametrize(
    "path, expected",
    [
        ("index.html", "text/html" + UTF8),
        ("a/b/page.htm", "text/html" + UTF8),
        ("style.css", "text/css" + UTF8),
        ("app.js", "text/javascript" + UTF8),
        ("mod.mjs", "text/javascript" + UTF8),
        ("data.json", "application/json" + UTF8),
        ("app.js.map", "application/json" + UTF8),
        ("robots.txt", "text/plain" + UTF8),
        ("README.md", "text/markdown" + UTF8),
        ("feed.xml", "application/xml" + UTF8),
        ("logo.svg", "image/svg+xml" + UTF8),
        ("favicon.ico", "image/x-icon"),
        ("a.png", "image/png"),
        ("a.jpg", "image/jpeg"),
        ("a.jpeg", "image/jpeg"),
        ("a.gif", "image/gif"),
        ("a.webp", "image/webp"),
        ("a.avif", "image/avif"),
        ("f.woff", "font/woff"),
        ("f.woff2", "font/woff2"),
        ("f.ttf", "font/ttf"),
        ("f.otf", "font/otf"),
        ("f.eot", "application/vnd.ms-fontobject"),
        ("doc.pdf", "application/pdf"),
        ("bundle.zip", "application/zip"),
        ("mod.wasm", "application/wasm"),
        ("v.mp4", "video/mp4"),
        ("v.webm", "video/webm"),
        ("s.mp3", "audio/mpeg"),
        ("s.ogg", "audio/ogg"),
        ("s.wav", "audio/wav"),
        ("t.csv", "text/csv" + UTF8),
        ("site.webmanifest", "application/manifest+json" + UTF8),
    ],
)
def test_known_extensions(path, expected):
    assert content_type_for(path) == expected


@pytest.mark.parametrize("path", ["INDEX.HTML", "/Assets/Logo.SvG", "x.Js"])
def test_extension_is_case_insensitive(path):
    assert content_type_for(path) == content_type_for(path.lower())


@pytest.mark.parametrize(
    "path", ["", "/", "Makefile", "archive.unknownext", ".env", "dir/.htaccess", "trailingdot.", "dir.html/"]
)
def test_unknown_or_missing_extension_is_octet_stream(path):
    assert content_type_for(path) == DEFAULT_TYPE


def test_only_last_segment_extension_counts():
    assert content_type_for("v1.2/file") == DEFAULT_TYPE
    assert content_type_for("styles.css/app.js") == "text/javascript" + UTF8
    assert content_type_for("archive.tar.gz") == "application/gzip"


def test_independent_of_host_mime_database():
    # Even if the stdlib table is polluted, our answer must not change.
    before = content_type_for("a.webmanifest")
    stdlib_mimetypes.add_type("application/x-bogus", ".webmanifest")
    stdlib_mimetypes.add_type("application/x-bogus", ".js")
    try:
        assert content_type_for("a.webmanifest") == before
        assert content_type_for("a.js") == "text/javascript" + UTF8
    finally:
        stdlib_mimetypes.init()


@pytest.mark.parametrize(
    "content_type",
    [
        "text/html; charset=utf-8",
        "text/css",
        "text/plain;charset=UTF-8",
        "TEXT/CSV",
        "application/javascript",
        "text/javascript; charset=utf-8",
        "application/json",
        "application/xml",
        "image/svg+xml",
        "application/wasm",
        "application/manifest+json; charset=utf-8",
        "application/vnd.api+json",
        "application/atom+xml",
        "image/x-icon",
        "font/ttf",
    ],
)
def test_compressible(content_type):
    assert is_compressible(content_type)


@pytest.mark.parametrize(
    "content_type",
    [
        "image/png",
        "image/jpeg",
        "image/webp",
        "image/avif",
        "image/gif",
        "font/woff",
        "font/woff2",
        "application/zip",
        "application/gzip",
        "application/pdf",
        "video/mp4",
        "audio/mpeg",
        "application/octet-stream",
        "",
    ],
)
def test_not_compressible(content_type):
    assert not is_compressible(content_type)


def test_every_mapped_text_type_is_compressible():
    for ext in ["html", "css", "js", "json", "svg", "xml", "txt", "md", "csv", "webmanifest", "map"]:
        assert is_compressible(content_type_for("f." + ext)), ext


@given(st.text())
def test_content_type_for_never_raises(path):
    result = content_type_for(path)
    assert isinstance(result, str) and "/" in result


@given(st.text())
def test_is_compressible_never_raises(value):
    assert isinstance(is_compressible(value), bool)
