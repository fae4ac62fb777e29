"""Dedicated PostgreSQL connections for the bus and the leadership (not the store's pool).

The bus listens and the leadership holds its lock on connections of their own, one each, used
from one thread each. They are long-lived and mostly idle, so a dead peer must be noticed by the
operating system: TCP keepalives after 10 s of silence, three probes 5 s apart (libpq's default
is the system's, two hours on Linux). Unix-socket connections ignore these settings.
"""

from __future__ import annotations

import psycopg

__all__ = ["connect", "LinkError"]

# psycopg's errors (connection refused, lost, terminated by an administrator...), for callers that
# must tell a broken link from their own bugs without importing psycopg themselves.
LinkError = psycopg.Error

_KEEPALIVE = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3}


def connect(dsn: str, purpose: str, connect_timeout: int = 10) -> psycopg.Connection:
    """A new autocommit connection to C{dsn}, named C{fazt-PURPOSE} in C{pg_stat_activity}.

    Blocking: call it off the reactor thread.
    """
    return psycopg.connect(dsn, autocommit=True, application_name=f"fazt-{purpose}",
                           connect_timeout=connect_timeout, **_KEEPALIVE)
