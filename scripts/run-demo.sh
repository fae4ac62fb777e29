#!/usr/bin/env bash
# Start fazt on localhost with a fresh-or-existing demo cartridge, deploy the example site, and
# keep serving until Ctrl-C. Used by `make run`.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=.venv/bin
PORT=${FAZT_PORT:-4698}
DEMO=${FAZT_DEMO_DIR:-demo}   # where the demo cartridge, its token and admin password live
mkdir -p "$DEMO"
DB=$DEMO/data.db
SERVER="http://localhost:$PORT"

# A fresh cartridge gets an admin with a password kept in $DEMO/admin-password, for the dashboard.
if [ ! -e "$DB" ]; then
  (umask 077; "$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(15))' > "$DEMO/admin-password")
  "$BIN/fazt" init --db "$DB" --domain localhost --username admin --password - < "$DEMO/admin-password"
fi

"$BIN/twistd" -n --pidfile= fazt --domain localhost --db "$DB" --http "tcp:$PORT:interface=127.0.0.1" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT INT TERM

"$BIN/python" - "$PORT" <<'PY'
import sys, time, urllib.request
url = f"http://127.0.0.1:{sys.argv[1]}/health"
for _ in range(100):
    try:
        urllib.request.urlopen(url, timeout=1).read()
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit("fazt did not start; see the log above")
PY

if [ ! -s "$DEMO/token" ]; then
  "$BIN/fazt" key create --db "$DB" --name demo | tail -n 1 > "$DEMO/token"
fi
"$BIN/fazt" deploy examples/hello --site hello --server "$SERVER" --token "$(cat "$DEMO/token")"

cat <<TXT

fazt is running (cartridge: $DB). Open:
  http://hello.localhost:$PORT/    the demo site you just deployed
  http://root.localhost:$PORT/     the default root site
  http://localhost:$PORT/          the dashboard (user admin, password in $DEMO/admin-password)
  http://localhost:$PORT/api/sites the admin API (token in $DEMO/token)
Deploy your own folder:  $BIN/fazt deploy DIR --site NAME --server $SERVER --token \$(cat $DEMO/token)
Ctrl-C stops the server.
TXT
wait "$pid"
