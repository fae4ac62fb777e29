"""Serverless JS benchmark: hello and KV-counter apps under wrk, and a hostile neighbour (SPEC §13).

Run from the repository root with the project's virtualenv::

    .venv/bin/python bench/js.py                  # 10 s per case, 50 connections
    .venv/bin/python bench/js.py --duration 5s --connections 50
    .venv/bin/python bench/js.py --rounds 3 --no-hostile --workers 1 [--profile F]

It starts fazt on a scratch cartridge on 127.0.0.1, deploys three apps with the real CLI:

  hello    fazt style:   res.send("hello")
  counter  fazt style:   let n = db.incr("hits"); res.send(String(n))
  hostile  while (true) {}

and measures with wrk (installed with apt-get if missing):

  1. hello alone, 2. counter alone, 3. hello while 4 clients keep hitting `hostile` in a loop.

Targets: hello >= 5,000 req/s, counter >= 3,000 req/s, p99 < 10 ms at 50 connections; the hostile
neighbour should not make hello fail. Servers are stopped by PID on exit.

Besides req/s and latency, each case prints the CPU microseconds per request spent in the fazt
process (all its threads) and in its JS workers, read from /proc/PID/stat before and after the
wrk run: on a shared machine that is steadier than req/s.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".venv", "bin")
DOMAIN = "bench.test"
APPS = {
    "hello": 'res.send("hello")',
    "counter": 'let n = db.incr("hits"); res.send(String(n))',
    "hostile": "while (true) {}",
}
# Not an app: the same 5 bytes as a static index.html, the cost floor of any request in fazt.
STATIC = {"static": "hello"}
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run(["apt-get", "update", "-q"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, stdout=subprocess.DEVNULL)
    return shutil.which("wrk")


def get(port: int, host: str, timeout: float = 5.0) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Host": host})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def cpu_ticks(pid: int) -> int:
    """utime + stime of one process, in clock ticks (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def children(pid: int) -> list[int]:
    """The PIDs of a process's direct children (the JS workers of the fazt process)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rpartition(")")[2].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return found


def cpu_snapshot(server: int) -> dict:
    """CPU ticks of the fazt process and of each of its workers."""
    return {"server": cpu_ticks(server), "workers": {pid: cpu_ticks(pid) for pid in children(server)}}


def cpu_per_request(before: dict, after: dict, requests: int) -> tuple[float, float]:
    """CPU microseconds per request in the fazt process and in all workers together.

    A worker replaced meanwhile is counted from 0 (new) or up to its last reading (gone).
    """
    tick = 1e6 / os.sysconf("SC_CLK_TCK")
    server = (after["server"] - before["server"]) * tick
    workers = sum(after["workers"].get(pid, 0) - before["workers"].get(pid, 0)
                  for pid in after["workers"]) * tick
    requests = max(requests, 1)
    return server / requests, workers / requests


def wrk(binary: str, port: int, host: str, duration: str, connections: int, server: int = 0) -> dict:
    before = cpu_snapshot(server) if server else None
    out = subprocess.run([binary, "-t2", f"-c{connections}", f"-d{duration}", "--latency", "-H", f"Host: {host}",
                          f"http://127.0.0.1:{port}/"], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock_errors = re.search(r"Socket errors: (.*)", out)
    total = re.search(r"(\d+) requests in", out)
    cpu = cpu_per_request(before, cpu_snapshot(server), int(total.group(1))) if server else (0.0, 0.0)
    return {"rate": rate, "cpu_server": cpu[0], "cpu_workers": cpu[1], "p50": latency.get("50"), "p99": latency.get("99"),
            "non2xx": int(errors.group(1)) if errors else 0, "socket_errors": sock_errors.group(1) if sock_errors else ""}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", default="10s")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workers", type=int, default=0, help="--js-workers for fazt (default: one per core)")
    parser.add_argument("--rounds", type=int, default=1, help="repeat hello and counter; medians are printed")
    parser.add_argument("--no-hostile", action="store_true", help="skip the hello+hostile case")
    parser.add_argument("--static", action="store_true", help="also measure a 5-byte static file (reference)")
    parser.add_argument("--profile", metavar="FILE", help="run fazt under cProfile; stats saved to FILE at exit")
    args = parser.parse_args()
    binary = ensure_wrk()
    scratch = tempfile.mkdtemp(prefix="js.", dir=os.path.join(ROOT, ".bench") if os.path.isdir(os.path.join(ROOT, ".bench")) else None)
    db = os.path.join(scratch, "data.db")
    port = free_port()
    log = open(os.path.join(scratch, "twistd.log"), "wb")
    # Wall-clock cProfile of the whole process (twistd's own option); time in epoll.poll is idle time.
    profile = ["--profile", os.path.abspath(args.profile), "--profiler=cprofile", "--savestats"] if args.profile else []
    server = subprocess.Popen([os.path.join(BIN, "twistd"), "-n", "--pidfile=", *profile, "fazt", "--domain", DOMAIN, "--db", db,
                               "--http", f"tcp:{port}:interface=127.0.0.1"]
                              + (["--js-workers", str(args.workers)] if args.workers else []), stdout=log, stderr=subprocess.STDOUT,
                              cwd=scratch)
    stop_hostile = threading.Event()
    try:
        for _ in range(100):
            try:
                if get(port, DOMAIN) in (200, 404):
                    break
            except OSError:
                time.sleep(0.1)
        token = subprocess.run([os.path.join(BIN, "fazt"), "key", "create", "--db", db, "--name", "bench"],
                               capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        for name, source in {**APPS, **(STATIC if args.static else {})}.items():
            folder = os.path.join(scratch, name)
            os.makedirs(folder)
            with open(os.path.join(folder, "main.js" if name in APPS else "index.html"), "w") as f:
                f.write(source)
            subprocess.run([os.path.join(BIN, "fazt"), "deploy", folder, "--site", name, "--server",
                            f"http://127.0.0.1:{port}", "--token", token], check=True, capture_output=True)
        for name in ("hello", "counter"):
            get(port, f"{name}.{DOMAIN}")  # warm: workers started, script compiled
        results = {}
        cases = ("hello", "counter", "static") if args.static else ("hello", "counter")
        rounds: dict[str, list[dict]] = {name: [] for name in cases}
        for name in cases:
            wrk(binary, port, f"{name}.{DOMAIN}", "2s", args.connections)
        for _ in range(args.rounds):
            for name in cases:
                rounds[name].append(wrk(binary, port, f"{name}.{DOMAIN}", args.duration, args.connections, server.pid))
        for name, runs in rounds.items():
            results[name] = sorted(runs, key=lambda r: r["rate"])[len(runs) // 2]
            if args.rounds > 1:
                print(f"{name} rounds: " + ", ".join(f"{r['rate']:.0f} req/s ({r['cpu_server']:.0f}+{r['cpu_workers']:.0f} us)"
                                                      for r in runs))
        hostile_answers: list[int] = []

        def hammer():
            while not stop_hostile.is_set():
                try:
                    hostile_answers.append(get(port, f"hostile.{DOMAIN}", timeout=15))
                except OSError:
                    hostile_answers.append(-1)

        threads = [threading.Thread(target=hammer, daemon=True) for _ in range(0 if args.no_hostile else 4)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        if not args.no_hostile:
            results["hello+hostile"] = wrk(binary, port, f"hello.{DOMAIN}", args.duration, args.connections, server.pid)
        stop_hostile.set()
        for thread in threads:
            thread.join(20)
        print(f"fazt JS apps, wrk -t2 -c{args.connections} -d{args.duration}, 127.0.0.1, {time.strftime('%Y-%m-%d %H:%M:%SZ', time.gmtime())}")
        print(f"{'case':<15}{'req/s':>10}{'p50':>10}{'p99':>10}{'non-2xx':>9}{'fazt us':>9}{'workers us':>11}  target")
        targets = {"hello": ">= 5000 req/s", "counter": ">= 3000 req/s", "hello+hostile": "no failures",
                   "static": "(reference: a static file)"}
        for name, r in results.items():
            print(f"{name:<15}{r['rate']:>10.0f}{r['p50'] or '-':>10}{r['p99'] or '-':>10}{r['non2xx']:>9}"
                  f"{r['cpu_server']:>9.0f}{r['cpu_workers']:>11.0f}  {targets[name]}"
                  + (f"  socket errors: {r['socket_errors']}" if r["socket_errors"] else ""))
        statuses = {code: hostile_answers.count(code) for code in set(hostile_answers)}
        print("fazt us / workers us: CPU microseconds per request in the fazt process and in all JS workers together"
              " (with hostile, the workers' figure includes the hostile runs)")
        print(f"hostile requests answered meanwhile: {len(hostile_answers)} {statuses} (500 expected: stopped at the CPU limit)")
        return 0
    finally:
        stop_hostile.set()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        if not os.environ.get("KEEP_SCRATCH"):
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
