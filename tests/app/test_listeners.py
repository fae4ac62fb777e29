"""How the process listens (SPEC §18): backlog in endpoint strings, the open-file limit, the cap options."""

from __future__ import annotations

import resource

import pytest
from twisted.logger import capturedLogs
from twisted.python.usage import UsageError

from fazt.app.listeners import OPEN_FILE_HEADROOM, connection_cap, with_backlog
from fazt.app.options import Options


@pytest.mark.parametrize("endpoint, expected", [
    ("tcp:4698", "tcp:4698:backlog=511"),
    ("tcp:80:interface=127.0.0.1", "tcp:80:interface=127.0.0.1:backlog=511"),
    ("TCP6:443:interface=\\:\\:1", "TCP6:443:interface=\\:\\:1:backlog=511"),
    ("ssl:443:privateKey=k.pem:certKey=c.pem", "ssl:443:privateKey=k.pem:certKey=c.pem:backlog=511"),
    ("tcp:80:backlog=64", "tcp:80:backlog=64"),
    ("ssl:443:backlog=10:privateKey=k.pem", "ssl:443:backlog=10:privateKey=k.pem"),
    # An escaped colon is part of a value, not the start of an argument.
    ("ssl:443:privateKey=/keys/a\\:backlog=1.pem", "ssl:443:privateKey=/keys/a\\:backlog=1.pem:backlog=511"),
    ("unix:/run/fazt.sock", "unix:/run/fazt.sock"),
    ("systemd:domain=INET:index=0", "systemd:domain=INET:index=0"),
    ("4698", "4698"),
])
def test_with_backlog_adds_one_only_where_it_is_missing(endpoint, expected):
    assert with_backlog(endpoint) == expected


def test_with_backlog_takes_the_configured_number():
    assert with_backlog("tcp:8080", 2048) == "tcp:8080:backlog=2048"


@pytest.fixture
def soft_limit():
    """Set this process's soft open-file limit for the test; restored afterwards."""
    before = resource.getrlimit(resource.RLIMIT_NOFILE)

    def set_soft(value: int) -> int:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(value, before[1]), before[1]))
        return before[1]

    yield set_soft
    resource.setrlimit(resource.RLIMIT_NOFILE, before)


def test_the_soft_limit_is_raised_to_the_hard_one_and_logged(soft_limit):
    hard = soft_limit(256)
    if hard == resource.RLIM_INFINITY or hard < 4096:
        pytest.fail(f"this test needs a finite hard open-file limit of at least 4096, not {hard}")
    with capturedLogs() as events:
        cap = connection_cap(1000)
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == hard
    assert cap == 1000
    assert [e["log_format"] for e in events] == ["Raised the open-file limit from {soft} to {target}"]
    assert (events[0]["soft"], events[0]["target"]) == (256, hard)


def test_a_cap_above_what_the_process_may_open_is_lowered_with_a_warning(soft_limit):
    hard = soft_limit(1024)
    with capturedLogs() as events:
        cap = connection_cap(hard)
    assert cap == max(hard // 2, hard - OPEN_FILE_HEADROOM)
    warnings = [e for e in events if e["log_level"].name == "warn"]
    assert len(warnings) == 1 and warnings[0]["cap"] == cap


def test_the_cap_and_backlog_options():
    options = Options()
    options.parseOptions([])
    assert (options["max-connections"], options["max-connections-per-address"], options["listen-backlog"]) == (
        20000, 256, 511)
    options = Options()
    options.parseOptions(["--max-connections", "5000", "--max-connections-per-address", "32",
                          "--listen-backlog", "4096"])
    assert (options["max-connections"], options["max-connections-per-address"], options["listen-backlog"]) == (
        5000, 32, 4096)
    for args in (["--max-connections", "0"], ["--max-connections-per-address", "many"], ["--listen-backlog", "-1"]):
        with pytest.raises(UsageError):
            Options().parseOptions(args)


def test_the_options_are_read_from_the_environment():
    from fazt.app.envconfig import options_from_environment

    options = options_from_environment({"FAZT_MAX_CONNECTIONS": "100", "FAZT_MAX_CONNECTIONS_PER_ADDRESS": "10",
                                        "FAZT_LISTEN_BACKLOG": "1024", "FAZT_API_RATE_LIMIT": "0"})
    assert (options["max-connections"], options["max-connections-per-address"], options["listen-backlog"],
            options["api-rate-limit"]) == (100, 10, 1024, 0.0)
