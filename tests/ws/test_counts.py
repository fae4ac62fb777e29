"""Other processes' WebSocket client counts (fazt.ws.counts): the bookkeeping of their reports."""

from fazt.ws.counts import RemoteCounts


def test_reports_add_up_by_site_and_replace_what_each_process_said():
    counts = RemoteCounts(forget_after=30)
    counts.apply("p1", {"chat": 2, "blog": 1}, full=True, now=0)
    counts.apply("p2", {"chat": 3}, full=False, now=0)
    assert (counts.clients("chat"), counts.clients("blog"), counts.clients("none")) == (5, 1, 0)
    counts.apply("p1", {"chat": 0}, full=False, now=1)  # a change: chat only
    assert (counts.clients("chat"), counts.clients("blog")) == (3, 1)
    counts.apply("p2", {"blog": 4}, full=True, now=2)  # all of p2: chat went
    assert (counts.clients("chat"), counts.clients("blog")) == (0, 5)
    counts.apply("p3", {"bad": -1, 7: 1, "odd": "2"}, full=True, now=2)  # nonsense is ignored
    assert counts.clients("bad") == counts.clients("odd") == 0 and counts.processes() == ["p1", "p2", "p3"]


def test_a_process_that_left_or_fell_silent_is_forgotten():
    counts = RemoteCounts(forget_after=30)
    counts.apply("p1", {"chat": 2}, full=True, now=0)
    counts.apply("p2", {"chat": 3}, full=True, now=20)
    counts.forget("p2")
    assert counts.clients("chat") == 2
    counts.apply("p3", {"chat": 1}, full=True, now=20)
    assert counts.expire(now=31) == ["p1"]
    assert counts.clients("chat") == 1 and counts.processes() == ["p3"]
