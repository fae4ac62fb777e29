"""Mixed load with a hostile neighbour (SPEC §13): static + JS + KV + API + deploys, zero failures expected.

Run from the repository root with the project's virtualenv::

    .venv/bin/python bench/mixed.py                   # 60 s
    .venv/bin/python bench/mixed.py --duration 20

It starts fazt on a scratch cartridge on 127.0.0.1 and deploys, with the real CLI:

  plain    a static site (index.html, about.html, a 4 KB asset)
  hello    main.js, fazt style: res.send("hello")
  counter  main.js: db.incr("hits")
  churn    a static site redeployed every 2 s, alternating two versions
  hostile  main.js: while (true) {}

Then client threads (all on 127.0.0.1, bounded by --duration) request each kind in a loop while
others keep the hostile site busy. Every answer other than the expected one counts as a failure:
200 for the sites and the API (with the whole expected body for `plain` and `churn`, never a mix of
versions), a strictly increasing count for `counter`, and 500 for `hostile` (stopped at its CPU
limit). The target: zero failures everywhere except on `hostile`, where 500 is the point.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time

from benchlib import ScratchServer, request

DOMAIN = "mixed.test"
ASSET = "a" * 4096
VERSIONS = {"one": "<h1>version one</h1>" * 50, "two": "<h1>version two</h1>" * 50}


class Tally:
    """Counts, failures and latencies of one kind of request; shared by its threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.failures: list[str] = []
        self.latencies: list[float] = []

    def record(self, seconds: float, failure: str = "") -> None:
        with self.lock:
            self.count += 1
            self.latencies.append(seconds)
            if failure:
                self.failures.append(failure)

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000 if ordered else 0.0


def loop(stop: threading.Event, tally: Tally, check) -> None:
    """Call C{check()} until stopped; it returns a failure text or ''."""
    while not stop.is_set():
        started = time.monotonic()
        try:
            failure = check()
        except Exception as exc:  # a refused or reset connection is a failure too
            failure = f"{type(exc).__name__}: {exc}"
        tally.record(time.monotonic() - started, failure)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0)
    args = parser.parse_args()
    server = ScratchServer(DOMAIN)
    try:
        server.start()
        server.create_token()
        server.deploy("plain", {"index.html": "<h1>home</h1>", "about.html": "<h1>about</h1>", "asset.txt": ASSET})
        server.deploy("hello", {"main.js": 'res.send("hello")'})
        server.deploy("counter", {"main.js": 'res.send(String(db.incr("hits")))'})
        server.deploy("churn", {"index.html": VERSIONS["one"]})
        server.deploy("hostile", {"main.js": "while (true) {}"})
        port = server.port
        last_count = {"value": 0}
        count_lock = threading.Lock()

        def static():
            status, body = request(port, f"plain.{DOMAIN}", "/asset.txt")
            return "" if status == 200 and body == ASSET.encode() else f"plain {status} {len(body)} bytes"

        def hello():
            status, body = request(port, f"hello.{DOMAIN}")
            return "" if (status, body) == (200, b"hello") else f"hello {status} {body[:60]!r}"

        def counter():
            status, body = request(port, f"counter.{DOMAIN}")
            if status != 200:
                return f"counter {status}"
            with count_lock:
                value = int(body)
                # Concurrent requests may finish out of order; a repeated number would be a lost update.
                ok = value != last_count["value"]
                last_count["value"] = max(value, last_count["value"])
            return "" if ok else f"counter repeated {value}"

        def api():
            status, _ = request(port, f"admin.{DOMAIN}", "/api/sites",
                                headers={"Authorization": f"Bearer {server.token}"})
            return "" if status == 200 else f"api {status}"

        def churn_reader():
            status, body = request(port, f"churn.{DOMAIN}")
            return "" if status == 200 and body.decode() in VERSIONS.values() else f"churn {status} mixed content"

        def hostile():
            status, _ = request(port, f"hostile.{DOMAIN}", timeout=15)
            return "" if status == 500 else f"hostile {status}"

        deploy_tally = Tally()
        stop = threading.Event()

        def churn_deploys():
            version = 0
            while not stop.wait(2.0):
                version += 1
                started = time.monotonic()
                try:
                    server.deploy("churn", {"index.html": VERSIONS["two" if version % 2 else "one"]})
                    deploy_tally.record(time.monotonic() - started)
                except Exception as exc:
                    deploy_tally.record(time.monotonic() - started, f"deploy: {exc}")

        kinds = {"static": (static, 3), "js hello": (hello, 3), "js counter": (counter, 2), "api": (api, 1),
                 "churn reads": (churn_reader, 1), "hostile": (hostile, 2)}
        tallies = {name: Tally() for name in kinds}
        threads = [threading.Thread(target=loop, args=(stop, tallies[name], check), daemon=True)
                   for name, (check, n) in kinds.items() for _ in range(n)]
        threads.append(threading.Thread(target=churn_deploys, daemon=True))
        for thread in threads:
            thread.start()
        time.sleep(args.duration)
        stop.set()
        for thread in threads:
            thread.join(20)
        tallies["deploys"] = deploy_tally
        print(f"fazt mixed load, {args.duration:.0f} s, 127.0.0.1, {time.strftime('%Y-%m-%d %H:%MZ', time.gmtime())}")
        print(f"{'kind':<13}{'requests':>9}{'req/s':>8}{'failed':>8}{'p50 ms':>8}{'p99 ms':>8}")
        others_failed = 0
        for name, tally in tallies.items():
            print(f"{name:<13}{tally.count:>9}{tally.count / args.duration:>8.0f}{len(tally.failures):>8}"
                  f"{tally.percentile(0.5):>8.1f}{tally.percentile(0.99):>8.1f}")
            if name != "hostile":
                others_failed += len(tally.failures)
            for failure in sorted(set(tally.failures))[:5]:
                print(f"    {failure}")
        print(f"failed requests on other sites: {others_failed} (target 0)")
        return 0 if others_failed == 0 else 1
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
