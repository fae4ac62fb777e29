"""System routes through the admin API (SPEC §9), against a live server: health, limits, cache,
database and configuration, in the original's fields (snake_case)."""

from __future__ import annotations

import os

import pytest
import pytest_twisted

import fazt
from fazt.cli.operator import create_key
from fazt_testing import assert_error, start_server, stop_server

ROUTES = ["/api/system/health", "/api/system/limits", "/api/system/cache", "/api/system/db",
          "/api/system/config", "/api/config"]


@pytest.fixture
def live(tmp_path):
    server = start_server(str(tmp_path / "data.db"),
                          extra_args=("--js-workers", "1", "--cache-mb", "8", "--max-entries", "123"))
    yield server
    stop_server(server)


async def api(server, method: str, path: str, token: str | None = None):
    return await server.request(method, path, headers={"Authorization": f"Bearer {token or server.admin_token}"})


async def data(server, path: str) -> dict:
    response = await api(server, "GET", path)
    assert response.code == 200, response.body
    assert set(response.json()) == {"data"}
    return response.json()["data"]


@pytest.mark.parametrize("path", ROUTES)
@pytest_twisted.ensureDeferred
async def test_routes_need_an_admin_key(live, path):
    assert_error(await live.request("GET", path), 401, "UNAUTHORIZED")
    assert_error(await api(live, "GET", path, token="fazt_nope"), 401, "INVALID_API_KEY")
    assert_error(await api(live, "GET", path, token=create_key(live.db, "ci", ["deploy:blog"])), 403, "FORBIDDEN")
    wrong = await api(live, "POST", path)
    assert_error(wrong, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in wrong.header("allow")


@pytest_twisted.ensureDeferred
async def test_health(live):
    health = await data(live, "/api/system/health")
    assert health["status"] == "healthy" and health["version"] == fazt.__version__
    assert health["mode"] == "development" and health["sites"] == 2  # root and 404
    assert isinstance(health["uptime_seconds"], int) and health["uptime_seconds"] >= 0
    assert health["memory"]["rss_bytes"] > 1024 * 1024 and health["memory"]["used_mb"] > 1
    assert health["memory"]["limit_mb"] > 0 and health["memory"]["vfs_cache_mb"] >= 0
    assert health["database"]["path"] == os.path.abspath(live.db)
    assert health["database"]["size_bytes"] > 0 and health["database"]["wal_size_bytes"] >= 0
    assert health["cache"]["max_bytes"] == 8 * 1024 * 1024
    assert health["runtime"] == {"js_workers": 1, "js_worker_restarts": 0}


@pytest_twisted.ensureDeferred
async def test_limits(live):
    limits = await data(live, "/api/system/limits")
    assert limits["total_ram"] >= limits["available_ram"] > 0
    assert limits["cpu_count"] >= 1
    assert limits["max_archive_bytes"] == 100 * 1024 * 1024
    assert limits["max_unpacked_bytes"] == 500 * 1024 * 1024
    assert limits["max_entries"] == 123
    assert (limits["js_cpu_ms"], limits["js_workers"]) == (100, 1)
    assert all(isinstance(v, int) and not isinstance(v, bool) for v in limits.values()), limits


@pytest_twisted.ensureDeferred
async def test_cache_counts_hits_and_misses(live):
    before = await data(live, "/api/system/cache")
    assert set(before) == {"cached_files", "cache_size_bytes", "max_bytes", "hits", "misses", "hit_ratio"}
    assert (await live.deploy("blog", {"index.html": "<h1>cached</h1>"})).code == 200
    for _ in range(3):
        assert (await live.get("/", "blog.example.test")).code == 200
    after = await data(live, "/api/system/cache")
    assert after["cached_files"] >= 1 and after["cache_size_bytes"] > 0
    assert after["misses"] >= before["misses"] + 1
    assert 0 <= after["hit_ratio"] <= 1


@pytest_twisted.ensureDeferred
async def test_db(live):
    db = await data(live, "/api/system/db")
    assert db["path"] == os.path.abspath(live.db)
    assert db["size_bytes"] > 0 and db["page_count"] > 0 and db["schema_version"] >= 1
    assert db["page_size"] * db["page_count"] >= 4096 and db["wal_size_bytes"] >= 0


@pytest_twisted.ensureDeferred
async def test_config_at_both_paths(live):
    config = await data(live, "/api/system/config")
    assert config == {"version": fazt.__version__, "domain": "example.test", "env": "development", "https": False}
    assert await data(live, "/api/config") == config


@pytest_twisted.ensureDeferred
async def test_unknown_system_routes_are_404_in_the_envelope(live):
    assert_error(await api(live, "GET", "/api/system/nope"), 404, "NOT_FOUND")
    assert_error(await api(live, "GET", "/api/config/extra"), 404, "NOT_FOUND")
