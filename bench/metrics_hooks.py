"""What /metrics costs each site request: the site hook plus the finish hook, on real Requests.

    .venv/bin/python bench/metrics_hooks.py [--requests N]

Runs L{fazt.web.metrics.RequestCounter}'s two hooks on twisted.web Requests (as the static fast
path does, with a 200 status) and prints the time per request, beside a bare dict count (what
the hook cost before status codes and latency were measured). Not a test: it prints numbers.
"""

from __future__ import annotations

import argparse
import time

from twisted.web.server import Request
from twisted.web.test.requesthelper import DummyChannel

from fazt.web.metrics import RequestCounter


def per_request(fn, requests: list) -> float:
    started = time.perf_counter()
    for request in requests:
        fn(request)
    return (time.perf_counter() - started) / len(requests) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200_000)
    args = parser.parse_args()
    channel = DummyChannel()
    requests = [Request(channel) for _ in range(args.requests)]
    for request in requests:
        request.code = 200
    counter = RequestCounter()
    sites = ["blog", "shop", "docs"]

    def both(request, n=[0]):
        n[0] += 1
        counter.hook(request, sites[n[0] % 3])
        counter.finished(request)

    bare: dict = {}

    def dict_only(request, n=[0]):
        n[0] += 1
        site = sites[n[0] % 3]
        bare[site] = bare.get(site, 0) + 1

    best_hooks = min(per_request(both, requests) for _ in range(5))
    best_bare = min(per_request(dict_only, requests) for _ in range(5))
    print(f"site hook + finish hook: {best_hooks:.2f} us per request (best of 5 x {args.requests:,})")
    print(f"bare per-site dict count: {best_bare:.2f} us per request")
    print(f"added by status and latency: {best_hooks - best_bare:.2f} us per request")


if __name__ == "__main__":
    main()
