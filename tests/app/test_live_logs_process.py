"""A real twistd and a real C{fazt logs SITE --follow}: a console line of a request is printed
within a second (through the live stream, C{/api/logs/stream})."""

from __future__ import annotations

import subprocess
import threading
import time



def test_follow_prints_a_console_line_within_a_second(tmp_path, twistd, cli_env, fz):
    server = twistd.start()
    token = fz.create_token(cli_env, server.db, "t", "admin")
    site = fz.write_tree(tmp_path / "site", {"main.js": "console.log('live ' + req.path); res.send('ok');"})
    assert fz.cli_deploy(cli_env, server, token, site, "app").returncode == 0
    proc = subprocess.Popen([fz.FAZT, "logs", "app", "--follow", "--server", server.url, "--token", token],
                            env={**cli_env, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    lines: list[str] = []
    threading.Thread(target=lambda: [lines.append(line) for line in proc.stdout], daemon=True).start()
    try:
        time.sleep(1.0)  # the stream is open
        status, _ = fz.http_get(server.port, "/first", host=f"app.{fz.DOMAIN}")
        assert status == 200
        sent = time.monotonic()
        while time.monotonic() - sent < 1.0 and not any("live /first" in line for line in lines):
            time.sleep(0.02)
        assert any(line.rstrip().endswith("live /first") for line in lines), (lines, proc.poll())
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stderr.close()

