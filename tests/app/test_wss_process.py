"""A wss:// chat on the real twistd behind automatic HTTPS (C{--https tcp:}), before any certificate.

Issue 11: with certificates chosen by SNI (the C{tcp:} listener) every WebSocket handshake failed
(C{AttributeError: ... autoPingPendingCall} in the log). Here the process runs with C{--no-acme},
so the self-signed fallback answers; the clients trust that certificate, send SNI and verify the
name, as browsers do once a certificate is issued. Pings are on (the default).
"""

from __future__ import annotations

import ssl

import pytest_twisted
from twisted.internet.ssl import Certificate, optionsForClientTLS

from wsclient import close_all, join

CHAT = """<!doctype html><script>
const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
ws.onmessage = (e) => document.body.append(e.data);
</script>"""


@pytest_twisted.ensureDeferred
async def test_wss_chat_relays_behind_automatic_https_with_the_fallback_certificate(twistd, fz, cli_env, tmp_path):
    https_port = fz.free_port()
    server = twistd.start(args=("--https", f"tcp:{https_port}:interface=127.0.0.1", "--no-acme"))
    token = fz.create_token(cli_env, server.db)
    deployed = fz.cli_deploy(cli_env, server, token, fz.write_tree(tmp_path / "chat", {"index.html": CHAT}),
                             site="chat")
    assert deployed.returncode == 0, deployed.stderr

    name = f"chat.{fz.DOMAIN}"
    host = f"{name}:{https_port}"
    fallback = Certificate.loadPEM(ssl.get_server_certificate(("127.0.0.1", https_port)).encode("ascii"))
    tls = optionsForClientTLS(name, trustRoot=fallback)
    alice = await join(https_port, host, origin=f"https://{host}", tls=tls)
    bob = await join(https_port, host, tls=optionsForClientTLS(name, trustRoot=fallback), deflate=True)
    try:
        alice.sendMessage(b"hello over wss")
        assert await alice.messages(1) == ["hello over wss"]
        assert await bob.messages(1) == ["hello over wss"]
        bob.sendMessage(b"\x00\x01binary back", isBinary=True)
        assert await alice.messages(2) == ["hello over wss", b"\x00\x01binary back"]
        assert await bob.messages(2) == ["hello over wss", b"\x00\x01binary back"]
    finally:
        await close_all([alice, bob])
    log = server.log()
    assert "Traceback" not in log and "Unhandled Error" not in log, log
