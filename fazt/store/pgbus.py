"""The event bus across fazt nodes that share one PostgreSQL database: C{LISTEN/NOTIFY}.

L{PostgresBus} is an L{IEventBus}. C{publish} hands the message to the sending thread, then
delivers it to this process's subscribers synchronously (a L{LocalBus}, with all its ordering
rules); the sending thread C{NOTIFY}s the other nodes, whose listening threads pass it to their
reactor threads (C{callFromThread}, so in the order received), where their own subscribers get it.
The transport knows no topics: every message travels on one channel, C{fazt_bus}.

Why threads rather than psycopg's non-blocking mode with its socket watched by the reactor:
connecting and reconnecting (DNS, TCP, TLS, authentication; seconds when a server fails over) are
blocking libpq calls either way, so a thread is needed anyway; with one thread per direction every
libpq call stays off the reactor, only psycopg's public API is used (C{notifies()}), and the
reactor hears of a message by one C{callFromThread}.

Frames. A message is sent as C{"ORIGIN SEQ PART COUNT BODY"}: the origin is this bus's random id
(a node skips its own frames: its subscribers already had the message), SEQ counts this bus's
messages, and the JSON body C{{"t": topic, "m": message}} (ASCII) is cut into parts that fit
PostgreSQL's payload limit (under 8000 bytes), all sent in one transaction, so they arrive
together; the receiver joins them. A message whose body is over C{max_message} bytes (default
1 MiB) is not forwarded: it is logged as an error, and only this process's subscribers get it.
Messages waiting to be sent are sent in batches, one transaction each; a receiver drops a frame
whose SEQ it has already passed, so a batch sent again after an unclear failure is not delivered
twice.

Lost messages. While a node's listening connection is down, what others publish does not reach
it (PostgreSQL keeps notifications only for connected listeners). When it listens again, the bus
publishes L{RESYNC} to its own subscribers, which drop what they cached from the store. While the
sending connection is down, up to C{max_pending} messages wait and are sent once it is back; more
are dropped with a logged error.
"""

from __future__ import annotations

import json
import queue
import threading
import uuid
from typing import Any, Callable, Optional

from twisted.application.service import Service
from twisted.internet.defer import Deferred, DeferredList
from twisted.logger import Logger
from zope.interface import implementer

from fazt.base.bus import RESYNC, IEventBus, LocalBus, Subscriber
from fazt.store.pglink import LinkError, connect

__all__ = ["PostgresBus", "CHANNEL"]

_log = Logger()

CHANNEL = "fazt_bus"
# PostgreSQL refuses payloads of 8000 bytes or more; the header takes at most ~80 of what is left.
_PART = 7800
MAX_MESSAGE = 1024 * 1024
MAX_PENDING = 10000
# Messages sent in one transaction at most.
_BATCH = 200
_STOP = object()


def _frames(origin: str, seq: int, body: str) -> list[str]:
    parts = [body[i:i + _PART] for i in range(0, len(body), _PART)] or [""]
    return [f"{origin} {seq} {i} {len(parts)} {part}" for i, part in enumerate(parts)]


@implementer(IEventBus)
class PostgresBus(Service):
    """An L{IEventBus} over PostgreSQL C{LISTEN/NOTIFY} (see the module's notes); a service: its
    threads run while it runs."""

    def __init__(self, dsn: str, reactor: Any, retry_seconds: float = 1.0, max_message: int = MAX_MESSAGE,
                 max_pending: int = MAX_PENDING) -> None:
        self._dsn = dsn
        self._reactor = reactor
        self._retry = retry_seconds
        self._max_message = max_message
        self._max_pending = max_pending
        self._local = LocalBus()
        self.origin = uuid.uuid4().hex[:16]
        self._seq = 0
        self._outbox: queue.SimpleQueue = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._stopped: list[Deferred] = []
        self._listening: list[Deferred] = []
        self.listens = 0  # how many times the listening connection has been set up (reactor thread)

    # -- IEventBus ----------------------------------------------------------------------------

    def subscribe(self, topic: str, callback: Subscriber) -> Callable[[], None]:
        return self._local.subscribe(topic, callback)

    def publish(self, topic: str, message: dict) -> None:
        # Queued for the other nodes before the local delivery: a subscriber that publishes while
        # being delivered to must not get its message out ahead of the one it reacts to.
        self._forward(topic, message)
        self._local.publish(topic, message)

    def _forward(self, topic: str, message: dict) -> None:
        try:
            body = json.dumps({"t": topic, "m": message}, separators=(",", ":"))
        except (TypeError, ValueError):
            _log.failure("A message on {topic} is not JSON: not sent to the other nodes", topic=topic)
            return
        if len(body) > self._max_message:
            _log.error("A message on {topic} is {size} bytes, over the bus's {limit}: not sent to the other "
                       "nodes", topic=topic, size=len(body), limit=self._max_message)
            return
        if self._outbox.qsize() >= self._max_pending:
            _log.error("{count} messages wait for PostgreSQL: one on {topic} is dropped", count=self._max_pending,
                       topic=topic)
            return
        self._seq += 1
        self._outbox.put(_frames(self.origin, self._seq, body))

    # -- the service --------------------------------------------------------------------------

    def startService(self) -> None:
        super().startService()
        self._stopping.clear()
        self._stopped = []
        for target, name in ((self._send_loop, "fazt-bus-send"), (self._listen_loop, "fazt-bus-listen")):
            done: Deferred = Deferred()
            thread = threading.Thread(target=self._run, args=(target, done), name=name, daemon=True)
            self._stopped.append(done)
            self._threads.append(thread)
            thread.start()

    def stopService(self) -> Deferred:
        """Stops both threads (the sender first sends what is queued, if PostgreSQL answers)."""
        super().stopService()
        self._stopping.set()
        self._outbox.put(_STOP)
        self._threads = []
        return DeferredList(self._stopped)

    def listening(self) -> Deferred:
        """A Deferred that fires once the listening connection is (again) set up (for tests)."""
        waiting: Deferred = Deferred()
        self._listening.append(waiting)
        return waiting

    def _run(self, target: Callable[[], None], done: Deferred) -> None:
        try:
            target()
        except Exception:
            _log.failure("The bus's {name} thread failed", name=threading.current_thread().name)
        finally:
            self._reactor.callFromThread(done.callback, None)

    def _pause(self) -> None:
        self._stopping.wait(self._retry)

    # -- sending (its own thread) -------------------------------------------------------------

    def _send_loop(self) -> None:
        conn = None
        failing = False
        batch: list[list[str]] = []
        stop = False
        while not (stop and not batch):
            if not batch:
                item = self._outbox.get()
                while True:
                    if item is _STOP:
                        stop = True
                        break
                    batch.append(item)
                    if len(batch) >= _BATCH:
                        break
                    try:
                        item = self._outbox.get_nowait()
                    except queue.Empty:
                        break
                if not batch:
                    continue
            try:
                if conn is None:
                    conn = connect(self._dsn, "bus-send")
                with conn.transaction():
                    conn.cursor().executemany("SELECT pg_notify(%s, %s)",
                                              [(CHANNEL, frame) for frames in batch for frame in frames])
                batch = []
                if failing:
                    _log.info("The bus sends to PostgreSQL again")
                    failing = False
            except LinkError as error:
                if not failing:
                    _log.error("The bus cannot send to PostgreSQL ({error}); retrying", error=error)
                    failing = True
                conn = _close(conn)
                if self._stopping.is_set():
                    _log.error("The bus stops with {count} messages unsent", count=len(batch))
                    return
                self._pause()
        _close(conn)

    # -- listening (its own thread) -----------------------------------------------------------

    def _listen_loop(self) -> None:
        seen: dict[str, int] = {}
        while not self._stopping.is_set():
            conn = None
            try:
                conn = connect(self._dsn, "bus-listen")
                conn.execute(f"LISTEN {CHANNEL}")
                self._reactor.callFromThread(self._listened)
                parts: dict[tuple[str, int], list[str]] = {}
                while not self._stopping.is_set():
                    for note in conn.notifies(timeout=0.5):
                        self._received(note.payload, seen, parts)
            except LinkError as error:
                if not self._stopping.is_set():
                    _log.error("The bus lost its PostgreSQL listener ({error}); listening again", error=error)
                    self._pause()
            finally:
                _close(conn)

    def _received(self, payload: str, seen: dict[str, int], parts: dict[tuple[str, int], list[str]]) -> None:
        try:
            origin, seq_text, part_text, count_text, piece = payload.split(" ", 4)
            seq, part, count = int(seq_text), int(part_text), int(count_text)
        except ValueError:
            _log.error("The bus ignores a malformed frame on {channel}", channel=CHANNEL)
            return
        if origin == self.origin or seq <= seen.get(origin, 0):
            return  # our own (our subscribers had it) or a batch sent again
        key = (origin, seq)
        pieces = parts.setdefault(key, [])
        if part != len(pieces):  # a missing part: the parts of one message arrive together, in order
            parts.pop(key, None)
            return
        pieces.append(piece)
        if len(pieces) < count:
            return
        del parts[key]
        seen[origin] = seq
        try:
            body = json.loads("".join(pieces))
            topic, message = body["t"], body["m"]
        except (ValueError, KeyError, TypeError):
            _log.error("The bus ignores a malformed message from {origin}", origin=origin)
            return
        self._reactor.callFromThread(self._local.publish, topic, message)

    def _listened(self) -> None:
        """On the reactor: the listener is (again) set up; what was missed meanwhile is unknown."""
        self.listens += 1
        self._local.publish(RESYNC, {"reason": "the PostgreSQL listener was (re)connected"})
        waiting, self._listening = self._listening, []
        for d in waiting:
            d.callback(self.listens)


def _close(conn: Optional[Any]) -> None:
    if conn is not None:
        try:
            conn.close()
        except Exception:
            pass
    return None
