"""What the code above the store may use of it: L{IStore}, so that a second engine (PostgreSQL,
SPEC §19) can be added without touching its callers.

The functions given to L{IStore.read}, L{IStore.write} and L{IStore.submit} are the query modules'
functions (C{fazt.store.sites}, C{fazt.store.kv}, ...): the vocabulary of the store. Each receives a
DB-API 2.0 connection first and plain values after, and returns plain values or small dataclasses;
callers never see SQL or the connection's type, and the errors they must tell apart are
C{fazt.store.errors} exceptions. A second engine provides an L{IStore} and every query function
with the same signature, results and exceptions, written for its own connection.
"""

from __future__ import annotations

from zope.interface import Attribute, Interface


class IStore(Interface):
    """Runs query functions against the database off the reactor thread; each call returns a
    Deferred firing with the function's result or failing with its error."""

    path = Attribute(
        "Where the database lives (for SQLite, the cartridge file): read by the backups "
        "(C{fazt.api.backup}, C{fazt.ops}) and the size figures of C{/api/system} and C{/metrics}.")

    pending_small = Attribute(
        "How many L{submit}ted writes have not delivered their result yet (0 when idle); "
        "C{fazt.store.batch.BatchWriter.idle} reads it so a stop can wait for them.")

    def read(fn, *args, **kwargs):
        """Run C{fn(conn, *args, **kwargs)} in a read transaction: it sees committed data, one
        consistent snapshot, and never waits for a write."""

    def write(fn, *args, **kwargs):
        """Run C{fn(conn, *args, **kwargs)} in a write transaction of its own: all of it is
        committed, or (when C{fn} raises) none of it."""

    def submit(fn, *args):
        """Run a small write C{fn(conn, *args)} atomically, in a transaction it may share with
        other small writes waiting at the same time (group commit); when it fails only its own
        changes are undone."""
