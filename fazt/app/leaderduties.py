"""The leader's duties: services that must run in one process of the platform at a time.

Cron entries, certificate orders and renewals, retention and scheduled backups (SPEC §19) are
children of a L{LeaderDuties}. It starts them while this process holds the leadership
(L{fazt.base.leader.ILeadership}) and stops them when the leadership is lost; everything else of
the service tree (serving requests, sockets, certificates by SNI, ACME challenge answers) runs in
every process. In one process the leadership is C{FixedLeadership(True)}: the duties simply run.

Changes of role are applied one at a time: a change that arrives while the children are still
stopping (a stop may wait for a cron run to end) is applied once that stop has finished, so a
child is never started twice nor started while its previous run is still stopping.
"""

from __future__ import annotations

from typing import Optional

from twisted.application.service import MultiService, Service
from twisted.internet.defer import Deferred, DeferredList, maybeDeferred, succeed
from twisted.logger import Logger

from fazt.base.leader import ILeadership

_log = Logger()


class LeaderDuties(MultiService):
    """Runs its children only while C{leadership.is_leader}.

    C{active} says whether the children run now (the certificate manager asks it before it
    orders a certificate for a switched site). Stopped with the tree like the schedulers
    (C{stop_first}, L{fazt.app.shutdown}): nothing new starts while connections drain.
    """

    name = "leader-duties"
    stop_first = True

    def __init__(self, leadership: ILeadership) -> None:
        super().__init__()
        self.leadership = leadership
        self.active = False
        self._wanted = False
        self._changing: Optional[Deferred] = None
        self._unwatch = None

    def startService(self) -> None:
        Service.startService(self)  # the children follow the leadership, not the tree
        self._unwatch = self.leadership.watch(self._role)

    def stopService(self) -> Deferred:
        Service.stopService(self)
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        self._wanted = False
        return self._apply()

    def _role(self, is_leader: bool) -> None:
        """The leadership changed (or was told at once by C{watch})."""
        if not self.running:
            return
        if bool(is_leader) != self._wanted:
            _log.info("This process {what} the leader's duties",
                      what="takes on" if is_leader else "gives up")
        self._wanted = bool(is_leader)
        self._apply()

    def _apply(self) -> Deferred:
        """Bring the children to the wanted state; fires once they are there."""
        if self._changing is not None:
            return self._changing  # the current change re-checks what is wanted when it ends
        if self._wanted == self.active:
            return succeed(None)
        if self._wanted:
            self.active = True
            for child in list(self):
                child.startService()
            return succeed(None)
        self.active = False
        stopping = DeferredList([maybeDeferred(child.stopService) for child in reversed(list(self))])
        self._changing = done = Deferred()

        def stopped(_):
            self._changing = None
            done.callback(None)
            self._apply()  # the role may have come back meanwhile
        stopping.addCallback(stopped)
        return done

    def privilegedStartService(self) -> None:
        Service.privilegedStartService(self)  # duties bind nothing; they start when leading

    def addService(self, service) -> None:
        """Add a duty; it starts at once only if the duties are active (MultiService's own
        C{addService} would start it whenever the tree runs, leader or not)."""
        if service.name is not None:
            if service.name in self.namedServices:
                raise RuntimeError(f"cannot have two services with same name '{service.name}'")
            self.namedServices[service.name] = service
        self.services.append(service)
        if self.active:
            service.startService()

    def removeService(self, service):
        """Remove a duty, stopping it if it runs."""
        if service.name:
            del self.namedServices[service.name]
        self.services.remove(service)
        return service.stopService() if self.active else None
