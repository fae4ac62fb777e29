#!/usr/bin/env bash
# Install fazt as a systemd service: a venv in /opt/fazt, the `fazt` system user, the cartridge in
# /var/lib/fazt/data.db and a hardened unit. Idempotent: a second run with the same checkout and
# flags changes nothing; a run with a newer checkout upgrades in place and restarts the service.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SERVICE=fazt
SERVICE_USER=fazt

usage() {
    cat <<'EOF'
Usage: sudo ./install.sh --domain DOMAIN [options]
       sudo ./install.sh --uninstall

Installs fazt from this checkout as the systemd service `fazt`:
  /opt/fazt                 a Python venv with fazt in it
  /var/lib/fazt/data.db     the cartridge (created with `fazt init`; the admin password is printed once)
  /var/lib/fazt/backups     daily backups, seven kept (unless --no-backups)
  /etc/systemd/system/fazt.service
Run it again at any time: with the same checkout and flags it changes nothing; after a `git pull`
it upgrades fazt in place and restarts the service. The flags of the last run are remembered in
/etc/fazt/install.conf.

Options:
  --domain DOMAIN        the domain: sites are NAME.DOMAIN, the admin is admin.DOMAIN (needed once)
  --email EMAIL          contact address for the ACME (Let's Encrypt) account
  --http-only            serve plain HTTP on port 80 only: no certificates, no port 443
  --https                serve HTTPS again after --http-only
  --no-backups           no scheduled backups (--backups turns them back on)
  --admin-user NAME      the first admin's user name (default: admin)
  --admin-password PW    the first admin's password (default: generated and printed once)
  --version VERSION      install fazt VERSION from the package index instead of this checkout
  --uninstall            remove the service and the venv; keep /var/lib/fazt (the data) and the user
  -h, --help             show this help and change nothing

For tests and image builds:
  --root DIR             install under DIR instead of / (DIR/opt/fazt, DIR/etc/..., DIR/var/lib/fazt);
                         root is not required, systemctl and useradd are still called
  --prefix DIR           where the venv goes (default /opt/fazt)
  --source DIR           the checkout to install (default: the directory of this script)
  --python PROGRAM       the Python that creates the venv (default: python3)
  --venv-arg ARG         pass ARG to `python -m venv` (repeatable)
  --pip-arg ARG          pass ARG to `pip install` (repeatable), e.g. --find-links DIR
EOF
}

die() {
    echo "install.sh: error: $*" >&2
    exit 1
}

say() {
    echo "install.sh: $*"
}

ROOT=/
PREFIX=/opt/fazt
SOURCE=$SCRIPT_DIR
PYTHON=python3
VERSION=
UNINSTALL=0
DOMAIN=
EMAIL=
HTTP_ONLY=
BACKUPS=
ADMIN_USER="admin"
ADMIN_PASSWORD=
VENV_ARGS=()
PIP_ARGS=()

need_value() {
    if [ $# -lt 2 ] || [ -z "$2" ]; then
        die "$1 needs a value (see --help)"
    fi
}

while [ $# -gt 0 ]; do
    case "$1" in
        -h | --help) usage; exit 0 ;;
        --domain) need_value "$@"; DOMAIN=$2; shift ;;
        --email) need_value "$@"; EMAIL=$2; shift ;;
        --http-only) HTTP_ONLY=1 ;;
        --https) HTTP_ONLY=0 ;;
        --no-backups) BACKUPS=0 ;;
        --backups) BACKUPS=1 ;;
        --admin-user) need_value "$@"; ADMIN_USER=$2; shift ;;
        --admin-password) need_value "$@"; ADMIN_PASSWORD=$2; shift ;;
        --version) need_value "$@"; VERSION=$2; shift ;;
        --uninstall) UNINSTALL=1 ;;
        --root) need_value "$@"; ROOT=$2; shift ;;
        --prefix) need_value "$@"; PREFIX=$2; shift ;;
        --source) need_value "$@"; SOURCE=$2; shift ;;
        --python) need_value "$@"; PYTHON=$2; shift ;;
        --venv-arg) need_value "$@"; VENV_ARGS+=("$2"); shift ;;
        --pip-arg) need_value "$@"; PIP_ARGS+=("$2"); shift ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
    shift
done

ROOT=${ROOT%/}
case "$PREFIX" in /*) ;; *) die "--prefix must be an absolute path" ;; esac
if [ -z "$ROOT" ] && [ "$(id -u)" -ne 0 ]; then
    die "run me as root (sudo $0 ...): I create a user, a service and /opt, /var/lib directories"
fi

DATA_DIR=/var/lib/fazt
DB=$DATA_DIR/data.db
UNIT_PATH=$ROOT/etc/systemd/system/$SERVICE.service
CONF_PATH=$ROOT/etc/fazt/install.conf
VENV=$ROOT$PREFIX
STAMP=$VENV/.fazt-installed-from

# --- uninstall ------------------------------------------------------------------------------

if [ "$UNINSTALL" = 1 ]; then
    if [ -e "$UNIT_PATH" ]; then
        systemctl disable --now "$SERVICE" || true
        rm -f "$UNIT_PATH"
        systemctl daemon-reload
        say "removed the $SERVICE service"
    fi
    if [ -d "$VENV" ]; then
        rm -rf "$VENV"
        say "removed $PREFIX"
    fi
    rm -f "$CONF_PATH"
    say "kept the data in $DATA_DIR and the user $SERVICE_USER;" \
        "delete them with: userdel $SERVICE_USER && rm -rf $DATA_DIR"
    exit 0
fi

# --- settings: flags, else the last run's, else defaults -------------------------------------

if [ -f "$CONF_PATH" ]; then
    while IFS='=' read -r key value; do
        case "$key" in
            DOMAIN) [ -n "$DOMAIN" ] || DOMAIN=$value ;;
            EMAIL) [ -n "$EMAIL" ] || EMAIL=$value ;;
            HTTP_ONLY) [ -n "$HTTP_ONLY" ] || HTTP_ONLY=$value ;;
            BACKUPS) [ -n "$BACKUPS" ] || BACKUPS=$value ;;
        esac
    done <"$CONF_PATH"
fi
HTTP_ONLY=${HTTP_ONLY:-0}
BACKUPS=${BACKUPS:-1}
DOMAIN=$(printf '%s' "$DOMAIN" | tr '[:upper:]' '[:lower:]')
[ -n "$DOMAIN" ] || die "--domain is needed on the first install (see --help)"
label='[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?'
[[ "$DOMAIN" =~ ^$label(\.$label)*$ ]] || die "--domain $DOMAIN is not a domain name"
if [ -n "$EMAIL" ] && ! [[ "$EMAIL" =~ ^[^[:space:]@]+@[^[:space:]@]+$ ]]; then
    die "--email $EMAIL is not an e-mail address"
fi
[[ "$ADMIN_USER" =~ ^[A-Za-z0-9._-]+$ ]] || die "--admin-user must be letters, digits, '.', '_' or '-'"
# It reaches fazt init as one line of stdin.
[[ "$ADMIN_PASSWORD" != *$'\n'* ]] || die "--admin-password must be one line"

# write_if_changed PATH MODE: replace PATH with stdin unless it already holds exactly that.
# Exit status 0 when the file was written, 1 when it was already up to date.
write_if_changed() {
    local path=$1 mode=$2 tmp
    tmp=$(mktemp "$path.XXXXXX")
    cat >"$tmp"
    if [ -f "$path" ] && cmp -s "$tmp" "$path"; then
        rm -f "$tmp"
        return 1
    fi
    chmod "$mode" "$tmp"
    mv -f "$tmp" "$path"
}

mkdir -p "$ROOT/etc/fazt" "$ROOT/etc/systemd/system"
write_if_changed "$CONF_PATH" 644 <<EOF || true
DOMAIN=$DOMAIN
EMAIL=$EMAIL
HTTP_ONLY=$HTTP_ONLY
BACKUPS=$BACKUPS
EOF

# --- the user --------------------------------------------------------------------------------

if ! grep -q "^$SERVICE_USER:" "$ROOT/etc/passwd" 2>/dev/null; then
    root_args=()
    [ -z "$ROOT" ] || root_args=(--root "$ROOT")
    useradd "${root_args[@]}" --system --user-group --home-dir "$DATA_DIR" --no-create-home \
        --shell /usr/sbin/nologin --comment "fazt personal PaaS" "$SERVICE_USER"
    say "created the system user $SERVICE_USER"
fi

# --- the venv and fazt in it -----------------------------------------------------------------

# What is being installed: a version from the index, or a digest of the checkout's files.
source_id() {
    if [ -n "$VERSION" ]; then
        echo "fazt==$VERSION"
        return
    fi
    if [ ! -f "$SOURCE/setup.py" ] || [ ! -d "$SOURCE/fazt" ]; then
        die "$SOURCE is not a fazt checkout (see --source)"
    fi
    (cd "$SOURCE" && find setup.py fazt twisted -name __pycache__ -prune -o -type f ! -name '*.pyc' -print0 \
        | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
}

UPGRADED=0
if [ ! -x "$VENV/bin/pip" ]; then
    say "creating the venv $PREFIX"
    mkdir -p "$(dirname "$VENV")"
    "$PYTHON" -m venv "${VENV_ARGS[@]}" "$VENV"
fi
WANTED=$(source_id)
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANTED" ]; then
    if [ -n "$VERSION" ]; then
        say "installing fazt $VERSION"
        "$VENV/bin/pip" install --quiet "${PIP_ARGS[@]}" "fazt==$VERSION"
    else
        # Build from a copy: pip would leave root-owned build files in the checkout.
        build=$(mktemp -d)
        trap 'rm -rf "$build"' EXIT
        (cd "$SOURCE" && tar --exclude=__pycache__ --exclude='*.pyc' -cf - setup.py fazt twisted) | tar -xf - -C "$build"
        say "installing fazt from $SOURCE"
        "$VENV/bin/pip" install --quiet --upgrade "${PIP_ARGS[@]}" "$build"
    fi
    # Twisted caches its plugin list; build it now, while the venv is writable.
    "$VENV/bin/python" -c 'from twisted.plugin import IPlugin, getPlugins; list(getPlugins(IPlugin))' || true
    echo "$WANTED" >"$STAMP"
    UPGRADED=1
fi

# --- the cartridge ---------------------------------------------------------------------------

mkdir -p "$ROOT$DATA_DIR"
chmod 750 "$ROOT$DATA_DIR"
if [ ! -e "$ROOT$DB" ]; then
    password=$ADMIN_PASSWORD
    [ -n "$password" ] || password=$("$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(18))')
    # On stdin (printf is a builtin): a command line is readable by every local user.
    printf '%s\n' "$password" \
        | "$VENV/bin/fazt" init --db "$ROOT$DB" --domain "$DOMAIN" --username "$ADMIN_USER" --password - >/dev/null
    # Under --root the user exists in DIR/etc/passwd, which chown does not read: give its ids.
    owner="$SERVICE_USER:$SERVICE_USER"
    if [ -n "$ROOT" ]; then
        owner=$(awk -F: -v user="$SERVICE_USER" '$1 == user { print $3 ":" $4 }' "$ROOT/etc/passwd")
        [ -n "$owner" ] || die "no user $SERVICE_USER in $ROOT/etc/passwd"
    fi
    chown -R "$owner" "$ROOT$DATA_DIR"
    say "created $DB"
    if [ -z "$ADMIN_PASSWORD" ]; then
        echo
        echo "    Admin login: user '$ADMIN_USER', password '$password'"
        echo "    (shown only this once; change it with 'fazt set-credentials')"
        echo
    fi
elif [ -n "$ADMIN_PASSWORD" ]; then
    say "$DB exists: the admin password was left as it is"
fi
# Key digests and TLS private keys: the owner's alone (an older fazt created the file 0644).
for file in "$ROOT$DB" "$ROOT$DB-wal" "$ROOT$DB-shm"; do
    [ ! -e "$file" ] || chmod 600 "$file"
done

# --- the unit --------------------------------------------------------------------------------

args=(--domain "$DOMAIN" --db "$DB" --http tcp:80)
if [ "$HTTP_ONLY" != 1 ]; then
    args+=(--https tcp:443)
    [ -z "$EMAIL" ] || args+=(--acme-email "$EMAIL")
fi
[ "$BACKUPS" != 1 ] || args+=(--backup-dir "$DATA_DIR/backups" --backup-every 1d --backup-keep 7)

UNIT_CHANGED=0
write_if_changed "$UNIT_PATH" 644 <<EOF && UNIT_CHANGED=1
# Written by fazt's install.sh; run it again rather than editing this file.
[Unit]
Description=fazt personal PaaS for $DOMAIN
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=$SERVICE_USER
Group=$SERVICE_USER
WorkingDirectory=$DATA_DIR
Environment=PYTHONUNBUFFERED=1
ExecStart=$PREFIX/bin/twistd -n --pidfile= fazt ${args[*]}
Restart=on-failure
RestartSec=2
TimeoutStopSec=30
UMask=0027
LimitNOFILE=65536
AmbientCapabilities=CAP_NET_BIND_SERVICE
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
NoNewPrivileges=true
ProtectSystem=strict
ReadWritePaths=$DATA_DIR
ProtectHome=true
PrivateTmp=true
PrivateDevices=true
ProtectKernelTunables=true
ProtectKernelModules=true
ProtectControlGroups=true
RestrictSUIDSGID=true
LockPersonality=true

[Install]
WantedBy=multi-user.target
EOF

# --- the service -----------------------------------------------------------------------------

[ "$UNIT_CHANGED" = 0 ] || systemctl daemon-reload
systemctl is-enabled --quiet "$SERVICE" 2>/dev/null || systemctl enable "$SERVICE"
if [ "$UPGRADED" = 1 ] || [ "$UNIT_CHANGED" = 1 ]; then
    systemctl restart "$SERVICE"
    say "fazt (re)started"
elif ! systemctl is-active --quiet "$SERVICE" 2>/dev/null; then
    systemctl start "$SERVICE"
    say "fazt started"
else
    say "nothing to do: fazt is up to date and running"
fi

scheme=https
[ "$HTTP_ONLY" != 1 ] || scheme=http
say "admin: $scheme://admin.$DOMAIN/ ; logs: journalctl -u $SERVICE -f"
