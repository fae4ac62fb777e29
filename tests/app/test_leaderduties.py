"""LeaderDuties: its children run only while this process leads (SPEC §19)."""

from __future__ import annotations

from twisted.application.service import MultiService, Service
from twisted.internet.defer import Deferred

from fazt.app.leaderduties import LeaderDuties
from fazt.base.leader import FixedLeadership
from xproc_testing import Leadership


class Duty(Service):
    """Records its starts and stops; a stop can be held open by the test."""

    def __init__(self, name: str, log: list) -> None:
        self.setName(name)
        self.log = log
        self.hold: Deferred | None = None

    def startService(self):
        super().startService()
        self.log.append(("start", self.name))

    def stopService(self):
        super().stopService()
        self.log.append(("stop", self.name))
        return self.hold


def tree(leadership, log, names=("cron", "retention")):
    top = MultiService()
    duties = LeaderDuties(leadership)
    duties.setServiceParent(top)
    children = [Duty(n, log) for n in names]
    for child in children:
        child.setServiceParent(duties)
    return top, duties, children


def test_a_leader_runs_its_duties_and_stops_them_with_the_tree():
    log = []
    top, duties, children = tree(FixedLeadership(True), log)
    top.startService()
    assert duties.active and all(c.running for c in children)
    top.stopService()
    assert not duties.active and not any(c.running for c in children)
    assert log == [("start", "cron"), ("start", "retention"), ("stop", "retention"), ("stop", "cron")]


def test_a_follower_never_starts_them():
    log = []
    top, duties, children = tree(FixedLeadership(False), log)
    top.startService()
    late = Duty("backups", log)
    late.setServiceParent(duties)  # added while the tree runs: still not started
    assert not duties.active and log == [] and not late.running
    top.stopService()
    assert log == []


def test_duties_follow_the_leadership_as_it_moves():
    log = []
    leadership = Leadership(False)
    top, duties, children = tree(leadership, log)
    top.startService()
    leadership.become(True)
    assert all(c.running for c in children)
    leadership.become(False)
    assert not any(c.running for c in children)
    leadership.become(True)
    assert log.count(("start", "cron")) == 2 and all(c.running for c in children)
    top.stopService()
    leadership.become(True)  # after the tree stopped: ignored
    assert not any(c.running for c in children)


def test_leadership_regained_while_stopping_restarts_only_once_the_stop_ended():
    log = []
    leadership = Leadership(True)
    top, duties, (cron, retention) = tree(leadership, log)
    top.startService()
    cron.hold = Deferred()  # a cron run still going
    leadership.become(False)
    leadership.become(True)
    assert log[-1] == ("stop", "cron") and not cron.running  # not restarted under its own stop
    cron.hold.callback(None)
    assert log[-2:] == [("start", "cron"), ("start", "retention")] and cron.running and duties.active


def test_the_tree_stop_waits_for_the_duties_to_stop():
    log = []
    top, duties, (cron, retention) = tree(FixedLeadership(True), log)
    top.startService()
    cron.hold = Deferred()
    stopped = top.stopService()
    assert not stopped.called
    cron.hold.callback(None)
    assert stopped.called
