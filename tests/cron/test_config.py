"""A site's C{fazt.json} cron list: what is accepted, and what a deploy refuses (400 VALIDATION_FAILED)."""

from __future__ import annotations

import json

import pytest
import pytest_twisted

from fazt.cron.config import ConfigError, check_deploy, parse_config
from fazt_testing import assert_error


def config(entries) -> bytes:
    return json.dumps({"cron": entries}).encode()


def test_entries_parse_with_their_identity():
    (entry,) = parse_config(config([{"schedule": "*/5 * * * *", "path": "/tasks/x?full=1"}]))
    assert entry.path == "/tasks/x?full=1"
    assert entry.key == "*/5 * * * * /tasks/x?full=1"


def test_no_cron_is_fine():
    assert parse_config(b'{"something": "else"}') == []
    assert check_deploy(b"{}", is_app=False) == []


@pytest.mark.parametrize("data, words", [
    (b"{not json", "not valid JSON"),
    (b"[]", "JSON object"),
    (b'{"cron": {}}', "must be a list"),
    (config(["*/5 * * * *"]), "cron[0] must be an object"),
    (config([{"path": "/x"}]), "cron[0]: \"schedule\" is missing"),
    (config([{"schedule": "61 * * * *", "path": "/x"}]), "cron[0]: invalid schedule: minute: 61"),
    (config([{"schedule": "* * * * *", "path": "x"}]), "starting with /"),
    (config([{"schedule": "* * * * *", "path": "/a b"}]), "without spaces"),
    (config([{"schedule": "* * * * *", "path": "/x"}] * 2), "cron[1] repeats"),
    (config([{"schedule": "* * * * *", "path": f"/{n}"} for n in range(21)]), "at most 20"),
])
def test_bad_configs_are_refused_with_a_reason(data, words):
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert words in str(caught.value)


@pytest.mark.parametrize("data, words", [
    (b"[" * 60000, "not valid JSON"),
    (b'{"cron": ' + b"[" * 30000 + b"]" * 30000 + b"}", "not valid JSON"),
    (config([{"schedule": "\u00b2 * * * *", "path": "/x"}]), "cron[0]: invalid schedule: minute"),
    (config([{"schedule": "*/\u00b2 * * * *", "path": "/x"}]), "cron[0]: invalid schedule: minute"),
    (config([{"schedule": "1-\u0663 * * * *", "path": "/x"}]), "cron[0]: invalid schedule: minute"),
])
def test_hostile_configs_are_refused_not_crashed_on(data, words):
    # Deep nesting (RecursionError) and non-ASCII digits ("\u00b2".isdigit() is True, int() refuses
    # it) once escaped as a 500 at deploy time, and stopped every site's cron checks.
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert words in str(caught.value)


@pytest_twisted.ensureDeferred
async def test_a_deploy_with_a_deeply_nested_config_is_refused(server):
    files = {"main.js": "res.send('x')", "fazt.json": b"[" * 60000}
    assert_error(await server.deploy("jobs", files), 400, "VALIDATION_FAILED", "fazt.json")


def test_cron_needs_an_app():
    with pytest.raises(ConfigError, match="main.js"):
        check_deploy(config([{"schedule": "@hourly", "path": "/"}]), is_app=False)


@pytest_twisted.ensureDeferred
async def test_a_deploy_with_an_invalid_schedule_is_refused(server):
    files = {"main.js": "res.send('x')", "fazt.json": config([{"schedule": "*/5 * * *", "path": "/t"}])}
    error = assert_error(await server.deploy("jobs", files), 400, "VALIDATION_FAILED", "fazt.json")
    assert "cron[0]: invalid schedule" in error["message"]
    assert (await server.get("/", "jobs.example.test")).code == 404  # nothing was written


@pytest_twisted.ensureDeferred
async def test_a_deploy_with_a_valid_schedule_is_accepted(server):
    files = {"main.js": "res.send('x')", "fazt.json": config([{"schedule": "*/5 * * * *", "path": "/t"}])}
    response = await server.deploy("jobs", files)
    assert response.code == 200, response.body
    assert (await server.get("/fazt.json", "jobs.example.test")).body == b"x"  # config is never served
