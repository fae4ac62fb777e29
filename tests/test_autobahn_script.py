"""scripts/autobahn.sh runs the Autobahn|Testsuite by hand (minutes, Python 2.7): here it is held to
shellcheck, and its report's verdicts (scripts/autobahn_report.py) are checked on made-up cases."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess

SCRIPTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts")


def report_module():
    spec = importlib.util.spec_from_file_location("autobahn_report", os.path.join(SCRIPTS, "autobahn_report.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_autobahn_script_passes_shellcheck():
    assert shutil.which("shellcheck"), "shellcheck is missing: make system-deps installs it"
    checked = subprocess.run(["shellcheck", os.path.join(SCRIPTS, "autobahn.sh")], capture_output=True, text=True,
                             timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_an_over_cap_case_closed_with_1009_is_capped_unless_its_group_must_pass():
    judge = report_module().judge
    closed = {"behavior": "FAILED", "behaviorClose": "FAILED", "remoteCloseCode": 1009}
    passed = {"behavior": "OK", "behaviorClose": "OK", "remoteCloseCode": 1000}
    assert judge(closed, {}, 64 * 1024, 128 * 1024) == "CAPPED"
    assert judge(closed, {}, 64 * 1024, 128 * 1024, must_pass=True) == "UNEXPECTED"
    assert judge(passed, {}, 256 * 1024, 128 * 1024, must_pass=True) == "OK"
    assert judge(passed, {}, 64 * 1024, 128 * 1024) == "UNEXPECTED"   # over the cap, yet echoed
