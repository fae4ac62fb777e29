"""install.sh in a throwaway root, with the system at the boundary stubbed.

C{systemctl}, C{useradd} and C{chown} are scripts on C{PATH} that record their calls (and keep a
little state: the user, enabled, active). The venv is made by a stub C{python -m venv} whose C{pip}
records what it installs and copies the package's C{__init__.py}, and whose C{fazt} is the real one
of the test venv: the cartridge C{install.sh} creates is a real one, made by the real C{fazt init}.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import bcrypt
import pytest

from fazt.store.backup import verify_cartridge

REPO = Path(__file__).resolve().parents[1]
INSTALL = REPO / "install.sh"
BIN = Path(sys.executable).parent

STUBS = {
    "systemctl": """#!/bin/sh
echo "systemctl $*" >> "$STUB_LOG"
case "$1" in
    is-enabled) [ -e "$STUB_STATE/enabled" ] ;;
    is-active) [ -e "$STUB_STATE/active" ] ;;
    enable) touch "$STUB_STATE/enabled" ;;
    start|restart) touch "$STUB_STATE/active" ;;
    disable) rm -f "$STUB_STATE/enabled" "$STUB_STATE/active" ;;
esac
""",
    "useradd": """#!/bin/sh
echo "useradd $*" >> "$STUB_LOG"
echo "fazt:x:999:999:fazt:/var/lib/fazt:/usr/sbin/nologin" >> "$STUB_ROOT/etc/passwd"
""",
    "chown": """#!/bin/sh
echo "chown $*" >> "$STUB_LOG"
""",
    "fake-python3": """#!/bin/sh
# Only `python -m venv [ARGS] DIR` is expected.
[ "$1" = -m ] && [ "$2" = venv ] || exit 64
for dir; do :; done
echo "venv $*" >> "$STUB_LOG"
mkdir -p "$dir/bin" "$dir/site/fazt"
cat > "$dir/bin/pip" <<EOF
#!/bin/sh
echo "pip \\$*" >> "$STUB_LOG"
for src; do :; done
cp "\\$src/fazt/__init__.py" "$dir/site/fazt/__init__.py"
EOF
printf '#!/bin/sh\\nexec %s "$@"\\n' "$REAL_BIN/python" > "$dir/bin/python"
printf '#!/bin/sh\\necho "fazt $*" >> "$STUB_LOG"\\nexec %s "$@"\\n' "$REAL_BIN/fazt" > "$dir/bin/fazt"
printf '#!/bin/sh\\nexec %s "$@"\\n' "$REAL_BIN/twistd" > "$dir/bin/twistd"
chmod +x "$dir/bin/"*
""",
}

UNIT = """# Written by fazt's install.sh; run it again rather than editing this file.
[Unit]
Description=fazt personal PaaS for example.com
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=fazt
Group=fazt
WorkingDirectory=/var/lib/fazt
Environment=PYTHONUNBUFFERED=1
ExecStart={exec_start}
Restart=on-failure
RestartSec=2
TimeoutStopSec=30
UMask=0027
LimitNOFILE=65536
AmbientCapabilities=CAP_NET_BIND_SERVICE
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
NoNewPrivileges=true
ProtectSystem=strict
ReadWritePaths=/var/lib/fazt
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
"""
TWISTD = "/opt/fazt/bin/twistd -n --pidfile= fazt --domain example.com --db /var/lib/fazt/data.db --http tcp:80"
BACKUPS = "--backup-dir /var/lib/fazt/backups --backup-every 1d --backup-keep 7"


class Box:
    """A throwaway root, a copy of the checkout and the stubs, and a way to run install.sh there."""

    def __init__(self, tmp: Path):
        self.root = tmp / "root"
        self.source = tmp / "src"
        self.stubs = tmp / "stubs"
        self.state = tmp / "state"
        self.log = tmp / "calls.log"
        for path in (self.root / "etc", self.stubs, self.state):
            path.mkdir(parents=True)
        (self.root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
        self.source.mkdir()
        shutil.copy(REPO / "setup.py", self.source)
        for package in ("fazt", "twisted"):
            shutil.copytree(REPO / package, self.source / package,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "dropin.cache"))
        for name, text in STUBS.items():
            (self.stubs / name).write_text(text)
            (self.stubs / name).chmod(0o755)

    def run(self, *args: str) -> subprocess.CompletedProcess:
        self.log.write_text("")
        env = {**os.environ, "PATH": f"{self.stubs}:{os.environ['PATH']}", "STUB_LOG": str(self.log),
               "STUB_STATE": str(self.state), "STUB_ROOT": str(self.root), "REAL_BIN": str(BIN)}
        env.pop("FAZT_DEBUG", None)
        return subprocess.run(["bash", str(INSTALL), "--root", str(self.root), "--source", str(self.source),
                               "--python", str(self.stubs / "fake-python3"), *args],
                              env=env, capture_output=True, text=True, timeout=60)

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines()

    def files(self) -> dict[str, tuple[int, int]]:
        """Every file under the root with its modification time and size."""
        found = {}
        for path in self.root.rglob("*"):
            if path.is_file():
                stat = path.stat()
                found[str(path.relative_to(self.root))] = (stat.st_mtime_ns, stat.st_size)
        return found

    def unit(self) -> str:
        return (self.root / "etc/systemd/system/fazt.service").read_text()


@pytest.fixture
def box(tmp_path):
    return Box(tmp_path)


def test_install_twice_then_upgrade_then_change_flags_then_uninstall(box):
    first = box.run("--domain", "Example.COM", "--email", "me@example.com")
    assert first.returncode == 0, first.stderr
    password = re.search(r"Admin login: user 'admin', password '([^']+)'", first.stdout).group(1)
    db = box.root / "var/lib/fazt/data.db"
    # The password never reaches a command line (any local user can read those in /proc) ...
    assert not any(password in call for call in box.calls())
    # ... and the cartridge (key digests, TLS private keys) is its owner's alone.
    assert db.stat().st_mode & 0o777 == 0o600
    assert (box.root / "var/lib/fazt").stat().st_mode & 0o777 == 0o750
    verify_cartridge(str(db))
    conn = sqlite3.connect(db)
    (stored,) = conn.execute("SELECT password_hash FROM users WHERE username = 'admin'").fetchone()
    domain = conn.execute("SELECT value FROM config WHERE key = 'domain'").fetchone()
    conn.close()
    assert bcrypt.checkpw(password.encode(), stored.encode()) and domain == ("example.com",)
    exec_start = f"{TWISTD} --https tcp:443 --acme-email me@example.com {BACKUPS}"
    assert box.unit() == UNIT.format(exec_start=exec_start)
    calls = box.calls()
    assert calls[0].startswith("useradd --root ") and calls[0].endswith(
        "--system --user-group --home-dir /var/lib/fazt --no-create-home --shell /usr/sbin/nologin"
        " --comment fazt personal PaaS fazt")
    assert [c.split()[0] for c in calls[1:3]] == ["venv", "pip"]
    calls = [c for c in calls if not c.startswith("fazt ")]
    # The ids of the user made in the root (the host's chown would look the name up in the host's passwd).
    assert "chown -R 999:999 " + str(box.root / "var/lib/fazt") in calls
    assert calls[-4:] == ["systemctl daemon-reload", "systemctl is-enabled --quiet fazt", "systemctl enable fazt",
                          "systemctl restart fazt"]
    assert (box.root / "etc/fazt/install.conf").read_text() == \
        "DOMAIN=example.com\nEMAIL=me@example.com\nHTTP_ONLY=0\nBACKUPS=1\n"

    # Again, with no flags at all: the last run's are remembered, nothing is written or restarted.
    before = box.files()
    second = box.run()
    assert second.returncode == 0, second.stderr
    assert "nothing to do" in second.stdout and "password" not in second.stdout
    assert box.calls() == ["systemctl is-enabled --quiet fazt", "systemctl is-active --quiet fazt"]
    assert box.files() == before

    # A newer checkout: upgraded in place and restarted; the unit and the data are untouched.
    db.chmod(0o644)  # as an older fazt made it
    with open(box.source / "fazt" / "__init__.py", "a") as f:
        f.write("# a newer checkout\n")
    third = box.run()
    assert third.returncode == 0, third.stderr
    calls = box.calls()
    assert [c.split()[0] for c in calls].count("pip") == 1 and "systemctl restart fazt" in calls
    assert "systemctl daemon-reload" not in calls and not any(c.startswith(("useradd", "venv")) for c in calls)
    installed = box.root / "opt/fazt/site/fazt/__init__.py"
    assert installed.read_text().endswith("# a newer checkout\n")
    after = box.files()
    assert after["var/lib/fazt/data.db"] == before["var/lib/fazt/data.db"]
    assert db.stat().st_mode & 0o777 == 0o600
    assert after["etc/systemd/system/fazt.service"] == before["etc/systemd/system/fazt.service"]

    # Changed flags: a new unit, reloaded and restarted, nothing reinstalled.
    fourth = box.run("--http-only", "--no-backups")
    assert fourth.returncode == 0, fourth.stderr
    assert box.unit() == UNIT.format(exec_start=TWISTD)
    assert box.calls() == ["systemctl daemon-reload", "systemctl is-enabled --quiet fazt",
                           "systemctl restart fazt"]
    assert "http://admin.example.com/" in fourth.stdout

    removed = box.run("--uninstall")
    assert removed.returncode == 0, removed.stderr
    assert box.calls() == ["systemctl disable --now fazt", "systemctl daemon-reload"]
    assert not (box.root / "etc/systemd/system/fazt.service").exists()
    assert not (box.root / "opt/fazt").exists() and not (box.root / "etc/fazt/install.conf").exists()
    verify_cartridge(str(db))  # the data stays
    assert "kept the data in /var/lib/fazt" in removed.stdout


def test_a_given_password_is_used_and_never_printed(box):
    done = box.run("--domain", "example.com", "--admin-user", "ops", "--admin-password", "a long password")
    assert done.returncode == 0, done.stderr
    assert not any("a long password" in call for call in box.calls())  # not in fazt init's argv
    assert "a long password" not in done.stdout + done.stderr
    conn = sqlite3.connect(box.root / "var/lib/fazt/data.db")
    (stored,) = conn.execute("SELECT password_hash FROM users WHERE username = 'ops'").fetchone()
    conn.close()
    assert bcrypt.checkpw(b"a long password", stored.encode())


@pytest.mark.parametrize("args, message", [
    ((), "--domain is needed on the first install"),
    (("--domain", "not a domain"), "is not a domain name"),
    (("--domain", "example.com", "--email", "nobody"), "is not an e-mail address"),
    (("--domain",), "--domain needs a value"),
    (("--frobnicate",), "unknown option --frobnicate"),
    (("--domain", "example.com", "--admin-password", "first line\nsecond line"), "--admin-password must be one line"),
])
def test_bad_flags_are_refused_before_anything_is_written(box, args, message):
    before = box.files()
    refused = box.run(*args)
    assert refused.returncode == 1
    assert refused.stderr.strip() == "install.sh: error: " + refused.stderr.strip().split("error: ", 1)[1]
    assert message in refused.stderr
    assert box.files() == before and box.calls() == []


def as_nobody(*args: str) -> subprocess.CompletedProcess:
    """Run install.sh as an unprivileged user (dropping root when the tests run as root)."""
    command = ["bash", str(INSTALL), *args]
    if os.geteuid() == 0:
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=30, cwd="/")


def test_help_works_for_anyone_and_root_is_needed_for_the_rest():
    shown = as_nobody("--help")
    assert shown.returncode == 0 and shown.stdout.startswith("Usage: sudo ./install.sh --domain DOMAIN")
    assert "--uninstall" in shown.stdout and shown.stderr == ""
    refused = as_nobody("--domain", "example.com")
    assert refused.returncode == 1 and "run me as root" in refused.stderr


def test_shellcheck_passes():
    assert shutil.which("shellcheck"), "shellcheck is missing: make system-deps installs it"
    checked = subprocess.run(["shellcheck", str(INSTALL)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
