#!/usr/bin/env bash
# The README's short tour, step by step: a cartridge, a server, a site deployed twice, a rollback,
# and the server stopped at the end. Runs in a fresh folder (FAZT_TOUR_DIR, default a new temporary
# one) with the fazt of FAZT_BIN (default the checkout's .venv/bin) on port FAZT_PORT (4698).
set -euo pipefail

BIN=${FAZT_BIN:-$(cd "$(dirname "$0")/.." && pwd)/.venv/bin}
PORT=${FAZT_PORT:-4698}
DIR=${FAZT_TOUR_DIR:-$(mktemp -d)}
mkdir -p "$DIR"
cd "$DIR"
echo "tour: in $DIR, server log in $DIR/twistd.log"
step() { printf '\n$ %s\n' "$*"; "$@"; }

mkdir -p my-site
echo '<h1>Hello, v1</h1>' > my-site/index.html
step "$BIN/fazt" init --db data.db --domain localhost --username admin --password 'a long password'

"$BIN/twistd" -n --pidfile= fazt --domain localhost --db data.db --http "tcp:$PORT:interface=127.0.0.1" \
    > twistd.log 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
# Wait until the server answers before talking to it.
until curl -sf "http://localhost:$PORT/health" > /dev/null; do
    kill -0 "$server" 2>/dev/null || { cat twistd.log; exit 1; }
    sleep 0.2
done
echo "tour: the server answers on http://localhost:$PORT/"

# The CLI reads the server and the key from these instead of --server and --token.
FAZT_TOKEN=$("$BIN/fazt" key create --db data.db --name laptop | tail -n 1)
export FAZT_SERVER="http://localhost:$PORT" FAZT_TOKEN

step "$BIN/fazt" deploy ./my-site --site blog
step curl -sf "http://blog.localhost:$PORT/"
echo '<h1>Hello, v2</h1>' > my-site/index.html
step "$BIN/fazt" deploy ./my-site --site blog
step curl -sf "http://blog.localhost:$PORT/"
step "$BIN/fazt" deployments blog
step "$BIN/fazt" rollback blog
step curl -sf "http://blog.localhost:$PORT/"

kill "$server"
wait "$server" || true   # twistd ends by re-raising the SIGTERM it was sent
trap - EXIT
echo
echo "tour: done, the server is stopped"
