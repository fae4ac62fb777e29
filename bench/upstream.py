"""A slow HTTP upstream for bench/js.py's I/O-bound case: every request is answered after DELAY ms.

    .venv/bin/python bench/upstream.py [--port 0] [--delay-ms 100]

It prints ``listening on PORT`` once it listens on 127.0.0.1, then serves until SIGTERM/SIGINT. Each
answer is ``200 upstream ok`` (text/plain), sent DELAY ms after the request head arrived, without
holding anything meanwhile (asyncio timers), so thousands of requests can wait at once. Keep-alive
and ``Connection: close`` are both honoured; request bodies (Content-Length) are read and ignored.
``GET /__count`` answers at once with the number of delayed answers sent so far, so the benchmark
can check that every request it measured really reached the upstream.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import urllib.request

from benchlib import stop_process

BODY = b"upstream ok"
MAX_HEAD = 64 * 1024


class Counter:
    """The number of delayed answers sent, shared by every connection."""

    def __init__(self) -> None:
        self.answered = 0


class SlowHttp(asyncio.Protocol):
    """HTTP/1.1, one answer per request, in order, each DELAY seconds after its head arrived."""

    def __init__(self, delay: float, counter: Counter) -> None:
        self._delay, self._counter = delay, counter
        self._buffer = b""
        self._transport: asyncio.Transport | None = None
        self._closing = False

    def connection_made(self, transport) -> None:
        self._transport = transport

    def connection_lost(self, exc) -> None:
        self._transport = None

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while not self._closing:
            head, found, rest = self._buffer.partition(b"\r\n\r\n")
            if not found:
                if len(self._buffer) > MAX_HEAD:
                    self._transport.close()
                return
            lines = head.split(b"\r\n")
            headers = dict(line.lower().split(b":", 1) for line in lines[1:] if b":" in line)
            length = int(headers.get(b"content-length", b"0").strip() or 0)
            if len(rest) < length:
                return  # wait for the whole body
            self._buffer = rest[length:]
            close = headers.get(b"connection", b"").strip() == b"close" or lines[0].endswith(b"HTTP/1.0")
            self._closing = close
            path = lines[0].split(b" ")[1] if lines[0].count(b" ") >= 2 else b"/"
            if path == b"/__count":
                self._answer(str(self._counter.answered).encode(), close, counted=False)
            else:
                asyncio.get_running_loop().call_later(self._delay, self._answer, BODY, close)

    def _answer(self, body: bytes, close: bool, counted: bool = True) -> None:
        if self._transport is None:
            return  # the client went away while it waited
        if counted:
            self._counter.answered += 1
        self._transport.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n%s\r\n%s" % (
            len(body), b"Connection: close\r\n" if close else b"", body))
        if close:
            self._transport.close()


async def serve(port: int, delay: float) -> None:
    """Listen on 127.0.0.1:PORT, print the port, serve until SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    counter = Counter()
    server = await loop.create_server(lambda: SlowHttp(delay, counter), "127.0.0.1", port, backlog=1024)
    print(f"listening on {server.sockets[0].getsockname()[1]}", flush=True)
    stop = loop.create_future()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set_result, None)
    await stop
    server.close()
    print(f"answered {counter.answered}", flush=True)


class UpstreamProcess:
    """This script in its own process (so it never competes with its caller for the GIL)."""

    def __init__(self, delay_ms: float) -> None:
        self.process = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--delay-ms", str(delay_ms)],
                                        stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if not line.startswith("listening on "):
            self.stop()
            raise RuntimeError(f"bench/upstream.py did not start: {line!r}")
        self.port = int(line.split()[-1])

    def answered(self) -> int:
        """How many delayed answers the upstream has sent so far."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"http://127.0.0.1:{self.port}/__count", timeout=10) as response:
            return int(response.read())

    def stop(self) -> None:
        """SIGTERM by PID, SIGKILL after 10 s."""
        stop_process(self.process, 10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed)")
    parser.add_argument("--delay-ms", type=float, default=100.0)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.delay_ms / 1000))
    return 0


if __name__ == "__main__":
    sys.exit(main())
