"""C{--unsafe-bench-fetch-allow} on the command line (fazt.app.options), parsed without starting anything."""

from __future__ import annotations

import pytest
from twisted.python import usage

from fazt.app.envconfig import argv_from_environment, options_from_environment
from fazt.app.options import Options


def parse(*argv: str) -> Options:
    options = Options()
    options.parseOptions(list(argv))
    return options


def test_off_by_default():
    assert parse()["unsafe-bench-fetch-allow"] is None


def test_one_loopback_address_and_port():
    assert parse("--unsafe-bench-fetch-allow", "127.0.0.1:8080")["unsafe-bench-fetch-allow"] == "127.0.0.1:8080"


@pytest.mark.parametrize("value", ["10.0.0.1:80", "localhost:8080", "127.0.0.1", "0.0.0.0:80", "[fd00::1]:80"])
def test_anything_but_a_loopback_address_and_port_is_refused(value):
    with pytest.raises(usage.UsageError, match="unsafe-bench-fetch-allow"):
        parse("--unsafe-bench-fetch-allow", value)


def test_refused_in_production():
    with pytest.raises(usage.UsageError, match="refused with --env production"):
        parse("--env", "production", "--unsafe-bench-fetch-allow", "127.0.0.1:8080")


def test_never_read_from_the_environment():
    environ = {"FAZT_UNSAFE_BENCH_FETCH_ALLOW": "127.0.0.1:8080"}
    assert argv_from_environment(environ) == []
    assert options_from_environment(environ)["unsafe-bench-fetch-allow"] is None
