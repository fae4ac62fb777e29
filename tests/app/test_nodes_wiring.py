"""--db chooses the bus and the leadership: a file keeps one process's; a postgresql:// URL makes a node of several."""

from __future__ import annotations

from twisted.internet import reactor

from fazt.app.envconfig import options_from_environment
from fazt.app.nodes import bus_and_leadership
from fazt.app.options import Options
from fazt.base.bus import LocalBus
from fazt.store.pgbus import PostgresBus
from fazt.store.pgleader import AdvisoryLeadership

URL = "postgresql://fazt:secret@db.internal:5432/fazt"


def test_a_file_keeps_the_local_bus_and_always_leads():
    bus, leadership, services = bus_and_leadership("data.db", reactor)
    assert isinstance(bus, LocalBus) and leadership.is_leader and services == []


def test_a_postgresql_url_makes_the_notify_bus_and_the_advisory_lock_services():
    bus, leadership, services = bus_and_leadership(URL, reactor)
    assert isinstance(bus, PostgresBus) and isinstance(leadership, AdvisoryLeadership)
    assert services == [bus, leadership] and not leadership.is_leader  # nothing runs until started


def test_db_takes_a_url_on_the_command_line_and_from_fazt_db():
    options = Options()
    options.parseOptions(["--db", URL])
    assert options["db"] == URL
    assert options_from_environment({"FAZT_DB": URL})["db"] == URL
    assert options_from_environment({})["db"] == "data.db"

