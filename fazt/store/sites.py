"""SQL for sites, deployments, manifests and blobs (synchronous, connection first).

A deployment is immutable once written. Switching a site to a deployment is one UPDATE of
C{sites.active_deployment_id} inside the same transaction that wrote the deployment, so readers
see either the old manifest or the new one, never a mix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Optional
from fazt.store.dialect import NO_LIMIT
from fazt.store.transaction import Connection


@dataclass(frozen=True)
class ManifestFile:
    """One file of a deployment."""

    path: str
    blob_hash: str
    size: int
    content_type: str


@dataclass(frozen=True)
class Deployment:
    id: int
    site_name: str
    created_at: float
    file_count: int
    size_bytes: int
    deployed_by: str


@dataclass(frozen=True)
class BlobContent:
    """A blob's bytes and its precompressed variants (None where not worth compressing)."""

    data: bytes
    gzip: Optional[bytes]
    br: Optional[bytes]


@dataclass(frozen=True)
class NewFile:
    """A file offered to L{commit_deployment}; C{load} is called only if its blob is new."""

    path: str
    blob_hash: str
    size: int
    content_type: str
    load: Callable[[], BlobContent]


_DEPLOYMENT_COLUMNS = "id, site_name, created_at, file_count, size_bytes, deployed_by"


def _deployment(row: tuple) -> Deployment:
    return Deployment(*row)


def get_active_deployment(conn: Connection, site_name: str) -> Optional[Deployment]:
    """The deployment a site serves, or None if the site does not exist (or has none)."""
    row = conn.execute(
        "SELECT d.id, d.site_name, d.created_at, d.file_count, d.size_bytes, d.deployed_by"
        " FROM sites s JOIN deployments d ON d.id = s.active_deployment_id WHERE s.name = ?",
        (site_name,),
    ).fetchone()
    return _deployment(row) if row else None


def get_deployment(conn: Connection, deployment_id: int) -> Optional[Deployment]:
    row = conn.execute(
        f"SELECT {_DEPLOYMENT_COLUMNS} FROM deployments WHERE id = ?", (deployment_id,)
    ).fetchone()
    return _deployment(row) if row else None


def list_deployments(conn: Connection, site_name: str, limit: int = 100, offset: int = 0) -> list[Deployment]:
    """A site's deployments, newest first."""
    rows = conn.execute(
        f"SELECT {_DEPLOYMENT_COLUMNS} FROM deployments WHERE site_name = ?"
        " ORDER BY id DESC LIMIT ? OFFSET ?",
        (site_name, limit, offset),
    ).fetchall()
    return [_deployment(r) for r in rows]


def count_deployments(conn: Connection, site_name: str) -> int:
    return conn.execute(
        "SELECT COUNT(*) FROM deployments WHERE site_name = ?", (site_name,)
    ).fetchone()[0]


def load_manifest(conn: Connection, deployment_id: int) -> dict[str, ManifestFile]:
    """Every file of a deployment, by path."""
    rows = conn.execute(
        "SELECT path, blob_hash, size, content_type FROM manifests WHERE deployment_id = ?",
        (deployment_id,),
    )
    return {r[0]: ManifestFile(*r) for r in rows}


def load_blob(conn: Connection, blob_hash: str) -> Optional[BlobContent]:
    row = conn.execute(
        "SELECT data, gzip_data, br_data FROM blobs WHERE hash = ?", (blob_hash,)
    ).fetchone()
    return BlobContent(bytes(row[0]), row[1] and bytes(row[1]), row[2] and bytes(row[2])) if row else None


def list_sites(conn: Connection) -> list[tuple[str, Optional[Deployment], float]]:
    """Every site with its active deployment and last change time, by name."""
    rows = conn.execute(
        "SELECT s.name, s.updated_at, d.id, d.site_name, d.created_at, d.file_count, d.size_bytes,"
        " d.deployed_by FROM sites s LEFT JOIN deployments d ON d.id = s.active_deployment_id"
        " ORDER BY s.name"
    ).fetchall()
    return [(r[0], _deployment(r[2:]) if r[2] is not None else None, r[1]) for r in rows]


def commit_deployment(
    conn: Connection,
    site_name: str,
    files: Iterable[NewFile],
    deployed_by: str,
    now: float,
    keep: int,
) -> tuple[Deployment, int]:
    """Write a deployment and make it the site's active one; returns it and the new blob count.

    Must run inside a write transaction. Blobs already stored are not loaded or written again.
    Older deployments beyond the newest C{keep} are pruned, and blobs no deployment uses any
    more are deleted.
    """
    cursor = conn.execute(
        "INSERT INTO deployments (site_name, created_at, file_count, size_bytes, deployed_by)"
        " VALUES (?, ?, 0, 0, ?) RETURNING id",
        (site_name, now, deployed_by),
    )
    deployment_id = cursor.fetchone()[0]
    file_count = size_bytes = new_blobs = 0
    for f in files:
        known = conn.execute("SELECT 1 FROM blobs WHERE hash = ?", (f.blob_hash,)).fetchone()
        if not known:
            content = f.load()
            conn.execute(
                "INSERT INTO blobs (hash, size, data, gzip_data, br_data, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (f.blob_hash, f.size, content.data, content.gzip, content.br, int(now)),
            )
            new_blobs += 1
        conn.execute(
            "INSERT INTO manifests (deployment_id, path, blob_hash, size, content_type)"
            " VALUES (?, ?, ?, ?, ?)",
            (deployment_id, f.path, f.blob_hash, f.size, f.content_type),
        )
        file_count += 1
        size_bytes += f.size
    conn.execute(
        "UPDATE deployments SET file_count = ?, size_bytes = ? WHERE id = ?",
        (file_count, size_bytes, deployment_id),
    )
    activate(conn, site_name, deployment_id, now)
    prune_deployments(conn, site_name, keep)
    return get_deployment(conn, deployment_id), new_blobs


def activate(conn: Connection, site_name: str, deployment_id: int, now: float) -> None:
    """Point a site at one of its deployments, creating the site row if needed."""
    conn.execute(
        "INSERT INTO sites (name, active_deployment_id, created_at, updated_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT(name) DO UPDATE SET active_deployment_id = excluded.active_deployment_id,"
        " updated_at = excluded.updated_at",
        (site_name, deployment_id, int(now), int(now)),
    )


def prune_deployments(conn: Connection, site_name: str, keep: int) -> int:
    """Delete a site's deployments beyond the newest C{keep} (never the active one) and the
    blobs left unused; returns how many deployments went."""
    stale = [
        r[0]
        for r in conn.execute(
            "SELECT id FROM deployments WHERE site_name = ? AND id NOT IN"
            " (SELECT active_deployment_id FROM sites WHERE name = ? AND active_deployment_id IS NOT NULL)"
            " ORDER BY id DESC LIMIT ? OFFSET ?",
            (site_name, site_name, NO_LIMIT, max(keep - 1, 0)),
        )
    ]
    if not stale:
        return 0
    marks = ",".join("?" * len(stale))
    conn.execute(f"DELETE FROM manifests WHERE deployment_id IN ({marks})", stale)
    conn.execute(f"DELETE FROM deployments WHERE id IN ({marks})", stale)
    conn.execute(
        "DELETE FROM blobs WHERE NOT EXISTS (SELECT 1 FROM manifests m WHERE m.blob_hash = blobs.hash)"
    )
    return len(stale)


def site_exists(conn: Connection, site_name: str) -> bool:
    return conn.execute("SELECT 1 FROM sites WHERE name = ?", (site_name,)).fetchone() is not None


def list_site_files(conn: Connection, site_name: str, limit: int,
                    offset: int) -> Optional[tuple[Deployment, list[ManifestFile], int]]:
    """A page of the active deployment's files by path, with the deployment and the file count;
    None if the site does not exist."""
    active = get_active_deployment(conn, site_name)
    if active is None:
        return None
    rows = conn.execute(
        "SELECT path, blob_hash, size, content_type FROM manifests WHERE deployment_id = ?"
        " ORDER BY path LIMIT ? OFFSET ?",
        (active.id, limit, offset),
    ).fetchall()
    return active, [ManifestFile(*r) for r in rows], active.file_count


def _site_filter(site_names: Optional[list[str]]) -> tuple[str, list[str]]:
    if site_names is None:
        return "", []
    return f" WHERE d.site_name IN ({','.join('?' * len(site_names))})", list(site_names)


def list_all_deployments(conn: Connection, site_names: Optional[list[str]], limit: int,
                         offset: int) -> list[tuple[Deployment, Optional[int]]]:
    """Deployments of every site (or of C{site_names}) newest first, each with its site's
    active deployment id."""
    where, args = _site_filter(site_names)
    rows = conn.execute(
        "SELECT d.id, d.site_name, d.created_at, d.file_count, d.size_bytes, d.deployed_by,"
        f" s.active_deployment_id FROM deployments d LEFT JOIN sites s ON s.name = d.site_name{where}"
        " ORDER BY d.id DESC LIMIT ? OFFSET ?",
        (*args, limit, offset),
    ).fetchall()
    return [(_deployment(r[:6]), r[6]) for r in rows]


def count_all_deployments(conn: Connection, site_names: Optional[list[str]]) -> int:
    where, args = _site_filter(site_names)
    return conn.execute(f"SELECT COUNT(*) FROM deployments d{where}", args).fetchone()[0]


def delete_site(conn: Connection, site_name: str) -> Optional[dict[str, int]]:
    """Remove a site and everything it owns: deployments, manifests, KV data, env vars, logs,
    and the blobs no other deployment uses. Must run inside one write transaction.

    Returns how many rows of each kind went, or None if there is no such site.
    """
    if not site_exists(conn, site_name):
        return None
    hashes = [r[0] for r in conn.execute(
        "SELECT DISTINCT m.blob_hash FROM manifests m JOIN deployments d ON d.id = m.deployment_id"
        " WHERE d.site_name = ?", (site_name,))]
    conn.execute("DELETE FROM sites WHERE name = ?", (site_name,))
    conn.execute(
        "DELETE FROM manifests WHERE deployment_id IN (SELECT id FROM deployments WHERE site_name = ?)",
        (site_name,),
    )
    removed = {
        "deployments": conn.execute("DELETE FROM deployments WHERE site_name = ?", (site_name,)).rowcount,
        "kv_keys": conn.execute("DELETE FROM kv WHERE site_name = ?", (site_name,)).rowcount,
        "env_vars": conn.execute("DELETE FROM env_vars WHERE site_name = ?", (site_name,)).rowcount,
        "logs": conn.execute("DELETE FROM site_logs WHERE site_name = ?", (site_name,)).rowcount,
        "blobs": 0,
    }
    for blob_hash in hashes:
        removed["blobs"] += conn.execute(
            "DELETE FROM blobs WHERE hash = ? AND NOT EXISTS (SELECT 1 FROM manifests WHERE blob_hash = ?)",
            (blob_hash, blob_hash),
        ).rowcount
    return removed
