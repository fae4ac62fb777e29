"""/metrics summed over processes (fazt.web.metricsshare): adding figures up, and the exchange on a bus."""

from __future__ import annotations

from twisted.internet.task import Clock

from fazt.web.metricsshare import MetricsShare, added, joined, split
from xproc_testing import BusNetwork


def test_figures_add_by_key_and_position():
    a = {"requests": {"blog": 2}, "latency": {"blog": [1, 0, 0.5]}, "workers": 2, "cron": {"ok": 1}}
    b = {"requests": {"blog": 3, "shop": 1}, "latency": {"blog": [0, 2, 1.0]}, "workers": 2}
    assert added(a, b) == {"requests": {"blog": 5, "shop": 1}, "latency": {"blog": [1, 2, 1.5]}, "workers": 4,
                           "cron": {"ok": 1}}
    assert added({"x": "text"}, {"x": 1}) == {"x": "text"}  # shapes that differ: ours is kept


def test_split_parts_join_back_to_the_same_figures():
    figures = {"requests": {"blog": 2, "shop": 1}, "responses": {"blog": {"200": 2}}, "ws": {"chat": 3},
               "workers": 2, "cache": {"hits": 4}}
    parts = split(figures)
    assert set(parts) == {"", "site:blog", "site:shop", "site:chat"}
    assert parts[""] == {"workers": 2, "cache": {"hits": 4}}
    assert joined(parts.values()) == figures


def shares(count: int, clock: Clock, network=None):
    network = network or BusNetwork(clock)
    own = [{"requests": {"blog": i + 1}, "workers": 1} for i in range(count)]
    made = [MetricsShare(network.bus(), clock, (lambda i=i: own[i]), interval=5.0, answer_wait=0.5,
                         process=f"p{i}") for i in range(count)]
    for share in made:
        share.startService()
    clock.advance(0)
    clock.advance(0)
    return own, made


def test_a_total_asks_the_others_and_adds_their_answers():
    clock = Clock()
    own, (a, b, c) = shares(3, clock)
    assert a.processes() == ["p1", "p2"]
    own[1]["requests"]["blog"] = 10  # b counted more since it last shared
    total = a.total()
    assert not total.called  # waits for b's and c's answers to this question
    clock.advance(0)
    clock.advance(0)
    assert total.result == {"requests": {"blog": 1 + 10 + 3}, "workers": 3}


def test_a_killed_process_counts_with_what_it_said_last_until_it_is_forgotten_and_a_stopped_one_not_at_all():
    clock = Clock()
    network = BusNetwork(clock)
    own, (a, b, c) = shares(3, clock, network)
    c.stopService()
    clock.advance(0)
    assert a.processes() == ["p1"]
    own[1]["requests"]["blog"] = 10  # counted by b, never told: b is killed
    network.kill(network.buses[1])
    total = a.total()
    clock.advance(0)
    assert not total.called
    clock.advance(0.5)  # b does not answer in time
    assert total.result == {"requests": {"blog": 1 + 2}, "workers": 2}
    for _ in range(4):  # three intervals without a heartbeat of b
        clock.advance(5.0)
    assert a.processes() == [] and a.total().result == {"requests": {"blog": 1}, "workers": 1}
