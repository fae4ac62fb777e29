"""SQL for where deployments came from and for sites linked to a Git repository (SPEC §15).

Synchronous, connection first, like every query module. A link's secret is read only by
L{get_link}, for the push webhook's signature check; no listing returns it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

from fazt.store.sites import commit_deployment
from fazt.store.transaction import Connection


@dataclass(frozen=True)
class Source:
    """Where one deployment came from."""

    url: str
    ref: str
    commit: str


@dataclass(frozen=True)
class GitLink:
    """A site linked to a repository's branch; C{secret} is the push webhook's HMAC key."""

    site_name: str
    url: str
    ref: str
    dir: str
    secret: str
    created_at: int


def record_source(conn: Connection, deployment_id: int, source: Source) -> None:
    """Say where deployment C{deployment_id} came from (inside the transaction that wrote it)."""
    conn.execute(
        "INSERT INTO deployment_sources (deployment_id, source_url, source_ref, source_commit)"
        " VALUES (?, ?, ?, ?) ON CONFLICT(deployment_id) DO UPDATE SET source_url = excluded.source_url,"
        " source_ref = excluded.source_ref, source_commit = excluded.source_commit",
        (deployment_id, source.url, source.ref, source.commit))


def sources_of(conn: Connection, deployment_ids: Iterable[int]) -> dict[int, Source]:
    """The sources of those of C{deployment_ids} that came from Git."""
    ids = list(deployment_ids)
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = conn.execute(
        f"SELECT deployment_id, source_url, source_ref, source_commit FROM deployment_sources"
        f" WHERE deployment_id IN ({marks})", ids).fetchall()
    return {row[0]: Source(row[1], row[2], row[3]) for row in rows}


def set_link(conn: Connection, link: GitLink) -> None:
    """Link a site to a repository and branch, replacing any earlier link (and its secret)."""
    conn.execute(
        "INSERT INTO git_links (site_name, url, ref, dir, secret, created_at) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(site_name) DO UPDATE SET url = excluded.url, ref = excluded.ref, dir = excluded.dir,"
        " secret = excluded.secret, created_at = excluded.created_at",
        (link.site_name, link.url, link.ref, link.dir, link.secret, link.created_at))


def get_link(conn: Connection, site_name: str) -> Optional[GitLink]:
    """The site's link with its secret, or None."""
    row = conn.execute("SELECT site_name, url, ref, dir, secret, created_at FROM git_links WHERE site_name = ?",
                       (site_name,)).fetchone()
    return GitLink(*row) if row else None


def delete_link(conn: Connection, site_name: str) -> bool:
    """Unlink a site; whether it was linked."""
    return conn.execute("DELETE FROM git_links WHERE site_name = ?", (site_name,)).rowcount > 0


def commit_with_source(conn: Connection, site_name: str, files, deployed_by: str, now: float,
                       keep: int, source: Source, switch: bool = True):
    """L{fazt.store.sites.commit_deployment} of a deployment from Git, with its source, in one transaction."""
    deployment, new_blobs = commit_deployment(conn, site_name, files, deployed_by, now, keep, switch)
    record_source(conn, deployment.id, source)
    return deployment, new_blobs
