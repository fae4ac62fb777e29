"""After the bus says messages may have been lost (RESYNC), the caches read the store again.

Another node changes the store without this process hearing of it (as while its PostgreSQL
listener was down): the caches keep the old state until RESYNC, then serve the new one.
"""

from __future__ import annotations

import hashlib
import time

import pytest
import pytest_twisted
from twisted.internet import reactor

from fazt.base.bus import RESYNC, LocalBus
from fazt.runtime.host import HostApi
from fazt.runtime.pool import WorkerPool
from fazt.runtime.scriptrequest import script_request
from fazt.store.batch import BatchWriter
from fazt.store.blobcache import ByteLRU
from fazt.store.db import Store
from fazt.store.envvars import set_env_var
from fazt.store.sites import BlobContent, NewFile, commit_deployment
from fazt.app.nodes import follow_resync
from fazt.web.apps import AppRenderer
from fazt.web.sitestate import SiteIndex
from fazt_testing import fresh_cartridge

SCRIPT = "export default async function (req) { return new Response(process.env.WORD || 'none'); }"


def files(data: bytes) -> list[NewFile]:
    return [NewFile("main.js", hashlib.sha256(data).hexdigest(), len(data), "text/javascript",
                    lambda: BlobContent(data, None, None))]


@pytest.fixture
def parts(tmp_path):
    db = str(tmp_path / "data.db")
    fresh_cartridge(db)
    store = Store(db, reactor)
    store.startService()
    index = SiteIndex(store, ByteLRU(1 << 20))
    writer = BatchWriter(store)
    pool = WorkerPool(reactor, HostApi(store, writer, None, clock=reactor), size=1)
    pool.startService()
    apps = AppRenderer(pool, store, writer, index, clock=reactor)
    bus = LocalBus()
    follow_resync(bus, index, apps)
    yield store, index, apps, bus
    pytest_twisted.blockon(pool.stopService())
    stopped = store.stopService()
    if stopped is not None:
        pytest_twisted.blockon(stopped)


async def answer(index, apps, site):
    state = await index.load(site)
    request = script_request(b"GET", b"/", [(b"host", [b"s.example.test"])], b"", "127.0.0.1", "s.example.test")
    result = await apps.run(state, request)
    assert result.failure is None, (result.failure, result.message)
    return result.response["body"]


@pytest_twisted.ensureDeferred
async def test_resync_makes_the_site_index_and_the_environments_read_the_store_again(parts):
    store, index, apps, bus = parts
    first, _ = await store.write(commit_deployment, "s", files(SCRIPT.encode()), "t", time.time(), 20)
    assert await answer(index, apps, "s") == "none"
    # Another node deploys and sets a variable; this process hears nothing.
    second, _ = await store.write(commit_deployment, "s", files(SCRIPT.encode() + b"\n//2"), "t", time.time(), 20)
    await store.write(set_env_var, "s", "WORD", "fresh", int(time.time()))
    assert (await index.load("s")).deployment.id == first.id != second.id
    assert await answer(index, apps, "s") == "none"
    bus.publish(RESYNC, {"reason": "test"})
    assert (await index.load("s")).deployment.id == second.id
    assert await answer(index, apps, "s") == "fresh"
