"""C{/metrics} (SPEC §12) through the whole server, parsed by prometheus_client's own parser."""

from __future__ import annotations

import sqlite3

import pytest
import pytest_twisted
from prometheus_client.parser import text_string_to_metric_families

from fazt.cli.operator import create_key
from fazt.web.metrics import RequestCounter, escape_label, family
from fazt_testing import assert_error, start_server, stop_server

SERIES = {
    "fazt_site_requests": "counter",
    "fazt_js_workers": "gauge",
    "fazt_js_worker_restarts": "counter",
    "fazt_deployments": "counter",
    "fazt_db_size_bytes": "gauge",
    "fazt_cache_bytes": "gauge",
    "fazt_cache_hits": "counter",
    "fazt_cache_misses": "counter",
    "fazt_websocket_connections": "gauge",
    "fazt_sites": "gauge",
    "fazt_certificate_expiry_timestamp_seconds": "gauge",
}


@pytest.fixture
def server(tmp_path):
    live = start_server(str(tmp_path / "data.db"))
    yield live
    stop_server(live)


def parse(body: bytes) -> dict:
    return {f.name: f for f in text_string_to_metric_families(body.decode("utf-8"))}


def value(families: dict, family_name: str, sample: str | None = None, **labels) -> float:
    for s in families[family_name].samples:
        if s.name == (sample or family_name) and s.labels == labels:
            return s.value
    raise AssertionError(f"no sample {sample or family_name}{labels}")


@pytest_twisted.ensureDeferred
async def test_metrics_carry_the_series(server):
    response = await server.deploy("blog", {"index.html": "<h1>hi</h1>"})
    assert response.code == 200, response.body
    conn = sqlite3.connect(server.db)
    conn.execute("INSERT INTO certificates (name, cert_pem, key_pem, not_after, updated_at) "
                 "VALUES ('blog.example.test', '', '', 1900000000, 0)")
    conn.commit()
    conn.close()
    for _ in range(2):
        assert (await server.get("/", "blog.example.test")).code == 200

    response = await server.get("/metrics", Authorization=f"Bearer {server.admin_token}")
    assert response.code == 200, response.body
    assert response.header("content-type").startswith("text/plain; version=0.0.4")
    families = parse(response.body)
    for name, kind in SERIES.items():
        assert name in families, name
        assert families[name].type == kind, name
        assert families[name].documentation, name
    assert value(families, "fazt_site_requests", "fazt_site_requests_total", site="blog") >= 2
    assert value(families, "fazt_deployments", "fazt_deployments_total") >= 1
    assert value(families, "fazt_db_size_bytes") > 0
    assert value(families, "fazt_sites") >= 1
    assert value(families, "fazt_js_workers") >= 1
    assert value(families, "fazt_js_worker_restarts", "fazt_js_worker_restarts_total") >= 0
    hits = value(families, "fazt_cache_hits", "fazt_cache_hits_total")
    misses = value(families, "fazt_cache_misses", "fazt_cache_misses_total")
    assert hits + misses >= 1
    assert value(families, "fazt_cache_bytes") >= 0
    assert value(families, "fazt_certificate_expiry_timestamp_seconds", name="blog.example.test") == 1900000000


@pytest_twisted.ensureDeferred
async def test_metrics_need_credentials(server):
    assert_error(await server.get("/metrics"), 401)


@pytest_twisted.ensureDeferred
async def test_metrics_are_for_admins_only(server):
    token = create_key(server.db, "deployer", ["deploy:x"])
    assert_error(await server.get("/metrics", Authorization=f"Bearer {token}"), 403, "FORBIDDEN")


def test_label_values_are_escaped_and_parse_back():
    tricky = 'a\\b"c\nd'
    assert escape_label(tricky) == 'a\\\\b\\"c\\nd'
    text = "\n".join(family("x_total", "counter", "help", [({"site": tricky}, 3)])) + "\n"
    (parsed,) = text_string_to_metric_families(text)
    assert parsed.samples[0].labels == {"site": tricky}
    assert parsed.samples[0].value == 3


def test_request_counter_caps_distinct_sites():
    counter = RequestCounter(max_sites=2)
    for name in ("a", "a", "b", "c", "d"):
        counter.hook(None, name)
    assert counter.counts == {"a": 2, "b": 1, "_other": 2}
