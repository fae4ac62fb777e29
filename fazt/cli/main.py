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
from fazt.cli import backups, cartridge, certs, commands, credentials, dev, domains, gitdeploy, new, rollout
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
    init.add_argument("--password", required=True, metavar="PW",
                      help="the admin's password ('-': read the first line of stdin, out of the process list)")
    init.set_defaults(run=commands.init_database)

    key = subcommands.add_parser("key", help="manage API keys")
    key_actions = key.add_subparsers(dest="key_action", metavar="ACTION", required=True)
    key_create = key_actions.add_parser("create", help="create an API key and print its token")
    key_create.add_argument("--db", required=True, metavar="PATH|URL", help="the database file or postgresql:// URL")
    key_create.add_argument("--name", required=True, help="a name to recognise the key by")
    key_create.add_argument(
        "--scope",
        action="append",
        metavar="SCOPE",
        help="'admin' or 'deploy:SITE'; repeat for several (default: admin)",
    )
    key_create.set_defaults(run=commands.create_key)

    deploy = _client_command(subcommands, "deploy", "zip a directory and deploy it as a site")
    deploy.add_argument("directory", metavar="DIR", nargs="?", help="the directory to deploy")
    deploy.add_argument("--site", required=True, metavar="NAME", help="the site's name")
    deploy.add_argument("--preview", action="store_true",
                        help="store the deployment without switching the site; print its d<ID>--NAME URL")
    deploy.set_defaults(run=commands.deploy)
    gitdeploy.add_git_options(deploy)  # --git URL[#REF] [--dir SUBDIR] [--link]

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
    _add_env_and_logs_commands(subcommands)
    _add_account_commands(subcommands)
    backups.add_backup_commands(subcommands)
    cartridge.add_cartridge_commands(subcommands)
    credentials.add_credentials_command(subcommands)
    certs.add_certs_command(subcommands, _client_command)
    new.add_new_command(subcommands)
    dev.add_dev_command(subcommands)
    rollout.add_rollout_commands(subcommands, _client_command)
    domains.add_domain_commands(subcommands, _client_command)
    return parser


def _add_account_commands(subcommands) -> None:
    """C{fazt login} and C{fazt keys list|revoke}: signing in, and the server's API keys."""
    from fazt.cli import account

    login = subcommands.add_parser(
        "login", help="log in with the admin password and save an API key for later commands",
        description="Log in with the admin's user name and password (asked for when not given), "
        "create an API key for this machine and save it with the server URL in "
        "~/.config/fazt/config.json (mode 0600).")
    login.add_argument("--server", metavar="URL",
                       help="the server's admin URL (default: $FAZT_SERVER, the config file, "
                       "or http://localhost:4698)")
    login.add_argument("--username", metavar="NAME", help="the admin's user name (asked for if not given)")
    login.add_argument("--password", metavar="PW", help="the admin's password (asked for if not given)")
    login.set_defaults(run=account.login)

    keys = subcommands.add_parser("keys", help="list or revoke the server's API keys")
    keys_actions = keys.add_subparsers(dest="keys_action", metavar="ACTION", required=True)
    keys_list = _client_command(keys_actions, "list", "list the API keys (never their tokens)")
    keys_list.set_defaults(run=account.list_keys)
    keys_revoke = _client_command(keys_actions, "revoke", "revoke an API key at once")
    keys_revoke.add_argument("id", type=int, metavar="ID", help="the key's id (see 'fazt keys list')")
    keys_revoke.set_defaults(run=account.revoke_key)


def _add_env_and_logs_commands(subcommands) -> None:
    """C{fazt env set|unset|list} and C{fazt logs}: a site's environment and console log."""
    from fazt.cli import envlogs

    env = subcommands.add_parser("env", help="manage a site's environment variables",
                                 description="manage a site's environment variables (values are never shown)")
    env_actions = env.add_subparsers(dest="env_action", metavar="ACTION", required=True)
    env_list = _client_command(env_actions, "list", "list the names of a site's environment variables")
    env_list.add_argument("site", metavar="SITE", help="the site's name")
    env_list.set_defaults(run=envlogs.env_list)
    env_set = _client_command(env_actions, "set", "set an environment variable of a site")
    env_set.add_argument("site", metavar="SITE", help="the site's name")
    env_set.add_argument("name", metavar="NAME", help="the variable's name, such as API_KEY")
    env_set.add_argument("value", metavar="VALUE", nargs="?",
                         help="its value (default: read from stdin, so it stays out of shell history)")
    env_set.set_defaults(run=envlogs.env_set)
    env_unset = _client_command(env_actions, "unset", "remove an environment variable of a site")
    env_unset.add_argument("site", metavar="SITE", help="the site's name")
    env_unset.add_argument("name", metavar="NAME", help="the variable's name")
    env_unset.set_defaults(run=envlogs.env_unset)

    logs = _client_command(subcommands, "logs", "show what a site's main.js logged")
    logs.add_argument("site", metavar="SITE", help="the site's name")
    logs.add_argument("--follow", "-f", action="store_true", help="keep printing new lines until Ctrl-C")
    logs.add_argument("--limit", "-n", type=_log_limit, default=50, metavar="N",
                      help="how many of the newest lines to show first (1-1000, default 50)")
    logs.add_argument("--level", choices=("debug", "info", "warn", "error"), help="only lines of this level")
    logs.set_defaults(run=envlogs.logs)


def _log_limit(text: str) -> int:
    """C{--limit}: a whole number from 1 to 1000."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= 1000:
        raise argparse.ArgumentTypeError("must be from 1 to 1000")
    return value


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
