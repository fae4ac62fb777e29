"""C{X-Fazt-Cron: 1} marks scheduled runs only: a visitor cannot send it to a site's main.js."""

from __future__ import annotations

import pytest_twisted

SCRIPT = """res.send(req.headers["x-fazt-cron"] === undefined ? "visitor" : "cron:" + req.headers["x-fazt-cron"]);"""


@pytest_twisted.ensureDeferred
async def test_a_visitor_cannot_pose_as_the_scheduler(server):
    # A script tells its scheduled runs (README: "the header X-Fazt-Cron: 1") from visitors by
    # this header, e.g. to guard /tasks/purge; a visitor sending it must not get through.
    assert (await server.deploy("jobs", {"main.js": SCRIPT})).code == 200
    for name in ("X-Fazt-Cron", "x-fazt-cron"):
        page = await server.request("GET", "/tasks/purge", host="jobs.example.test", headers={name: "1"})
        assert (page.code, page.body) == (200, b"visitor")
    page = await server.request("POST", "/tasks/purge", host="jobs.example.test", headers={"X-Fazt-Cron": "1"},
                                body=b"x")
    assert (page.code, page.body) == (200, b"visitor")
