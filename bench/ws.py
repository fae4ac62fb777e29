"""WebSocket benchmark: N clients on one site's hub, M broadcasts/s, latency and RSS per connection.

Run from the repository root with the project's virtualenv::

    .venv/bin/python bench/ws.py                          # 1000 clients, 10 s at 20 broadcasts/s
    .venv/bin/python bench/ws.py --clients 500 --duration 5 --rate 10
    .venv/bin/python bench/ws.py --clients 10000 --processes 2   # SPEC §13b: broadcast p99 < 100 ms

It starts fazt (twistd) on a scratch cartridge on 127.0.0.1, deploys a static site ``chat``
(an ``index.html``) with the real CLI, and opens N Autobahn clients from this one Twisted
process to ``ws://127.0.0.1:PORT/ws`` with ``Host: chat.bench.test:PORT``. The fazt process's
RSS (VmRSS) is read before and after connecting: the difference over N is the cost of an idle
connection. Then one client sends M messages a second for D seconds, each carrying its send
time; the hub relays each to every client (the sender included), and every client records the
delay. All traffic stays on 127.0.0.1; the whole run is bounded in time and the server is
stopped by its PID.

The clients run in one Python process on the same machine as fazt. So that the figures describe
the server and not that process, only --probes of them (50 by default) are full Autobahn clients
that decode every message and record its delay; the others are sinks: a real WebSocket handshake,
then every byte read and counted, never decoded (as browsers on other machines would cost fazt the
same and this machine nothing). Deliveries to sinks are checked by byte count. `--probes` equal to
`--clients` decodes everywhere (the earlier method: its latencies include the client process's own
work of decoding N messages per broadcast). Server pings are off for the run (sinks do not answer).

Targets: 1,000 clients with broadcast latency p99 < 50 ms; < 50 KiB RSS per idle connection; with
`--processes 2`, 10,000 clients with broadcast p99 < 100 ms (SPEC §13b). With `--processes N` the
clients land on whichever serving process accepts them, a broadcast crosses to the others over the
supervisor's bus, and RSS and CPU are summed over the supervisor and every process below it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from wrklib import descendants

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".venv", "bin")
DOMAIN = "bench.test"
SITE = "chat"
INDEX = """<!doctype html><script>
const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
ws.onmessage = (e) => document.body.append(e.data);
</script>"""
HARD_LIMIT_SECONDS = 300  # the whole run, whatever the arguments
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(port: int, host: str, timeout: float = 5.0) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Host": host})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def rss_kib(pid: int) -> int:
    """VmRSS of C{pid} and every process below it (the serving processes under a supervisor)."""
    total = 0
    for one in [pid] + descendants(pid):
        with open(f"/proc/{one}/status") as f:
            total += next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return total


def cpu_seconds(pid: int, tree: bool = True) -> float:
    """User plus system CPU time used so far by process C{pid} (and, with C{tree}, those below it)."""
    total = 0.0
    for one in [pid] + (descendants(pid) if tree else []):
        with open(f"/proc/{one}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def start_server(scratch: str, port: int, max_per_site: int, processes: int = 1):
    db = os.path.join(scratch, "data.db")
    log = open(os.path.join(scratch, "twistd.log"), "wb")
    server = subprocess.Popen([os.path.join(BIN, "twistd"), "-n", "--pidfile=", "fazt", "--domain", DOMAIN,
                               "--db", db, "--http", f"tcp:{port}:interface=127.0.0.1",
                               "--ws-max-per-site", str(max_per_site), "--ws-ping-seconds", "0",
                               # Every client comes from 127.0.0.1: lift the per-address connection cap.
                               "--max-connections-per-address", str(max_per_site + 100)]
                              + (["--processes", str(processes)] if processes > 1 else []),
                              stdout=log, stderr=subprocess.STDOUT, cwd=scratch)
    for _ in range(150):
        if server.poll() is not None:
            raise RuntimeError("fazt exited at start; see twistd.log")
        try:
            get(port, DOMAIN)
            break
        except OSError:
            time.sleep(0.1)
    token = subprocess.run([os.path.join(BIN, "fazt"), "key", "create", "--db", db, "--name", "bench"],
                           capture_output=True, text=True, check=True, timeout=60).stdout.strip().splitlines()[-1]
    folder = os.path.join(scratch, SITE)
    os.makedirs(folder)
    with open(os.path.join(folder, "index.html"), "w") as f:
        f.write(INDEX)
    subprocess.run([os.path.join(BIN, "fazt"), "deploy", folder, "--site", SITE, "--server",
                    f"http://127.0.0.1:{port}", "--token", token], check=True, capture_output=True, timeout=60)
    assert get(port, f"{SITE}.{DOMAIN}:{port}") == 200
    return server, log


def run_clients(pid: int, port: int, count: int, duration: float, rate: float, probes: int) -> dict:
    """Connect, measure, broadcast; runs the Twisted reactor until done. Returns the figures."""
    import base64

    from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol
    from twisted.internet import reactor, task
    from twisted.internet.defer import Deferred, DeferredSemaphore, ensureDeferred
    from twisted.internet.protocol import ClientFactory, Protocol

    host = f"{SITE}.{DOMAIN}:{port}"
    latencies: list[float] = []
    state = {"received": 0, "measuring": False, "open": 0, "failed": 0, "sink_bytes": 0}

    class Sink(Protocol):
        """A WebSocket client that reads and counts bytes after the handshake, decoding nothing."""

        def connectionMade(self):
            self.head = b""
            key = base64.b64encode(os.urandom(16)).decode()
            self.transport.write((f"GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                                  "Sec-WebSocket-Version: 13\r\n\r\n").encode())

        def dataReceived(self, data):
            if self.head is None:
                if state["measuring"]:
                    state["sink_bytes"] += len(data)
                return
            self.head += data
            if b"\r\n\r\n" in self.head:
                status, _, rest = self.head.partition(b"\r\n\r\n")
                self.head = None
                if b" 101 " in status.split(b"\r\n")[0]:
                    state["open"] += 1
                    self.factory.ready.callback(self)
                else:
                    state["failed"] += 1
                    self.factory.ready.errback(ConnectionError(status[:80].decode("latin-1")))

        def sendClose(self):
            self.transport.loseConnection()

    class Client(WebSocketClientProtocol):
        def onOpen(self):
            state["open"] += 1
            self.factory.ready.callback(self)

        def onMessage(self, payload, isBinary):
            now = time.perf_counter()
            if state["measuring"]:
                sent = json.loads(payload)["t"]
                latencies.append(now - sent)
                state["received"] += 1

        def onClose(self, wasClean, code, reason):
            if not self.factory.ready.called:
                state["failed"] += 1
                self.factory.ready.errback(ConnectionError(str(reason)))

    def open_one(probe: bool) -> Deferred:
        if probe:
            factory = WebSocketClientFactory(f"ws://{host}/ws")
            factory.protocol = Client
            factory.setProtocolOptions(autoPingInterval=0, openHandshakeTimeout=30)
        else:
            factory = ClientFactory()
            factory.protocol = Sink
        factory.ready = Deferred()
        reactor.connectTCP("127.0.0.1", port, factory, timeout=30)
        return factory.ready

    async def main() -> dict:
        rss_before = rss_kib(pid)
        semaphore = DeferredSemaphore(50)  # handshakes in flight at once
        started = time.perf_counter()
        opened = [semaphore.run(open_one, n < probes) for n in range(count)]
        clients = []
        for d in opened:
            try:
                clients.append(await d)
            except Exception:
                pass
        connect_seconds = time.perf_counter() - started
        await task.deferLater(reactor, 2.0, lambda: None)  # settle before reading RSS
        rss_after = rss_kib(pid)
        if not clients:
            raise RuntimeError("no client connected")
        sender = clients[0]
        state["measuring"] = True
        interval = 1.0 / rate
        sent = 0
        frame_bytes = 0  # one broadcast's frame as every sink receives it (unmasked, short)
        cpu_before, own_before = cpu_seconds(pid), cpu_seconds(os.getpid(), tree=False)
        begin = time.perf_counter()
        while time.perf_counter() - begin < duration:
            target = begin + sent * interval
            delay = target - time.perf_counter()
            if delay > 0:
                await task.deferLater(reactor, delay, lambda: None)
            payload = json.dumps({"t": time.perf_counter(), "i": sent}).encode()
            frame_bytes += 2 + len(payload) + (2 if len(payload) > 125 else 0)
            sender.sendMessage(payload)
            sent += 1
        # Let the last broadcasts arrive (bounded).
        probing = min(probes, len(clients))
        expected = sent * len(clients)

        def delivered() -> int:
            return state["received"] + (state["sink_bytes"] * sent // frame_bytes if frame_bytes else 0)

        wait_until = time.perf_counter() + 5.0
        while delivered() < expected and time.perf_counter() < wait_until:
            await task.deferLater(reactor, 0.05, lambda: None)
        elapsed = time.perf_counter() - begin
        server_cpu = cpu_seconds(pid) - cpu_before
        client_cpu = cpu_seconds(os.getpid(), tree=False) - own_before
        state["measuring"] = False
        for client in clients:
            client.sendClose()
        await task.deferLater(reactor, 1.0, lambda: None)
        return dict(clients=len(clients), failed=state["failed"], connect_seconds=connect_seconds,
                    rss_before=rss_before, rss_after=rss_after, sent=sent, expected=expected,
                    received=delivered(), elapsed=elapsed, latencies=latencies, probes=probing,
                    server_cpu=server_cpu, client_cpu=client_cpu)

    result: dict = {}

    def done(value):
        result.update(value) if isinstance(value, dict) else result.setdefault("error", value)
        if reactor.running:
            reactor.stop()

    ensureDeferred(main()).addBoth(done)
    watchdog = reactor.callLater(HARD_LIMIT_SECONDS - 60, lambda: reactor.running and reactor.stop())
    reactor.run(installSignalHandlers=False)
    if watchdog.active():
        watchdog.cancel()
    if "error" in result:
        result["error"].raiseException()
    if not result:
        raise RuntimeError("timed out")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of broadcasting")
    parser.add_argument("--rate", type=float, default=20.0, help="broadcasts per second")
    parser.add_argument("--probes", type=int, default=50, help="clients that decode and time every message")
    parser.add_argument("--processes", type=int, default=1, help="fazt's --processes N (serving processes)")
    args = parser.parse_args()
    if args.duration > 120 or args.clients > 20000:
        parser.error("--duration at most 120 s and --clients at most 20000")
    nofile = raise_nofile()
    if nofile < args.clients + 100:
        parser.error(f"RLIMIT_NOFILE is {nofile}: too low for {args.clients} clients")
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("bench/ws.py hard time limit")))
    signal.alarm(HARD_LIMIT_SECONDS)
    parent = os.path.join(ROOT, ".bench")
    scratch = tempfile.mkdtemp(prefix="ws.", dir=parent if os.path.isdir(parent) else None)
    port = free_port()
    server = log = None
    try:
        server, log = start_server(scratch, port, max(args.clients + 10, 5000), args.processes)
        r = run_clients(server.pid, port, args.clients, args.duration, args.rate, args.probes)
        lat = [x * 1000 for x in r["latencies"]]
        per_conn = (r["rss_after"] - r["rss_before"]) / r["clients"]
        print(f"fazt WebSockets ({args.processes} serving process{'es' if args.processes > 1 else ''}), "
              f"{r['clients']} clients on one site ({r['failed']} failed to connect), "
              f"{args.rate:g} broadcasts/s for {args.duration:g} s, 127.0.0.1, "
              f"{time.strftime('%Y-%m-%d %H:%M:%SZ', time.gmtime())}")
        print(f"connected in {r['connect_seconds']:.2f} s")
        print(f"fazt RSS: {r['rss_before']} KiB before, {r['rss_after']} KiB with {r['clients']} idle clients"
              f" -> {per_conn:.1f} KiB per connection, {per_conn * 1000 / 1024:.1f} MiB per 1,000 connections")
        print(f"broadcasts sent {r['sent']}, deliveries {r['received']}/{r['expected']} "
              f"({r['received'] / r['elapsed']:.0f} delivered messages/s over {r['elapsed']:.1f} s)")
        print(f"fazt CPU while broadcasting: {r['server_cpu']:.2f} s in {r['elapsed']:.1f} s "
              f"({r['server_cpu'] / max(r['sent'], 1) * 1000:.1f} ms per broadcast to {r['clients']} clients, "
              f"{r['server_cpu'] / max(r['received'], 1) * 1e6:.1f} us per delivery); "
              f"the clients' process: {r['client_cpu']:.2f} s")
        print(f"latency measured on {r['probes']} decoding clients, the others counting bytes:")
        print(f"latency p50 {percentile(lat, .50):.1f} ms, p95 {percentile(lat, .95):.1f} ms, "
              f"p99 {percentile(lat, .99):.1f} ms, max {max(lat) if lat else float('nan'):.1f} ms")
        print("targets: 1,000 clients with broadcast p99 < 50 ms; < 50 KiB RSS per idle connection;"
              " 10,000 clients over 2 processes with broadcast p99 < 100 ms")
        if args.processes > 1:
            print(f"  {args.clients} clients over {args.processes} processes, p99 < 100 ms: "
                  f"{'met' if lat and percentile(lat, .99) < 100 else 'MISSED'}")
        print(f"  p99 < 50 ms: {'met' if lat and percentile(lat, .99) < 50 and r['clients'] >= 1000 else 'MISSED'};"
              f"  < 50 KiB per connection: {'met' if per_conn < 50 else 'MISSED'}")
        return 0
    finally:
        signal.alarm(0)
        if server is not None:
            os.kill(server.pid, signal.SIGTERM)
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                os.kill(server.pid, signal.SIGKILL)
                server.wait(5)
        if log is not None:
            log.close()
        if not os.environ.get("KEEP_SCRATCH"):
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
