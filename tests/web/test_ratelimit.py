"""Request rate limits per client address on the admin API and sign-in (SPEC §18).

The buckets' arithmetic runs on a Twisted test clock; the limits as a client sees them (429,
the envelope, Retry-After, separate sign-in budget, trusted proxies, /metrics) against live
servers configured with small numbers.
"""

from __future__ import annotations

import json

import pytest
import pytest_twisted
from twisted.internet.task import Clock

from fazt.app.options import Options
from fazt.web.ratelimit import TokenBuckets
from fazt_testing import set_admin_password, start_server, stop_server

PASSWORD = "correct horse battery staple"
JSON = {"Content-Type": "application/json"}


def test_a_bucket_allows_a_burst_then_the_sustained_rate():
    clock = Clock()
    buckets = TokenBuckets(rate=2.0, burst=3, clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [0, 0, 0]
    assert buckets.take("a") == pytest.approx(0.5)  # one token comes back every 0.5 s
    assert buckets.take("b") == 0  # another address has its own bucket
    clock.advance(0.5)
    assert buckets.take("a") == 0
    assert buckets.take("a") > 0
    clock.advance(60)  # a long pause refills to the burst, never beyond
    assert [buckets.take("a") for _ in range(4)][-1] > 0


def test_a_refused_request_spends_nothing():
    clock = Clock()
    buckets = TokenBuckets(rate=1.0, burst=1, clock=clock)
    assert buckets.take("a") == 0
    for _ in range(100):
        assert buckets.take("a") == pytest.approx(1.0)
    clock.advance(1.0)
    assert buckets.take("a") == 0


def test_memory_is_bounded_and_the_least_recently_seen_go_first():
    clock = Clock()
    buckets = TokenBuckets(rate=1.0, burst=1, clock=clock, max_tracked=100)
    assert buckets.take("busy") == 0
    for n in range(10_000):
        buckets.take(f"10.0.{n // 256}.{n % 256}")
        if n % 50 == 0:
            buckets.take("busy")  # seen again and again: kept
    assert len(buckets) == 100
    assert buckets.take("busy") > 0


def test_the_options_and_their_defaults():
    options = Options()
    options.parseOptions([])
    assert (options["api-rate-limit"], options["api-rate-burst"]) == (20.0, 200)
    assert (options["login-rate-limit"], options["login-rate-burst"]) == (1.0, 20)
    options = Options()
    options.parseOptions(["--api-rate-limit", "0", "--login-rate-limit", "0.2", "--login-rate-burst", "5"])
    assert (options["api-rate-limit"], options["login-rate-limit"], options["login-rate-burst"]) == (0.0, 0.2, 5)
    from twisted.python.usage import UsageError

    for args in (["--api-rate-limit", "-1"], ["--api-rate-limit", "fast"], ["--api-rate-burst", "0"],
                 ["--login-rate-limit", "nan"]):
        with pytest.raises(UsageError):
            Options().parseOptions(args)


@pytest.fixture
def limited(tmp_path):
    server = start_server(str(tmp_path / "data.db"), extra_args=(
        "--api-rate-limit", "0.01", "--api-rate-burst", "5", "--login-rate-limit", "0.01",
        "--login-rate-burst", "2"))
    set_admin_password(server.db, PASSWORD)
    yield server
    stop_server(server)


async def api_get(server, path: str = "/api/system/health", forwarded_for: str | None = None):
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    if forwarded_for is not None:
        headers["X-Forwarded-For"] = forwarded_for
    return await server.request("GET", path, headers=headers)


async def login(server, password: str, **headers):
    body = json.dumps({"username": "admin", "password": password}).encode()
    return await server.request("POST", "/api/login", headers={**JSON, **headers}, body=body)


def assert_limited(response):
    assert response.code == 429, response.body
    assert response.json() == {"error": {"code": "RATE_LIMIT_EXCEEDED", "message": response.json()["error"]["message"]}}
    assert 1 <= int(response.header("retry-after")) <= 100


@pytest_twisted.ensureDeferred
async def test_past_its_burst_an_address_gets_429_with_retry_after(limited):
    codes = [(await api_get(limited)).code for _ in range(5)]
    assert codes == [200] * 5
    assert_limited(await api_get(limited))
    # Unknown routes and wrong credentials spend from the same budget: they are answered 429 too.
    assert_limited(await limited.request("GET", "/api/nosuch"))
    # Sites, health and the dashboard's page are not the admin API: not limited.
    assert (await limited.get("/health")).code == 200
    assert (await limited.get("/", host="admin.example.test")).code == 200


@pytest_twisted.ensureDeferred
async def test_sign_in_has_its_own_stricter_budget(limited):
    assert (await login(limited, "wrong")).code == 401
    assert (await login(limited, PASSWORD)).code == 200
    assert_limited(await login(limited, PASSWORD))
    assert_limited(await limited.request("POST", "/api/login", headers=JSON, body=b"{"))
    # The rest of the API still has its own budget.
    assert (await api_get(limited)).code == 200


@pytest_twisted.ensureDeferred
async def test_refusals_are_counted_in_metrics(limited):
    for _ in range(7):
        await api_get(limited)
    for _ in range(3):
        await login(limited, "wrong")
    metrics = (await limited.request("GET", "/metrics", headers={"Authorization": f"Bearer {limited.admin_token}"}))
    text = metrics.body.decode()
    assert 'fazt_rate_limited_total{bucket="api"} 2' in text
    assert 'fazt_rate_limited_total{bucket="login"} 1' in text


@pytest.fixture
def servers(tmp_path):
    """Live servers started by the test with its own options; all stopped at teardown."""
    started = []

    def start(name: str, *args: str):
        started.append(start_server(str(tmp_path / f"{name}.db"), extra_args=args))
        return started[-1]

    yield start
    for server in started:
        stop_server(server)


@pytest_twisted.ensureDeferred
async def test_forwarded_for_counts_only_from_a_trusted_proxy(servers):
    proxied = servers("proxied", "--trusted-proxy", "127.0.0.1/32", "--api-rate-limit", "0.01", "--api-rate-burst", "2")
    direct = servers("direct", "--api-rate-limit", "0.01", "--api-rate-burst", "2")
    for _ in range(2):
        assert (await api_get(proxied, forwarded_for="198.51.100.1")).code == 200
    assert_limited(await api_get(proxied, forwarded_for="198.51.100.1"))
    assert_limited(await api_get(proxied, forwarded_for="192.0.2.9, 198.51.100.1"))  # the left part is the client's
    assert (await api_get(proxied, forwarded_for="198.51.100.2")).code == 200
    # Not a trusted proxy: the header is the client's own word, and every request is the peer's.
    assert (await api_get(direct, forwarded_for="198.51.100.1")).code == 200
    assert (await api_get(direct, forwarded_for="198.51.100.2")).code == 200
    assert_limited(await api_get(direct, forwarded_for="198.51.100.3"))


@pytest_twisted.ensureDeferred
async def test_rate_zero_turns_a_limit_off(servers):
    server = servers("off", "--api-rate-limit", "0", "--api-rate-burst", "1", "--login-rate-limit", "0",
                     "--login-rate-burst", "1")
    assert {(await api_get(server)).code for _ in range(30)} == {200}
    assert {(await login(server, "wrong")).code for _ in range(3)} == {401}


@pytest_twisted.ensureDeferred
async def test_the_defaults_let_a_dashboard_load_many_pages(server):
    """Twelve pages of a dozen API calls each, at once: nothing is refused."""
    codes = [(await api_get(server, path)).code for _ in range(12)
             for path in ("/api/system/health", "/api/sites", "/api/keys", "/api/system/limits", "/api/redirects",
                          "/api/webhooks", "/api/system/config", "/api/auth/status", "/api/user/me",
                          "/api/analytics/stats", "/api/logs", "/api/system/db")]
    assert 429 not in codes
