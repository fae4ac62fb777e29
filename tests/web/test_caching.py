"""Tests for fazt.web.caching."""

import pytest
from hypothesis import given, strategies as st

from fazt.web.caching import (
    CACHE_HTML,
    CACHE_IMMUTABLE,
    CACHE_SHORT,
    cache_control_for,
    choose_encoding,
    is_fingerprinted,
)

BOTH = ("br", "gzip")


# --- fingerprinting --------------------------------------------------------

@pytest.mark.parametrize(
    "path",
    [
        "app.3f9a1c2b.js",
        "assets/index-3f9a1c2b.css",
        "/static/3f9a1c2b9d/x.png",
        "/APP.3F9A1C2B.JS",
        "main_DEADBEEF.js",
        "chunk~0123456789abcdef.js",
        "3f9a1c2b",
        "a/b/3f9a1c2b.woff2",
        "x.3f9a1c2b.min.js",
        "vendor.e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855.js",
    ],
)
def test_fingerprinted(path):
    assert is_fingerprinted(path)


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/",
        "index.html",
        "app.js",
        "app.3f9a1c2.js",  # only 7 hex digits
        "app.3f9a1c2g.js",  # not all hex
        "app3f9a1c2b.js",  # hex run glued to other letters
        "static/v1.2.3/app.js",
        "img/photo-2x.png",
        "abc/defg/file.css",
        "facebook.png",  # hex-looking word but has 'o', 'k'
    ],
)
def test_not_fingerprinted(path):
    assert not is_fingerprinted(path)


# --- Cache-Control ---------------------------------------------------------

@pytest.mark.parametrize(
    "path, content_type, expected",
    [
        ("index.html", "text/html; charset=utf-8", CACHE_HTML),
        ("page.3f9a1c2b.html", "text/html; charset=utf-8", CACHE_HTML),  # HTML wins over fingerprint
        ("doc.xhtml", "application/xhtml+xml", CACHE_HTML),
        ("x", "TEXT/HTML", CACHE_HTML),
        ("app.3f9a1c2b.js", "text/javascript; charset=utf-8", CACHE_IMMUTABLE),
        ("assets/index-3f9a1c2b.css", "text/css; charset=utf-8", CACHE_IMMUTABLE),
        ("/static/3f9a1c2b9d/x.png", "image/png", CACHE_IMMUTABLE),
        ("app.js", "text/javascript; charset=utf-8", CACHE_SHORT),
        ("logo.png", "image/png", CACHE_SHORT),
        ("data", "application/octet-stream", CACHE_SHORT),
    ],
)
def test_cache_control_for(path, content_type, expected):
    assert cache_control_for(path, content_type) == expected


def test_cache_control_values():
    assert CACHE_HTML == "no-cache"
    assert CACHE_IMMUTABLE == "public, max-age=31536000, immutable"
    assert CACHE_SHORT == "public, max-age=60"


# --- Accept-Encoding -------------------------------------------------------

@pytest.mark.parametrize(
    "header, available, expected",
    [
        (None, BOTH, None),
        ("", BOTH, None),
        ("gzip, deflate, br", BOTH, "br"),  # typical browser: br preferred
        ("gzip, deflate, br, zstd", BOTH, "br"),
        ("gzip", BOTH, "gzip"),
        ("br", BOTH, "br"),
        ("gzip, br", ("gzip",), "gzip"),  # br not available
        ("gzip, br", (), None),
        ("deflate", BOTH, None),
        ("identity", BOTH, None),
        ("gzip;q=0, br", BOTH, "br"),
        ("br;q=0, gzip", BOTH, "gzip"),
        ("br;q=0, gzip;q=0", BOTH, None),
        ("gzip;q=1.0, br;q=0.5", BOTH, "gzip"),  # q-values beat server preference
        ("gzip;q=0.8, br;q=0.8", BOTH, "br"),  # tie: server preference
        ("*", BOTH, "br"),
        ("*;q=0", BOTH, None),
        ("*;q=0, gzip", BOTH, "gzip"),
        ("br;q=0, *", BOTH, "gzip"),
        ("*;q=0.1, gzip;q=0.5", BOTH, "gzip"),
        ("GZIP, BR", BOTH, "br"),
        ("  gzip ;  q=0.5 ,br ; Q=0.4 ", BOTH, "gzip"),
        ("gzip,br", ["GZIP", "BR"], "br"),
        ("x-gzip", BOTH, "gzip"),
        ("gzip;q=0.5, identity;q=1", BOTH, None),  # identity explicitly preferred
        ("gzip;q=1, identity;q=0.5", BOTH, "gzip"),
        ("gzip, identity;q=0", BOTH, "gzip"),
        ("identity;q=0", BOTH, None),  # nothing else acceptable: identity anyway
        ("gzip;q=abc, br", BOTH, "br"),  # malformed q: element ignored
        ("gzip;q=, br;q=0.1", BOTH, "br"),
        ("gzip;q=0.000", BOTH, None),
        ("gzip;q=0.001", BOTH, "gzip"),
        ("gzip, gzip;q=0", BOTH, "gzip"),  # first mention wins
        (",,gzip,,", BOTH, "gzip"),
        ("gzip;level=9", BOTH, "gzip"),  # unknown parameters ignored
    ],
)
def test_choose_encoding(header, available, expected):
    assert choose_encoding(header, available) == expected


def test_choose_encoding_accepts_any_iterable():
    assert choose_encoding("gzip, br", iter(["gzip", "br"])) == "br"
    assert choose_encoding("gzip, br", {"gzip"}) == "gzip"


# --- robustness ------------------------------------------------------------

@given(st.text())
def test_is_fingerprinted_never_raises(path):
    assert isinstance(is_fingerprinted(path), bool)


@given(st.text(), st.text())
def test_cache_control_for_never_raises(path, content_type):
    assert cache_control_for(path, content_type) in (CACHE_HTML, CACHE_IMMUTABLE, CACHE_SHORT)


@given(st.text(), st.lists(st.sampled_from(["br", "gzip", "identity", "zstd", "x"])))
def test_choose_encoding_never_raises(header, available):
    result = choose_encoding(header, available)
    assert result is None or result in available
