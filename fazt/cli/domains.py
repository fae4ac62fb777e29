"""C{fazt domain add|list|remove|check}: a site's custom domains (SPEC §15), through the admin API."""

from __future__ import annotations

import argparse
from urllib.parse import quote

from fazt.cli.client import ApiClient
from fazt.cli.errors import CliError
from fazt.cli.formatting import render_table
from fazt.cli.settings import resolve_settings

WWW_HELP = ("what www.DOMAIN does: redirect (301 to DOMAIN), serve (the site too) or none "
            "(not served; the default)")
RESULTS = {"reaches_this_server": "reaches this server", "resolves_elsewhere": "resolves elsewhere",
           "does_not_resolve": "does not resolve"}
# Checking waits for DNS and for each address's answer (5 s each at most).
CHECK_TIMEOUT = 60.0


def add_domain_commands(subcommands, client_command) -> None:
    """Register C{fazt domain ...}; C{client_command} adds a subcommand with --server and --token."""
    domain = subcommands.add_parser("domain", help="serve a site on your own domain names",
                                    description="Serve a site on your own domain names; certificates "
                                    "are obtained at the first HTTPS visit.")
    actions = domain.add_subparsers(dest="domain_action", metavar="ACTION", required=True)
    add = client_command(actions, "add", "serve SITE on DOMAIN (point DOMAIN's DNS at this server)")
    add.add_argument("site", metavar="SITE", help="the site's name")
    add.add_argument("name", metavar="DOMAIN", help="the domain, such as example.org")
    add.add_argument("--www", choices=("redirect", "serve", "none"), default="none", help=WWW_HELP)
    add.set_defaults(run=add_domain)
    listing = client_command(actions, "list", "list a site's domains")
    listing.add_argument("site", metavar="SITE", help="the site's name")
    listing.set_defaults(run=list_domains)
    remove = client_command(actions, "remove", "stop serving SITE on DOMAIN")
    remove.add_argument("site", metavar="SITE", help="the site's name")
    remove.add_argument("name", metavar="DOMAIN", help="the domain")
    remove.set_defaults(run=remove_domain)
    check = client_command(actions, "check", "tell whether DOMAIN reaches this server "
                           "(exit 0 only if it does)")
    check.add_argument("site", metavar="SITE", help="the site's name")
    check.add_argument("name", metavar="DOMAIN", help="the domain")
    check.add_argument("--port", type=int, default=80, metavar="PORT",
                       help="the port the server fetches DOMAIN on (default 80)")
    check.set_defaults(run=check_domain)


def _client(args: argparse.Namespace, timeout: float = 30.0) -> ApiClient:
    settings = resolve_settings(args.server, args.token)
    return ApiClient(settings.server, settings.require_token(), timeout=timeout)


def _path(args: argparse.Namespace, *more: str) -> str:
    return "/".join([f"/api/sites/{quote(args.site, safe='')}/domains", *(quote(m, safe="") for m in more)])


def add_domain(args: argparse.Namespace) -> int:
    row = _client(args).post_json(_path(args), {"name": args.name, "www": args.www}).get("data") or {}
    print(f"{args.site} now answers on {row.get('name', args.name)} (www: {row.get('www', args.www)})")
    print("point its DNS (A/AAAA) at this server; the certificate is ordered at the first HTTPS visit")
    return 0


def list_domains(args: argparse.Namespace) -> int:
    rows = _client(args).get(_path(args)).get("data") or []
    if not rows:
        print(f"No domains for {args.site}.")
        return 0
    print(render_table(("DOMAIN", "WWW", "ADDED"), [(r.get("name"), r.get("www"), r.get("created_at")) for r in rows]))
    return 0


def remove_domain(args: argparse.Namespace) -> int:
    client = _client(args)
    client.envelope(client.request("DELETE", _path(args, args.name)))
    print(f"{args.site} no longer answers on {args.name}")
    return 0


def check_domain(args: argparse.Namespace) -> int:
    if not 1 <= args.port <= 65535:
        raise CliError("--port must be from 1 to 65535")
    data = _client(args, CHECK_TIMEOUT).post_json(_path(args, args.name, "check"), {"port": args.port}).get("data") or {}
    result = data.get("result")
    print(f"{data.get('name', args.name)}: {RESULTS.get(result, result)}")
    if data.get("addresses"):
        print(f"addresses: {', '.join(data['addresses'])}")
    if not data.get("registered"):
        print(f"note: {args.name} is not registered for {args.site} yet (fazt domain add)")
    if result != "reaches_this_server":
        raise CliError(data.get("message") or f"{args.name} does not reach this server")
    return 0
