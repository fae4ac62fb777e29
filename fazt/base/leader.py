"""Leadership: which process does the duties that must happen once per platform.

Cron entries, certificate orders and renewals, retention and scheduled backups must run in one
process of the platform, whatever the number of processes (SPEC §19). An L{ILeadership} says whether
this process holds that role now and tells watchers when it changes: in one process it always does
(L{FixedLeadership}C{(True)}); under the supervisor the process it names leader does; with several
nodes on PostgreSQL the one holding an advisory lock does. The wiring starts the leader's duties
under a service that follows the leadership (C{app/leaderduties.py}).
"""

from __future__ import annotations

from typing import Callable

from zope.interface import Attribute, Interface, implementer

__all__ = ["ILeadership", "FixedLeadership"]


class ILeadership(Interface):
    """Whether this process leads, and news when that changes."""

    is_leader = Attribute("True while this process holds the leader's duties.")

    def watch(callback):
        """Call C{callback(is_leader)} now and on every change; returns a function that stops it."""


@implementer(ILeadership)
class FixedLeadership:
    """A role fixed for the life of the process (one process: leader; a follower named by the supervisor)."""

    def __init__(self, is_leader: bool) -> None:
        self.is_leader = is_leader

    def watch(self, callback: Callable[[bool], None]) -> Callable[[], None]:
        callback(self.is_leader)
        return lambda: None
