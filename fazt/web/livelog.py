"""What happens to a site, fanned out to the admin live streams of this process.

Fed by the event bus (L{LiveLog.follow}): a C{log.line} message becomes a C{log} event, a
C{site.changed} switch a C{switch} event, whichever process published it. L{LiveLog.publish}
hands C{(event, data)} to every subscriber of the site at once (a console line as soon as its run
finishes, before the batch writer stores it; a deploy switch); subscribers are callables
C{(event, data)}. A failing subscriber is logged and kept from the others (by the L{LocalBus}
that holds them, one topic per site).
"""

from __future__ import annotations

from typing import Callable

from fazt.base.bus import LOG_LINE, SITE_CHANGED, IEventBus, LocalBus

Subscriber = Callable[[str, dict], None]


class LiveLog:
    def __init__(self) -> None:
        self._sites = LocalBus()

    def follow(self, bus: IEventBus) -> None:
        """Stream the sites' log lines and deployment switches published on C{bus}."""
        bus.subscribe(LOG_LINE, lambda message: self.publish(message["site"], "log", message))
        bus.subscribe(SITE_CHANGED, self._site_changed)

    def _site_changed(self, message: dict) -> None:
        if message.get("change") == "switch":  # deploys and rollbacks, indistinguishable
            self.publish(message["site"], "switch", {"site": message["site"]})

    def subscribe(self, site: str, callback: Subscriber) -> Callable[[], None]:
        """Deliver the events of C{site} to C{callback}; returns a function that stops it."""
        return self._sites.subscribe(site, lambda event: callback(event["event"], event["data"]))

    def subscribers(self, site: str) -> int:
        return self._sites.subscribers(site)

    def publish(self, site: str, event: str, data: dict) -> None:
        self._sites.publish(site, {"event": event, "data": data})
