"""
The C{fazt} command: argument parsing and dispatch.

C{main(argv)} parses the command line, runs one command from
L{fazt.cli.commands} and turns every failure into one line on stderr and a
non-zero exit status: 1 for errors, 2 for bad usage, 130 for Ctrl-C. A
traceback is shown only when C{FAZT_DEBUG} is set in the environment.
"""

import argparse
import os
import sys
import traceback
from typing import List, Optional

from fazt import __version__
from fazt.cli import commands
from fazt.cli.errors import CliError

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of the whole C{fazt} command line."""
    parser = argparse.ArgumentParser(
        prog="fazt",
        description="Operate a fazt server and deploy sites to it.",
    )
    parser.add_argument("--version", action="version", version=f"fazt {__version__}")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    init = subcommands.add_parser("init", help="create a database with an admin user")
    init.add_argument("--db", required=True, metavar="PATH", help="the database file to create")
    init.add_argument("--domain", required=True, help="the domain the server answers for")
    init.add_argument("--username", required=True, metavar="NAME", help="the admin's user name")
    init.add_argument("--password", required=True, metavar="PW", help="the admin's password")
    init.set_defaults(run=commands.init_database)

    key = subcommands.add_parser("key", help="manage API keys")
    key_actions = key.add_subparsers(dest="key_action", metavar="ACTION", required=True)
    key_create = key_actions.add_parser("create", help="create an API key and print its token")
    key_create.add_argument("--db", required=True, metavar="PATH", help="the database file")
    key_create.add_argument("--name", required=True, help="a name to recognise the key by")
    key_create.add_argument(
        "--scope",
        action="append",
        metavar="SCOPE",
        help="'admin' or 'deploy:SITE'; repeat for several (default: admin)",
    )
    key_create.set_defaults(run=commands.create_key)

    deploy = _client_command(subcommands, "deploy", "zip a directory and deploy it as a site")
    deploy.add_argument("directory", metavar="DIR", help="the directory to deploy")
    deploy.add_argument("--site", required=True, metavar="NAME", help="the site's name")
    deploy.set_defaults(run=commands.deploy)

    sites = _client_command(subcommands, "sites", "list the sites")
    sites.set_defaults(run=commands.list_sites)

    deployments = _client_command(subcommands, "deployments", "list a site's deployments")
    deployments.add_argument("site", metavar="SITE", help="the site's name")
    deployments.set_defaults(run=commands.list_deployments)

    rollback = _client_command(subcommands, "rollback", "switch a site to an earlier deployment")
    rollback.add_argument("site", metavar="SITE", help="the site's name")
    rollback.add_argument(
        "--to", type=int, metavar="ID", help="the deployment to switch to (default: the previous one)"
    )
    rollback.set_defaults(run=commands.rollback)

    status = _client_command(subcommands, "status", "check that the server is up and describe it")
    status.set_defaults(run=commands.status)
    return parser


def _client_command(subcommands, name: str, help_text: str) -> argparse.ArgumentParser:
    """Add a subcommand that talks to a server, with C{--server} and C{--token}."""
    command = subcommands.add_parser(name, help=help_text, description=help_text)
    command.add_argument(
        "--server",
        metavar="URL",
        help="the server's admin URL (default: $FAZT_SERVER, the config file, "
        "or http://localhost:4698)",
    )
    command.add_argument(
        "--token", metavar="TOKEN", help="an API token (default: $FAZT_TOKEN or the config file)"
    )
    return command


def main(argv: Optional[List[str]] = None) -> int:
    """
    Run the C{fazt} command line C{argv} (default: C{sys.argv[1:]}) and
    return its exit status.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_request:
        return _exit_status(exit_request.code)

    try:
        return args.run(args)
    except KeyboardInterrupt:
        _report("interrupted")
        return EXIT_INTERRUPTED
    except CliError as error:
        _report(str(error))
        return EXIT_ERROR
    except BrokenPipeError:
        # The reader of our output went away (fazt sites | head); say nothing.
        _silence_stdout()
        return EXIT_ERROR
    except Exception as error:
        if os.environ.get("FAZT_DEBUG"):
            traceback.print_exc()
        _report(f"unexpected {type(error).__name__}: {error} (set FAZT_DEBUG=1 for details)")
        return EXIT_ERROR


def _report(message: str) -> None:
    """Print C{error: MESSAGE} as one line on stderr."""
    one_line = " ".join(message.split())
    print(f"error: {one_line}", file=sys.stderr)


def _exit_status(code: object) -> int:
    """Return the exit status argparse asked for with C{SystemExit(code)}."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return EXIT_ERROR


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
