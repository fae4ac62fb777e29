"""The host side of db.* calls against a real cartridge: atomic increments, site scoping, errors."""

from __future__ import annotations

import pytest
import pytest_twisted
from twisted.internet.defer import gatherResults
from twisted.internet.task import Clock

from twisted.internet.defer import succeed

from fazt.runtime.code import CodeBundle
from fazt.runtime.host import HostApi, HostCallError, module_call
from fazt.store.batch import BatchWriter
from fazt.store.kv import KVError

NOW = 1_000_000.0


class NoFetch:
    def fetch(self, url, method="GET", headers=None, body=None):
        raise AssertionError("no fetch expected")


@pytest.fixture
def host(store):
    clock = Clock()
    clock.advance(NOW)
    api = HostApi(store, BatchWriter(store), NoFetch(), clock=clock)
    api.clock = clock
    return api


@pytest_twisted.ensureDeferred
async def test_concurrent_increments_never_lose_an_update(host):
    calls = [host.call(site, "db.incr", ["hits"], {}) for _ in range(400) for site in ("a", "b")]
    calls += [host.call("a", "db.incr", ["hits", 10], {}) for _ in range(50)]
    results = await gatherResults(calls)
    assert await host.call("a", "db.get", ["hits"], {}) == 400 + 500
    assert await host.call("b", "db.get", ["hits"], {}) == 400
    # Each increment saw its own total: b's answers are exactly 1..400, in some order.
    assert sorted(results[1:800:2]) == list(range(1, 401))
    assert len(set(results[0:800:2] + results[800:])) == 450


@pytest_twisted.ensureDeferred
async def test_incr_keeps_a_ttl_until_it_expires(host):
    await host.call("a", "db.set", ["n", 5, 30], {})
    assert await host.call("a", "db.incr", ["n"], {}) == 6
    host.clock.advance(30)
    assert await host.call("a", "db.get", ["n"], {}) is None
    assert await host.call("a", "db.incr", ["n", 2], {}) == 2
    host.clock.advance(970)
    assert await host.call("a", "db.get", ["n"], {}) == 2  # no longer expires


@pytest_twisted.ensureDeferred
async def test_bad_calls_are_refused_and_leave_the_counter_alone(host):
    assert await host.call("a", "db.incr", ["n"], {}) == 1
    await host.call("a", "db.set", ["word", "hello"], {})
    for args in (["word"], ["n", "1"], ["n", True], ["", 1], ["n", 1, 2]):
        with pytest.raises((HostCallError, KVError)):  # KVError when found on the writer thread
            await host.call("a", "db.incr", args, {})
    assert await host.call("a", "db.incr", ["n", 0.5], {}) == 1.5
    assert await host.call("a", "db.list", [""], {}) == [{"key": "n", "value": 1.5}, {"key": "word", "value": "hello"}]


@pytest_twisted.ensureDeferred
async def test_module_calls_read_only_the_bundles_own_files():
    files = {"main.js": "import './lib/a.js';", "lib/a.js": "export default 1;", "node_modules/x/index.js": ""}
    asked: list = []

    def source(path):
        asked.append(path)
        return succeed(files.get(path))

    code = CodeBundle("s:1", frozenset(files), source)
    assert await module_call(code, "module.paths", []) == ["lib/a.js", "main.js", "node_modules/x/index.js"]
    assert await module_call(code, "module.source", ["lib/a.js"]) == "export default 1;"
    for outside in ("../secret", "/etc/passwd", "lib/missing.js"):
        assert await module_call(code, "module.source", [outside]) is None
    assert asked == ["lib/a.js"]  # paths outside the bundle never reach its reader
    for fn, args in (("module.source", []), ("module.source", [3]), ("module.nope", [])):
        with pytest.raises(HostCallError):
            await module_call(code, fn, args)
