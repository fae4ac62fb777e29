"""
C{fazt env set|unset|list} and C{fazt logs}: a site's environment variables and console log.

Clients of a running server's admin API, like the commands of L{fazt.cli.commands}; values of
environment variables are sent, never shown (the server does not return them).
"""

import argparse
import http.client
import json
import queue
import sys
import threading
import time
from typing import Optional

from fazt.cli.client import ApiClient
from fazt.cli.httpwire import RawResponse
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
    with C{--follow}, then every new line until Ctrl-C (from the live stream,
    C{/api/logs/stream}; polling once a second when the server has none)."""
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
        events = _open_stream(client, args.site)
        if events is None:  # an older server: no live stream
            _poll(client, base, last_id, None, None)
        else:
            _poll(client, base, last_id, events, args.level)
    except KeyboardInterrupt:
        return 0


def _poll(client: ApiClient, base: str, last_id: int, events: Optional[queue.Queue], level: Optional[str]) -> None:
    """Print new lines forever: those of the live stream as they arrive, and (once a second when
    the stream is quiet, or always without one) the stored lines after C{last_id} that the
    stream did not carry (lines it carried are stored later with an id; they are not shown twice)."""
    shown: dict[tuple, int] = {}
    while True:
        if events is not None:
            try:
                item = events.get(timeout=LOG_POLL_SECONDS)
            except queue.Empty:
                item = ()
            if item is None:  # the stream ended: keep following by polling
                events = None
            elif item:
                if level is None or item.get("level") == level:
                    _print_log_line(item)
                    key = _line_key(item)
                    shown[key] = shown.get(key, 0) + 1
                sys.stdout.flush()
                continue
        page = _data_list(client.get(f"{base}&after_id={last_id}&limit={LOG_PAGE}"))
        for line in page:
            key = _line_key(line)
            if shown.get(key):
                shown[key] -= 1
                if not shown[key]:
                    del shown[key]
            else:
                _print_log_line(line)
            if isinstance(line.get("id"), int):
                last_id = max(last_id, line["id"])
        sys.stdout.flush()
        if events is None and len(page) < LOG_PAGE:
            time.sleep(LOG_POLL_SECONDS)


def _line_key(line: dict) -> tuple:
    return (line.get("created_at"), line.get("level"), line.get("message"))


def _open_stream(client: ApiClient, site: str) -> Optional[queue.Queue]:
    """Open C{GET /api/logs/stream} (Server-Sent Events); a queue its C{log} events (dicts) are
    put on by a reader thread, then C{None} when it ends. C{None} if the server has no stream (404)."""
    try:
        connection = client._connect(None)
        connection.request("GET", f"/api/logs/stream?site_id={_path_segment(site)}",
                           headers=client._headers({"Accept": "text/event-stream"}))
        response = connection.getresponse()
    except (OSError, http.client.HTTPException) as error:
        raise client._transport_error(error)
    if response.status != 200:
        body = response.read()
        connection.close()
        if response.status == 404:
            return None
        client.envelope(RawResponse(response.status, response.reason, dict(response.getheaders()), body))
        return None
    events: queue.Queue = queue.Queue()

    def read() -> None:
        event, data = "message", []
        try:
            while True:
                raw = response.readline()
                if not raw:
                    break
                text = raw.decode("utf-8", "replace").rstrip("\r\n")
                if not text:
                    if event == "log" and data:
                        try:
                            events.put(json.loads("\n".join(data)))
                        except ValueError:
                            pass
                    event, data = "message", []
                elif text.startswith(":"):
                    continue
                elif text.startswith("event:"):
                    event = text[6:].strip()
                elif text.startswith("data:"):
                    data.append(text[5:].lstrip(" "))
        except (OSError, http.client.HTTPException):
            pass
        finally:
            connection.close()
            events.put(None)

    threading.Thread(target=read, name="fazt-logs-stream", daemon=True).start()
    return events


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
