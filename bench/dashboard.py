"""The dashboard's first load (issue 8): bytes on the wire and time until the overview is usable.

Run from the repository root with the project's virtualenv (needs Debian's chromium and the
`playwright` package from the test extra)::

    .venv/bin/python bench/dashboard.py              # 5 rounds
    .venv/bin/python bench/dashboard.py --rounds 10

A scratch server gets an admin with a known password, a few sites and some traffic. Each round
opens a new browser context (empty cache), logs in through the API, then loads `/` and waits
until the overview's every card has its data: that moment, read from `performance.now()` in
the page (milliseconds since navigation start), is "interactive". A second load in the same
context measures a warm cache. Bytes are what Chromium received (headers + encoded bodies).
Targets: first load < 150 KB transferred and interactive < 1 s on loopback.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from urllib.parse import urlsplit

from benchlib import BIN, ScratchServer, request

DOMAIN = "dash.test"
PASSWORD = "bench password"
# Recorded by the page itself, at the first DOM change after which the overview is complete
# (a polling wait would add its own polling delay to the figure).
WATCH = """(() => {
  const check = () => {
    const main = document.querySelector('main');
    if (window.__settled === undefined && main && main.querySelector('h1') && !main.textContent.includes('Loading…')) {
      window.__settled = performance.now();
    }
  };
  new MutationObserver(check).observe(document, {subtree: true, childList: true, characterData: true});
})();"""


def load(page, url: str) -> tuple[float, int, dict]:
    finished = []
    page.on("requestfinished", lambda r: finished.append(r))
    page.goto(url)
    interactive = page.wait_for_function("() => window.__settled").json_value()
    sizes = {}
    for r in finished:
        s = r.sizes()
        sizes[urlsplit(r.url).path] = s["responseBodySize"] + s["responseHeadersSize"]
    return interactive, sum(sizes.values()), sizes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    server = ScratchServer(DOMAIN)
    try:
        subprocess.run([os.path.join(BIN, "fazt"), "init", "--db", server.db, "--domain", DOMAIN, "--username", "admin",
                        "--password", PASSWORD], check=True, capture_output=True)
        server.start()
        server.create_token()
        for name in ("blog", "docs", "shop"):
            server.deploy(name, {"index.html": f"<h1>{name}</h1>", "about.html": "<p>about</p>"})
            for _ in range(3):
                request(server.port, f"{name}.{DOMAIN}", "/")
        base = f"http://localhost:{server.port}"
        cold, warm, totals = [], [], []
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            for round_ in range(args.rounds + 1):  # round 0 warms the server and the browser up
                context = browser.new_context(viewport={"width": 1280, "height": 860})
                context.add_init_script(WATCH)
                assert context.request.post(base + "/api/login", data={"username": "admin", "password": PASSWORD}).ok
                page = context.new_page()
                first_ms, first_bytes, sizes = load(page, base + "/")
                if round_ == 1:
                    timings = page.evaluate("performance.getEntriesByType('resource').map(e =>"
                                            " [new URL(e.name).pathname, Math.round(e.startTime), Math.round(e.responseEnd)])")
                page2 = context.new_page()
                again_ms, _, _ = load(page2, base + "/")
                context.close()
                if round_ == 0:
                    breakdown = sizes
                    continue

                cold.append(first_ms)
                warm.append(again_ms)
                totals.append(first_bytes)
            browser.close()
        print("first load, by path (bytes on the wire):")
        for path, size in sorted(breakdown.items(), key=lambda kv: -kv[1]):
            print(f"  {size:8d}  {path}")
        print("first load, by request (start and end, ms after navigation start):")
        for path, start, end in timings:
            print(f"  {start:5d} {end:5d}  {path}")
        print(f"rounds: {args.rounds}")
        print(f"transferred: median {statistics.median(totals) / 1024:.1f} KiB (target < 150 KB)")
        print(f"interactive, empty cache: median {statistics.median(cold):.0f} ms, max {max(cold):.0f} ms (target < 1000 ms)")
        print(f"interactive, warm cache:  median {statistics.median(warm):.0f} ms, max {max(warm):.0f} ms")
        ok = statistics.median(totals) < 150_000 and statistics.median(cold) < 1000
        return 0 if ok else 1
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
