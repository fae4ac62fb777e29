"""Certificates, their renewal schedule and the ACME account (synchronous, connection first)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional
from fazt.store.transaction import Connection


@dataclass(frozen=True)
class StoredCertificate:
    """An issued certificate as kept in the cartridge."""

    name: str
    cert_pem: str
    key_pem: str
    not_after: float
    issuer: str


@dataclass(frozen=True)
class Schedule:
    """When a name is next ordered or renewed, and how its last try went."""

    name: str
    failures: int = 0
    next_attempt: float = 0.0
    next_ari: Optional[float] = None
    last_attempt: Optional[float] = None
    last_error: Optional[str] = None


def load_certificate(conn: Connection, name: str) -> Optional[StoredCertificate]:
    row = conn.execute("SELECT name, cert_pem, key_pem, not_after, issuer FROM certificates WHERE name = ?",
                       (name,)).fetchone()
    return StoredCertificate(*row) if row else None


def all_certificates(conn: Connection) -> list[StoredCertificate]:
    rows = conn.execute("SELECT name, cert_pem, key_pem, not_after, issuer FROM certificates ORDER BY name")
    return [StoredCertificate(*row) for row in rows]


def save_certificate(conn: Connection, cert: StoredCertificate, now: float) -> None:
    """Keep C{cert}, replacing the name's previous certificate."""
    conn.execute(
        "INSERT INTO certificates (name, cert_pem, key_pem, not_after, issuer, last_attempt, last_error, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, NULL, ?) ON CONFLICT(name) DO UPDATE SET cert_pem = excluded.cert_pem,"
        " key_pem = excluded.key_pem, not_after = excluded.not_after, issuer = excluded.issuer,"
        " last_attempt = excluded.last_attempt, last_error = NULL, updated_at = excluded.updated_at",
        (cert.name, cert.cert_pem, cert.key_pem, cert.not_after, cert.issuer, now, now),
    )


def load_schedules(conn: Connection, names: Iterable[str]) -> dict[str, Schedule]:
    """The schedule of each of C{names} that has one."""
    found = {}
    for name in names:
        row = conn.execute("SELECT name, failures, next_attempt, next_ari, last_attempt, last_error"
                           " FROM certificate_schedule WHERE name = ?", (name,)).fetchone()
        if row:
            found[name] = Schedule(*row)
    return found


def all_schedules(conn: Connection) -> dict[str, Schedule]:
    rows = conn.execute("SELECT name, failures, next_attempt, next_ari, last_attempt, last_error"
                        " FROM certificate_schedule")
    return {row[0]: Schedule(*row) for row in rows}


def save_schedule(conn: Connection, schedule: Schedule) -> None:
    """Replace a name's schedule; a failure is also noted on its certificate row, if any."""
    conn.execute(
        "INSERT INTO certificate_schedule (name, failures, next_attempt, next_ari, last_attempt, last_error)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET failures = excluded.failures,"
        " next_attempt = excluded.next_attempt, next_ari = excluded.next_ari,"
        " last_attempt = excluded.last_attempt, last_error = excluded.last_error",
        (schedule.name, schedule.failures, schedule.next_attempt, schedule.next_ari, schedule.last_attempt,
         schedule.last_error),
    )
    if schedule.last_attempt is not None:
        conn.execute("UPDATE certificates SET last_attempt = ?, last_error = ? WHERE name = ?",
                     (schedule.last_attempt, schedule.last_error, schedule.name))


def issued(conn: Connection, cert: StoredCertificate, schedule: Schedule, now: float) -> None:
    """Keep a newly issued certificate and its next renewal in one transaction."""
    save_certificate(conn, cert, now)
    save_schedule(conn, schedule)


def site_names(conn: Connection) -> list[str]:
    """Every site that has been deployed (has an active deployment)."""
    rows = conn.execute("SELECT name FROM sites WHERE active_deployment_id IS NOT NULL ORDER BY name")
    return [row[0] for row in rows]


def kept_names(conn: Connection) -> list[str]:
    """Every name with a stored certificate or a schedule (what the cartridge keeps for it)."""
    rows = conn.execute("SELECT name FROM certificates UNION SELECT name FROM certificate_schedule ORDER BY name")
    return [row[0] for row in rows]


def forget_certificates(conn: Connection, names: Iterable[str]) -> None:
    """Delete the certificates and schedules of C{names} (no site or domain needs them any more)."""
    for name in names:
        conn.execute("DELETE FROM certificates WHERE name = ?", (name,))
        conn.execute("DELETE FROM certificate_schedule WHERE name = ?", (name,))


def deployment_sites(conn: Connection) -> list[tuple[int, str]]:
    """Every stored deployment as C{(id, site)}: each is reachable as a preview (SPEC §15)."""
    return [(row[0], row[1]) for row in conn.execute("SELECT id, site_name FROM deployments ORDER BY id")]


def load_account(conn: Connection, directory_url: str) -> Optional[tuple[str, str]]:
    """The account key (PEM) and registration (JSON) used with C{directory_url}, if any."""
    row = conn.execute("SELECT key_pem, registration FROM acme_account WHERE directory_url = ?",
                       (directory_url,)).fetchone()
    return (row[0], row[1]) if row else None


def save_account(conn: Connection, directory_url: str, key_pem: str, registration: str,
                 now: float) -> None:
    conn.execute("INSERT INTO acme_account (directory_url, key_pem, registration, created_at)"
                 " VALUES (?, ?, ?, ?) ON CONFLICT (directory_url) DO UPDATE SET key_pem = excluded.key_pem,"
                 " registration = excluded.registration, created_at = excluded.created_at",
                 (directory_url, key_pem, registration, now))
