"""Cold start and idle memory (SPEC §13): time to the first served request, and RSS when idle.

Run from the repository root with the project's virtualenv::

    .venv/bin/python bench/startup.py            # 5 rounds
    .venv/bin/python bench/startup.py --rounds 10

Each round starts `twistd -n fazt` on 127.0.0.1 and times, from the process's start, the first
answer of the root site (`Host: DOMAIN`, the default `root` site): once on a fresh cartridge
(schema, default sites and the first admin's bcrypt hash are made at start) and once on the same
cartridge again (a restart). After the restart it deploys a small site and a main.js app, serves
them a few times and waits 2 s, then reads the process's RSS: the idle size of a server that has
done some work (JS workers are separate processes and are listed on their own). fazt's modules
are byte-compiled first, as an installed package's are.
Targets: cold start < 1 s; idle RSS < 80 MiB.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from benchlib import ROOT, ScratchServer, request, rss_kib

DOMAIN = "startup.test"


def first_page(server: ScratchServer) -> float:
    """Start the server and return the seconds until its root site answers 200."""
    started = time.monotonic()
    server.start()
    while time.monotonic() - started < 30:
        if request(server.port, DOMAIN, "/")[0] == 200:
            return time.monotonic() - started
        time.sleep(0.005)
    raise RuntimeError("the root site never answered")


def worker_rss(parent: int) -> list[int]:
    """RSS in KiB of the JS worker processes whose parent is C{parent}."""
    found = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True).stdout.split()
    return [rss_kib(int(pid)) for pid in found]


def compile_package() -> None:
    """Byte-compile fazt, as pip does when it installs a package.

    From a checkout with PYTHONDONTWRITEBYTECODE set (as on some CI and development machines)
    every start would otherwise compile each of fazt's modules from source again.
    """
    subprocess.run([sys.executable, "-m", "compileall", "-q", os.path.join(ROOT, "fazt")], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    compile_package()
    fresh, again, idle, workers = [], [], [], []
    for _ in range(args.rounds):
        server = ScratchServer(DOMAIN)
        try:
            fresh.append(first_page(server))
            server.process.terminate()
            server.process.wait(15)
            again.append(first_page(server))
            server.create_token()
            server.deploy("site", {"index.html": "<h1>hi</h1>"})
            server.deploy("app", {"main.js": 'res.send("hi")'})
            for _ in range(20):
                request(server.port, f"site.{DOMAIN}")
                request(server.port, f"app.{DOMAIN}")
            time.sleep(2)
            idle.append(rss_kib(server.process.pid))
            workers.extend(worker_rss(server.process.pid))
        finally:
            server.stop()
    print(f"fazt cold start and idle RSS, {args.rounds} rounds, 127.0.0.1, {time.strftime('%Y-%m-%d %H:%MZ', time.gmtime())}")
    print(f"first page, fresh cartridge: median {statistics.median(fresh) * 1000:.0f} ms (max {max(fresh) * 1000:.0f})")
    print(f"first page, restart:         median {statistics.median(again) * 1000:.0f} ms (max {max(again) * 1000:.0f})  target < 1000 ms")
    print(f"idle RSS of fazt:            median {statistics.median(idle) / 1024:.1f} MiB (max {max(idle) / 1024:.1f})  target < 80 MiB")
    if workers:
        print(f"each JS worker process:      median {statistics.median(workers) / 1024:.1f} MiB ({len(workers) // args.rounds} per server)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
