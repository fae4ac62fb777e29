"""What a permessage-deflate WebSocket connection costs fazt in memory once it has been used.

Run from the repository root with the project's virtualenv::

    .venv/bin/python bench/ws_deflate.py                    # 500 clients offering deflate, as browsers do
    .venv/bin/python bench/ws_deflate.py --ws-deflate off   # the same clients, fazt declining deflate
    .venv/bin/python bench/ws_deflate.py --sites 50 --message-bytes 16000   # messages that fill a window

It starts fazt (twistd) on a scratch cartridge on 127.0.0.1 with pings off, deploys --sites static
sites, and opens --clients hand-written WebSocket clients spread over them, each offering
``permessage-deflate; client_max_window_bits`` (Chromium's and Firefox's offer). fazt's RSS (VmRSS)
is read before connecting, with every client connected and idle, and after every client has sent
one compressed message (deflated with the window the server asked for) and every client has
received every broadcast of its site: by then each connection has inflated one message and
deflated some, so its zlib state exists, and it stays idle. The differences over N are the cost of
one connection; the clients decode nothing but frame boundaries (a count of the messages).
Everything stays on 127.0.0.1, the run is bounded in time, and fazt is stopped by its PID.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import re
import signal
import struct
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import ScratchServer, rss_kib  # noqa: E402

DOMAIN = "bench.test"
OFFER = "permessage-deflate; client_max_window_bits"
HARD_LIMIT_SECONDS = 240
WORDS = ("hello", "everyone", "on", "this", "site", "the", "chat", "is", "open", "again", "today", "who",
         "wants", "coffee", "deploy", "went", "fine", "thanks", "see", "you", "later", "at", "nine")


def masked_frame(payload: bytes, rsv1: bool) -> bytes:
    """One final masked client text frame."""
    head = bytes([0x81 | (0x40 if rsv1 else 0)])
    if len(payload) <= 125:
        head += bytes([0x80 | len(payload)])
    else:
        head += bytes([0x80 | 126]) + struct.pack("!H", len(payload))
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def chat_message(n: int, size: int) -> str:
    """Client C{n}'s message: a JSON chat line of about C{size} bytes of seeded random words."""
    words = random.Random(n).choices(WORDS, k=max(1, size // 6))
    return '{"type": "chat", "from": "client %d", "text": "%s"}' % (n, " ".join(words))


def run(port: int, pid: int, clients: int, sites: list[str], size: int) -> dict:
    from twisted.internet import reactor, task
    from twisted.internet.defer import Deferred, DeferredSemaphore, ensureDeferred
    from twisted.internet.protocol import ClientFactory, Protocol

    state = {"open": 0, "deflate": 0, "frames": 0}

    class Client(Protocol):
        def connectionMade(self):
            self.head, self.buffer, self.window = b"", b"", None
            key = base64.b64encode(os.urandom(16)).decode()
            self.transport.write((f"GET /ws HTTP/1.1\r\nHost: {self.factory.host}\r\nUpgrade: websocket\r\n"
                                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                                  f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: {OFFER}\r\n\r\n").encode())

        def dataReceived(self, data):
            if self.head is not None:
                self.head += data
                if b"\r\n\r\n" not in self.head:
                    return
                head, _, data = self.head.partition(b"\r\n\r\n")
                self.head = None
                text = head.decode("latin-1").lower()
                if " 101 " not in text.split("\r\n")[0]:
                    self.factory.ready.errback(ConnectionError(text[:80]))
                    return
                if "permessage-deflate" in text:
                    state["deflate"] += 1
                    bits = re.search(r"client_max_window_bits=(\d+)", text)
                    self.window = int(bits.group(1)) if bits else 15
                state["open"] += 1
                self.factory.ready.callback(self)
            self.buffer += data
            while len(self.buffer) >= 2:   # count whole server frames (unmasked)
                length, start = self.buffer[1] & 0x7F, 2
                if length == 126:
                    if len(self.buffer) < 4:
                        return
                    length, start = struct.unpack("!H", self.buffer[2:4])[0], 4
                elif length == 127:
                    if len(self.buffer) < 10:
                        return
                    length, start = struct.unpack("!Q", self.buffer[2:10])[0], 10
                if len(self.buffer) < start + length:
                    return
                self.buffer = self.buffer[start + length:]
                state["frames"] += 1

        def send_one(self, text: str):
            payload = text.encode()
            if self.window is not None:
                deflate = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -self.window)
                payload = (deflate.compress(payload) + deflate.flush(zlib.Z_SYNC_FLUSH))[:-4]
            self.transport.write(masked_frame(payload, self.window is not None))

    def open_one(n: int) -> Deferred:
        factory = ClientFactory()
        factory.protocol = Client
        factory.host = f"{sites[n % len(sites)]}.{DOMAIN}:{port}"
        factory.ready = Deferred()
        reactor.connectTCP("127.0.0.1", port, factory, timeout=30)
        return factory.ready

    async def settle(seconds: float = 2.0):
        await task.deferLater(reactor, seconds, lambda: None)

    async def main() -> dict:
        before = rss_kib(pid)
        semaphore = DeferredSemaphore(50)
        connected = [await d for d in [semaphore.run(open_one, n) for n in range(clients)]]
        await settle()
        idle = rss_kib(pid)
        for n, client in enumerate(connected):
            client.send_one(chat_message(n, size))
        per_site = clients // len(sites)
        expected = len(sites) * per_site * per_site   # every client gets every message of its site
        deadline = time.monotonic() + 60
        while state["frames"] < expected and time.monotonic() < deadline:
            await settle(0.1)
        await settle()
        used = rss_kib(pid)
        for client in connected:
            client.transport.loseConnection()
        await settle(0.5)
        return dict(before=before, idle=idle, used=used, expected=expected, **state)

    result: dict = {}

    def done(value):
        result.update(value) if isinstance(value, dict) else result.setdefault("error", value)
        reactor.stop()

    ensureDeferred(main()).addBoth(done)
    reactor.run(installSignalHandlers=False)
    if "error" in result:
        result["error"].raiseException()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--sites", type=int, default=10, help="the clients are spread over this many sites")
    parser.add_argument("--message-bytes", type=int, default=80, help="about how long each client's message is")
    parser.add_argument("--ws-deflate", choices=("on", "off"), help="passed to fazt (default: fazt's own)")
    args = parser.parse_args()
    if (not 1 <= args.clients <= 5000 or not 1 <= args.sites <= 50 or args.clients % args.sites
            or not 1 <= args.message_bytes <= 60000):
        parser.error("--clients 1..5000, --sites 1..50, --clients a multiple of --sites, --message-bytes 1..60000")
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("hard time limit")))
    signal.alarm(HARD_LIMIT_SECONDS)
    extra = ("--ws-ping-seconds", "0", "--max-connections-per-address", str(args.clients + 100))
    if args.ws_deflate:
        extra += ("--ws-deflate", args.ws_deflate)
    server = ScratchServer(DOMAIN, extra)
    try:
        server.start()
        server.create_token()
        sites = [f"room{n}" for n in range(args.sites)]
        for site in sites:
            server.deploy(site, {"index.html": "<!doctype html><p>chat</p>"})
        r = run(server.port, server.process.pid, args.clients, sites, args.message_bytes)
        n = args.clients
        print(f"fazt WebSockets, {n} clients over {args.sites} sites offering '{OFFER}', "
              f"{r['deflate']} got deflate; {time.strftime('%Y-%m-%d %H:%M:%SZ', time.gmtime())}")
        print(f"messages of ~{args.message_bytes} bytes delivered: {r['frames']} of {r['expected']}")
        print(f"fazt RSS: {r['before']} KiB before, {r['idle']} KiB connected and idle, "
              f"{r['used']} KiB after one message each")
        print(f"per connection: {(r['idle'] - r['before']) / n:.1f} KiB idle, "
              f"{(r['used'] - r['before']) / n:.1f} KiB after one message "
              f"(+{(r['used'] - r['idle']) / n:.1f} KiB for having been used)")
        return 0 if r["frames"] >= r["expected"] else 1
    finally:
        signal.alarm(0)
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
