"""Tests for fazt.web.rules: Netlify-format _redirects and _headers."""

from hypothesis import given, settings
from hypothesis import strategies as st

from fazt.web.rules import (
    MAX_LINE_LENGTH,
    MAX_RULES,
    HeaderRule,
    RedirectMatch,
    RedirectRule,
    is_external,
    match_headers,
    match_redirect,
    parse_headers,
    parse_redirects,
)


def redirect_for(redirects_text, path):
    return match_redirect(parse_redirects(redirects_text), path)


# --- parse_redirects ---------------------------------------------------------


def test_parse_defaults_to_301_without_force():
    assert parse_redirects("/old /new") == [RedirectRule("/old", "/new", 301, False)]


def test_parse_status_and_force():
    rules = parse_redirects("/a /b 302\n/c /d 301!\n/e /f 200!\n/g /h 404\n")
    assert [(r.status, r.force) for r in rules] == [(302, False), (301, True), (200, True), (404, False)]


def test_parse_skips_comments_and_blank_lines_and_trailing_comments():
    text = "# a comment\n\n   \n  # indented comment\n/a /b 302 # why\n"
    assert parse_redirects(text) == [RedirectRule("/a", "/b", 302, False)]


def test_parse_tolerates_tabs_runs_of_spaces_and_crlf():
    assert parse_redirects("/a\t\t/b    307\r\n") == [RedirectRule("/a", "/b", 307, False)]


def test_parse_skips_malformed_lines_but_keeps_the_rest():
    text = "\n".join([
        "/only-one-field",
        "no-slash /b",
        "/a /b abc",
        "/a /b 999",
        "/a /b 301!!",
        "/a /b 301 extra",
        "/a relative/target",
        "/a javascript:alert(1)",
        "/a //evil.example/x",
        "/good /fine 302",
    ])
    assert parse_redirects(text) == [RedirectRule("/good", "/fine", 302, False)]


def test_parse_drops_rules_with_query_or_conditions():
    text = "\n".join([
        "/store id=:id /blog/:id 301",
        "/ /anz 302 Country=au,nz",
        "/ /fr 302 Language=fr",
        "/admin/* /admin/:splat 200! Role=admin",
        "/kept /here",
    ])
    assert parse_redirects(text) == [RedirectRule("/kept", "/here", 301, False)]


def test_parse_keeps_external_targets_with_query_strings():
    rules = parse_redirects("/search https://example.com/?q=fazt&x=1 302")
    assert rules == [RedirectRule("/search", "https://example.com/?q=fazt&x=1", 302, False)]


def test_parse_stops_after_max_rules():
    text = "\n".join(f"/r{i} /t{i}" for i in range(MAX_RULES + 50))
    rules = parse_redirects(text)
    assert len(rules) == MAX_RULES
    assert rules[-1].source == f"/r{MAX_RULES - 1}"


def test_parse_skips_overlong_lines():
    long_line = "/long /" + "x" * MAX_LINE_LENGTH
    assert parse_redirects(long_line + "\n/short /ok") == [RedirectRule("/short", "/ok", 301, False)]


# --- match_redirect ----------------------------------------------------------


def test_exact_match_and_miss():
    rules = parse_redirects("/old /new 301")
    assert match_redirect(rules, "/old") == RedirectMatch("/new", 301, False)
    assert match_redirect(rules, "/older") is None
    assert match_redirect(rules, "/old/child") is None
    assert match_redirect([], "/old") is None


def test_splat_substitution():
    rules = parse_redirects("/blog/* /articles/:splat")
    assert match_redirect(rules, "/blog/2024/hello").target == "/articles/2024/hello"
    assert match_redirect(rules, "/blog/x.html").target == "/articles/x.html"
    assert match_redirect(rules, "/blogger") is None


def test_splat_matches_empty_remainder():
    rules = parse_redirects("/blog/* /articles/:splat")
    assert match_redirect(rules, "/blog/").target == "/articles/"
    assert match_redirect(rules, "/blog").target == "/articles/"


def test_splat_into_external_target():
    match = redirect_for("/api/* https://api.example.com/v1/:splat 302", "/api/users/7")
    assert match == RedirectMatch("https://api.example.com/v1/users/7", 302, False)
    assert is_external(match.target)


def test_placeholders_bind_one_segment():
    rules = parse_redirects("/news/:year/:slug /articles/:year-:slug.html")
    assert match_redirect(rules, "/news/2024/launch").target == "/articles/2024-launch.html"
    assert match_redirect(rules, "/news/2024") is None
    assert match_redirect(rules, "/news/2024/launch/extra") is None
    assert match_redirect(rules, "/news//launch") is None  # placeholders need a non-empty segment


def test_placeholder_into_external_target_keeps_port_and_unbound_names():
    match = redirect_for("/u/:name https://example.com:8443/:name/:other", "/u/ada")
    assert match.target == "https://example.com:8443/ada/:other"


def test_placeholders_and_splat_together():
    match = redirect_for("/docs/:version/* /v/:version/:splat 200", "/docs/2/guide/intro")
    assert match == RedirectMatch("/v/2/guide/intro", 200, False)


def test_spa_fallback_rule_matches_everything():
    rules = parse_redirects("/* /index.html 200")
    for path in ["/", "/app", "/app/settings/", "/deep/a/b/c"]:
        assert match_redirect(rules, path) == RedirectMatch("/index.html", 200, False)


def test_404_rewrite():
    match = redirect_for("/en/* /en/404.html 404", "/en/missing")
    assert match == RedirectMatch("/en/404.html", 404, False)


def test_force_is_reported():
    assert redirect_for("/app/ /app/index.html 200!", "/app") == RedirectMatch("/app/index.html", 200, True)


def test_trailing_slash_is_ignored_on_both_sides():
    assert redirect_for("/about /team", "/about/").target == "/team"
    assert redirect_for("/about/ /team", "/about").target == "/team"
    assert redirect_for("/ /home 302", "/").target == "/home"


def test_matching_is_case_sensitive():
    assert redirect_for("/About /team", "/about") is None


def test_first_match_wins():
    rules = parse_redirects("/a/* /first 302\n/a/b /second 301\n/* /index.html 200")
    assert match_redirect(rules, "/a/b") == RedirectMatch("/first", 302, False)
    assert match_redirect(rules, "/other") == RedirectMatch("/index.html", 200, False)


def test_regex_metacharacters_in_source_are_literal():
    rules = parse_redirects("/file.(v1)+ /x")
    assert match_redirect(rules, "/file.(v1)+") is not None
    assert match_redirect(rules, "/fileX(v1)+") is None


def test_splat_cannot_build_protocol_relative_redirect():
    # '/go//evil.example' would otherwise substitute to '//evil.example'.
    match = redirect_for("/go/* /:splat 302", "/go//evil.example/x")
    assert match.target == "/evil.example/x"
    assert redirect_for("/go/* /:splat 302", "/go/\\evil.example").target == "/evil.example"


def test_control_characters_from_path_are_percent_encoded():
    match = redirect_for("/go/* /to/:splat", "/go/a\r\nSet-Cookie: x")
    assert match.target == "/to/a%0D%0ASet-Cookie: x"


def test_non_absolute_paths_do_not_match():
    assert redirect_for("/* /index.html 200", "") is None
    assert redirect_for("/* /index.html 200", "index") is None


def test_is_external():
    assert is_external("https://example.com/x")
    assert is_external("HTTP://example.com")
    assert not is_external("/index.html")
    assert not is_external("ftp://example.com")


# --- parse_headers / match_headers ------------------------------------------

HEADERS_FILE = """\
# Global headers
/*
  X-Frame-Options: DENY
  Cache-Control: public, max-age=60

/assets/*
  Cache-Control: max-age=31536000
  Access-Control-Allow-Origin: *

/news/:year/*
  X-Year-Page: yes
"""


def test_parse_headers_blocks():
    rules = parse_headers(HEADERS_FILE)
    assert rules == [
        HeaderRule("/*", (("X-Frame-Options", "DENY"), ("Cache-Control", "public, max-age=60"))),
        HeaderRule("/assets/*", (("Cache-Control", "max-age=31536000"), ("Access-Control-Allow-Origin", "*"))),
        HeaderRule("/news/:year/*", (("X-Year-Page", "yes"),)),
    ]


def test_match_headers_combines_repeated_names_in_file_order():
    rules = parse_headers(HEADERS_FILE)
    assert match_headers(rules, "/assets/app.js") == [
        ("X-Frame-Options", "DENY"),
        ("Cache-Control", "public, max-age=60, max-age=31536000"),
        ("Access-Control-Allow-Origin", "*"),
    ]


def test_match_headers_combination_is_case_insensitive_on_names():
    rules = parse_headers("/*\n  X-Tag: one\n  x-tag: two\n")
    assert match_headers(rules, "/") == [("X-Tag", "one, two")]


def test_match_headers_placeholders_and_misses():
    rules = parse_headers(HEADERS_FILE)
    assert ("X-Year-Page", "yes") in match_headers(rules, "/news/2024/post")
    assert ("X-Year-Page", "yes") not in match_headers(rules, "/news")
    assert match_headers(parse_headers("/only\n  A: b\n"), "/other") == []


def test_match_headers_trailing_slash_tolerance():
    rules = parse_headers("/about\n  X-A: 1\n")
    assert match_headers(rules, "/about/") == [("X-A", "1")]


def test_parse_headers_skips_url_blocks_orphans_and_malformed_lines():
    text = "\n".join([
        "  X-Orphan: before any path",
        "https://example.com/*",
        "  X-From-Url-Block: skipped",
        "/ok",
        "  no colon here",
        "  Bad Name: has a space",
        "  : empty name",
        "  X-Empty:",
        "  X-Good: kept",
        "Unindented-But-Valid: also kept",
        "/path with spaces",
        "  X-In-Bad-Block: skipped",
    ])
    assert parse_headers(text) == [
        HeaderRule("/ok", (("X-Good", "kept"), ("Unindented-But-Valid", "also kept"))),
    ]


def test_parse_headers_values_may_contain_colons():
    rules = parse_headers("/*\n  Link: <https://cdn.example.com>; rel=preconnect\n")
    assert rules[0].headers == (("Link", "<https://cdn.example.com>; rel=preconnect"),)


def test_header_injection_attempts_are_dropped():
    text = (
        "/*\n"
        "  X-Bad: one\rSet-Cookie: session=evil\n"
        "  X-Nul: a\x00b\n"
        "  X-Vt\x0b: name with control char\n"
        "  X-Fine: ok\n"
    )
    assert parse_headers(text) == [HeaderRule("/*", (("X-Fine", "ok"),))]


def test_parse_headers_drops_empty_blocks_and_stops_after_max_rules():
    assert parse_headers("/empty\n/also-empty\n") == []
    text = "".join(f"/p{i}\n  X-I: {i}\n" for i in range(MAX_RULES + 10))
    rules = parse_headers(text)
    assert len(rules) == MAX_RULES
    assert rules[-1].pattern == f"/p{MAX_RULES - 1}"


# --- robustness --------------------------------------------------------------

# Text biased towards the characters the parsers care about, plus anything at all.
rule_like_text = st.one_of(
    st.text(),
    st.text(alphabet="/*:!# \t\r\n\x00abc=.-12345", max_size=400),
)


@settings(max_examples=300)
@given(text=rule_like_text, path=st.text(max_size=80))
def test_random_input_never_raises(text, path):
    redirect_rules = parse_redirects(text)
    header_rules = parse_headers(text)
    assert all(rule.source.startswith("/") for rule in redirect_rules)
    match_redirect(redirect_rules, path)
    match_redirect(redirect_rules, "/" + path)
    for name, value in match_headers(header_rules, "/" + path):
        assert not any(char in name + value for char in "\r\n\x00")


@settings(max_examples=200)
@given(source=st.text(alphabet="/*:ab.", max_size=30), path=st.text(alphabet="/ab.:", max_size=30))
def test_random_patterns_never_raise(source, path):
    rule = RedirectRule("/" + source, "/:splat/:a", 302, False)
    match = match_redirect([rule], "/" + path)
    assert match is None or not match.target.startswith("//")
