"""Real npm packages for tests: ``npm install`` from the registry, once per test session.

Usage in a test module (or a conftest.py)::

    from npm_testing import npm_packages  # noqa: F401  (session fixture)

    def test_something(npm_packages, tmp_path):
        site = tmp_path / "site"
        npm_packages.copy_to(site)            # site/node_modules/{hono,zod,dayjs,nanoid,marked}
        ...

``npm_packages`` installs L{DEFAULT_PACKAGES} (hono, zod, dayjs, nanoid, marked: their latest
versions) with ``npm install --no-audit --no-fund`` into a folder of the session's temporary
directory named after the package list, the first time a test asks for it; later tests of the
session reuse it. Scripts outside pytest (bench/) call L{install_packages} with a folder of their
own. A failed install FAILS the test (the registry is part of what these tests need), it never skips.
"""

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

DEFAULT_PACKAGES = ("hono", "zod", "dayjs", "nanoid", "marked")
INSTALL_TIMEOUT = 300


class NpmPackages:
    """A folder holding C{package.json} and C{node_modules/} as ``npm install`` left them."""

    def __init__(self, folder, packages):
        self.folder = Path(folder)
        self.packages = tuple(packages)

    @property
    def node_modules(self):
        return self.folder / "node_modules"

    def copy_to(self, site_folder):
        """Copy ``node_modules/`` (and package.json, package-lock.json) into C{site_folder}."""
        site_folder = Path(site_folder)
        site_folder.mkdir(parents=True, exist_ok=True)
        shutil.copytree(self.node_modules, site_folder / "node_modules", dirs_exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            if (self.folder / name).exists() and not (site_folder / name).exists():
                shutil.copy(self.folder / name, site_folder / name)
        return site_folder


def install_packages(base, packages=DEFAULT_PACKAGES):
    """Install C{packages} under C{base}/npm-KEY (KEY: a hash of the list) unless already there."""
    key = hashlib.sha256(" ".join(sorted(packages)).encode()).hexdigest()[:12]
    folder = Path(base) / f"npm-{key}"
    done = folder / ".installed"
    if not done.exists():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "package.json").write_text('{"name": "fazt-test-site", "private": true}\n')
        # npm writes progress to stderr; keep it for the failure message.
        result = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", *packages],
            cwd=folder, capture_output=True, text=True, timeout=INSTALL_TIMEOUT,
            env={**os.environ, "NO_UPDATE_NOTIFIER": "1"},
        )
        if result.returncode != 0:
            raise RuntimeError(f"npm install {' '.join(packages)} failed:\n{result.stdout}\n{result.stderr}")
        done.write_text(" ".join(packages) + "\n")
    return NpmPackages(folder, packages)


def folder_files(root):
    """C{(paths, read_text)} of a folder as a deployment sees it (site-relative paths, UTF-8 text)."""
    root = Path(root)
    paths = frozenset(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())

    def read_text(path):
        if path not in paths:
            return None
        try:
            return (root / path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    return paths, read_text


@pytest.fixture(scope="session")
def npm_packages(tmp_path_factory):
    """L{NpmPackages} with L{DEFAULT_PACKAGES} installed from the npm registry (once per session)."""
    return install_packages(tmp_path_factory.getbasetemp() / "npm", DEFAULT_PACKAGES)
