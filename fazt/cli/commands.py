"""
The C{fazt} subcommands.

Each command takes the parsed arguments, prints its result to stdout
(notes and progress go to stderr) and returns the exit status. Failures are
raised as L{CliError}s for L{fazt.cli.main} to report.

The operator commands (C{init}, C{key create}) work on the database file
directly through L{fazt.cli.operator}, imported only when they run; the
others are clients of a running server's admin API.
"""

import argparse
import importlib
import sys
from urllib.parse import quote

from fazt.cli.client import ApiClient, ApiError, ClientError
from fazt.cli.errors import CliError
from fazt.cli.formatting import human_duration, human_size, render_table, size_with_bytes
from fazt.cli.multipart import MultipartFileBody
from fazt.cli.progress import progress_for
from fazt.cli.settings import resolve_settings
from fazt.cli.zipdir import zip_directory

DEFAULT_KEY_SCOPES = ("admin",)


def init_database(args: argparse.Namespace) -> int:
    """C{fazt init}: create a database with its admin user."""
    operator = _operator_module()
    # '-' (too short to be a password) reads it from stdin, where `ps` cannot see it.
    password = sys.stdin.readline().rstrip("\r\n") if args.password == "-" else args.password
    try:
        operator.init_database(args.db, args.domain, args.username, password)
    except operator.OperatorError as error:
        raise CliError(str(error)) from error
    print(f"Created database {args.db} for {args.domain} with admin user {args.username}")
    return 0


def create_key(args: argparse.Namespace) -> int:
    """C{fazt key create}: add an API key; its token is the last line printed."""
    operator = _operator_module()
    scopes = list(args.scope or DEFAULT_KEY_SCOPES)
    try:
        token = operator.create_key(args.db, args.name, scopes)
    except operator.OperatorError as error:
        raise CliError(str(error)) from error
    print(f"Created API key {args.name!r} with scopes {', '.join(scopes)}; the token is shown only once:")
    print(token)
    return 0


def deploy(args: argparse.Namespace) -> int:
    """C{fazt deploy DIR --site NAME}: zip DIR and upload it as a new deployment."""
    settings = resolve_settings(args.server, args.token)
    client = ApiClient(settings.server, settings.require_token())
    zipped = zip_directory(args.directory)
    try:
        print(
            f"packed {_count(zipped.file_count, 'file')} ({human_size(zipped.unpacked_size)}) "
            f"into a {human_size(zipped.archive_size)} archive",
            file=sys.stderr,
        )
        fields = {"site_name": args.site}
        if getattr(args, "preview", False):
            fields["preview"] = "true"
        form = MultipartFileBody(fields, "file", zipped.path, "deploy.zip", "application/zip")
        progress = progress_for(form.content_length)
        try:
            envelope = client.upload("/api/deploy", form, progress)
        except ApiError as error:
            raise _readable_deploy_error(error) from error
        finally:
            if progress is not None:
                progress.finish()
    finally:
        zipped.discard()

    deployment = _data_object(envelope)
    print(deployment.get("message") or f"Deployed {deployment.get('site', args.site)}")
    print(f"url:           {deployment.get('url', '-')}")
    print(f"deployment id: {deployment.get('deployment_id', '-')}")
    print(f"files:         {deployment.get('file_count', '-')}")
    print(f"size:          {_size_text(deployment.get('size_bytes'))}")
    return 0


def list_sites(args: argparse.Namespace) -> int:
    """C{fazt sites}: list the server's sites."""
    envelope = _client(args).get("/api/sites")
    sites = _data_list(envelope)
    if not sites:
        print("No sites.")
        return 0
    rows = [
        (
            site.get("name"),
            site.get("url"),
            site.get("active_deployment_id"),
            site.get("file_count"),
            _human_size_or_none(site.get("size_bytes")),
            site.get("updated_at"),
        )
        for site in sites
    ]
    print(render_table(("NAME", "URL", "DEPLOYMENT", "FILES", "SIZE", "UPDATED"), rows))
    _print_partial_list_note(envelope, len(sites), "sites")
    return 0


def _readable_deploy_error(error: ApiError) -> CliError:
    """A refused deploy, said the way a compiler says it when the site's code does not compile."""
    if error.code != "INVALID_SCRIPT":
        return error
    return CliError(f"deploy refused, the site's code does not compile (nothing was switched): {error.message}")


def list_deployments(args: argparse.Namespace) -> int:
    """C{fazt deployments SITE}: list a site's deployments, newest first as the server gives them."""
    envelope = _client(args).get(f"/api/sites/{_path_segment(args.site)}/deployments")
    deployments = _data_list(envelope)
    if not deployments:
        print(f"No deployments for {args.site}.")
        return 0
    rows = [
        (
            deployment.get("id"),
            deployment.get("created_at"),
            deployment.get("file_count"),
            _human_size_or_none(deployment.get("size_bytes")),
            deployment.get("deployed_by"),
            (deployment.get("source_commit") or "")[:12] or None,  # a deploy from Git: its commit, shortened
            bool(deployment.get("active")),
        )
        for deployment in deployments
    ]
    print(render_table(("ID", "CREATED", "FILES", "SIZE", "DEPLOYED BY", "SOURCE", "ACTIVE"), rows))
    _print_partial_list_note(envelope, len(deployments), "deployments")
    return 0


def rollback(args: argparse.Namespace) -> int:
    """C{fazt rollback SITE [--to ID]}: switch a site to another deployment."""
    payload = {} if args.to is None else {"deployment_id": args.to}
    envelope = _client(args).post_json(f"/api/sites/{_path_segment(args.site)}/rollback", payload)
    result = _data_object(envelope)
    print(result.get("message") or f"Rolled back {args.site}")
    print(f"site:          {result.get('site', args.site)}")
    print(f"deployment id: {result.get('deployment_id', '-')}")
    return 0


def status(args: argparse.Namespace) -> int:
    """C{fazt status}: check that the server answers, and describe it."""
    settings = resolve_settings(args.server, args.token)
    client = ApiClient(settings.server, settings.token)
    health = client.request("GET", "/health")
    print(f"server:  {settings.server}")
    if health.status != 200:
        detail = health.body.decode("utf-8", "replace").strip()[:200]
        print(f"status:  unhealthy ({health.status} {health.reason}{': ' + detail if detail else ''})")
        return 1
    if not settings.token:
        print("status:  ok")
        print("note: pass --token (or set FAZT_TOKEN) to see version, uptime and sites", file=sys.stderr)
        return 0
    system = _data_object(client.get("/api/system/health"))
    sites = system.get("sites")
    print(f"status:  {system.get('status', 'ok')}")
    print(f"version: {system.get('version', '-')}")
    uptime = system.get("uptime_seconds")
    print(f"uptime:  {human_duration(uptime) if isinstance(uptime, (int, float)) else '-'}")
    print(f"sites:   {len(sites) if isinstance(sites, list) else sites if sites is not None else '-'}")
    return 0


def _operator_module():
    """Import L{fazt.cli.operator}, the database-side half of the CLI."""
    try:
        return importlib.import_module("fazt.cli.operator")
    except ImportError as error:
        raise CliError(f"operator commands are unavailable: {error}") from error


def _client(args: argparse.Namespace) -> ApiClient:
    """Return an authenticated client for the server the flags point at."""
    settings = resolve_settings(args.server, args.token)
    return ApiClient(settings.server, settings.require_token())


def _path_segment(value: str) -> str:
    """Quote C{value} for use as one segment of a URL path."""
    return quote(value, safe="")


def _data_object(envelope: dict) -> dict:
    """Return the envelope's C{data}, which must be an object."""
    data = envelope.get("data")
    if not isinstance(data, dict):
        raise ClientError("the server answered with an unexpected shape (data is not an object)")
    return data


def _data_list(envelope: dict) -> list:
    """Return the envelope's C{data}, which must be a list of objects."""
    data = envelope.get("data")
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ClientError("the server answered with an unexpected shape (data is not a list)")
    return data


def _print_partial_list_note(envelope: dict, shown: int, noun: str) -> None:
    """Say on stderr when the server returned only part of a list."""
    meta = envelope.get("meta")
    total = meta.get("total") if isinstance(meta, dict) else None
    if isinstance(total, int) and total > shown:
        print(f"showing {shown} of {total} {noun}", file=sys.stderr)


def _size_text(size_bytes: object) -> str:
    """Return a size as C{1.5 KiB (1536 bytes)}, or C{-} when unknown."""
    return size_with_bytes(size_bytes) if isinstance(size_bytes, int) else "-"


def _human_size_or_none(size_bytes: object):
    """Return a size in human units, or C{None} (shown as C{-}) when unknown."""
    return human_size(size_bytes) if isinstance(size_bytes, int) else None


def _count(amount: int, noun: str) -> str:
    """Return C{1 file}, C{2 files}."""
    return f"{amount} {noun}" if amount == 1 else f"{amount} {noun}s"
