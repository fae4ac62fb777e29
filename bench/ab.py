"""A/B of two fazt trees on one JS app: both servers up at once, measured in alternation, ratios per pair.

The machine's speed drifts 2-3x within minutes (other work, thermal, the host), so a figure means
something only against a reference measured in the same minute. This script starts one fazt per
tree, each on its own scratch cartridge with the same app deployed, then measures them in turn
(A B, B A, A B, ...: an ABBA order, so that a drift hits both alike) and prints, per pair, req/s,
CPU per request (server + workers) and p99, then the medians and the median of the per-pair ratios
B/A.

    .venv/bin/python bench/ab.py --a /tmp/old-checkout --b .          # PYTHONPATH for each side
    .venv/bin/python bench/ab.py --a . --b . --b-args "--js-workers 1" # one tree, two settings
    .venv/bin/python bench/ab.py --app counter --pairs 8 --duration 5s   # or --app static (no JS)

A tree is a checkout whose C{fazt} package is put first on PYTHONPATH (the twistd plugin is found
there too); the scripts and wrk come from this checkout. Run from the repository root after
C{make setup}; under other load, C{nice -n -10} (as root) keeps the servers ahead of it.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import tempfile
import time

from benchlib import BIN, ROOT, free_port, request, stop_process
from wrklib import ensure_wrk, ms, wrk

DOMAIN = "ab.test"
APPS = {  # app -> (file, its content); "static" is the floor of any request (no JS)
    "hello": ("main.js", 'res.send("hello")'),
    "counter": ("main.js", 'let n = db.incr("hits"); res.send(String(n))'),
    "static": ("index.html", "hello"),
}


class Server:
    """One fazt of one tree, with the app deployed as site C{app}."""

    def __init__(self, label: str, tree: str, args: list[str], app: tuple[str, str], scratch: str) -> None:
        self.label = label
        self.folder = tempfile.mkdtemp(prefix=f"{label}.", dir=scratch)
        self.port = free_port()
        self.env = {**os.environ, "PYTHONPATH": os.path.abspath(tree)}
        db = os.path.join(self.folder, "data.db")
        self.log = open(os.path.join(self.folder, "twistd.log"), "wb")
        self.process = subprocess.Popen(
            [os.path.join(BIN, "twistd"), "-n", "--pidfile=", "fazt", "--domain", DOMAIN, "--db", db,
             "--http", f"tcp:{self.port}:interface=127.0.0.1", *args],
            env=self.env, cwd=self.folder, stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_healthy()
        token = subprocess.run([os.path.join(BIN, "fazt"), "key", "create", "--db", db, "--name", "ab"], env=self.env,
                               capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        folder = os.path.join(self.folder, "app")
        os.makedirs(folder)
        file_name, content = app
        with open(os.path.join(folder, file_name), "w") as f:
            f.write(content)
        subprocess.run([os.path.join(BIN, "fazt"), "deploy", folder, "--site", "app", "--server",
                        f"http://127.0.0.1:{self.port}", "--token", token], env=self.env, check=True, capture_output=True)
        if request(self.port, f"app.{DOMAIN}")[0] != 200:
            raise SystemExit(f"{label}: the app does not answer 200")

    def _wait_healthy(self) -> None:
        for _ in range(150):
            try:
                if request(self.port, DOMAIN, "/health", timeout=1)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"{self.label}: fazt did not start (see {self.log.name})")

    def stop(self) -> None:
        stop_process(self.process)
        self.log.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", default=ROOT, help="tree A (a checkout; default: this one)")
    parser.add_argument("--b", default=ROOT, help="tree B (a checkout; default: this one)")
    parser.add_argument("--a-args", default="", help="extra twistd fazt options for A")
    parser.add_argument("--b-args", default="", help="extra twistd fazt options for B")
    parser.add_argument("--app", choices=sorted(APPS), default="hello")
    parser.add_argument("--pairs", type=int, default=6)
    parser.add_argument("--duration", default="3s", help="wrk duration of each measured run")
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args()
    binary = ensure_wrk()
    base = os.path.join(ROOT, ".bench")
    os.makedirs(base, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="ab.", dir=base)
    servers = []
    try:
        for label, tree, extra in (("A", args.a, args.a_args), ("B", args.b, args.b_args)):
            servers.append(Server(label, tree, shlex.split(extra), APPS[args.app], scratch))
        host = f"app.{DOMAIN}"
        for server in servers:
            wrk(binary, server.port, host, "1s", args.connections)  # warm: workers started, script compiled
        rows: dict[str, list[dict]] = {"A": [], "B": []}
        print(f"A: {args.a} {args.a_args}\nB: {args.b} {args.b_args}\n{args.app}, wrk -c{args.connections} "
              f"-d{args.duration}, {args.pairs} pairs in ABBA order")
        for pair in range(args.pairs):
            for server in servers if pair % 2 == 0 else reversed(servers):
                rows[server.label].append(wrk(binary, server.port, host, args.duration, args.connections,
                                              server.process.pid))
            a, b = rows["A"][-1], rows["B"][-1]
            print(f"pair {pair}: A {describe(a)} | B {describe(b)}", flush=True)
        summarize(rows)
        return 0
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(scratch, ignore_errors=True)


def cpu(run: dict) -> float:
    return run["cpu_server"] + run["cpu_workers"]


def describe(run: dict) -> str:
    return f"{run['rate']:6.0f} req/s {cpu(run):4.0f} us/req p99 {ms(run['p99']):6.1f} ms"


def summarize(rows: dict[str, list[dict]]) -> None:
    """Medians per side, and the median of the per-pair ratios B/A (the figure to quote)."""
    for label, runs in rows.items():
        print(f"median {label}: {statistics.median(r['rate'] for r in runs):.0f} req/s, "
              f"{statistics.median(cpu(r) for r in runs):.0f} us/req, "
              f"p99 {statistics.median(ms(r['p99']) for r in runs):.1f} ms")
    pairs = list(zip(rows["A"], rows["B"]))
    ratio = statistics.median(b["rate"] / a["rate"] for a, b in pairs)
    cpu_ratio = statistics.median(cpu(b) / cpu(a) for a, b in pairs)
    p99_ratio = statistics.median(ms(b["p99"]) / ms(a["p99"]) for a, b in pairs)
    print(f"B/A, median of the per-pair ratios: req/s {ratio:.3f}, CPU per request {cpu_ratio:.3f}, p99 {p99_ratio:.3f}")


if __name__ == "__main__":
    raise SystemExit(main())
