"""C{fazt dev}'s server: the real service tree of C{twistd fazt} over a folder on disk.

Nothing here serves a request. L{DevServer} builds the server's own tree with
L{fazt.app.tap.makeService} on a scratch cartridge (C{DIR/.fazt/dev.db}), puts
L{fazt.web.devmode.DevRoot} in front of the real site renderer (every host is the one dev
site), and deploys the folder through the real L{Deployer} at start and after every change the
L{FolderWatcher} reports: routing, C{_redirects}/C{_headers}, functions, modules, KV and the
deploy checks are the server's. C{DIR/.env} becomes the site's variables before each deploy.
A deploy that fails (C{INVALID_SCRIPT}, a bad C{fazt.json}, ...) leaves the previous deployment
live behind the error page of L{DevState} until a later deploy succeeds.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Optional, TextIO

from dotenv import dotenv_values
from twisted.internet.defer import inlineCallbacks
from twisted.internet.task import LoopingCall
from twisted.internet.threads import deferToThread
from twisted.logger import Logger
from twisted.python.failure import Failure

from fazt.app.tap import Options, makeService
from fazt.base.bus import LOG_LINE, SITE_CHANGED
from fazt.base.errors import ApiError
from fazt.cli.devwatch import FolderWatcher
from fazt.cli.errors import CliError
from fazt.cli.multipart import MultipartFileBody
from fazt.cli.zipdir import zip_directory
from fazt.store.envvars import EnvVarError, check_env_name, check_env_value, replace_env_vars
from fazt.web.devmode import DevRequest, DevRoot, DevState

SITE = "dev"
SCRATCH = ".fazt"
PING_SECONDS = 15.0
_log = Logger()


def dev_options(folder: str, port: int, interface: str) -> Options:
    """The C{twistd fazt} options of a dev server: the scratch cartridge, one loopback listener,
    no certificates; every limit at the server's default, so that scripts behave as deployed."""
    options = Options()
    options.parseOptions(["--domain", "localhost", "--db", os.path.join(folder, SCRATCH, "dev.db"),
                          "--http", f"tcp:{port}:interface={interface}", "--no-acme"])
    return options


def read_env(folder: str) -> dict[str, str]:
    """The variables of C{folder/.env} (none if it is missing), checked by the rules of
    C{fazt env set}: a bad name or value raises L{ApiError} C{INVALID_ENV} naming the line's variable."""
    path = os.path.join(folder, ".env")
    if not os.path.isfile(path):
        return {}
    values = {}
    for raw_name, raw_value in dotenv_values(path).items():
        try:
            values[check_env_name(raw_name)] = check_env_value("" if raw_value is None else raw_value)
        except EnvVarError as error:
            raise ApiError(400, "INVALID_ENV", f".env: {raw_name}: {error}",
                           {"file": ".env", "message": str(error)}) from error
    return values


class DevServer:
    """One folder served as the site C{dev} on C{interface:port}, redeployed on every change."""

    def __init__(self, folder: str, port: int, reactor: Any, out: TextIO = sys.stdout,
                 interface: str = "127.0.0.1") -> None:
        self.folder = os.path.abspath(folder)
        self.port = port
        self._reactor = reactor
        self._out = out
        self.state = DevState(reactor.seconds())
        parts: dict = {}
        os.makedirs(os.path.join(self.folder, SCRATCH), exist_ok=True)
        self.service = makeService(dev_options(self.folder, port, interface), reactor, parts)
        self._store, self._bus, self._deployer = parts["store"], parts["bus"], parts["deployer"]
        site, root = parts["site"], parts["root"]
        # The one change to the server's tree: the dev root in front of its site renderer.
        site.requestFactory = DevRequest
        site.resource = DevRoot(self.state, root.sites.render, SITE)
        root.add_finish_hook(self._print_request)
        self._bus.subscribe(LOG_LINE, self._print_log_line)
        self._watcher = FolderWatcher(self.folder, self._changed, reactor, off_reactor=deferToThread)
        self._pinger = LoopingCall(self.state.ping)
        self._pinger.clock = reactor
        self._deploying = False
        self._again = False
        self._env: Optional[dict[str, str]] = None

    def start(self) -> None:
        """Start the tree (listening), deploy the folder, then watch it."""
        # First, so that a listener that fails to start still stops what started before it.
        self._reactor.addSystemEventTrigger("before", "shutdown", self.stop)
        self.service.privilegedStartService()
        self.service.startService()
        self.say(f"fazt dev: serving {self.folder} on http://localhost:{self.port}/ (Ctrl-C stops)")
        self._watcher.start()
        self._pinger.start(PING_SECONDS, now=False)
        self.deploy()

    def stop(self):
        """Stop watching and stop the tree (a Deferred, for the reactor's shutdown)."""
        self._watcher.stop()
        if self._pinger.running:
            self._pinger.stop()
        self.state.close()
        return self.service.stopService()

    def say(self, line: str) -> None:
        """One line on the terminal."""
        self._out.write(line + "\n")
        self._out.flush()

    def _changed(self, paths: list[str]) -> None:
        shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
        self.say(f"changed: {shown}")
        self.deploy()

    def deploy(self) -> None:
        """Deploy the folder now, or once the deploy under way has ended."""
        if self._deploying:
            self._again = True
            return
        self._deploying = True
        self._deploy_once().addBoth(self._deployed)

    def _deployed(self, result) -> None:
        if isinstance(result, Failure):  # a bug here, not in the site: say so, keep serving
            _log.failure("fazt dev: the deploy loop failed", result)
        self._deploying = False
        if self._again:
            self._again = False
            self.deploy()

    @inlineCallbacks
    def _deploy_once(self):
        try:
            yield self._apply_env()
            upload, content_type = yield deferToThread(self._pack)
            try:
                with open(upload, "rb") as body:
                    prepared = yield self._deployer.prepare(body, content_type)
                    deployment, _new = yield self._deployer.commit(prepared, "fazt dev")
            finally:
                os.remove(upload)
        except ApiError as error:
            self._fail(error.envelope()["error"])
        except (CliError, OSError) as error:  # an empty or unreadable folder: the user's to fix
            self._fail({"code": "CANNOT_PACK", "message": str(error)})
        except Exception as error:  # a folder we cannot read, a zip error: shown, never fatal
            _log.failure("fazt dev: the deploy failed")
            self._fail({"code": "DEPLOY_FAILED", "message": str(error) or type(error).__name__})
        else:
            self.say(f"deployed: {prepared.file_count} files (deployment {deployment.id})")
            self.state.deployed()

    def _fail(self, error: dict) -> None:
        self.say(f"error: {error['code']}: {error['message']}")
        self.state.failed(error)

    def _pack(self) -> tuple[str, bytes]:
        """Zip the folder as C{fazt deploy} does and write the upload form beside the cartridge
        (runs in a thread: file I/O); the form's path and content type."""
        zipped = zip_directory(self.folder)
        try:
            form = MultipartFileBody({"site_name": SITE}, "file", zipped.path, "deploy.zip", "application/zip")
            os.makedirs(os.path.join(self.folder, SCRATCH), exist_ok=True)  # removed by hand meanwhile?
            path = os.path.join(self.folder, SCRATCH, "upload.form")
            with open(path, "wb") as out:
                for chunk in form.chunks():
                    out.write(chunk)
        finally:
            zipped.discard()
        return path, form.content_type.encode("ascii")

    @inlineCallbacks
    def _apply_env(self):
        """Make C{.env} the site's variables when it changed (and tell the app renderer)."""
        values = yield deferToThread(read_env, self.folder)
        if values == self._env:
            return
        yield self._store.write(replace_env_vars, SITE, values, int(self._reactor.seconds()))
        self._env = values
        self._bus.publish(SITE_CHANGED, {"site": SITE, "change": "env"})

    def _print_request(self, request) -> None:
        path = request.uri.decode("latin-1")
        if path.startswith("/.fazt/dev/"):
            return
        self.say(f"{request.method.decode('latin-1')} {path} {request.code}")

    def _print_log_line(self, message: dict) -> None:
        self.say(f"console.{message.get('level', 'info')}: {message.get('message', '')}")

