"""
C{fazt certs}: the server's TLS certificates (C{GET /api/certificates}), one line per name.
"""

import argparse

from fazt.cli.commands import _client, _data_list, _print_partial_list_note
from fazt.cli.formatting import render_table

PAGE = 100


def add_certs_command(subcommands, client_command) -> None:
    """Add C{fazt certs}; C{client_command} adds a subcommand with C{--server}/C{--token}."""
    certs = client_command(subcommands, "certs", "list the TLS certificates and how obtaining them went")
    certs.set_defaults(run=list_certs)


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
