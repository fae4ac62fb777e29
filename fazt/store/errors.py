"""What store functions raise instead of a database's own exceptions.

Callers above the store catch these, so that a second implementation (SPEC §19) raises the
same ones. The SQLite functions translate C{sqlite3} errors where a caller needs to tell them
apart.
"""


class StoreError(Exception):
    """The database could not be opened, read or written; the message says why."""


class Conflict(StoreError):
    """A row with the same unique key exists already (a taken name, slug or endpoint)."""


class NotFound(StoreError):
    """The row the operation is about does not exist (or cannot be told from others)."""
