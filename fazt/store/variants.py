"""SQL for image variants (SPEC §15): derived blobs keyed by source blob hash and parameters.

A variant is made once (L{fazt.images}) and stored here; it is deleted with its source blob
(L{fazt.store.sites.prune_deployments}, L{fazt.store.sites.delete_site}).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from fazt.store.transaction import Connection


@dataclass(frozen=True)
class Variant:
    """A stored image variant: its content hash (the ETag), type and bytes."""

    hash: str
    content_type: str
    data: bytes


def get_variant(conn: Connection, source_hash: str, params: str) -> Optional[Variant]:
    """The variant of blob C{source_hash} made with C{params}, or None if not made yet."""
    row = conn.execute(
        "SELECT hash, content_type, data FROM derived_blobs WHERE source_hash = ? AND params = ?",
        (source_hash, params),
    ).fetchone()
    return Variant(row[0], row[1], bytes(row[2])) if row else None


def put_variant(conn: Connection, source_hash: str, params: str, variant: Variant, now: float) -> bool:
    """Store a variant unless one is there already (two makers raced); whether it was new.

    Nothing is stored when the source blob is gone (its deployments were pruned meanwhile).
    """
    cursor = conn.execute(
        "INSERT INTO derived_blobs (source_hash, params, hash, content_type, size, data, created_at)"
        " SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM blobs WHERE hash = ?)"
        " ON CONFLICT(source_hash, params) DO NOTHING",
        (source_hash, params, variant.hash, variant.content_type, len(variant.data), variant.data,
         int(now), source_hash),
    )
    return cursor.rowcount > 0


def count_variants(conn: Connection) -> int:
    """How many variants are stored (for /metrics-style figures and tests)."""
    return conn.execute("SELECT COUNT(*) FROM derived_blobs").fetchone()[0]
