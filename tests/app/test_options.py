"""C{twistd fazt}'s command line (SPEC §2), parsed without starting anything."""

from __future__ import annotations

import pytest
from twisted.python import usage

from fazt.app.options import Options


def parse(*argv: str) -> Options:
    options = Options()
    options.parseOptions(list(argv))
    return options


def test_defaults():
    options = parse()
    assert options["http"] == ["tcp:4698"]
    assert options["https"] == []
    assert options["domain"] == "localhost"
    assert options["db"] == "data.db"
    assert options["env"] == "development"
    assert options["cache-mb"] == 64
    assert options["keep-deployments"] == 20
    assert options["max-archive-mb"] == 100
    assert options["max-unpacked-mb"] == 500
    assert options["max-entries"] == 20000
    assert (options["git-fetch-threads"], options["git-fetch-seconds"]) == (2, 120)
    assert not options["access-log"]


def test_listener_lists_are_not_shared_between_instances():
    parse("--http", "tcp:1")
    assert parse()["http"] == ["tcp:4698"]


def test_http_repeats_in_order_and_replaces_the_default():
    options = parse("--http", "tcp:8080:interface=127.0.0.1", "--http", "unix:/tmp/fazt.sock")
    assert options["http"] == ["tcp:8080:interface=127.0.0.1", "unix:/tmp/fazt.sock"]


def test_https_with_own_certificate_is_accepted_and_needs_no_http():
    endpoint = "ssl:443:privateKey=k.pem:certKey=c.pem"
    options = parse("--https", endpoint)
    assert options["https"] == [endpoint]
    assert options["http"] == []


def test_http_and_https_together():
    options = parse("--http", "tcp:80", "--https", "ssl:443:privateKey=k.pem")
    assert options["http"] == ["tcp:80"]
    assert options["https"] == ["ssl:443:privateKey=k.pem"]


@pytest.mark.parametrize("endpoint", ["tcp:443", "tcp:8443:interface=127.0.0.1", "unix:/x", "systemd:domain=INET:index=1"])
def test_https_takes_any_endpoint_for_automatic_certificates(endpoint):
    assert parse("--https", endpoint)["https"] == [endpoint]


@pytest.mark.parametrize("endpoint", ["443", "", "  "])
def test_https_needs_an_endpoint_string(endpoint):
    with pytest.raises(usage.UsageError, match="--https"):
        parse("--https", endpoint)


def test_acme_defaults():
    options = parse("--https", "tcp:443")
    assert options["acme-directory"] == "https://acme-v02.api.letsencrypt.org/directory"
    assert (options["acme-email"], options["acme-ca-bundle"], options["no-acme"]) == (None, None, 0)


def test_acme_options(tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    options = parse("--https", "tcp:443", "--acme-directory", "https://127.0.0.1:14000/dir",
                    "--acme-email", "me@example.com", "--acme-ca-bundle", str(bundle), "--no-acme")
    assert options["acme-directory"] == "https://127.0.0.1:14000/dir"
    assert options["acme-email"] == "me@example.com"
    assert options["acme-ca-bundle"] == str(bundle)
    assert options["no-acme"]


def test_acme_ca_bundle_must_exist(tmp_path):
    with pytest.raises(usage.UsageError, match="acme-ca-bundle"):
        parse("--acme-ca-bundle", str(tmp_path / "missing.pem"))


@pytest.mark.parametrize("url", ["ftp://x/dir", "acme-v02.api.letsencrypt.org/directory", ""])
def test_acme_directory_must_be_a_url(url):
    with pytest.raises(usage.UsageError, match="acme-directory"):
        parse("--acme-directory", url)


@pytest.mark.parametrize("given, expected", [
    ("example.com", "example.com"),
    ("Example.COM.", "example.com"),
    ("  my-host.example.org ", "my-host.example.org"),
    ("localhost", "localhost"),
    ("x" * 63 + ".com", "x" * 63 + ".com"),
])
def test_domain_is_normalised(given, expected):
    assert parse("--domain", given)["domain"] == expected


@pytest.mark.parametrize("domain", [
    "", ".", "bad_domain.com", "-lead.example.com", "trail-.example.com", "a..b", "exa mple.com",
    "http://example.com", "example.com/path", "x" * 64 + ".com",
    ".".join(["a" * 63] * 4),  # 255 characters: longer than any DNS name
])
def test_bad_domain_is_refused(domain):
    with pytest.raises(usage.UsageError, match="domain"):
        parse("--domain", domain)


def test_short_domain_flag():
    assert parse("-d", "example.net")["domain"] == "example.net"


@pytest.mark.parametrize("env", ["development", "production"])
def test_env(env):
    assert parse("--env", env)["env"] == env


@pytest.mark.parametrize("env", ["prod", "", "Production", "test"])
def test_bad_env_is_refused(env):
    with pytest.raises(usage.UsageError, match="env"):
        parse("--env", env)


@pytest.mark.parametrize("flag", ["cache-mb", "keep-deployments", "max-archive-mb", "max-unpacked-mb", "max-entries",
                                  "git-fetch-threads"])
def test_int_options_parse(flag):
    assert parse(f"--{flag}", "7")[flag] == 7


@pytest.mark.parametrize("flag", ["cache-mb", "keep-deployments", "max-archive-mb", "max-unpacked-mb", "max-entries",
                                  "git-fetch-threads"])
@pytest.mark.parametrize("value", ["abc", "1.5", "", "0", "-3"])
def test_bad_ints_are_refused(flag, value):
    with pytest.raises(usage.UsageError, match=flag):
        parse(f"--{flag}", value)


@pytest.mark.parametrize("value", ["abc", "0", "0.5", "-1", "3601", "nan"])
def test_bad_git_fetch_seconds_are_refused(value):
    with pytest.raises(usage.UsageError, match="git-fetch-seconds"):
        parse("--git-fetch-seconds", value)


def test_access_log_flag():
    assert parse("--access-log")["access-log"]


def test_unknown_option_is_refused():
    with pytest.raises(usage.UsageError):
        parse("--no-such-option")


def test_positional_arguments_are_refused():
    with pytest.raises(usage.UsageError):
        parse("extra")


def test_websocket_message_cap_and_deflate_defaults_and_values():
    assert parse()["ws-max-message-kb"] == 64   # SPEC §8
    assert parse()["ws-deflate"] is True
    assert parse("--ws-max-message-kb", "256")["ws-max-message-kb"] == 256
    assert parse("--ws-max-message-kb", "16384")["ws-max-message-kb"] == 16384
    for value, expected in (("off", False), ("OFF", False), ("no", False), ("on", True), ("yes", True)):
        assert parse("--ws-deflate", value)["ws-deflate"] is expected


@pytest.mark.parametrize("value", ["abc", "1.5", "", "0", "-3", "16385"])
def test_bad_websocket_message_caps_are_refused(value):
    with pytest.raises(usage.UsageError, match="ws-max-message-kb"):
        parse("--ws-max-message-kb", value)


@pytest.mark.parametrize("value", ["maybe", "", "2"])
def test_bad_deflate_switches_are_refused(value):
    with pytest.raises(usage.UsageError, match="ws-deflate must be on or off"):
        parse("--ws-deflate", value)
