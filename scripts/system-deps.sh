#!/usr/bin/env bash
# Install the system programs the test suite drives for real, if any is missing:
# Pebble (an ACME server), Chromium and its driver (the dashboard), shellcheck (install.sh), openssl,
# curl (a client the framing tests answer), ss and unshare (the backlog and production-configuration tests),
# node and npm (the full-stack tests `npm install` real packages from the registry into the sites they deploy),
# nginx (docs/SCALING.md's load balancer, run in front of two nodes) and git (its http-backend serves the
# repositories that deploys from Git fetch).
set -euo pipefail

missing=()
for pair in pebble:pebble pebble-challtestsrv:pebble chromium:chromium chromedriver:chromium-driver \
            shellcheck:shellcheck openssl:openssl curl:curl ss:iproute2 unshare:util-linux \
            node:nodejs npm:npm nginx:nginx git:git; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair##*:}")
done
# PostgreSQL (the store's second engine; tests start it in a scratch folder): Debian keeps initdb off PATH.
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
[ ${#missing[@]} -eq 0 ] && exit 0

# De-duplicate (pebble provides two programs).
mapfile -t packages < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" -ne 0 ]; then
    echo "The tests need these Debian packages: ${packages[*]}" >&2
    echo "Install them with: sudo apt-get install -y ${packages[*]}" >&2
    exit 1
fi
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}"
