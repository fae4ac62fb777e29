"""The README's first command: C{make run} (scripts/run-demo.sh) serves a demo site and the dashboard."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request

from fazt_testing import REPO

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get(port: int, host: str, path: str = "/", body=None, headers=None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body,
                                     headers={"Host": host, **(headers or {})})
    try:
        with OPENER.open(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_run_demo_serves_the_example_site_and_the_dashboard(tmp_path, fazt_env, fz):
    port = fz.free_port()
    env = {**fazt_env, "FAZT_PORT": str(port), "FAZT_DEMO_DIR": str(tmp_path / "demo")}
    log_path = tmp_path / "demo.log"
    with open(log_path, "wb") as log:
        demo = subprocess.Popen([os.path.join(REPO, "scripts", "run-demo.sh")], env=env, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while b"Ctrl-C stops the server." not in log_path.read_bytes():
            assert demo.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        status, page = get(port, f"hello.localhost:{port}")
        assert status == 200 and b"<html" in page
        assert get(port, f"localhost:{port}")[0] == 200          # the dashboard's shell
        password = (tmp_path / "demo" / "admin-password").read_text().strip()
        assert oct((tmp_path / "demo" / "admin-password").stat().st_mode & 0o777) == "0o600"
        status, body = get(port, f"localhost:{port}", "/api/login", json.dumps(
            {"username": "admin", "password": password}).encode(), {"Content-Type": "application/json"})
        assert status == 200, body
        token = (tmp_path / "demo" / "token").read_text().strip()
        status, body = get(port, f"localhost:{port}", "/api/sites", headers={"Authorization": f"Bearer {token}"})
        assert status == 200 and "hello" in [site["name"] for site in json.loads(body)["data"]]
        assert password not in log_path.read_text()  # kept in its file, never printed
    finally:
        os.killpg(demo.pid, signal.SIGTERM)
        try:
            demo.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait(5)
