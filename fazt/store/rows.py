"""Tables of plain rows that the admin API lists, reads, creates, changes and deletes.

Redirects and webhooks (and the next such resources) are rows with an integer C{id}, a few
columns a client may set, and a dict form for the API. L{RowTable} holds the SQL of those
operations once; a query module describes its table and keeps its own named functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

from fazt.store.dialect import IntegrityError
from fazt.store.errors import Conflict
from fazt.store.transaction import Connection


def as_given(value: Any) -> Any:
    """How most writable columns store a value: unchanged."""
    return value


@dataclass(frozen=True)
class RowTable:
    """The SQL of one table of plain rows. Names come from code, never from a request."""

    table: str
    columns: str                                # the SELECT list whose row C{to_dict} reads
    order: str                                  # the ORDER BY of a page
    to_dict: Callable[[tuple], dict]
    writable: Mapping[str, Callable[[Any], Any]]  # column a change may set -> how its value is stored

    def page(self, conn: Connection, limit: int, offset: int) -> list[dict]:
        rows = conn.execute(f"SELECT {self.columns} FROM {self.table} ORDER BY {self.order} LIMIT ? OFFSET ?",
                            (limit, offset)).fetchall()
        return [self.to_dict(row) for row in rows]

    def count(self, conn: Connection) -> int:
        return conn.execute(f"SELECT COUNT(*) FROM {self.table}").fetchone()[0]

    def get(self, conn: Connection, row_id: int) -> Optional[dict]:
        row = conn.execute(f"SELECT {self.columns} FROM {self.table} WHERE id = ?", (row_id,)).fetchone()
        return self.to_dict(row) if row else None

    def insert(self, conn: Connection, values: dict) -> dict:
        """Insert a row of C{values} (column -> stored value) and return it.

        A taken unique value raises L{Conflict} (the admin API answers 409).
        """
        names = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        try:
            cursor = conn.execute(f"INSERT INTO {self.table} ({names}) VALUES ({marks}) RETURNING id",
                                  tuple(values.values()))
        except IntegrityError as e:
            raise Conflict(str(e)) from None
        return self.get(conn, cursor.fetchone()[0])

    def update(self, conn: Connection, row_id: int, changes: dict) -> Optional[dict]:
        """Apply the writable ones of C{changes} in one UPDATE; the row after, or None if unknown.

        A change to a value another row holds raises L{Conflict}.
        """
        values = {column: store(changes[column]) for column, store in self.writable.items() if column in changes}
        if values:
            assignments = ", ".join(f"{column} = ?" for column in values)
            try:
                cursor = conn.execute(f"UPDATE {self.table} SET {assignments} WHERE id = ?",
                                      (*values.values(), row_id))
            except IntegrityError as e:
                raise Conflict(str(e)) from None
            if cursor.rowcount == 0:
                return None
        return self.get(conn, row_id)

    def delete(self, conn: Connection, row_id: int) -> bool:
        return conn.execute(f"DELETE FROM {self.table} WHERE id = ?", (row_id,)).rowcount > 0
