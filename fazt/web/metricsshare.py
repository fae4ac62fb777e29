"""C{/metrics} summed over every process of the platform (SPEC §19), on any L{IEventBus}.

Each process keeps counting its own figures (L{fazt.web.figures}). A L{MetricsShare} publishes
them on C{metrics.figures} in parts (one per site, one for the process-wide rest, so that every
message stays small: PostgreSQL's NOTIFY takes less than 8000 bytes), only the parts that changed
since it last published them, every L{SHARE_SECONDS} and whenever a process asks on
C{metrics.wanted}; each publication ends with a short C{done} message, which is also the
process's heartbeat. Every process keeps the latest parts of the others.

The process that answers C{/metrics} asks the others for what changed and waits until each
process it knows of has said C{done} to that question, at most L{ANSWER_SECONDS}; then it adds
its own figures to the others' latest. So a figure is as fresh as the request when every process
answers in time; a process that does not (busy, or its bus slow) counts with its last
publication, at most L{SHARE_SECONDS} old, and one not heard of for three of those (killed) is
left out of the sum. A process that stops says so and is left out at once: the sums of counters
then drop, which Prometheus reads as a counter reset, as when a single process restarts.
"""

from __future__ import annotations

import secrets
from typing import Callable, Optional

from twisted.application.service import Service
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall

from fazt.base.bus import METRICS_FIGURES, METRICS_WANTED, IEventBus
from fazt.web.figures import SITE_KEYS

SHARE_SECONDS = 5.0
ANSWER_SECONDS = 0.5
PROCESS_PART = ""


def added(a, b):
    """The sum of two figures of the same shape: numbers add, dicts add by key, lists by position."""
    if isinstance(a, dict) and isinstance(b, dict):
        total = dict(a)
        for key, value in b.items():
            total[key] = added(total[key], value) if key in total else value
        return total
    if isinstance(a, list) and isinstance(b, list):
        longer, shorter = (a, b) if len(a) >= len(b) else (b, a)
        return [added(x, y) for x, y in zip(longer, shorter)] + list(longer[len(shorter):])
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return a + b
    return a  # mismatched shapes (processes of different versions): keep ours


def split(figures: dict) -> dict[str, dict]:
    """C{figures} in parts: one per site (its entries of L{SITE_KEYS}), and the rest under C{""}."""
    parts: dict[str, dict] = {PROCESS_PART: {k: v for k, v in figures.items() if k not in SITE_KEYS}}
    for key in SITE_KEYS:
        for site, value in figures.get(key, {}).items():
            parts.setdefault("site:" + site, {})[key] = {site: value}
    return parts


def joined(parts) -> dict:
    """The figures of parts (of one process or several) added up."""
    total: dict = {}
    for part in parts:
        total = added(total, part)
    return total


class MetricsShare(Service):
    """Shares this process's figures (C{figures()}) and keeps the other processes' latest."""

    name = "metrics-share"

    def __init__(self, bus: IEventBus, clock: IReactorTime, figures: Callable[[], dict],
                 interval: float = SHARE_SECONDS, answer_wait: float = ANSWER_SECONDS,
                 process: Optional[str] = None) -> None:
        self.process = process or secrets.token_hex(8)
        self._bus = bus
        self._clock = clock
        self._figures = figures
        self._interval = interval
        self._answer_wait = answer_wait
        self._sent: dict[str, dict] = {}
        self._others: dict[str, dict[str, dict]] = {}   # process -> part -> figures
        self._heard: dict[str, float] = {}
        self._waiting: dict[str, tuple[set, Deferred]] = {}  # question -> (processes yet to answer, done)
        self._loop: Optional[LoopingCall] = None
        bus.subscribe(METRICS_FIGURES, self._received)
        bus.subscribe(METRICS_WANTED, self._wanted)

    def startService(self) -> None:
        super().startService()
        self._bus.publish(METRICS_WANTED, {"process": self.process, "question": "", "all": True})
        self._loop = LoopingCall(self._tick)
        self._loop.clock = self._clock
        self._loop.start(self._interval, now=True)

    def stopService(self):
        super().stopService()
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._bus.publish(METRICS_FIGURES, {"process": self.process, "gone": True})

    # -- the sum ---------------------------------------------------------------------------

    def total(self) -> Deferred:
        """Fires with this process's figures added to the others' latest, after asking them (see above)."""
        self._expire()
        if not self._heard:
            return succeed(self._figures())
        question = secrets.token_hex(8)
        done: Deferred = Deferred()
        self._waiting[question] = (set(self._heard), done)
        timeout = self._clock.callLater(self._answer_wait, self._answered, question, None)
        self._bus.publish(METRICS_WANTED, {"process": self.process, "question": question})

        def summed(_):
            if timeout.active():
                timeout.cancel()
            return joined([self._figures()] + [part for parts in self._others.values() for part in parts.values()])
        return done.addCallback(summed)

    def processes(self) -> list[str]:
        """The other processes whose figures count in the sum."""
        return sorted(self._heard)

    # -- the bus ---------------------------------------------------------------------------

    def _tick(self) -> None:
        """Every interval: share what changed, and say C{done} (the heartbeat). Also when no other
        process is known: one that lost touch with this one (a bus down for a while) finds it again."""
        self._share()

    def _wanted(self, message: dict) -> None:
        if message.get("process") != self.process and self.running:
            self._share(question=str(message.get("question", "")), everything=bool(message.get("all")))

    def _share(self, question: str = "", everything: bool = False) -> None:
        """Publish the parts that changed (all of them if asked), then C{done}."""
        parts = split(self._figures())
        for name, part in parts.items():
            if everything or self._sent.get(name) != part:
                self._sent[name] = part
                self._bus.publish(METRICS_FIGURES, {"process": self.process, "part": name, "figures": part})
        self._bus.publish(METRICS_FIGURES, {"process": self.process, "done": question})
        self._expire()

    def _received(self, message: dict) -> None:
        process = message.get("process")
        if process == self.process or not isinstance(process, str):
            return
        if message.get("gone"):
            self._forget(process)
            return
        self._heard[process] = self._clock.seconds()
        if "part" in message and isinstance(message.get("figures"), dict):
            self._others.setdefault(process, {})[str(message["part"])] = message["figures"]
        elif "done" in message:
            if process not in self._others:  # its parts went by before this process heard of it
                self._bus.publish(METRICS_WANTED, {"process": self.process, "question": "", "all": True})
            self._answered(str(message["done"]), process)

    def _answered(self, question: str, process: Optional[str]) -> None:
        """C{process} has answered C{question} (None: time is up for it)."""
        entry = self._waiting.get(question)
        if entry is None:
            return
        pending, done = entry
        if process is not None:
            pending.discard(process)
        if process is None or not pending:
            del self._waiting[question]
            done.callback(None)

    def _forget(self, process: str) -> None:
        self._others.pop(process, None)
        self._heard.pop(process, None)
        for question in list(self._waiting):
            self._answered(question, process)

    def _expire(self) -> None:
        now = self._clock.seconds()
        for process in [p for p, heard in self._heard.items() if now - heard > 3 * self._interval]:
            self._forget(process)
