"""The KV SQL: increments (fast single-statement path and general path), expiry, per-site keys."""

from __future__ import annotations

import json

import pytest

from fazt.store.kv import KVError, kv_delete, kv_get, kv_incr, kv_list, kv_set

NOW = 1_000_000.0


def put_raw(conn, key, text, expires_at=None, site="s"):
    conn.execute("INSERT INTO kv (site_name, key, value, expires_at, updated_at) VALUES (?, ?, ?, ?, 0)"
                 " ON CONFLICT (site_name, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at,"
                 " updated_at = 0", (site, key, text, expires_at))


def raw(conn, key, site="s"):
    return conn.execute("SELECT value, expires_at, updated_at FROM kv WHERE site_name = ? AND key = ?",
                        (site, key)).fetchone()


def expected_incr(text, expires_at, by):
    """What an increment must do, stated plainly: (new stored text, new expiry) or an error."""
    live = text is not None and (expires_at is None or expires_at > NOW)
    try:
        current = json.loads(text) if live else None
    except ValueError:
        current = text
    if current is None:
        current = 0
    if isinstance(current, bool) or not isinstance(current, (int, float)):
        return KVError
    return json.dumps(current + by), expires_at if live else None


STORED = ["0", "41", "-7", "9007199254740993", str(2 ** 62), str(2 ** 62 + 1), str(-2 ** 63),
          str(2 ** 70), "1.5", "1e3", "-0", "007", "+5", " 5", "5 ", "null", "true", '"5"', "abc", "",
          "[1]", "NaN", "1.0"]
AMOUNTS = [1, -1, 0, 5, 2 ** 62, -2 ** 62, 2 ** 62 + 1, 2 ** 80, 0.5, -2.25, 1.0]
EXPIRIES = [None, NOW + 60, NOW, NOW - 1]


@pytest.mark.parametrize("expires_at", EXPIRIES)
@pytest.mark.parametrize("text", STORED + [None])
def test_incr_matches_the_plain_definition_for_every_stored_value(conn, text, expires_at):
    for by in AMOUNTS:
        conn.execute("DELETE FROM kv")
        if text is not None:
            put_raw(conn, "k", text, expires_at)
        want = expected_incr(text, expires_at, by)
        if want is KVError:
            with pytest.raises(KVError):
                kv_incr(conn, "s", "k", by, NOW)
            assert raw(conn, "k")[:2] == (text, expires_at)  # untouched
            continue
        got = kv_incr(conn, "s", "k", by, NOW)
        value, expiry, updated = raw(conn, "k")
        assert (value, expiry) == want, (text, expires_at, by)
        assert updated == NOW
        assert json.dumps(got) == value, (text, by, got)  # the same number, and int stays int


def test_incr_counts_from_zero_and_keeps_a_live_expiry(conn):
    assert kv_incr(conn, "s", "hits", 1, NOW) == 1
    assert kv_incr(conn, "s", "hits", 1, NOW) == 2
    assert kv_get(conn, "s", "hits", NOW) == 2
    kv_set(conn, "s", "ttl", 10, 30, NOW)
    assert kv_incr(conn, "s", "ttl", 5, NOW + 1) == 15
    assert raw(conn, "ttl")[1] == NOW + 30
    # Once expired, the key counts as missing: the count restarts and no longer expires.
    assert kv_incr(conn, "s", "ttl", 5, NOW + 30) == 5
    assert raw(conn, "ttl")[1] is None


def test_incr_rejects_bad_amounts_and_keys(conn):
    for by in (True, "1", None, [1]):
        with pytest.raises(KVError):
            kv_incr(conn, "s", "k", by, NOW)
    for key in ("", 5, "x" * 513):
        with pytest.raises(KVError):
            kv_incr(conn, "s", key, 1, NOW)
    assert conn.execute("SELECT count(*) FROM kv").fetchone()[0] == 0


def test_sites_never_share_keys(conn):
    kv_incr(conn, "a", "hits", 1, NOW)
    kv_incr(conn, "a", "hits", 1, NOW)
    assert kv_incr(conn, "b", "hits", 1, NOW) == 1
    kv_set(conn, "b", "name", "bee", None, NOW)
    assert kv_get(conn, "a", "name", NOW) is None
    assert kv_list(conn, "a", "", NOW) == [{"key": "hits", "value": 2}]
    assert kv_delete(conn, "a", "name", NOW) is False
    assert kv_get(conn, "b", "name", NOW) == "bee"
