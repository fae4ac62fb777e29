"""
C{fazt dev DIR [--port 8787]}: serve a site folder on localhost as a deployed site behaves.

The command checks its arguments, then runs the reactor around L{fazt.cli.devserver.DevServer}
(the server's own service tree over C{DIR/.fazt/dev.db}) until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import sys

from fazt.cli.errors import CliError

DEFAULT_PORT = 8787


def add_dev_command(subcommands) -> None:
    """Register C{fazt dev}."""
    dev = subcommands.add_parser(
        "dev", help="serve a site folder locally, redeploying it on every change",
        description="Serve DIR on http://localhost:PORT exactly as a deployed site behaves (the server's "
        "own code, a scratch database in DIR/.fazt/dev.db, variables from DIR/.env). Every saved change is "
        "deployed again and open pages reload; a script that does not compile shows as an error page "
        "until it is fixed. Each request and console line is printed.")
    dev.add_argument("directory", metavar="DIR", help="the site folder")
    dev.add_argument("--port", "-p", type=_port, default=DEFAULT_PORT,
                     help=f"the port to listen on (default: {DEFAULT_PORT})")
    dev.add_argument("--host", default="127.0.0.1", metavar="ADDRESS",
                     help="the address to listen on (default: 127.0.0.1, this machine only)")
    dev.set_defaults(run=run_dev)


def _port(text: str) -> int:
    """C{--port}: 1-65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be from 1 to 65535")
    return value


def run_dev(args: argparse.Namespace) -> int:
    """Run the dev server until interrupted; 1 if it could not start."""
    folder = args.directory
    if not os.path.isdir(folder):
        raise CliError(f"not a folder: {folder}")
    from twisted.internet import reactor
    from twisted.internet.error import CannotListenError

    from fazt.cli.devserver import DevServer

    _log_errors_to(sys.stderr)
    server = DevServer(folder, args.port, reactor, interface=args.host)
    failures: list[str] = []

    def start() -> None:
        try:
            server.start()
        except CannotListenError as error:
            failures.append(f"cannot listen on {args.host}:{args.port}: {error.socketError}")
            reactor.stop()

    reactor.callWhenRunning(start)
    reactor.run()
    if failures:
        raise CliError(failures[0])
    print("fazt dev: stopped", file=sys.stderr)
    return 0


def _log_errors_to(stream) -> None:
    """Show the server's errors (a failing subscriber, a crashed deploy) on C{stream}; its
    notices (such as the scratch cartridge's generated admin password) stay quiet."""
    from twisted.logger import (FilteringLogObserver, LogLevel, LogLevelFilterPredicate, globalLogBeginner,
                                textFileLogObserver)

    errors_only = LogLevelFilterPredicate(defaultLogLevel=LogLevel.error)
    globalLogBeginner.beginLoggingTo([FilteringLogObserver(textFileLogObserver(stream), [errors_only])],
                                     redirectStandardIO=False)
