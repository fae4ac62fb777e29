"""The site index (fazt.web.sitestate) on a live server: what it keeps in memory for hosts that name no site."""

from __future__ import annotations

import pytest_twisted

import fazt.web.sitestate


@pytest_twisted.ensureDeferred
async def test_unknown_site_names_are_remembered_within_a_bound(server, monkeypatch):
    # Any Host NAME.D names a "site"; remembering every unknown one forever let anyone grow the
    # server's memory without end (one request per random name, no authentication).
    monkeypatch.setattr(fazt.web.sitestate, "MAX_ABSENT", 50, raising=False)
    index = server.listener.factory.resource.sites.index
    names = [f"nosuch{i}" for i in range(200)]
    for name in names:
        assert (await server.get("/", f"{name}.example.test")).code == 404
    assert sum(1 for name in names if index.cached(name)[0]) <= 50
    # An unknown name that was remembered still becomes a site the moment it is deployed.
    assert (await server.get("/", "nosuch199.example.test")).code == 404
    assert (await server.deploy("nosuch199", {"index.html": "here"})).code == 200
    page = await server.get("/", "nosuch199.example.test")
    assert (page.code, page.body) == (200, b"here")
