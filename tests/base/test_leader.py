from zope.interface.verify import verifyObject

from fazt.base.leader import FixedLeadership, ILeadership


def test_fixed_leadership_reports_its_role_at_once_and_never_changes():
    seen = []
    leadership = FixedLeadership(False)
    verifyObject(ILeadership, leadership)
    stop = leadership.watch(seen.append)
    stop()
    assert seen == [False] and leadership.is_leader is False
