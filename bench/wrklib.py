"""wrk runs for the benchmark scripts: req/s, latency percentiles, and the CPU the server spent per request.

Scripts in bench/ import it as a sibling module (run them from the repository root).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess


def ensure_wrk() -> str:
    """The wrk binary; installed with apt-get when missing."""
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run(["apt-get", "update", "-q"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, stdout=subprocess.DEVNULL)
    return shutil.which("wrk")


def cpu_ticks(pid: int) -> int:
    """utime + stime of one process, in clock ticks (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def descendants(pid: int) -> list[int]:
    """The PIDs of every process below C{pid} (serving processes under a supervisor, JS workers)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents.setdefault(int(f.read().rpartition(")")[2].split()[1]), []).append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    found, todo = [], [pid]
    while todo:
        below = parents.get(todo.pop(), [])
        found += below
        todo += below
    return found


def is_js_worker(pid: int) -> bool:
    """Whether C{pid} is a JS worker (C{python -m fazt.runtime.worker}), not a serving process."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"fazt.runtime.worker" in f.read()
    except OSError:
        return False


def cpu_snapshot(server: int) -> dict:
    """CPU ticks of the fazt processes (the one started, and any serving processes below it, each by
    PID) and of each JS worker."""
    below = descendants(server)
    workers = [pid for pid in below if is_js_worker(pid)]
    serving = [server] + [pid for pid in below if pid not in workers]
    return {"server": {pid: cpu_ticks(pid) for pid in serving}, "workers": {pid: cpu_ticks(pid) for pid in workers}}


def cpu_per_request(before: dict, after: dict, requests: int) -> tuple[float, float]:
    """CPU microseconds per request in the fazt process and in all workers together.

    A worker replaced meanwhile is counted from 0 (new) or up to its last reading (gone).
    """
    tick = 1e6 / os.sysconf("SC_CLK_TCK")
    server, workers = (sum(after[side].get(pid, 0) - before[side].get(pid, 0) for pid in after[side]) * tick
                       for side in ("server", "workers"))
    requests = max(requests, 1)
    return server / requests, workers / requests


def wrk(binary: str, port: int, host: str, duration: str, connections: int, server: int = 0, threads: int = 2,
        timeout: str = "2s", path: str = "/") -> dict:
    """One wrk run against C{host}; req/s, p50/p99, errors and CPU per request (when C{server} is given)."""
    before = cpu_snapshot(server) if server else None
    out = subprocess.run([binary, f"-t{min(threads, connections)}", f"-c{connections}", f"-d{duration}",
                          f"--timeout={timeout}", "--latency", "-H", f"Host: {host}", f"http://127.0.0.1:{port}{path}"],
                         capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock_errors = re.search(r"Socket errors: (.*)", out)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    cpu = cpu_per_request(before, cpu_snapshot(server), total) if server else (0.0, 0.0)
    return {"rate": rate, "requests": total, "cpu_server": cpu[0], "cpu_workers": cpu[1], "connections": connections,
            "p50": latency.get("50"), "p99": latency.get("99"), "non2xx": int(errors.group(1)) if errors else 0,
            "socket_errors": sock_errors.group(1) if sock_errors else ""}


def ms(text) -> float:
    """wrk's latency text (C{812.00us}, C{3.21ms}, C{1.02s}) in milliseconds; NaN if absent."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text or "")
    if not match:
        return float("nan")
    return float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[match.group(2)]


def percentile(values: list[float], fraction: float) -> float:
    """The C{fraction} (0-1) percentile of C{values} by rank; NaN for none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
