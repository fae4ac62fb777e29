"""Every query module gives the same answers on PostgreSQL as on SQLite.

One platform, filled through the store's functions in a SQLite file (tests/store/test_copy.py) and
copied into PostgreSQL; then each read function runs on both and must answer alike, and each write
must leave both answering alike after it. A query that only one engine understands, a type one
engine gives back differently (a Decimal sum, a bool), or a different order shows up here.
"""

from __future__ import annotations

import pytest

from fazt.store import accounts, audit, certificates, cron, envvars, events, kv, logs, redirects, retention
from fazt.store import sessions, sites, traffic, webhooks
from fazt.store import engines
from fazt.store.copy import copy_cartridge
from fazt.store.errors import Conflict
from fazt.store.transaction import transaction
from test_copy import NOW, fill

LATER = NOW + 3600

READS = [
    (accounts.list_api_keys, 10, 0), (accounts.count_api_keys,), (accounts.count_users,),
    (accounts.get_config, "domain"), (accounts.find_api_key, "not-a-token"),
    (audit.list_entries, 10, 0), (audit.count_entries,),
    (certificates.all_certificates,), (certificates.all_schedules,), (certificates.site_names,),
    (certificates.load_account, "https://acme.example/dir"),
    (certificates.load_schedules, ["blobs.example.test", "new.example.test", "none"]),
    (certificates.kept_names,), (certificates.deployment_sites,),
    (cron.last_runs, "blobs"), (cron.cron_configs, "fazt.json", frozenset()),
    (envvars.list_env_vars, "blobs"), (envvars.get_env_var, "blobs", "API_URL"), (envvars.count_env_vars, "blobs"),
    (events.list_events, events.EventFilter(), 10, 0),
    (events.list_events, events.EventFilter(domain="blobs.example.test", source_type="hosting"), 2, 1),
    (events.count_events, events.EventFilter(tags="X_%")), (events.count_events, events.EventFilter(tags="promo")),
    (events.list_events, events.EventFilter(tags="0%_"), 10, 0), (events.domain_counts,), (events.count_domains,),
    (events.tag_counts,), (events.stats, LATER),
    (kv.kv_get, "blobs", "plain", NOW), (kv.kv_list, "blobs", "", NOW), (kv.kv_list, "blobs", "p", NOW),
    (kv.browse_keys, "blobs", "", 10, 0, NOW, 4), (kv.live_entry, "blobs", "float", NOW), (kv.env_for_site, "blobs"),
    (logs.log_page, "blobs", 10, 0, None, None), (logs.log_page, "blobs", 10, 0, "error", 0),
    (redirects.list_redirects, 10, 0), (redirects.find_redirect, "go"), (redirects.count_redirects,),
    (sessions.find_user, "admin"), (sessions.find_session, "session-token", NOW),
    (sites.list_sites,), (sites.get_active_deployment, "blobs"), (sites.list_deployments, "blobs"),
    (sites.list_site_files, "blobs", 10, 0), (sites.list_all_deployments, None, 10, 0),
    (sites.list_all_deployments, ["blobs", "root"], 10, 0), (sites.count_all_deployments, ["root"]),
    (traffic.site_traffic, "blobs.example.test", 3, LATER),
    (webhooks.list_webhooks, 10, 0), (webhooks.find_receiver, "deploys"),
]

WRITES = [
    (kv.kv_incr, "blobs", "count", 1, NOW), (kv.kv_incr, "blobs", "float", 2, NOW),
    (kv.kv_incr, "blobs", "plain", 1, NOW), (kv.kv_delete, "blobs", "ttl", NOW),
    (kv.remove_key, "blobs", "plain", NOW), (sessions.extend_session, sessions.session_digest("session-token"), 2 ** 40),
    (sessions.delete_expired_sessions, 2 ** 41), (accounts.set_credentials, "new hash", "root", int(NOW)),
    (envvars.replace_env_vars, "blobs", {"A": "1", "B": "2"}, int(NOW)), (envvars.delete_env_var, "blobs", "A"),
    (redirects.update_redirect, 2, {"destination": "https://d.example/", "tags": ["z"]}),
    (redirects.count_click, 2), (webhooks.update_webhook, 1, {"is_active": False}),
    (certificates.save_account, "https://acme.example/dir", "NEW KEY", "{}", LATER),
    (certificates.forget_certificates, ["blobs.example.test", "none"]),
    (cron.claim_run, "blobs", "* * * * * /cron", int(NOW) // 60 + 1),
    (retention.prune_step, retention.RetentionPolicy(logs_days=0, events_days=1, logs_per_site=1), NOW + 86400 * 2),
    (sites.prune_deployments, "root", 1), (sites.delete_site, "blobs"),
]


@pytest.fixture(scope="module")
def both(tmp_path_factory, postgres):
    """A SQLite cartridge and its PostgreSQL copy, each with a connection."""
    import psycopg

    folder = tmp_path_factory.mktemp("both")
    path = str(folder / "data.db")
    fill(path)
    with psycopg.connect(postgres.dsn(), autocommit=True) as admin:
        admin.execute("CREATE DATABASE queries_both TEMPLATE template0")
    copy_cartridge(path, postgres.dsn("queries_both"))
    conns = engines.connect(path), engines.connect(postgres.dsn("queries_both"))
    yield conns
    for conn in conns:
        conn.close()


# These open their own transaction (and refuse to run inside one, on both engines alike).
OWN_TRANSACTION = {accounts.set_credentials}


def on_both(both, fn, *args):
    answers = []
    for conn in both:
        try:
            if fn in OWN_TRANSACTION:
                answers.append(("ok", fn(conn, *args)))
                continue
            with transaction(conn):
                answers.append(("ok", fn(conn, *args)))
        except Exception as error:  # the same error on both engines is the same answer
            answers.append(("error", type(error).__name__, str(error)))
    return answers


def test_reads_answer_alike(both):
    for fn, *args in READS:
        lite, pg = on_both(both, fn, *args)
        assert lite[0] == "ok", (fn.__name__, lite)
        assert lite == pg, fn.__name__


def test_writes_answer_alike_and_leave_the_same_data(both):
    for fn, *args in WRITES:
        lite, pg = on_both(both, fn, *args)
        assert lite == pg, fn.__name__
        for read, *read_args in READS:
            assert on_both(both, read, *read_args)[0] == on_both(both, read, *read_args)[1], \
                f"{read.__name__} after {fn.__name__}"


def test_a_transaction_inside_a_transaction_is_refused_on_both(both):
    for conn in both:
        with transaction(conn):
            with pytest.raises(Exception, match="cannot start a transaction within a transaction"):
                accounts.set_credentials(conn, "hash", "root", 0)


def test_a_taken_key_is_a_conflict_on_both(both):
    for conn in both:
        with pytest.raises(Conflict):
            with transaction(conn):
                redirects.create_redirect(conn, "go", "https://x.example/", [], 0)
        with pytest.raises(Conflict):
            with transaction(conn):
                webhooks.create_webhook(conn, "again", "deploys", None, True, 0)
