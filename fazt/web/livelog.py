"""A small in-process pub/sub of what happens to a site, for the admin live stream.

L{LiveLog.publish} hands C{(event, data)} to every subscriber of the site at once (a console line
as soon as its run finishes, before the batch writer stores it; a deploy switch); subscribers
are callables C{(event, data)}. A failing subscriber is logged and kept from the others.
"""

from __future__ import annotations

from typing import Callable

from twisted.logger import Logger

_log = Logger()

Subscriber = Callable[[str, dict], None]


class LiveLog:
    def __init__(self) -> None:
        self._subscribers: dict[str, list[Subscriber]] = {}

    def subscribe(self, site: str, callback: Subscriber) -> Callable[[], None]:
        """Deliver the events of C{site} to C{callback}; returns a function that stops it."""
        self._subscribers.setdefault(site, []).append(callback)

        def unsubscribe() -> None:
            callbacks = self._subscribers.get(site)
            if callbacks and callback in callbacks:
                callbacks.remove(callback)
                if not callbacks:
                    del self._subscribers[site]
        return unsubscribe

    def subscribers(self, site: str) -> int:
        return len(self._subscribers.get(site, ()))

    def publish(self, site: str, event: str, data: dict) -> None:
        for callback in list(self._subscribers.get(site, ())):
            try:
                callback(event, data)
            except Exception:
                _log.failure("live log subscriber failed")
