"""The wheel users install holds everything the code reads at run time, and its programs start."""

from __future__ import annotations

import os
import subprocess

from installed import PYTHON, REPO, TWISTD, VENV, clean_env, wheel_names


def tree_files(package: str = "fazt") -> set[str]:
    """Every file under C{package} in the working tree that a wheel must carry."""
    found = set()
    for folder, dirs, files in os.walk(REPO / package):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if not name.endswith(".pyc"):
                found.add(os.path.relpath(os.path.join(folder, name), REPO))
    return found


def test_every_file_under_fazt_is_in_the_wheel():
    missing = sorted(tree_files() - wheel_names())
    assert missing == [], f"the wheel lacks {missing}: package every file the code reads"


def test_the_wheel_carries_the_twistd_plugin_and_nothing_of_the_tests():
    names = wheel_names()
    assert "twisted/plugins/fazt_plugin.py" in names
    # No __init__.py there: it would shadow Twisted's own package.
    assert not {"twisted/__init__.py", "twisted/plugins/__init__.py"} & names
    assert not [name for name in names if name.startswith("tests/")]


def test_installed_twistd_knows_the_plugin_outside_the_source_tree(installed, tmp_path):
    result = subprocess.run([TWISTD, "fazt", "--help"], cwd=tmp_path, env=clean_env(), capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "--domain" in result.stdout


def test_installed_package_reads_its_data_files(installed, tmp_path):
    """The runtime's JS files, the migrations and the dashboard, read the way the running code reads them."""
    probe = (
        "import fazt.runtime.sandbox as s, fazt.store.migrate as m, fazt.web.dashboard as d, os;"
        "print(sum(1 for _, js in s.RUNTIME_SOURCES if js), len(m.available_migrations()), len(d.load_assets()) > 10,"
        " os.path.dirname(s.__file__))"
    )
    result = subprocess.run([PYTHON, "-c", probe], cwd=tmp_path, env=clean_env(), capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    runtime_js, migrations, dashboard, location = result.stdout.split()
    assert int(runtime_js) >= 3 and int(migrations) >= 4 and dashboard == "True"
    assert location.startswith(str(VENV)), location
