"""
C{fazt env set|unset|list} and C{fazt logs}: a site's environment variables and console log.

Clients of a running server's admin API, like the commands of L{fazt.cli.commands}; values of
environment variables are sent, never shown (the server does not return them).
"""

import argparse
import json
import sys
import time

from fazt.cli.client import ApiClient
from fazt.cli.commands import _client, _data_list, _data_object, _path_segment
from fazt.cli.formatting import render_table

LOG_POLL_SECONDS = 1.0
LOG_PAGE = 100
# Terminal control characters a site's script could log (escape sequences); shown escaped.
_CONTROL_CHARS = {code: f"\\x{code:02x}" for code in [*range(0x20), 0x7F] if chr(code) not in "\n\t"}


def env_list(args: argparse.Namespace) -> int:
    """C{fazt env list SITE}: the names of a site's environment variables (never the values)."""
    client = _client(args)
    variables = _all_pages(client, f"/api/sites/{_path_segment(args.site)}/env")
    if not variables:
        print(f"No environment variables for {args.site}.")
        return 0
    rows = [(var.get("name"), var.get("created_at"), var.get("updated_at")) for var in variables]
    print(render_table(("NAME", "CREATED", "UPDATED"), rows))
    return 0


def env_set(args: argparse.Namespace) -> int:
    """C{fazt env set SITE NAME [VALUE]}: create or replace a variable (VALUE from stdin if omitted)."""
    value = args.value
    if value is None:
        value = sys.stdin.read()
        if value.endswith("\n"):
            value = value[:-1]
            if value.endswith("\r"):
                value = value[:-1]
    client = _client(args)
    body = json.dumps({"value": value}).encode("utf-8")
    response = client.request("PUT", _env_var_path(args.site, args.name), body,
                              {"Content-Type": "application/json"})
    result = _data_object(client.envelope(response))
    verb = "Added" if result.get("created") else "Updated"
    print(f"{verb} {result.get('name', args.name)} for {args.site}")
    return 0


def env_unset(args: argparse.Namespace) -> int:
    """C{fazt env unset SITE NAME}: remove a variable."""
    client = _client(args)
    client.envelope(client.request("DELETE", _env_var_path(args.site, args.name)))
    print(f"Removed {args.name} from {args.site}")
    return 0


def logs(args: argparse.Namespace) -> int:
    """C{fazt logs SITE [--follow] [--limit N] [--level L]}: the newest lines, oldest first;
    with C{--follow}, then every new line until Ctrl-C (polling once a second)."""
    client = _client(args)
    base = f"/api/logs?site_id={_path_segment(args.site)}"
    if args.level:
        base += f"&level={_path_segment(args.level)}"
    newest: list = []
    while len(newest) < args.limit:
        wanted = min(LOG_PAGE, args.limit - len(newest))
        page = _data_list(client.get(f"{base}&limit={wanted}&offset={len(newest)}"))
        newest.extend(page)
        if len(page) < wanted:
            break
    for line in reversed(newest):
        _print_log_line(line)
    if not args.follow:
        if not newest:
            print(f"No log lines for {args.site}.", file=sys.stderr)
        return 0
    last_id = max([line["id"] for line in newest if isinstance(line.get("id"), int)], default=0)
    try:
        while True:
            page = _data_list(client.get(f"{base}&after_id={last_id}&limit={LOG_PAGE}"))
            for line in page:
                _print_log_line(line)
                if isinstance(line.get("id"), int):
                    last_id = max(last_id, line["id"])
            sys.stdout.flush()
            if len(page) < LOG_PAGE:
                time.sleep(LOG_POLL_SECONDS)
    except KeyboardInterrupt:
        return 0


def _print_log_line(line: dict) -> None:
    """One log line as C{TIME  LEVEL  MESSAGE}."""
    level = str(line.get("level") or "-").translate(_CONTROL_CHARS)
    message = str(line.get("message", "")).translate(_CONTROL_CHARS)
    print(f"{line.get('created_at') or '-'}  {level:<5}  {message}")


def _env_var_path(site: str, name: str) -> str:
    return f"/api/sites/{_path_segment(site)}/env/{_path_segment(name)}"


def _all_pages(client: ApiClient, path: str, page_size: int = 100) -> list:
    """Every item of a paged list (following C{meta.total})."""
    items: list = []
    while True:
        envelope = client.get(f"{path}?limit={page_size}&offset={len(items)}")
        page = _data_list(envelope)
        items.extend(page)
        meta = envelope.get("meta")
        total = meta.get("total") if isinstance(meta, dict) else None
        if not page or not isinstance(total, int) or len(items) >= total:
            return items
