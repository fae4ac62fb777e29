"""C{/metrics} (SPEC §12) through the whole server, parsed by prometheus_client's own parser."""

from __future__ import annotations

import sqlite3

import pytest
import pytest_twisted
from twisted.internet.task import Clock
from prometheus_client.parser import text_string_to_metric_families

from fazt.cli.operator import create_key
from fazt.web.metrics import RequestCounter, escape_label, family, histogram_family
from fazt_testing import assert_error, start_server, stop_server

SERIES = {
    "fazt_site_requests": "counter",
    "fazt_site_responses": "counter",
    "fazt_site_request_duration_seconds": "histogram",
    "fazt_js_runs": "counter",
    "fazt_js_timeouts": "counter",
    "fazt_js_memory_failures": "counter",
    "fazt_cron_runs": "counter",
    "fazt_deployments_stored": "gauge",
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


SCRAPE_TOKEN = "scrape-me-0123456789"


@pytest.fixture
def server(tmp_path):
    live = start_server(str(tmp_path / "data.db"), extra_args=("--metrics-token", SCRAPE_TOKEN, "--js-workers", "1"))
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
    assert (await server.get("/missing", "blog.example.test")).code == 404
    response = await server.deploy("app", {"main.js": 'if (req.path === "/spin") { while (true) {} } res.send("ok")'})
    assert response.code == 200, response.body
    assert (await server.get("/", "app.example.test")).code == 200
    assert (await server.get("/spin", "app.example.test")).code == 500

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
    responses = "fazt_site_responses_total"
    assert value(families, "fazt_site_responses", responses, site="blog", code="200") == 2
    assert value(families, "fazt_site_responses", responses, site="blog", code="404") == 1
    assert value(families, "fazt_site_responses", responses, site="app", code="500") == 1
    latency = "fazt_site_request_duration_seconds"
    assert value(families, latency, latency + "_count", site="blog") == 3
    assert value(families, latency, latency + "_bucket", site="blog", le="+Inf") == 3
    assert value(families, latency, latency + "_sum", site="blog") > 0
    assert value(families, "fazt_js_runs", "fazt_js_runs_total", site="app", outcome="ok") == 1
    assert value(families, "fazt_js_runs", "fazt_js_runs_total", site="app", outcome="timeout") == 1
    assert value(families, "fazt_js_timeouts", "fazt_js_timeouts_total", site="app") == 1
    assert value(families, "fazt_cron_runs", "fazt_cron_runs_total", outcome="skipped") == 0
    assert value(families, "fazt_deployments_stored") >= 2


@pytest_twisted.ensureDeferred
async def test_the_metrics_token_reads_metrics_and_nothing_else(server):
    response = await server.get("/metrics", Authorization=f"Bearer {SCRAPE_TOKEN}")
    assert response.code == 200, response.body
    assert "fazt_site_requests" in parse(response.body)
    assert_error(await server.get("/metrics", Authorization=f"Bearer {SCRAPE_TOKEN}x"), 401, "INVALID_API_KEY")
    assert_error(await server.get("/api/sites", Authorization=f"Bearer {SCRAPE_TOKEN}"), 401, "INVALID_API_KEY")


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


class FakeRequest:
    code = 200


def test_request_counter_caps_distinct_sites():
    counter = RequestCounter(Clock(), max_sites=2)
    for name in ("a", "a", "b", "c", "d"):
        request = FakeRequest()
        counter.hook(request, name)
        counter.finished(request)
    assert counter.counts == {"a": 2, "b": 1, "_other": 2}
    assert counter.statuses == {("a", 200): 2, ("b", 200): 1, ("_other", 200): 2}
    assert sorted(counter.latency) == ["_other", "a", "b"]


def test_latency_histogram_is_cumulative_and_parses():
    clock = Clock()
    counter = RequestCounter(clock)
    for elapsed in (0.0002, 0.003, 0.003, 20.0):
        request = FakeRequest()
        counter.hook(request, "s")
        clock.advance(elapsed)
        counter.finished(request)
    counter.finished(FakeRequest())  # an admin request: never hooked, not counted
    text = "\n".join(histogram_family("lat_seconds", "help", counter.histogram_samples())) + "\n"
    (parsed,) = text_string_to_metric_families(text)
    buckets = {s.labels["le"]: s.value for s in parsed.samples if s.name == "lat_seconds_bucket"}
    assert (buckets["0.0005"], buckets["0.0025"], buckets["0.005"], buckets["10.0"], buckets["+Inf"]) == (1, 1, 3, 3, 4)
    assert [s.value for s in parsed.samples if s.name == "lat_seconds_count"] == [4]
    assert [s.value for s in parsed.samples if s.name == "lat_seconds_sum"] == [pytest.approx(20.0062)]


@pytest_twisted.ensureDeferred
async def test_hosts_that_name_no_site_cannot_take_the_label_slots(server):
    # Any Host NAME.D reaches the site hook; names that are no site must not use up the bounded
    # site labels, or anyone could push the real sites into "_other" with a few requests.
    counter = next(hook.__self__ for hook in server.listener.factory.resource.finish_hooks
                   if isinstance(getattr(hook, "__self__", None), RequestCounter))
    counter._max = 3
    for i in range(5):
        assert (await server.get("/", f"nosuch{i}.example.test")).code == 404
    assert (await server.deploy("real", {"index.html": "hi"})).code == 200
    assert (await server.get("/", "real.example.test")).code == 200
    text = (await server.get("/metrics", Authorization=f"Bearer {server.admin_token}")).body.decode()
    assert 'fazt_site_requests_total{site="real"} 1' in text
    assert "nosuch" not in text
