"""C{fazt cartridge copy SRC DST [--force]}: move a whole platform between SQLite and PostgreSQL.

SRC and DST are each a database file or a C{postgresql://} URL; the command works on them
directly, like C{fazt vacuum} (no server needed; SRC may be in use: it is read in one snapshot).
The work is done and verified by L{fazt.store.copy}; this module parses, prints one line per
table and turns every failure into one C{error: ...} line.
"""

import argparse

from fazt.cli.errors import CliError


def add_cartridge_commands(subcommands) -> None:
    """Add C{cartridge copy} to C{subcommands}."""
    cartridge = subcommands.add_parser("cartridge", help="work on a whole cartridge (database)")
    actions = cartridge.add_subparsers(dest="cartridge_action", metavar="ACTION", required=True)
    copy = actions.add_parser(
        "copy", help="copy every table from SRC to DST (SQLite file or postgresql:// URL) and verify it",
        description="Copy a whole fazt platform from SRC to DST, each a SQLite file or a postgresql:// URL, "
        "in one transaction, then check every table's row count and digest. DST is created (and migrated) "
        "if needed; one that holds rows is refused unless --force.")
    copy.add_argument("src", metavar="SRC", help="the cartridge to read (file or postgresql:// URL)")
    copy.add_argument("dst", metavar="DST", help="the cartridge to write (file or postgresql:// URL)")
    copy.add_argument("--force", action="store_true", help="replace the rows DST already holds")
    copy.set_defaults(run=run_copy)


def run_copy(args: argparse.Namespace) -> int:
    """C{fazt cartridge copy}: copy, verify, and say what was copied."""
    from fazt.store.copy import CopyError, copy_cartridge
    from fazt.store.engines import display

    try:
        tables = copy_cartridge(args.src, args.dst, force=args.force,
                                report=lambda t: print(f"  {t.table}: {t.rows} rows, sha256 {t.digest[:16]}"))
    except CopyError as error:
        raise CliError(str(error)) from None
    rows = sum(t.rows for t in tables)
    print(f"copied {display(args.src)} to {display(args.dst)}: {len(tables)} tables, {rows} rows, verified")
    return 0
