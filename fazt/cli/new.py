"""
C{fazt new DIR --template NAME}: a starter site from the templates shipped in the package.

The templates live in C{fazt/templates/NAME/} (setup.py ships every non-Python file under
C{fazt/}); each deploys as it is and has a README saying what it does. A template's
C{gitignore} becomes the new folder's C{.gitignore} (a file called C{.gitignore} inside the
package would be read by git as rules for the package's own folder).
"""

from __future__ import annotations

import argparse
import os
import shutil

from fazt.cli.errors import CliError

TEMPLATES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "templates")
TEMPLATES = ("static", "spa", "api", "chat", "counter", "hono")
DEFAULT_TEMPLATE = "static"
# Renamed on the way out (see the module docstring).
RENAMED = {"gitignore": ".gitignore"}
ALLOWED_IN_TARGET = frozenset({".git"})


def add_new_command(subcommands) -> None:
    """Register C{fazt new}."""
    new = subcommands.add_parser(
        "new", help="create a starter site from a template",
        description="Create DIR with a starter site that deploys as it is: "
        "static (pages), spa (client-side routing), api (pages + api/ functions), "
        "chat (WebSockets), counter (a KV counter in main.js), hono (a Hono app; run npm install). "
        "Then: fazt dev DIR, or fazt deploy DIR --site NAME.")
    new.add_argument("directory", metavar="DIR", help="the folder to create (must not exist or be empty)")
    new.add_argument("--template", "-t", choices=TEMPLATES, default=DEFAULT_TEMPLATE,
                     help=f"the starter to copy (default: {DEFAULT_TEMPLATE})")
    new.set_defaults(run=create_site)


def create_site(args: argparse.Namespace) -> int:
    """Copy the template into C{args.directory}; refuse a folder that already holds files."""
    target = args.directory
    source = os.path.join(TEMPLATES_DIR, args.template)
    if not os.path.isdir(source):  # a broken install: the package lost its data files
        raise CliError(f"template '{args.template}' is missing from this installation ({source})")
    if os.path.exists(target):
        if not os.path.isdir(target):
            raise CliError(f"{target} exists and is not a folder")
        # A fresh `git init` is still an empty folder for a new site.
        if set(os.listdir(target)) - ALLOWED_IN_TARGET:
            raise CliError(f"{target} is not empty: choose a new folder")
    try:
        written = copy_template(source, target)
    except OSError as error:
        raise CliError(f"cannot write {error.filename or target}: {error.strerror or error}") from error
    print(f"Created {target} from the '{args.template}' template ({written} files).")
    print("Next:")
    if args.template == "hono":
        print(f"  cd {target} && npm install")
    print(f"  fazt dev {target}                  # serve it on http://localhost:8787")
    print(f"  fazt deploy {target} --site NAME   # put it online")
    return 0


def copy_template(source: str, target: str) -> int:
    """Copy every file of C{source} to C{target} (created); the count of files written."""
    count = 0
    for folder, _dirs, files in os.walk(source):
        relative = os.path.relpath(folder, source)
        destination = os.path.normpath(os.path.join(target, relative))
        os.makedirs(destination, exist_ok=True)
        for name in files:
            if name.endswith((".pyc", ".pyo")):
                continue
            shutil.copyfile(os.path.join(folder, name), os.path.join(destination, RENAMED.get(name, name)))
            count += 1
    return count
