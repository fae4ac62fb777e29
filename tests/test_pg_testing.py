import psycopg
from pg_testing import postgres, pg_dsn  # noqa: F401

def test_each_test_gets_an_empty_database(pg_dsn):
    with psycopg.connect(pg_dsn) as conn:
        conn.execute("CREATE TABLE t (x int)")
        conn.execute("INSERT INTO t VALUES (1)")
        assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 1
        assert conn.execute("SELECT current_database()").fetchone()[0].startswith("t_")
