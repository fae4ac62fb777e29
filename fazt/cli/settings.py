"""
Where the client commands find the server URL and the API token.

Each value is looked up in this order, the first non-empty one winning:

  1. the command-line flag (C{--server}, C{--token});
  2. the environment (C{FAZT_SERVER}, C{FAZT_TOKEN});
  3. the keys C{"server"} and C{"token"} of the user's config file,
     C{$XDG_CONFIG_HOME/fazt/config.json}, or C{~/.config/fazt/config.json}
     when C{XDG_CONFIG_HOME} is unset.

The server falls back to L{DEFAULT_SERVER}; the token has no default.
"""

import json
import os
from dataclasses import dataclass
from typing import Mapping, Optional
from urllib.parse import urlsplit

from fazt.cli.errors import CliError

DEFAULT_SERVER = "http://localhost:4698"
SERVER_ENV_VAR = "FAZT_SERVER"
TOKEN_ENV_VAR = "FAZT_TOKEN"

HOW_TO_PASS_A_TOKEN = (
    "no API token: pass --token TOKEN, set FAZT_TOKEN, or put "
    '"token" in ~/.config/fazt/config.json '
    "(create one with: fazt key create --db PATH --name NAME)"
)


class SettingsError(CliError):
    """The server URL, the token or the config file is unusable."""


@dataclass(frozen=True)
class ClientSettings:
    """
    The resolved connection settings of a client command.

    @ivar server: the server's base URL, without a trailing slash.
    @ivar token: the API token, or C{None} when none was found anywhere.
    """

    server: str
    token: Optional[str]

    def require_token(self) -> str:
        """
        Return the token, or raise L{SettingsError} telling the user how to
        pass one.
        """
        if not self.token:
            raise SettingsError(HOW_TO_PASS_A_TOKEN)
        return self.token


def config_file_path(environ: Mapping[str, str] = os.environ) -> str:
    """
    Return the path of the user's fazt config file.

    C{XDG_CONFIG_HOME} is honoured when set; otherwise the file lives under
    C{$HOME/.config}.
    """
    config_home = environ.get("XDG_CONFIG_HOME")
    if not config_home:
        home = environ.get("HOME") or os.path.expanduser("~")
        config_home = os.path.join(home, ".config")
    return os.path.join(config_home, "fazt", "config.json")


def load_config_file(path: str) -> dict:
    """
    Read the config file at C{path}.

    A missing file is an empty config; an unreadable or malformed one raises
    L{SettingsError} naming the file.
    """
    try:
        with open(path, encoding="utf-8") as config_file:
            config = json.load(config_file)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise SettingsError(f"cannot read config file {path}: {error}") from error
    if not isinstance(config, dict):
        raise SettingsError(f"config file {path} must hold a JSON object")
    return config


def normalize_server_url(server: str) -> str:
    """
    Return C{server} as a base URL: C{http://} is assumed when no scheme is
    given, and a trailing slash is removed.

    @raise SettingsError: if the scheme is neither http nor https, or there
        is no host.
    """
    server = server.strip()
    if "://" not in server:
        server = "http://" + server
    parts = urlsplit(server)
    if parts.scheme not in ("http", "https"):
        raise SettingsError(f"server URL must start with http:// or https://: {server}")
    if not parts.hostname:
        raise SettingsError(f"server URL has no host: {server}")
    return server.rstrip("/")


def resolve_settings(
    server_flag: Optional[str] = None,
    token_flag: Optional[str] = None,
    environ: Mapping[str, str] = os.environ,
) -> ClientSettings:
    """
    Resolve the server and token from the flags, the environment and the
    config file, in that order of precedence.

    The config file is only read when a flag and the environment leave a
    value open, so a broken config file does not stand in the way of
    explicit flags.
    """
    server = _first_given(server_flag, environ.get(SERVER_ENV_VAR))
    token = _first_given(token_flag, environ.get(TOKEN_ENV_VAR))
    if not server or not token:
        config = load_config_file(config_file_path(environ))
        server = server or _first_given(config.get("server"))
        token = token or _first_given(config.get("token"))
    return ClientSettings(
        server=normalize_server_url(server or DEFAULT_SERVER),
        token=token or None,
    )


def _first_given(*candidates: object) -> Optional[str]:
    """
    Return the first candidate that is a string with something besides
    whitespace, stripped; C{None} when there is none.
    """
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()
    return None
