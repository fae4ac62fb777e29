"""
The account commands: C{fazt login}, C{fazt keys list}, C{fazt keys revoke ID}.

C{fazt login} signs in with the admin's user name and password, uses that
session once to create an API key for this machine, ends the session, and
saves the server and the key's token in the user's config file (mode 0600),
where every other client command finds them.
"""

import argparse
import getpass
import json
import os
import socket
import sys
from http.cookies import CookieError, SimpleCookie
from typing import Optional

from fazt.cli.client import ApiClient, ClientError
from fazt.cli.httpwire import RawResponse
from fazt.cli.commands import _client, _data_list, _data_object, _print_partial_list_note
from fazt.cli.errors import CliError
from fazt.cli.formatting import render_table
from fazt.cli.settings import SettingsError, config_file_path, load_config_file, resolve_settings

SESSION_COOKIE = "fazt_session"
# Under TLS the server names it with the __Host- prefix, which no other host of the domain can set.
SESSION_COOKIES = (SESSION_COOKIE, "__Host-" + SESSION_COOKIE)
KEY_NAME_LIMIT = 100


def login(args: argparse.Namespace) -> int:
    """C{fazt login}: create an API key with the admin's password and save it for later commands."""
    server = resolve_settings(args.server, None).server
    username = args.username if args.username is not None else _ask("Username: ", secret=False)
    password = args.password if args.password is not None else _ask("Password: ", secret=True)
    if not username.strip() or not password:
        raise CliError("a user name and a password are needed")

    client = ApiClient(server)
    session = _log_in(client, username.strip(), password)
    try:
        key = _create_key(client, session, _key_name(username.strip()))
    finally:
        _log_out(client, session)
    token = key.get("token")
    if not isinstance(token, str) or not token:
        raise ClientError("the server did not return a token for the new API key")

    path = config_file_path()
    save_login(path, server, token)
    print(f"Logged in to {server} as {username.strip()}")
    print(f"API key {key.get('id', '?')} ({key.get('name', '')}) saved in {path}")
    return 0


def list_keys(args: argparse.Namespace) -> int:
    """C{fazt keys list}: the server's API keys (never their tokens)."""
    envelope = _client(args).get("/api/keys")
    keys = _data_list(envelope)
    if not keys:
        print("No API keys.")
        return 0
    rows = [
        (key.get("id"), key.get("name"), " ".join(key.get("scopes") or []), key.get("created_at"),
         key.get("last_used_at"))
        for key in keys
    ]
    print(render_table(("ID", "NAME", "SCOPES", "CREATED", "LAST USED"), rows))
    _print_partial_list_note(envelope, len(keys), "keys")
    return 0


def revoke_key(args: argparse.Namespace) -> int:
    """C{fazt keys revoke ID}: revoke an API key at once."""
    client = _client(args)
    result = _data_object(client.envelope(client.request("DELETE", f"/api/keys/{args.id}")))
    name = result.get("name")
    print(f"Revoked API key {args.id}" + (f" ({name})" if name else ""))
    return 0


def save_login(path: str, server: str, token: str) -> None:
    """Store C{server} and C{token} in the config file at C{path}, readable by the user only.

    Other keys of an existing file are kept; the file is replaced atomically.
    """
    config = load_config_file(path)
    config.update(server=server, token=token)
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            json.dump(config, out, indent=2)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except OSError as error:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise SettingsError(f"cannot write config file {path}: {error.strerror or error}") from error


def _ask(prompt: str, secret: bool) -> str:
    """Read a value from the terminal (hidden when C{secret}), or one line of piped input."""
    stdin = sys.stdin
    if stdin is None:
        raise CliError(f"{prompt.rstrip(': ').lower()} not given and there is no input to ask on")
    if stdin.isatty():
        return getpass.getpass(prompt) if secret else input(prompt)
    line = stdin.readline()
    if not line:
        raise CliError(f"{prompt.rstrip(': ').lower()} not given: pass it as a flag or on stdin")
    return line.rstrip("\r\n")


def _key_name(username: str) -> str:
    """A name that says where the key was made: C{fazt login USER@HOST}."""
    return f"fazt login {username}@{socket.gethostname()}"[:KEY_NAME_LIMIT]


def _log_in(client: ApiClient, username: str, password: str) -> str:
    """Log in; returns the session cookie the server set, as C{name=value} for a C{Cookie} header."""
    body = json.dumps({"username": username, "password": password, "remember_me": False}).encode("utf-8")
    response = client.request("POST", "/api/login", body, {"Content-Type": "application/json"})
    client.envelope(response)
    token = _session_cookie(response)
    if token is None:
        raise ClientError(f"{client.server} accepted the login but set no session cookie")
    return token


def _session_cookie(response: RawResponse) -> Optional[str]:
    """The session cookie in the response's C{Set-Cookie} as C{name=value}, if any."""
    for name, value in response.headers.items():
        if name.lower() != "set-cookie":
            continue
        try:
            cookie = SimpleCookie(value)
        except CookieError:
            continue
        for cookie_name in SESSION_COOKIES:
            if cookie_name in cookie and cookie[cookie_name].value:
                return f"{cookie_name}={cookie[cookie_name].value}"
    return None


def _create_key(client: ApiClient, session: str, name: str) -> dict:
    """Create an admin API key, authenticated by the session."""
    body = json.dumps({"name": name, "scopes": ["admin"]}).encode("utf-8")
    headers = {"Content-Type": "application/json", "Cookie": session}
    return _data_object(client.envelope(client.request("POST", "/api/keys", body, headers)))


def _log_out(client: ApiClient, session: str) -> None:
    """End the session (best effort: the key is what matters)."""
    headers = {"Cookie": session, "X-Fazt-CSRF": "1"}
    try:
        client.request("POST", "/api/logout", b"", headers)
    except ClientError:
        pass
