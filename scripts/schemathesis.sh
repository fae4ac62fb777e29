#!/usr/bin/env bash
# Conformance of the admin API with its own OpenAPI document, checked by Schemathesis (every check).
#
# Starts a real `twistd fazt` on a scratch cartridge on a free loopback port, with an admin API
# key, and runs `schemathesis run http://127.0.0.1:PORT/api/openapi.json --checks all` against it
# (Host: admin.example.test, the admin host). Prints Schemathesis's summary; exits non-zero on any
# failure. Anyone can run it: `scripts/schemathesis.sh` (about 5-10 minutes on 2 cores).
#
# Settings (environment):
#   FAZT_BIN            directory holding the `fazt` and `twistd` to test (default: .venv/bin)
#   ST_VENV             where Schemathesis's own virtualenv lives (default: .bench/schemathesis-venv)
#   ST_EXAMPLES         examples per operation and phase (default: 100)
#   ST_SEED             Hypothesis seed (default: a fixed one, so two runs test the same cases)
#   ST_KEEP             set to keep the scratch directory (cartridge, server log, reports)
#
# Destructive operations, and why later operations still mean something:
#   - Run 1 (bearer key) tests every operation except revoking keys: DELETE /api/keys/{key_id}
#     and DELETE /api/keys?id= could revoke the very key the run uses (ids are small integers,
#     which Hypothesis generates first), and every later request would be a meaningless 401.
#   - Run 2 tests only those two, authenticated by an admin session cookie (with the CSRF header),
#     which no key revocation ends. POST /api/logout is left out of run 2, since it would end
#     that session; run 1 covers it (a bearer logout ends no session).
#   - DELETE /api/sites/{name} and DELETE /api/sites?site_id= stay in run 1: the only sites are
#     the built-in root and 404 (refused, 409) and the scratch site `conformance`, which generated
#     names practically never hit; deleting it would only turn later site reads into 404s, which
#     are documented answers. There is no restore or set-credentials route in the API (those are
#     offline CLI commands), so nothing else can end the run's credentials.
#   - GET /api/logs/stream is an event stream that never ends by design (like the fuzz test,
#     this leaves it out); tests/web/test_livelog.py covers it.
#   - Login lockout: failed logins from 127.0.0.1 are locked out after 5 (429, documented); that
#     only affects POST /api/login itself.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
FAZT_BIN=${FAZT_BIN:-.venv/bin}
ST_VENV=${ST_VENV:-$PWD/.bench/schemathesis-venv}
ST_EXAMPLES=${ST_EXAMPLES:-100}
ST_SEED=${ST_SEED:-20261206}
DOMAIN=example.test
ADMIN_HOST=admin.$DOMAIN

if [ ! -x "$FAZT_BIN/twistd" ] || [ ! -x "$FAZT_BIN/fazt" ]; then
  echo "no fazt in $FAZT_BIN: run 'make setup' first" >&2
  exit 2
fi

if [ ! -x "$ST_VENV/bin/schemathesis" ] || ! "$ST_VENV/bin/schemathesis" --version | grep -q "$SCHEMATHESIS_VERSION"; then
  python3 -m venv "$ST_VENV"
  "$ST_VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/fazt-schemathesis.XXXXXX")
DB=$SCRATCH/data.db
PORT=$("$ST_VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
pid=
# shellcheck disable=SC2317  # called by the trap below
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [ -z "${ST_KEEP:-}" ]; then rm -rf "$SCRATCH"; else echo "kept $SCRATCH"; fi
}
trap cleanup EXIT INT TERM

PASSWORD=$("$ST_VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(15))')
"$FAZT_BIN/fazt" init --db "$DB" --domain "$DOMAIN" --username admin --password - <<<"$PASSWORD" >/dev/null

# The front door's per-address rate limit would answer most of the run 429 (documented, but it
# would stop the fuzzing from reaching the handlers); turned off when this fazt has it.
EXTRA=()
if "$FAZT_BIN/twistd" fazt --help 2>/dev/null | grep -q -- '--api-rate-limit'; then
  EXTRA+=(--api-rate-limit 0)
fi
# --access-log: the summary at the end counts the statuses the server itself sent.
"$FAZT_BIN/twistd" -n --pidfile= fazt --domain "$DOMAIN" --db "$DB" --http "tcp:$PORT:interface=127.0.0.1" \
  --access-log "${EXTRA[@]}" >"$SCRATCH/server.log" 2>&1 &
pid=$!

"$ST_VENV/bin/python" - "$PORT" <<'PY'
import sys, time, urllib.request
for _ in range(200):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/health", timeout=1).read()
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit("fazt did not start")
PY

TOKEN=$("$FAZT_BIN/fazt" key create --db "$DB" --name schemathesis | tail -n 1)
# Something for the handlers to find: a site with files, an env var, a redirect and a webhook.
mkdir -p "$SCRATCH/site"
echo '<h1>conformance</h1>' >"$SCRATCH/site/index.html"
"$FAZT_BIN/fazt" deploy "$SCRATCH/site" --site conformance --server "$BASE" --token "$TOKEN" >/dev/null
api() {
  curl -fsS -o /dev/null -X "$1" "$BASE$2" -H "Host: $ADMIN_HOST" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' --data "$3"
}
api PUT /api/sites/conformance/env/GREETING '{"value": "hello"}'
api POST /api/redirects '{"slug": "docs", "destination": "https://example.com/docs"}'
api POST /api/webhooks '{"name": "ci", "endpoint": "ci"}'

COOKIE=$(curl -fsS -o /dev/null -c - "$BASE/api/login" -H "Host: $ADMIN_HOST" -H 'Content-Type: application/json' \
  --data "{\"username\": \"admin\", \"password\": \"$PASSWORD\"}" | awk '$6 == "fazt_session" {print $7}')
[ -n "$COOKIE" ] || { echo "could not log in" >&2; exit 1; }

# A random byte string is never a ZIP, and the schema cannot say "a valid ZIP archive": a
# schema-valid deploy is refused 400 INVALID_ZIP, which is right; allowed for that operation only.
cat >"$SCRATCH/schemathesis.toml" <<'TOML'
[[operations]]
include-name = "POST /api/deploy"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]

# A well-formed URL may still name an address fazt must not fetch (400) or a repository it cannot
# fetch (422); a well-formed domain may be one fazt cannot serve (under its own domain: 400).
[[operations]]
include-name = "POST /api/sites/{name}/git"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "413", "422", "429"]

[[operations]]
include-name = "POST /api/sites/{name}/domains"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]
TOML

# Run from the scratch directory: Schemathesis keeps a .schemathesis/ cache in its working directory.
cd "$SCRATCH"
st=("$ST_VENV/bin/schemathesis" --config-file "$SCRATCH/schemathesis.toml" run "$BASE/api/openapi.json")
# One worker: Schemathesis's coverage phase compiles code on its worker threads, and on Python 3.11
# two threads at once can fail inside CPython ("AST constructor recursion depth mismatch").
common=(--checks all --max-examples "$ST_EXAMPLES" --seed "$ST_SEED" --workers 1 --request-timeout 30
        --suppress-health-check all --warnings off -H "Host: $ADMIN_HOST"
        --report junit --report-dir "$SCRATCH/reports")
status=0
echo "== run 1: every operation but key revocation (bearer key)"
"${st[@]}" "${common[@]}" \
  -H "Authorization: Bearer $TOKEN" \
  --exclude-name 'DELETE /api/keys/{key_id}' --exclude-name 'DELETE /api/keys' \
  --exclude-name 'GET /api/logs/stream' || status=1
echo "== run 2: key revocation (session cookie, which no revocation ends)"
"${st[@]}" "${common[@]}" \
  -H "Cookie: fazt_session=$COOKIE" -H "X-Fazt-CSRF: 1" \
  --include-name 'DELETE /api/keys/{key_id}' --include-name 'DELETE /api/keys' \
  --phases examples,coverage,fuzzing || status=1

echo "== answers the server sent, by status (its access log)"
grep -oE '" [1-5][0-9][0-9] ' "$SCRATCH/server.log" | tr -d '" ' | sort | uniq -c | sort -k2 | awk '{printf "  %s: %s\n", $2, $1}'
server_errors=$(grep -cE '" 5[0-9][0-9] ' "$SCRATCH/server.log" || true)
echo "  5xx in all: $server_errors"
[ "$server_errors" = 0 ] || status=1
if grep -q Traceback "$SCRATCH/server.log"; then
  echo "the server logged a traceback:" >&2
  grep -B2 -A20 Traceback "$SCRATCH/server.log" | head -80 >&2
  status=1
fi
exit $status
