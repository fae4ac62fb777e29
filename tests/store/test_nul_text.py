"""U+0000 (NUL) in user text, on both engines (fazt.store.text): PostgreSQL's text cannot hold it,
SQLite's can; the store keeps the same data on both, and nothing else in a batch is lost."""

from __future__ import annotations

import pytest

from fazt.store.envvars import EnvVarError, check_env_value
from fazt.store.eventrows import PendingEvent
from fazt.store.events import insert_events
from fazt.store.kv import KVError, append_logs, kv_delete, kv_get, kv_list, kv_set
from fazt.store.transaction import transaction

NOW = 1_000_000.0


def test_a_kv_string_holding_nul_reads_back_the_same(conn):
    with transaction(conn):
        kv_set(conn, "s", "plain", "a\x00b", None, NOW)
        kv_set(conn, "s", "only", "\x00", None, NOW)
        kv_set(conn, "s", "nested", {"x": ["\x00", "é\x00"]}, None, NOW)
        kv_set(conn, "s", "looks", '"a\\u0000b"', None, NOW)  # text that is already a JSON literal
    assert kv_get(conn, "s", "plain", NOW) == "a\x00b"
    assert kv_get(conn, "s", "only", NOW) == "\x00"
    assert kv_get(conn, "s", "nested", NOW) == {"x": ["\x00", "é\x00"]}
    assert kv_get(conn, "s", "looks", NOW) == "a\x00b"  # as before: text that is JSON reads as JSON
    assert kv_list(conn, "s", "pl", NOW) == [{"key": "plain", "value": "a\x00b"}]


def test_a_kv_key_or_prefix_holding_nul_is_refused_and_nothing_is_written(conn):
    for call in (lambda: kv_set(conn, "s", "a\x00", 1, None, NOW), lambda: kv_get(conn, "s", "a\x00", NOW),
                 lambda: kv_delete(conn, "s", "a\x00", NOW), lambda: kv_list(conn, "s", "\x00", NOW)):
        with pytest.raises(KVError, match="U\\+0000"):
            with transaction(conn):
                call()
    assert kv_list(conn, "s", "", NOW) == []


def test_console_lines_show_nul_as_its_symbol_and_the_batch_is_kept(conn):
    with transaction(conn):
        append_logs(conn, [("s", "info", "before", NOW), ("s", "info", "a\x00b", NOW), ("s", "warn", "after", NOW)])
    rows = conn.execute("SELECT message FROM site_logs WHERE site_name = 's' ORDER BY id").fetchall()
    assert [r[0] for r in rows] == ["before", "a\u2400b", "after"]


def test_analytics_text_shows_nul_as_its_symbol_and_the_batch_is_kept(conn):
    events = [PendingEvent(NOW, "blog.example.test", "hosting", "pageview", "/ok"),
              PendingEvent(NOW, "blog.example.test", "web", "cl\x00ick", "/a\x00", "http://r\x00/",
                           "agent\x00", "192.0.2.1", "t\x00g", "q=\x00")]
    with transaction(conn):
        assert insert_events(conn, events) == 2
    rows = conn.execute("SELECT event_type, path, referrer, user_agent, tags, query_params FROM events"
                        " ORDER BY id").fetchall()
    assert [tuple(r) for r in rows][1] == ("cl\u2400ick", "/a\u2400", "http://r\u2400/", "agent\u2400",
                                          "t\u2400g", "q=\u2400")
    assert rows[0][1] == "/ok"


def test_an_environment_value_holding_nul_is_refused():
    with pytest.raises(EnvVarError, match="U\\+0000"):
        check_env_value("a\x00b")
    assert check_env_value("a b") == "a b"
