"""Site names and host routing (SPEC §4, §5)."""

import pytest

from fazt.base.names import InvalidSiteName, normalise_site_name, route_host, split_host


@pytest.mark.parametrize("raw, expected", [
    ("blog", "blog"), ("Blog", "blog"), ("blog.example.com", "blog"), ("BLOG.Example.COM.", "blog"),
    ("my-site-2", "my-site-2"), ("a" * 63, "a" * 63), ("x.localhost", "x"), ("root", "root"), ("404", "404"),
])
def test_valid_names(raw, expected):
    assert normalise_site_name(raw, "example.com") == expected


@pytest.mark.parametrize("raw", [
    "", " ", "-blog", "blog-", "bl_og", "a" * 64, "a.b", "admin", "www", "api", "localhost", "ns1",
    "blog.other.com", "ümlaut", "../x",
])
def test_invalid_names(raw):
    with pytest.raises(InvalidSiteName):
        normalise_site_name(raw, "example.com")


@pytest.mark.parametrize("header, host", [
    (b"Example.COM:8080", "example.com"), (b"[::1]:4698", "[::1]"), (None, ""), (b"example.com.", "example.com"),
])
def test_split_host(header, host):
    assert split_host(header) == host


@pytest.mark.parametrize("host, expected", [
    ("admin.example.com", ("admin", None)), ("localhost", ("admin", None)), ("127.0.0.1", ("admin", None)),
    ("admin.localhost", ("admin", None)), ("example.com", ("site", "root")), ("root.example.com", ("site", "root")),
    ("root.localhost", ("site", "root")), ("blog.example.com", ("site", "blog")), ("blog.localhost", ("site", "blog")),
    ("a.b.example.com", ("none", None)), ("evil.com", ("none", None)), ("example.com.evil.com", ("none", None)),
    ("", ("none", None)), ("bad_name.example.com", ("none", None)),
])
def test_route_host(host, expected):
    assert route_host(host, "example.com") == expected


@pytest.mark.parametrize("host, expected", [
    ("d12--blog.example.com", ("preview", "d12--blog")),
    ("d1--my-site.localhost", ("preview", "d1--my-site")),
    ("d0--blog.example.com", ("site", "d0--blog")),      # not a deployment id: an ordinary label
    ("x12--blog.example.com", ("site", "x12--blog")),
    ("my--site.example.com", ("site", "my--site")),
    ("a.d12--blog.example.com", ("none", None)),
])
def test_route_host_knows_preview_hosts(host, expected):
    assert route_host(host, "example.com") == expected


def test_preview_labels_round_trip_and_are_no_site_names():
    from fazt.base.names import preview_label, preview_target

    assert preview_target(preview_label("blog", 12)) == ("blog", 12)
    assert preview_target("blog") is None
    with pytest.raises(InvalidSiteName, match="preview"):
        normalise_site_name("d12--blog", "example.com")
