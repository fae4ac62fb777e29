"""Serverless JS benchmark: hello, KV counter, an I/O-bound handler and hostile neighbours (SPEC §13, §13b).

Run from the repository root with the project's virtualenv::

    .venv/bin/python bench/js.py --quick          # 3 s per case, about 25 s in all
    .venv/bin/python bench/js.py                  # 10 s per case, under 2 minutes
    .venv/bin/python bench/js.py --rounds 3 --no-hostile --no-io --workers 1 [--profile F]
    .venv/bin/python bench/js.py --processes 2 --no-hostile --no-io   # twistd fazt --processes 2

It starts fazt on a scratch cartridge on 127.0.0.1 and deploys, with the real CLI:

  hello              fazt style:   res.send("hello")
  counter            fazt style:   let n = db.incr("hits"); res.send(String(n))
  io                 handler:      export default async function () { const r = await fetch(UPSTREAM); ... }
                     (or with --io-shape module, api/io.js: export async function GET(request, ctx) {...})
  hostile-loop       while (true) {}
  hostile-recursion  function f(n) { return f(n + 1) + 1 } f(0)
  hostile-memory     const a = []; for (;;) a.push(new Array(100000).fill(1))

and measures with wrk (installed with apt-get if missing):

  1. hello and 2. counter: wrk -t2 -c50 (target: hello >= 5,000 req/s, counter >= 3,000, p99 < 10 ms);
  3. hostile: hello probed by wrk -t1 -c1, first alone ("quiet"), then while 20 clients keep hitting the
     three hostile apps; its p50/p99 beside each other (target: within 2x), and how the hostile apps
     were answered (all 500, each only after its own limit);
  4. io: wrk -t2 -c200 against `io`, whose handler awaits a fetch of bench/upstream.py, a local server
     that answers every request after 100 ms (target: >= 1,000 req/s).

fetch refuses loopback (SPEC §7), so for case 4 fazt is started with the benchmark-only option
`--unsafe-bench-fetch-allow 127.0.0.1:PORT`, which lets scripts reach that one port and nothing else
(fazt/runtime/benchfetch.py). A tree without that option runs with --no-io.

The same run measures Cloudflare's workerd (npm `@cloudflare/workerd-linux-64`, installed into
.bench/tools/ and kept there) serving a one-line `export default { fetch }` hello with the same wrk
command, alternated with fazt's hello and counter, and prints fazt's hello as a ratio of it (SPEC §13b:
>= 0.5x with --processes 2). --no-workerd leaves it out.

Besides req/s and latency, each case prints the CPU microseconds per request spent in the fazt
processes (all their threads; with --processes N the supervisor and its N serving processes) and in
its JS workers, read from /proc/PID/stat before and after the
wrk run: on a shared machine that is steadier than req/s. Servers are stopped by PID on exit.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from benchlib import BIN, ROOT, free_port, request, stop_process
from upstream import UpstreamProcess
from workerd import VERSION as WORKERD_VERSION, WorkerdProcess
from wrklib import ensure_wrk, ms, percentile, wrk

DOMAIN = "bench.test"
APPS = {
    "hello": 'res.send("hello")',
    "counter": 'let n = db.incr("hits"); res.send(String(n))',
}
HOSTILE = {
    "hostile-loop": "while (true) {}",
    "hostile-recursion": "function f(n) { return f(n + 1) + 1 } f(0)",
    "hostile-memory": "const a = []; for (;;) a.push(new Array(100000).fill(1))",
}
# The I/O-bound handler: one awaited fetch of the upstream per request; anything but its answer is a 502.
# "main": a root main.js in handler style (part one); "module": a function module api/io.js (SPEC §14).
IO_APPS = {
    "main": ("/", "main.js", """export default async function (req) {
  const r = await fetch("http://127.0.0.1:%d/");
  const text = await r.text();
  return r.status === 200 ? text : { status: 502, body: "upstream answered " + r.status };
}
"""),
    "module": ("/api/io", "api/io.js", """export async function GET(request, ctx) {
  const r = await fetch("http://127.0.0.1:%d/");
  const text = await r.text();
  return r.status === 200 ? new Response(text) : new Response("upstream answered " + r.status, { status: 502 });
}
"""),
}
UPSTREAM_BODY = b"upstream ok"
# Not an app: the same 5 bytes as a static index.html, the cost floor of any request in fazt.
STATIC = {"static": "hello"}
TARGETS = {"hello": ">= 5000 req/s, p99 < 10 ms", "counter": ">= 3000 req/s", "io": ">= 1000 req/s",
           "static": "(reference: a static file)", "workerd": "(reference: workerd's hello, same wrk command)"}


def hostile_case(binary: str, port: int, args, server: int) -> dict:
    """hello probed alone, then beside C{args.hostile_clients} clients hammering the hostile apps."""
    host = f"hello.{DOMAIN}"
    probe = dict(threads=1, connections=args.probe_connections, server=server)
    quiet = wrk(binary, port, host, args.duration, **probe)
    answers: dict[str, list[tuple[int, float]]] = {name: [] for name in HOSTILE}
    stop = threading.Event()

    def hammer(name: str) -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                status = request(port, f"{name}.{DOMAIN}", timeout=20)[0]
            except OSError:
                status = -1
            answers[name].append((status, time.monotonic() - started))

    names = list(HOSTILE)
    threads = [threading.Thread(target=hammer, args=(names[i % len(names)],), daemon=True)
               for i in range(args.hostile_clients)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # let the hostile requests fill the queues first
    loaded = wrk(binary, port, host, args.duration, **probe)
    stop.set()
    for thread in threads:
        thread.join(25)
    return {"quiet": quiet, "hostile": loaded, "answers": answers}


def io_case(binary: str, port: int, upstream: UpstreamProcess, args, server: int) -> dict:
    """wrk -c200 against the handler that awaits the slow upstream; checked first, then measured."""
    host, path = f"io.{DOMAIN}", IO_APPS[args.io_shape][0]
    for _ in range(5):  # warm (worker started, script compiled) and check the fetch really reaches the upstream
        status, body = request(port, host, path, timeout=30)
        if (status, body) != (200, UPSTREAM_BODY):
            return {"error": f"GET {path} answered {status} {body[:80]!r}, not 200 {UPSTREAM_BODY!r}: not measured"}
    before = upstream.answered()
    result = wrk(binary, port, host, args.duration, args.io_connections, server, timeout="15s", path=path)
    result["upstream"] = upstream.answered() - before
    return result


def print_report(args, results: dict, hostile: dict | None) -> None:
    print(f"fazt JS apps, wrk -d{args.duration}, 127.0.0.1, {time.strftime('%Y-%m-%d %H:%M:%SZ', time.gmtime())},"
          f" {args.processes} fazt process(es)" + ("" if args.no_workerd else f", workerd {WORKERD_VERSION}"))
    print(f"{'case':<10}{'conns':>6}{'req/s':>9}{'p50':>10}{'p99':>10}{'non-2xx':>9}{'fazt us':>9}{'workers us':>11}  target")
    for name, r in results.items():
        if "error" in r:
            print(f"{name:<10}{r['error']}")
            continue
        print(f"{name:<10}{r['connections']:>6}{r['rate']:>9.0f}{r['p50'] or '-':>10}{r['p99'] or '-':>10}{r['non2xx']:>9}"
              f"{r['cpu_server']:>9.0f}{r['cpu_workers']:>11.0f}  {TARGETS[name]}"
              + (f"  socket errors: {r['socket_errors']}" if r["socket_errors"] else ""))
    print("fazt us / workers us: CPU microseconds per request in the fazt process(es) and in all JS workers together"
          " (workerd: its one process)")
    if "workerd" in results and "hello" in results:
        ratio = results["hello"]["rate"] / max(results["workerd"]["rate"], 1e-9)
        print(f"hello / workerd: {ratio:.3f} (median runs; SPEC §13b target with --processes 2: >= 0.5,"
              f" {'met' if ratio >= 0.5 else 'missed'}); {args.processes} fazt process(es)")
    if "io" in results and "error" not in results["io"]:
        r = results["io"]
        print(f"io: the upstream answered {r['upstream']} fetches during the run ({r['requests']} requests completed;"
              f" it answers each after {args.upstream_delay_ms:g} ms, so {args.io_connections} connections allow at most"
              f" {args.io_connections * 1000 / args.upstream_delay_ms:.0f} req/s)")
    if hostile is None:
        return
    quiet, loaded = hostile["quiet"], hostile["hostile"]
    print(f"hostile neighbours: hello probed with wrk -t1 -c{args.probe_connections}, alone and beside "
          f"{args.hostile_clients} clients hammering {len(HOSTILE)} hostile apps")
    for label, r in (("quiet", quiet), ("hostile", loaded)):
        print(f"  {label:<8} {r['rate']:>7.0f} req/s  p50 {r['p50']:>9}  p99 {r['p99']:>9}  non-2xx {r['non2xx']}"
              + (f"  fazt {r['cpu_server']:.0f} us + workers {r['cpu_workers']:.0f} us per hello request" if label == "quiet"
                 else "  (CPU not per hello request here: the hostile apps' runs are in it)")
              + (f"  socket errors: {r['socket_errors']}" if r["socket_errors"] else ""))
    print(f"  hostile/quiet: p50 {ms(loaded['p50']) / ms(quiet['p50']):.2f}x, p99 {ms(loaded['p99']) / ms(quiet['p99']):.2f}x"
          f" (target: within 2x); hello req/s {loaded['rate'] / max(quiet['rate'], 1e-9):.3g}x")
    for name, answered in hostile["answers"].items():
        statuses = {code: [s for s, _ in answered].count(code) for code in sorted({s for s, _ in answered})}
        seconds = [t * 1000 for _, t in answered]
        print(f"  {name:<18} {len(answered):>5} answered {statuses}  p50 {percentile(seconds, 0.5):.0f} ms"
              f"  p99 {percentile(seconds, 0.99):.0f} ms  (500 expected: each stopped at its own limit)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s per case and a 1 s warm-up (about 25 s in all)")
    parser.add_argument("--duration", default=None, help="wrk duration of each measured run (default 10s)")
    parser.add_argument("--connections", type=int, default=50, help="wrk connections for hello and counter")
    parser.add_argument("--io-connections", type=int, default=200, help="wrk connections for the io case")
    parser.add_argument("--io-shape", choices=sorted(IO_APPS), default="main",
                        help="io handler as a root main.js (default) or as the function module api/io.js (GET export)")
    parser.add_argument("--upstream-delay-ms", type=float, default=100.0)
    parser.add_argument("--hostile-clients", type=int, default=20)
    parser.add_argument("--probe-connections", type=int, default=1, help="wrk connections probing hello (hostile case)")
    parser.add_argument("--workers", type=int, default=0, help="--js-workers for fazt (default: one per core)")
    parser.add_argument("--rounds", type=int, default=1, help="repeat hello and counter; medians are printed")
    parser.add_argument("--no-hostile", action="store_true", help="skip the hostile case")
    parser.add_argument("--no-io", action="store_true", help="skip the io case (for trees without the bench option)")
    parser.add_argument("--no-workerd", action="store_true", help="leave out workerd, the same-run reference")
    parser.add_argument("--processes", type=int, default=1,
                        help="serving processes: passed on as twistd fazt --processes N (nothing for 1, the default)")
    parser.add_argument("--static", action="store_true", help="also measure a 5-byte static file (reference)")
    parser.add_argument("--profile", metavar="FILE", help="run fazt under cProfile; stats saved to FILE at exit")
    args = parser.parse_args()
    args.duration = args.duration or ("3s" if args.quick else "10s")
    warmup = "1s" if args.quick else "2s"
    binary = ensure_wrk()
    base = os.path.join(ROOT, ".bench")
    scratch = tempfile.mkdtemp(prefix="js.", dir=base if os.path.isdir(base) else None)
    db = os.path.join(scratch, "data.db")
    port = free_port()
    upstream = None if args.no_io else UpstreamProcess(args.upstream_delay_ms)
    log = open(os.path.join(scratch, "twistd.log"), "wb")
    # Wall-clock cProfile of the whole process (twistd's own option); time in epoll.poll is idle time.
    profile = ["--profile", os.path.abspath(args.profile), "--profiler=cprofile", "--savestats"] if args.profile else []
    extra = ["--grace-seconds", "2"]  # requests still queued when the last case ends are not worth waiting for
    if args.workers:
        extra += ["--js-workers", str(args.workers)]
    if args.processes != 1:
        extra += ["--processes", str(args.processes)]
    reference = None if args.no_workerd else WorkerdProcess(scratch)
    if upstream is not None:
        extra += ["--unsafe-bench-fetch-allow", f"127.0.0.1:{upstream.port}"]
        if args.io_connections > 200:  # wrk's connections all come from 127.0.0.1 (default cap: 256 per address)
            extra += ["--max-connections-per-address", str(args.io_connections + 56)]
    server = subprocess.Popen([os.path.join(BIN, "twistd"), "-n", "--pidfile=", *profile, "fazt", "--domain", DOMAIN,
                               "--db", db, "--http", f"tcp:{port}:interface=127.0.0.1", *extra],
                              stdout=log, stderr=subprocess.STDOUT, cwd=scratch)
    try:
        for _ in range(100):
            try:
                if request(port, DOMAIN, "/health", timeout=1)[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        token = subprocess.run([os.path.join(BIN, "fazt"), "key", "create", "--db", db, "--name", "bench"],
                               capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        sites = {name: {"main.js": source} for name, source in APPS.items()}
        if not args.no_hostile:
            sites.update({name: {"main.js": source} for name, source in HOSTILE.items()})
        if upstream is not None:
            _path, file_name, source = IO_APPS[args.io_shape]
            sites["io"] = {file_name: source % upstream.port}
        if args.static:
            sites.update({name: {"index.html": source} for name, source in STATIC.items()})
        for name, files in sites.items():
            folder = os.path.join(scratch, name)
            for file_name, source in files.items():
                os.makedirs(os.path.dirname(os.path.join(folder, file_name)), exist_ok=True)
                with open(os.path.join(folder, file_name), "w") as f:
                    f.write(source)
            subprocess.run([os.path.join(BIN, "fazt"), "deploy", folder, "--site", name, "--server",
                            f"http://127.0.0.1:{port}", "--token", token], check=True, capture_output=True)
        for name in APPS:
            request(port, f"{name}.{DOMAIN}")  # warm: workers started, script compiled
        results = {}
        cases = (*APPS, "static") if args.static else tuple(APPS)
        # (port, host, pid to count CPU for) of every case; workerd is measured like fazt's hello, in turn with it.
        targets = {name: (port, f"{name}.{DOMAIN}", server.pid) for name in cases}
        if reference is not None:
            reference.start()
            targets["workerd"] = (reference.port, "workerd", reference.pid)
        rounds: dict[str, list[dict]] = {name: [] for name in targets}
        for name, (at, host, _pid) in targets.items():
            wrk(binary, at, host, warmup, args.connections)
        for _ in range(args.rounds):
            for name, (at, host, pid) in targets.items():
                rounds[name].append(wrk(binary, at, host, args.duration, args.connections, pid))
        for name, runs in rounds.items():
            results[name] = sorted(runs, key=lambda r: r["rate"])[len(runs) // 2]
            if args.rounds > 1:
                print(f"{name} rounds: " + ", ".join(f"{r['rate']:.0f} req/s ({r['cpu_server']:.0f}+{r['cpu_workers']:.0f} us)"
                                                      for r in runs))
        hostile = None if args.no_hostile else hostile_case(binary, port, args, server.pid)
        if upstream is not None:  # last: on a runtime that holds a worker per request, a backlog outlives it
            results["io"] = io_case(binary, port, upstream, args, server.pid)
        print_report(args, results, hostile)
        return 1 if any("error" in r for r in results.values()) else 0
    finally:
        stop_process(server)
        log.close()
        if upstream is not None:
            upstream.stop()
        if reference is not None:
            reference.stop()
        if not os.environ.get("KEEP_SCRATCH"):
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
