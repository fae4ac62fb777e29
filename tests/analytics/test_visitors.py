"""Visitor hashes and the daily salt: pure functions, and how a batch write applies them."""

from __future__ import annotations

import sqlite3

from fazt.analytics.events import PendingEvent
from fazt.store.visitors import HASH_LENGTH, encode_salt, new_salt, rotate_salt, utc_day, visitor_hash
from fazt.store.events import SALT_KEY, insert_events
from fazt.store.migrate import migrate

DAY1 = 1_700_000_000.0          # 2023-11-14 22:13:20 UTC
DAY2 = DAY1 + 86400


def test_utc_day():
    assert utc_day(0) == "1970-01-01"
    assert utc_day(DAY1) == "2023-11-14"
    assert utc_day(DAY2) == "2023-11-15"


def test_hash_is_short_hex_and_deterministic():
    h = visitor_hash("salt", "127.0.0.1", "Firefox")
    assert len(h) == HASH_LENGTH and int(h, 16) >= 0
    assert h == visitor_hash("salt", "127.0.0.1", "Firefox")


def test_hash_depends_on_every_part():
    base = visitor_hash("salt", "10.0.0.1", "UA")
    assert visitor_hash("other", "10.0.0.1", "UA") != base
    assert visitor_hash("salt", "10.0.0.2", "UA") != base
    assert visitor_hash("salt", "10.0.0.1", "UA2") != base
    # The separator keeps shifted boundaries apart.
    assert visitor_hash("s", "1.2.3.45", " x") != visitor_hash("s", "1.2.3.4", "5 x")


def test_hash_accepts_any_text():
    assert len(visitor_hash("s", "::1", "\ud800 bad surrogate \x00 é")) == HASH_LENGTH


def test_new_salt_is_random():
    assert new_salt() != new_salt()
    assert len(new_salt()) == 32


def test_rotate_salt():
    make = iter(["s1", "s2", "s3"]).__next__
    # Nothing stored: a new salt, to be stored with its day.
    assert rotate_salt(None, "2024-01-01", make) == ("s1", encode_salt("2024-01-01", "s1"))
    stored = encode_salt("2024-01-01", "s1")
    # Same day: the stored salt, nothing to store.
    assert rotate_salt(stored, "2024-01-01", make) == ("s1", None)
    # An event from the day before (a batch written after midnight): the current salt.
    assert rotate_salt(stored, "2023-12-31", make) == ("s1", None)
    # The next day: a new salt replaces the old one.
    assert rotate_salt(stored, "2024-01-02", make) == ("s2", encode_salt("2024-01-02", "s2"))
    # Garbage stored: replaced.
    assert rotate_salt("garbage", "2024-01-02", make) == ("s3", encode_salt("2024-01-02", "s3"))


def _conn(tmp_path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(tmp_path / "db.sqlite"), isolation_level=None)
    migrate(conn)
    return conn


def _event(ts: float, ip: str = "203.0.113.9", ua: str = "UA") -> PendingEvent:
    return PendingEvent(ts, "blog", "hosting", "pageview", b"/", None, ua.encode(), ip)


def test_insert_hashes_addresses_and_keeps_one_salt_per_day(tmp_path):
    conn = _conn(tmp_path)
    insert_events(conn, [_event(DAY1), _event(DAY1), _event(DAY1, ip="203.0.113.10")])
    day1_salt = conn.execute("SELECT value FROM config WHERE key = ?", (SALT_KEY,)).fetchone()[0]
    assert day1_salt.startswith("2023-11-14 ")
    hashes = [r[0] for r in conn.execute("SELECT visitor_hash FROM events ORDER BY id")]
    assert hashes[0] == hashes[1] != hashes[2]
    # A later batch of the same day uses the same salt: the same visitor, the same hash.
    insert_events(conn, [_event(DAY1 + 60)])
    assert conn.execute("SELECT visitor_hash FROM events ORDER BY id DESC").fetchone()[0] == hashes[0]
    # The next day the salt rotates: the same person is a new visitor, and the old salt is gone.
    insert_events(conn, [_event(DAY2)])
    assert conn.execute("SELECT visitor_hash FROM events ORDER BY id DESC").fetchone()[0] != hashes[0]
    day2_salt = conn.execute("SELECT value FROM config WHERE key = ?", (SALT_KEY,)).fetchone()[0]
    assert day2_salt.startswith("2023-11-15 ") and day2_salt.split()[1] != day1_salt.split()[1]


def test_no_address_is_stored(tmp_path):
    conn = _conn(tmp_path)
    insert_events(conn, [_event(DAY1, ip="198.51.100.77"), _event(DAY1, ip=None)])
    for row in conn.execute("SELECT * FROM events"):
        assert not any("198.51.100.77" in str(value) for value in row)
    assert conn.execute("SELECT visitor_hash FROM events ORDER BY id DESC").fetchone()[0] is None
