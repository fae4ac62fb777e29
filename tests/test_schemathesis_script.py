"""scripts/schemathesis.sh is a script anyone runs by hand (it installs Schemathesis and takes
minutes, so the suite does not run it); here it is at least held to shellcheck."""

from __future__ import annotations

import os
import shutil
import subprocess

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts", "schemathesis.sh")


def test_the_schemathesis_script_passes_shellcheck():
    assert shutil.which("shellcheck"), "shellcheck is missing: make system-deps installs it"
    checked = subprocess.run(["shellcheck", SCRIPT], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert os.access(SCRIPT, os.X_OK)
