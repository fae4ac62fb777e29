"""C{--processes} and the hidden options of a serving process (fazt.app.processoptions)."""

from __future__ import annotations

import os

import pytest
from twisted.python import usage

from fazt.app import supervised
from fazt.app.envconfig import options_from_environment
from fazt.app.options import Options
from fazt.base.leader import ILeadership


def parse(*argv: str) -> Options:
    options = Options()
    options.parseOptions(list(argv))
    return options


def test_one_process_by_default_and_it_supervises_nothing():
    options = parse()
    assert (options["processes"], options["process-index"], options["inherited-fds"]) == (1, None, None)
    assert not supervised.supervises(options)
    assert supervised.leadership(options).is_leader


def test_processes_takes_a_number_or_auto():
    assert parse("--processes", "3")["processes"] == 3
    assert parse("--processes", "auto")["processes"] == max(1, os.cpu_count() or 1)
    assert supervised.supervises(parse("--processes", "2"))
    for bad in ("0", "many", "-2"):
        with pytest.raises(usage.UsageError, match="--processes"):
            parse("--processes", bad)


def test_processes_is_read_from_the_environment_and_the_command_line_is_kept():
    options = options_from_environment({"FAZT_PROCESSES": "2", "FAZT_DOMAIN": "example.test"})
    assert options["processes"] == 2
    assert options.argv == ["--domain", "example.test", "--processes", "2"]


def test_only_stream_listeners_can_be_shared():
    with pytest.raises(usage.UsageError, match="unix:"):
        parse("--processes", "2", "--http", "unix:/tmp/fazt.sock")
    assert parse("--processes", "1", "--http", "unix:/tmp/fazt.sock")["processes"] == 1


def test_a_serving_process_knows_its_index_and_fds_and_only_index_0_leads():
    child = parse("--processes", "2", "--process-index", "1", "--inherited-fds", "3,4,5")
    assert (child["process-index"], child["inherited-fds"]) == (1, (3, (4, 5)))
    assert not supervised.supervises(child)  # a child serves
    leadership = supervised.leadership(child)
    assert ILeadership.providedBy(leadership) and not leadership.is_leader
    assert supervised.leadership(parse("--process-index", "0", "--inherited-fds", "3,4")).is_leader


def test_the_hidden_options_go_together_and_are_checked():
    for argv in (("--process-index", "1"), ("--inherited-fds", "3,4"),
                 ("--process-index", "x", "--inherited-fds", "3,4"),
                 ("--process-index", "1", "--inherited-fds", "1,2")):
        with pytest.raises(usage.UsageError):
            parse(*argv)
