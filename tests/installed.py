"""The fazt users get: a wheel built from this tree, installed into a venv of its own.

Process-level tests (everything that starts C{twistd} or the C{fazt} command) run these programs, so
that a file the wheel leaves out, or an import that only works from the source tree, fails a test
instead of every user's server. The wheel is built once per test session from a copy of the working
tree (uncommitted changes included; no stale C{build/} folder can leak in) and installed into
C{.venv-dist} (or C{$FAZT_TEST_VENV}); the venv's dependencies are installed the first time and kept.

Imported by name (C{pytest.ini} puts C{tests/} on the path).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV = Path(os.environ.get("FAZT_TEST_VENV") or REPO / ".venv-dist")
BIN = VENV / "bin"
TWISTD = str(BIN / "twistd")
FAZT = str(BIN / "fazt")
PYTHON = str(BIN / "python")

# What a wheel is built from: the package, the twistd plugin and the build description.
_SOURCES = ("fazt", "twisted", "setup.py", "pyproject.toml")
_state: dict[str, Path] = {}


def _copy_sources(target: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "dropin.cache")
    for name in _SOURCES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        else:
            shutil.copy2(source, target / name)


def _run(*command: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


def built_wheel() -> Path:
    """The wheel built from the working tree in this session (built on first call)."""
    if "wheel" not in _state:
        scratch = Path(tempfile.mkdtemp(prefix="fazt-wheel-"))
        _copy_sources(scratch / "src")
        _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(scratch / "dist"),
             str(scratch / "src"))
        (wheel,) = (scratch / "dist").glob("fazt-*.whl")
        _state["wheel"] = wheel
    return _state["wheel"]


def wheel_names() -> set[str]:
    """Every path inside the built wheel."""
    with zipfile.ZipFile(built_wheel()) as archive:
        return set(archive.namelist())


def ensure_installed() -> Path:
    """Install this session's wheel into L{VENV} (once per session); the venv's bin folder.

    Under pytest-xdist every worker is a session of its own: they take turns on a lock file, and the
    first one installs the wheel for the whole run (xdist gives the run's workers one
    C{PYTEST_XDIST_TESTRUNUID}, written next to the venv once the install has succeeded).
    """
    if "installed" not in _state:
        VENV.mkdir(parents=True, exist_ok=True)
        run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
        stamp = VENV / "fazt-test-run"
        with open(VENV / "fazt-test-install.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (run and stamp.exists() and stamp.read_text() == run):
                stamp.unlink(missing_ok=True)
                _install(str(built_wheel()))
                if run:
                    stamp.write_text(run)
        _state["installed"] = BIN
    return _state["installed"]


def _install(wheel: str) -> None:
    pip = str(BIN / "pip")
    if not (BIN / "python").exists():
        _run(sys.executable, "-m", "venv", str(VENV))
    # The package itself is replaced every session; its dependencies only when setup.py changed.
    _run(pip, "install", "-q", "--no-deps", "--force-reinstall", wheel)
    _run(pip, "install", "-q", wheel)


def installed_location() -> str:
    """Where the installed venv's Python imports C{fazt} from."""
    ensure_installed()
    result = subprocess.run([PYTHON, "-c", "import fazt, os; print(os.path.dirname(fazt.__file__))"],
                            capture_output=True, text=True, cwd=tempfile.gettempdir(),
                            env=clean_env(), check=True)
    return result.stdout.strip()


def clean_env(base: dict | None = None) -> dict:
    """C{base} (default: this process's environment) without anything that could load the source tree."""
    env = dict(os.environ if base is None else base)
    env.pop("PYTHONPATH", None)
    env.pop("PYTHONHOME", None)
    return env


def program_env(home: Path, **extra: str) -> dict:
    """The environment for fazt's programs: a private HOME, no FAZT_*, proxy or source-tree settings."""
    env = {k: v for k, v in clean_env().items()
           if not k.startswith("FAZT_") and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env.pop("XDG_CONFIG_HOME", None)
    Path(home).mkdir(parents=True, exist_ok=True)
    env.update(HOME=str(home), PYTHONUNBUFFERED="1", NO_PROXY="*", no_proxy="*")
    env.update(extra)
    return env
