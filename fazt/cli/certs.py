"""
C{fazt certs}: the server's TLS certificates (C{GET /api/certificates}), one line per name;
C{fazt certs renew NAME}: a new certificate for NAME now (C{POST /api/certificates/NAME/renew}).
"""

import argparse
from urllib.parse import quote

from fazt.cli.client import ApiClient
from fazt.cli.commands import _client, _data_list, _print_partial_list_note
from fazt.cli.formatting import render_table
from fazt.cli.settings import resolve_settings

PAGE = 100
# The server waits up to two minutes for the CA (fazt.acme.renew.RENEW_WAIT); the client a little longer.
RENEW_TIMEOUT = 150.0


def add_certs_command(subcommands, client_command) -> None:
    """Add C{fazt certs [renew NAME]}; C{client_command} adds a subcommand with C{--server}/C{--token}."""
    certs = client_command(subcommands, "certs", "list the TLS certificates and how obtaining them went")
    certs.set_defaults(run=list_certs)
    actions = certs.add_subparsers(dest="certs_action", metavar="ACTION")
    renew = client_command(actions, "renew", "order a new certificate for NAME now and wait until it is served")
    renew.add_argument("name", metavar="NAME", help="a name listed by 'fazt certs', such as blog.example.org")
    renew.set_defaults(run=renew_cert)


def list_certs(args: argparse.Namespace) -> int:
    """C{fazt certs}: name, status, issuer, expiry and the last error of every certificate."""
    client = _client(args)
    envelope = client.get(f"/api/certificates?limit={PAGE}")
    entries = _data_list(envelope)
    if not entries:
        print("No certificates (the server has no --https listener that obtains them).")
        return 0
    rows = [
        (entry.get("name"), entry.get("status"), entry.get("issuer") or "-", entry.get("not_after") or "-",
         entry.get("last_error") or "")
        for entry in entries
    ]
    print(render_table(("NAME", "STATUS", "ISSUER", "EXPIRES", "LAST ERROR"), rows))
    _print_partial_list_note(envelope, len(entries), "certificates")
    return 0


def renew_cert(args: argparse.Namespace) -> int:
    """C{fazt certs renew NAME}: the new certificate's issuer and expiry, or the server's error."""
    settings = resolve_settings(args.server, args.token)
    client = ApiClient(settings.server, settings.require_token(), timeout=RENEW_TIMEOUT)
    entry = client.post_json(f"/api/certificates/{quote(args.name, safe='')}/renew", {}).get("data") or {}
    print(f"{entry.get('name', args.name)}: new certificate from {entry.get('issuer') or '-'},"
          f" valid until {entry.get('not_after') or '-'}")
    return 0
