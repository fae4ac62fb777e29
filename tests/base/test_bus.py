"""The in-process event bus (fazt.base.bus.LocalBus): order, unsubscribe, failing subscribers."""

from __future__ import annotations

from twisted.logger import globalLogPublisher
from zope.interface.verify import verifyObject

from fazt.base.bus import IEventBus, LocalBus


def test_it_provides_the_interface():
    assert verifyObject(IEventBus, LocalBus())


def test_messages_arrive_in_order_and_only_on_their_topic():
    bus = LocalBus()
    seen = []
    bus.subscribe("a", lambda m: seen.append(("first", m["n"])))
    bus.subscribe("a", lambda m: seen.append(("second", m["n"])))
    bus.subscribe("b", lambda m: seen.append(("b", m["n"])))
    bus.publish("a", {"n": 1})
    bus.publish("a", {"n": 2})
    bus.publish("c", {"n": 3})  # nobody listens: nothing happens
    assert seen == [("first", 1), ("second", 1), ("first", 2), ("second", 2)]


def test_a_message_published_by_a_subscriber_comes_after_the_current_one_for_everyone():
    bus = LocalBus()
    seen = []

    def first(message):
        seen.append(("first", message["n"]))
        if message["n"] == 1:
            bus.publish("a", {"n": 2})

    bus.subscribe("a", first)
    bus.subscribe("a", lambda m: seen.append(("second", m["n"])))
    bus.publish("a", {"n": 1})
    assert seen == [("first", 1), ("second", 1), ("first", 2), ("second", 2)]


def test_unsubscribe_stops_delivery_even_during_one():
    bus = LocalBus()
    seen = []
    stops = {}

    def first(message):
        seen.append("first")
        stops["second"]()  # the second has not had this message yet: it no longer gets it

    bus.subscribe("a", first)
    stops["second"] = bus.subscribe("a", lambda m: seen.append("second"))
    bus.publish("a", {})
    stops["second"]()  # twice: harmless
    assert seen == ["first"] and bus.subscribers("a") == 1


def test_a_failing_subscriber_is_logged_and_the_others_still_get_the_message():
    bus = LocalBus()
    seen, logged = [], []

    def broken(message):
        raise ValueError("boom")

    bus.subscribe("a", broken)
    bus.subscribe("a", seen.append)
    globalLogPublisher.addObserver(logged.append)
    try:
        bus.publish("a", {"n": 1})
        bus.publish("a", {"n": 2})
    finally:
        globalLogPublisher.removeObserver(logged.append)
    assert seen == [{"n": 1}, {"n": 2}]
    failures = [e for e in logged if "log_failure" in e]
    assert len(failures) == 2 and failures[0]["log_failure"].check(ValueError)
    assert failures[0]["topic"] == "a"
    for event in failures:
        event["log_failure"].cleanFailure()

