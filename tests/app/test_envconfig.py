"""C{fazt.tac}'s configuration: every C{twistd fazt} option from a FAZT_* environment variable."""

from __future__ import annotations

import pytest
from twisted.python import usage

from fazt.app.envconfig import argv_from_environment, options_from_environment, variable_for
from fazt.app.options import Options


def parsed(argv):
    options = Options()
    options.parseOptions(argv)
    return dict(options)


def test_every_option_and_flag_has_a_variable_that_parses_like_the_command_line():
    names = [name for name, *_ in Options.optParameters] + [name for name, *_ in Options.optFlags]
    assert "domain" in names and "no-acme" in names
    for name, *_ in Options.optParameters:
        assert argv_from_environment({variable_for(name): "x"}) == [f"--{name}", "x"]
    for name, *_ in Options.optFlags:
        assert argv_from_environment({variable_for(name): "1"}) == [f"--{name}"]
    environ = {"FAZT_DOMAIN": "example.com", "FAZT_DB": "/var/lib/fazt/data.db", "FAZT_JS_WORKERS": "3",
               "FAZT_ACCESS_LOG": "1", "FAZT_NO_ACME": "yes", "FAZT_WS_PING_SECONDS": "0"}
    assert dict(options_from_environment(environ)) == parsed(
        ["--domain", "example.com", "--db", "/var/lib/fazt/data.db", "--js-workers", "3", "--access-log",
         "--no-acme", "--ws-ping-seconds", "0"])


def test_repeatable_options_take_space_separated_lists():
    environ = {"FAZT_HTTP": "tcp:80 'tcp:8080:interface=127.0.0.1'", "FAZT_TRUSTED_PROXY": "10.0.0.0/8 ::1/128"}
    options = options_from_environment(environ)
    assert options["http"] == ["tcp:80", "tcp:8080:interface=127.0.0.1"]
    assert options["trusted-proxy"] == ["10.0.0.0/8", "::1/128"]


@pytest.mark.parametrize("value", ["", "0", "false", "No"])
def test_a_flag_is_off_for_empty_zero_false_and_no(value):
    assert options_from_environment({"FAZT_ACCESS_LOG": value})["access-log"] in (0, False)


def test_unset_variables_leave_the_defaults():
    assert dict(options_from_environment({})) == parsed([])


def test_a_bad_value_is_refused_as_on_the_command_line():
    with pytest.raises(usage.UsageError, match="js-workers"):
        options_from_environment({"FAZT_JS_WORKERS": "many"})
    with pytest.raises(usage.UsageError, match="domain"):
        options_from_environment({"FAZT_DOMAIN": "not a domain"})


def test_the_websocket_cap_and_deflate_switch_come_from_the_environment():
    options = options_from_environment({"FAZT_WS_MAX_MESSAGE_KB": "256", "FAZT_WS_DEFLATE": "off"})
    assert (options["ws-max-message-kb"], options["ws-deflate"]) == (256, False)
