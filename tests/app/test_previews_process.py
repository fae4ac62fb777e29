"""Previews, promote and split end to end (SPEC §15): the real fazt CLI and twistd, HTTPS with
certificates from Pebble (the preview's host gets its own when the preview is stored)."""

from __future__ import annotations

import re
import socket
import ssl

WAIT = 60.0
DOMAIN = "example.test"


def https_get(port: int, host: str, root_pem: str, cookie: str = "") -> tuple[bytes, bytes]:
    """GET / over TLS verified against Pebble's root for C{host}: (head, body)."""
    context = ssl.create_default_context(cadata=root_pem)
    extra = f"Cookie: {cookie}\r\n" if cookie else ""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            tls.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n".encode())
            reply = b""
            while chunk := tls.recv(65536):
                reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    return head.lower(), body


def certified(port: int, host: str, root_pem: str):
    """The page at C{host} once its certificate verifies (None while the self-signed fallback answers)."""
    try:
        return https_get(port, host, root_pem)
    except ssl.SSLCertVerificationError:
        return None


def deployment_id(stdout: str) -> int:
    return int(re.search(r"deployment id:\s+(\d+)", stdout).group(1))


def test_a_preview_is_served_under_https_at_its_host_then_promoted_and_split(twistd, fz, cli_env, pebble, tmp_path):
    https_port = fz.free_port()
    server = twistd.start(port=pebble.http_port, args=(
        "--https", f"tcp:{https_port}:interface=127.0.0.1", "--acme-directory", pebble.directory,
        "--acme-ca-bundle", pebble.ca_bundle, "--acme-email", "ops@example.test"))
    token = fz.create_token(cli_env, server.db)
    client = ("--server", server.url, "--token", token)
    root = pebble.root_pem()
    live_host = f"blog.{DOMAIN}"

    old = fz.write_tree(tmp_path / "v1", {"index.html": "<h1>v1</h1>"})
    deployed = fz.cli_deploy(cli_env, server, token, old, site="blog")
    assert deployed.returncode == 0, deployed.stderr
    old_id = deployment_id(deployed.stdout)
    fz.wait_for(lambda: certified(https_port, live_host, root), "the site's certificate", server, WAIT)

    new = fz.write_tree(tmp_path / "v2", {"index.html": "<h1>v2</h1>"})
    preview = fz.run_fazt(cli_env, "deploy", str(new), "--site", "blog", "--preview", *client)
    assert preview.returncode == 0, preview.stderr
    new_id = deployment_id(preview.stdout)
    preview_host = f"d{new_id}--blog.{DOMAIN}"
    assert f"http://{preview_host}" in preview.stdout   # the URL to share (plain until its certificate is served)

    head, body = fz.wait_for(lambda: certified(https_port, preview_host, root), "the preview's certificate",
                             server, WAIT)
    assert head.startswith(b"http/1.1 200") and body == b"<h1>v2</h1>"
    assert b"x-robots-tag: noindex" in head
    head, body = https_get(https_port, live_host, root)
    assert body == b"<h1>v1</h1>" and b"x-robots-tag" not in head

    promoted = fz.run_fazt(cli_env, "promote", "blog", str(new_id), *client)
    assert promoted.returncode == 0, promoted.stderr
    assert https_get(https_port, live_host, root)[1] == b"<h1>v2</h1>"

    split = fz.run_fazt(cli_env, "split", "blog", f"{old_id}=50", f"{new_id}=50", *client)
    assert split.returncode == 0, split.stderr
    head, body = https_get(https_port, live_host, root)
    cookie = re.search(rb"set-cookie: (fazt_split=(\d+)[^\r\n]*)", head)
    assert cookie is not None and b"; secure" in cookie.group(1) and b"; httponly" in cookie.group(1)
    chosen = int(cookie.group(2))
    assert body == {old_id: b"<h1>v1</h1>", new_id: b"<h1>v2</h1>"}[chosen]
    for _ in range(5):
        assert https_get(https_port, live_host, root, cookie=f"fazt_split={chosen}")[1] == body
    shown = fz.run_fazt(cli_env, "split", "blog", "--off", *client)
    assert shown.returncode == 0, shown.stderr
    for _ in range(3):
        head, body = https_get(https_port, live_host, root, cookie=f"fazt_split={old_id}")
        assert body == b"<h1>v2</h1>" and b"set-cookie" not in head


def test_the_commands_explain_themselves_and_fail_in_one_line(twistd, fz, cli_env, tmp_path):
    for command in (("promote", "--help"), ("split", "--help"), ("deploy", "--help")):
        result = fz.run_fazt(cli_env, *command)
        assert result.returncode == 0 and "usage: fazt" in result.stdout
    assert "--preview" in fz.run_fazt(cli_env, "deploy", "--help").stdout
    server = twistd.start()
    token = fz.create_token(cli_env, server.db)
    client = ("--server", server.url, "--token", token)
    site = fz.write_tree(tmp_path / "site", {"index.html": "x"})
    assert fz.cli_deploy(cli_env, server, token, site, site="blog").returncode == 0
    for args in (("promote", "blog", "424242"), ("promote", "ghost", "1"), ("split", "blog", "1=x"),
                 ("split", "blog"), ("split", "blog", "1=50", "424242=50"),
                 ("deploy", str(site), "--site", "ghost", "--preview")):
        result = fz.run_fazt(cli_env, *args, *client)
        assert result.returncode == 1, (args, result.stdout)
        errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and result.stderr.strip().endswith(errors[0]), (args, result.stderr)
