"""The real C{fazt deploy} asks for C{100 Continue}: a wrong token costs no upload.

The CLI runs as a subprocess against a fazt server in this process whose listener counts the
bytes it receives, so the test sees how much of the archive crossed the wire.
"""

from __future__ import annotations

import os

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.utils import getProcessOutputAndValue
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory

from fazt_testing import start_server, stop_server

MIB = 1024 * 1024


class _Counting(ProtocolWrapper):
    def dataReceived(self, data: bytes) -> None:
        self.factory.received += len(data)
        super().dataReceived(data)


class CountingFactory(WrappingFactory):
    """Serves C{site}, counting every byte clients send."""

    protocol = _Counting
    received = 0


@pytest.fixture
def counted(tmp_path):
    server = start_server(str(tmp_path / "data.db"))
    counting = CountingFactory(server.listener.factory)
    listener = reactor.listenTCP(0, counting, interface="127.0.0.1")
    yield server, counting, f"http://127.0.0.1:{listener.getHost().port}"
    pytest_twisted.blockon(listener.stopListening())
    stop_server(server)


def site_dir(root, size: int):
    root.mkdir()
    (root / "index.html").write_bytes(b"<h1>big</h1>")
    (root / "blob.bin").write_bytes(os.urandom(size))  # random: the archive is as large
    return root


async def fazt(fz, env, *args):
    out, err, code = await getProcessOutputAndValue(fz.FAZT, args, env=env)
    return out.decode(), err.decode(), code


@pytest_twisted.ensureDeferred
async def test_deploy_with_a_wrong_token_uploads_nothing_and_says_why(fz, counted, tmp_path, cli_env):
    server, counting, url = counted
    directory = site_dir(tmp_path / "site", 4 * MIB)
    out, err, code = await fazt(fz, cli_env, "deploy", str(directory), "--site", "blog",
                                "--server", url, "--token", "wrong")
    assert code != 0
    assert err.strip().splitlines()[-1] == "error: invalid or revoked API key (INVALID_API_KEY)", err
    assert "Traceback" not in err
    assert counting.received < 64 * 1024  # the request's headers, not the 4 MiB archive


@pytest_twisted.ensureDeferred
async def test_deploy_with_a_good_token_goes_through_after_100_continue(fz, counted, tmp_path, cli_env):
    server, counting, url = counted
    directory = site_dir(tmp_path / "site", MIB)
    out, err, code = await fazt(fz, cli_env, "deploy", str(directory), "--site", "blog",
                                "--server", url, "--token", server.admin_token)
    assert code == 0, err
    assert "deployment id" in out
    assert counting.received > MIB
    page = await server.get("/", "blog.example.test")
    assert page.body == b"<h1>big</h1>"
