"""The base class of the admin API's route classes."""

from __future__ import annotations

from typing import Any, Optional

from twisted.internet.interfaces import IReactorTime
from twisted.internet.defer import inlineCallbacks
from twisted.web.server import Request


class AdminRoutes:
    """Base of the route classes that only an admin (key scope C{admin} or a session) may use."""

    def __init__(self, store: Any, auth: Any, clock: Optional[IReactorTime] = None) -> None:
        # C{clock}: the reactor, for the areas that stamp times (the others give none).
        self.store = store
        self.auth = auth
        self._clock = clock

    @inlineCallbacks
    def _admin(self, request: Request):
        """The caller, if an admin; raises 401/403 in the envelope otherwise."""
        principal = yield self.auth.api_key(request)
        return principal
