"""Deploy benchmark: 1,000 files / 50 MiB through C{fazt deploy}, end to end (SPEC §13).

Run with the project's virtualenv from the repository root::

    .venv/bin/python bench/deploy.py            # 1,000 files, 50 MiB, 200 of them text
    .venv/bin/python bench/deploy.py --keep     # keep the scratch folder under .bench/
    .venv/bin/python bench/deploy.py --rounds 3 --quiet-wait 60   # on a busy machine

It generates a site (about 200 compressible html/css/js files, the rest random binary), starts
fazt on a scratch cartridge on 127.0.0.1, and times, as wall clock of the CLI command:

  1. the first deploy (every blob is new),
  2. an identical redeploy (target: no new blob stored),
  3. a deploy where one file changed (target: one new blob).

New blobs are counted as rows of the C{blobs} table before and after each deploy. A fourth,
API-direct deploy of the same content (zip built in-process, multipart POST with urllib) splits
the time into packing and upload+server, and reads C{new_blobs} from the deploy response.

Targets: each CLI deploy < 3 s; the redeploy stores 0 new blobs. The server is stopped by its
PID on exit, whatever happens.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import signal
import socket
import statistics
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".venv", "bin")
DOMAIN = "bench.test"
SITE = "bench"
TARGET_SECONDS = 3.0
MiB = 1024 * 1024

WORDS = (
    "the quick brown fox jumps over lazy dog lorem ipsum dolor sit amet consectetur adipiscing elit "
    "sed do eiusmod tempor incididunt ut labore et dolore magna aliqua fazt site deploy static "
    "function const return var let class extends import export default async await promise "
    "color margin padding border display flex grid width height font-size background"
).split()


# -- the site ----------------------------------------------------------------------------------

def text_content(rng: random.Random, kind: str, size: int, serial: int) -> bytes:
    """Compressible text of about C{size} bytes that looks like C{kind} (html, css or js)."""
    lines = []
    total = 0
    n = 0
    while total < size:
        words = " ".join(rng.choices(WORDS, k=rng.randint(4, 12)))
        if kind == "html":
            line = f'<div class="c{n % 17}" id="x{serial}-{n}"><p>{words}</p></div>\n'
        elif kind == "css":
            line = f".c{serial}-{n} {{ margin: {n % 9}px; padding: {n % 5}px; /* {words} */ }}\n"
        else:
            line = f"function f{serial}_{n}(a, b) {{ return a + b + {n}; }} // {words}\n"
        lines.append(line)
        total += len(line)
        n += 1
    data = "".join(lines).encode("utf-8")[:size]
    if kind == "html":
        data = b"<!doctype html>\n" + data[16:]
    return data


def make_site(directory: str, files: int, total_bytes: int, text_files: int, seed: int) -> dict:
    """Write the site; returns a summary (counts and sizes)."""
    rng = random.Random(seed)
    text_share = total_bytes // 10  # ~10% of the bytes are text, ~90% binary
    text_sizes = [rng.randint(2_000, 2 * text_share // text_files - 2_000) for _ in range(text_files)]
    binary_files = files - text_files
    remaining = total_bytes - sum(text_sizes)
    mean = remaining // binary_files
    binary_sizes = [rng.randint(mean // 4, mean * 7 // 4) for _ in range(binary_files - 1)]
    binary_sizes.append(remaining - sum(binary_sizes))
    if binary_sizes[-1] <= 0:
        raise SystemExit("internal error: size plan does not add up")

    written = {"text": 0, "binary": 0, "text_bytes": 0, "binary_bytes": 0}
    kinds = ("html", "css", "js")
    for i, size in enumerate(text_sizes):
        kind = kinds[i % 3]
        name = "index.html" if i == 0 else f"{kind}/page{i:04d}.{kind}"
        write_file(directory, name, text_content(rng, kind, size, i))
        written["text"] += 1
        written["text_bytes"] += size
    for i, size in enumerate(binary_sizes):
        write_file(directory, f"assets/{i // 100:02d}/blob{i:04d}.bin", os.urandom(size))
        written["binary"] += 1
        written["binary_bytes"] += size
    return written


def write_file(directory: str, name: str, data: bytes) -> None:
    path = os.path.join(directory, *name.split("/"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def tree_stats(directory: str) -> tuple[int, int]:
    count = size = 0
    for current, _, names in os.walk(directory):
        for name in names:
            count += 1
            size += os.path.getsize(os.path.join(current, name))
    return count, size


# -- the server --------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One fazt process under twistd, stopped by its PID."""

    def __init__(self, scratch: str) -> None:
        self.port = free_port()
        self.db = os.path.join(scratch, "data.db")
        self.log_path = os.path.join(scratch, "fazt.log")
        self.tmp = os.path.join(scratch, "tmp")
        os.makedirs(self.tmp, exist_ok=True)
        self.proc: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [os.path.join(BIN, "twistd"), "-n", "--pidfile=", f"--logfile={self.log_path}",
             "fazt", "--domain", DOMAIN, "--db", self.db,
             "--http", f"tcp:{self.port}:interface=127.0.0.1"],
            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 15
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"fazt exited with {self.proc.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"fazt did not answer /health within 15 s; see {self.log_path}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def cpu_seconds(self) -> float:
        """User+system CPU the server process has used so far (all its threads)."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mib(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0


# -- measurements ------------------------------------------------------------------------------

@dataclass
class Result:
    label: str
    seconds: float
    new_blobs: int
    client_cpu: float
    server_cpu: float
    db_mib: float
    other_cpu: float = 0.0
    note: str = ""


def blob_count(db: str) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute("SELECT count(*) FROM blobs").fetchone()[0]
    finally:
        conn.close()


def db_mib(db: str) -> float:
    """The cartridge's size on disk: the database file plus its WAL, if any."""
    return sum(os.path.getsize(p) for p in (db, db + "-wal") if os.path.exists(p)) / MiB


def file_mib(path: str) -> float:
    return os.path.getsize(path) / MiB if os.path.exists(path) else 0.0


def busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        fields = f.readline().split()
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cli_deploy(server: Server, token: str, directory: str, label: str) -> Result:
    before_blobs = blob_count(server.db)
    before_cpu, before_server, before_busy = children_cpu(), server.cpu_seconds(), busy_seconds()
    start = time.perf_counter()
    done = subprocess.run(
        [os.path.join(BIN, "fazt"), "deploy", directory, "--site", SITE,
         "--server", server.url, "--token", token],
        cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, TMPDIR=server.tmp),  # its temporary zip goes away with the scratch folder
    )
    seconds = time.perf_counter() - start
    client_cpu = children_cpu() - before_cpu
    server_cpu = server.cpu_seconds() - before_server
    other_cpu = busy_seconds() - before_busy - client_cpu - server_cpu
    if done.returncode != 0:
        raise SystemExit(
            f"`fazt deploy` failed ({label}) with exit status {done.returncode}\n"
            f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
        )
    return Result(label, seconds, blob_count(server.db) - before_blobs, client_cpu, server_cpu,
                  db_mib(server.db), max(other_cpu, 0.0))


def multipart_body(fields: dict, file_field: str, filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{filename}"\r\n'
        f"Content-Type: application/zip\r\n\r\n".encode()
    )
    parts.append(data)
    parts.append(f"\r\n--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def api_deploy(server: Server, token: str, directory: str, label: str) -> tuple[Result, float, float, dict]:
    """Pack in-process, POST with urllib; returns the result, pack time, POST time and the JSON."""
    from fazt.cli.zipdir import zip_directory  # the venv's fazt: this script runs with .venv/bin/python

    tempfile.tempdir = server.tmp
    before_blobs = blob_count(server.db)
    before_server = server.cpu_seconds()
    before_self = time.process_time()
    before_busy = busy_seconds()
    start = time.perf_counter()
    zipped = zip_directory(directory)
    try:
        with open(zipped.path, "rb") as f:
            archive = f.read()
    finally:
        zipped.discard()
    packed = time.perf_counter()
    body, content_type = multipart_body({"site_name": SITE}, "file", "deploy.zip", archive)
    request = urllib.request.Request(
        server.url + "/api/deploy", data=body, method="POST",
        headers={"Content-Type": content_type, "Authorization": f"Bearer {token}",
                 "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=300) as r:
            answer = json.loads(r.read())
    except urllib.error.HTTPError as error:
        raise SystemExit(f"POST /api/deploy failed: {error.code} {error.read()[:500]!r}") from None
    end = time.perf_counter()
    client_cpu = time.process_time() - before_self
    server_cpu = server.cpu_seconds() - before_server
    other_cpu = busy_seconds() - before_busy - client_cpu - server_cpu
    result = Result(label, end - start, blob_count(server.db) - before_blobs, client_cpu, server_cpu,
                    db_mib(server.db), max(other_cpu, 0.0))
    return result, packed - start, end - packed, answer.get("data", {})


# -- main --------------------------------------------------------------------------------------

def wait_quiet(limit: float) -> None:
    """Wait (at most C{limit} s) until the machine is nearly idle: under 0.15 busy cores for 1 s."""
    deadline = time.monotonic() + limit
    while limit > 0:
        before = busy_seconds()
        time.sleep(1)
        if busy_seconds() - before < 0.15:
            return
        if time.monotonic() > deadline:
            print(f"  the machine was still busy after {limit:.0f} s; measuring anyway", file=sys.stderr)
            return


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000, help="number of files (default 1000)")
    parser.add_argument("--mib", type=float, default=50, help="total size in MiB (default 50)")
    parser.add_argument("--text-files", type=int, default=200, help="compressible text files (default 200)")
    parser.add_argument("--seed", type=int, default=1, help="seed for sizes and text (default 1)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="repeat the whole sequence on a fresh cartridge; the summary takes medians (default 1)")
    parser.add_argument("--quiet-wait", type=float, default=0, metavar="SECONDS",
                        help="before each step, wait up to SECONDS for the machine to be idle (default 0)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder under .bench/")
    args = parser.parse_args()
    if not os.access(os.path.join(BIN, "fazt"), os.X_OK):
        raise SystemExit(f"no fazt in {BIN}; run 'make setup' first")

    os.makedirs(os.path.join(ROOT, ".bench"), exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="deploy.", dir=os.path.join(ROOT, ".bench"))
    servers: list[Server] = []
    # SIGTERM/SIGHUP unwind (like Ctrl-C) through the finally below, which stops the server.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda signum, frame: sys.exit(128 + signum))
    try:
        return run(args, scratch, servers)
    finally:
        for server in servers:
            server.stop()
        if args.keep:
            print(f"scratch kept in {scratch}", file=sys.stderr)
        else:
            shutil.rmtree(scratch, ignore_errors=True)


STEPS = ("first deploy (CLI)", "identical redeploy (CLI)", "one file changed (CLI)", "identical redeploy (API)")


def run(args: argparse.Namespace, scratch: str, servers: list) -> int:
    site = os.path.join(scratch, "site")
    os.makedirs(site)
    t0 = time.perf_counter()
    plan = make_site(site, args.files, int(args.mib * MiB), args.text_files, args.seed)
    count, size = tree_stats(site)
    print(f"generated {count} files, {size / MiB:.2f} MiB ({plan['text']} text files, "
          f"{plan['text_bytes'] / MiB:.2f} MiB; {plan['binary']} binary, {plan['binary_bytes'] / MiB:.2f} MiB) "
          f"in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    index = os.path.join(site, "index.html")
    with open(index, "rb") as f:
        original_index = f.read()

    rounds = []
    for number in range(1, args.rounds + 1):
        with open(index, "wb") as f:
            f.write(original_index)
        round_dir = os.path.join(scratch, f"round{number}")
        os.makedirs(round_dir)
        server = Server(round_dir)
        servers.append(server)
        rounds.append(one_round(args, number, server, site, index))

    print()
    print(f"deploy of {count} files / {size / MiB:.1f} MiB ({plan['text']} text, {plan['binary']} random binary) "
          f"to one fazt process on 127.0.0.1, {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}, "
          f"{os.cpu_count()} cores, {args.rounds} round(s)")
    header = (f"{'round':<5} {'step':<26} {'wall s':>7} {'<3 s':>5} {'new blobs':>9} {'client CPU':>10} "
              f"{'server CPU':>10} {'other CPU':>9} {'DB+WAL MiB':>10}")
    print(header)
    print("-" * len(header))
    for number, r in enumerate(rounds, 1):
        for step in r["results"]:
            verdict = "ok" if step.seconds < TARGET_SECONDS else "MISS"
            print(f"{number:<5} {step.label:<26} {step.seconds:>7.2f} {verdict:>5} {step.new_blobs:>9} "
                  f"{step.client_cpu:>9.2f}s {step.server_cpu:>9.2f}s {step.other_cpu:>8.2f}s {step.db_mib:>10.1f}"
                  + (f"   {step.note}" if step.note else ""))
    print("(CPU columns are CPU-seconds during the step: client = the `fazt deploy` process, or this script for the"
          " API step (packing with deflate, upload); server = the fazt process (all threads); other = every other"
          f" process on the machine ({os.cpu_count()} cores): a large 'other' means the timing was disturbed)")

    medians = {label: statistics.median(r["results"][i].seconds for r in rounds) for i, label in enumerate(STEPS)}
    print()
    print("median wall clock: " + "; ".join(f"{label} {value:.2f} s" for label, value in medians.items()))
    redeploy_blobs = [r["results"][1].new_blobs for r in rounds]
    changed_blobs = [r["results"][2].new_blobs for r in rounds]
    api_blobs = [r["new_blobs_api"] for r in rounds]
    print(f"identical redeploy stored {max(redeploy_blobs)} new blobs "
          f"({'meets' if max(redeploy_blobs) == 0 else 'MISSES'} the 'stores nothing new' target); "
          f"one-file change stored {max(changed_blobs)}; API response new_blobs={api_blobs}")
    last = rounds[-1]
    print(f"cartridge on disk while serving: {last['db_live'][0]:.1f} MiB data.db + {last['db_live'][1]:.1f} MiB WAL; "
          f"after the server stopped: {last['db_final'][0]:.1f} MiB + {last['db_final'][1]:.1f} MiB WAL "
          f"(content: {size / MiB:.1f} MiB, plus gzip/brotli variants of the text files)")
    print(f"fazt RSS after the deploys: {last['rss']:.0f} MiB")
    met = all(value < TARGET_SECONDS for label, value in medians.items() if "CLI" in label)
    return 0 if met and max(redeploy_blobs) == 0 else 1


def one_round(args: argparse.Namespace, number: int, server: Server, site: str, index: str) -> dict:
    server.start()
    created = subprocess.run(
        [os.path.join(BIN, "fazt"), "key", "create", "--db", server.db, "--name", "bench"],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=60,
    )
    token = created.stdout.strip().splitlines()[-1]
    print(f"round {number}: fazt on {server.url} (cartridge {server.db}), RSS {server.rss_mib():.0f} MiB",
          file=sys.stderr)

    results = []
    for label in STEPS:
        wait_quiet(args.quiet_wait)
        print(f"  {label}...", file=sys.stderr)
        if label.startswith("one file changed"):
            with open(index, "ab") as f:
                f.write(f"<!-- changed {time.time()} -->\n".encode())
        if label.endswith("(API)"):
            result, pack_s, post_s, answer = api_deploy(server, token, site, label)
            result.note = f"pack {pack_s:.2f} s + POST {post_s:.2f} s; new_blobs={answer.get('new_blobs')}"
        else:
            result = cli_deploy(server, token, site, label)
        results.append(result)
    rss = server.rss_mib()
    db_live = (file_mib(server.db), file_mib(server.db + "-wal"))
    server.stop()
    db_final = (file_mib(server.db), file_mib(server.db + "-wal"))
    return {"results": results, "rss": rss, "db_live": db_live, "db_final": db_final,
            "new_blobs_api": answer.get("new_blobs")}


if __name__ == "__main__":
    sys.exit(main())
