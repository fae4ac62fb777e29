"""Deploy from Git (SPEC §15) on a real twistd, from a real repository served by C{git http-backend}
on 127.0.0.1: a ref and a folder through the CLI and through the API, the deployments' sources, a
linked site redeployed by a signed push, a bad signature refused with nothing changed, a push to
another branch ignored, and private addresses refused (loopback too, unless the test-only
allowance names that very port)."""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request

from git_testing import git_server  # noqa: F401

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def call(server, method: str, path: str, token: str = None, body=None, headers=None, raw: bytes = None):
    """(status, parsed JSON) of one request to the admin host."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(f"http://127.0.0.1:{server.port}{path}", data=data, method=method,
                                     headers={"Host": "admin.example.test", "Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {token}"} if token else {}),
                                              **(headers or {})})
    try:
        with _OPENER.open(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deployments(server, token, site="blog"):
    status, answer = call(server, "GET", f"/api/sites/{site}/deployments", token)
    assert status == 200, answer
    return answer["data"]


def test_deploy_a_ref_and_a_folder_link_and_redeploy_on_a_signed_push(twistd, fz, cli_env, git_server):
    repo = git_server.repo("site")
    first = repo.commit({"index.html": "main one", "app/index.html": "app one"})
    dev = repo.commit({"index.html": "dev one"}, branch="dev")
    server = twistd.start(args=("--unsafe-git-fetch-allow", f"127.0.0.1:{git_server.port}"))
    token = fz.create_token(cli_env, server.db)
    cli = ("--server", server.url, "--token", token)

    # The CLI, a branch: the server fetches it and records where the deployment came from.
    done = fz.run_fazt(cli_env, "deploy", "--git", f"{git_server.url('site')}#dev", "--site", "blog", *cli)
    assert done.returncode == 0, done.stderr
    assert dev in done.stdout
    assert server.get("/", "blog.example.test") == (200, b"dev one")
    newest = deployments(server, token)[0]
    assert (newest["source_url"], newest["source_ref"], newest["source_commit"]) == (
        git_server.url("site"), "refs/heads/dev", dev)

    # The CLI, a folder of the default branch (the remote's HEAD): its files become the top.
    done = fz.run_fazt(cli_env, "deploy", "--git", git_server.url("site"), "--dir", "app", "--site", "blog", *cli)
    assert done.returncode == 0, done.stderr
    assert server.get("/", "blog.example.test") == (200, b"app one")
    assert deployments(server, token)[0]["source_commit"] == first

    # The API, linked to main: the webhook URL and its secret come back once.
    status, answer = call(server, "POST", "/api/sites/blog/git", token,
                          {"url": git_server.url("site"), "ref": "main", "link": True})
    assert status == 200, answer
    data = answer["data"]
    assert (data["source_ref"], data["source_commit"]) == ("refs/heads/main", first)
    assert data["webhook_url"] == f"http://admin.example.test/webhook/git/blog"
    secret = data["webhook_secret"]
    assert server.get("/", "blog.example.test") == (200, b"main one")
    status, link = call(server, "GET", "/api/sites/blog/git", token)
    assert status == 200 and "webhook_secret" not in link["data"] and secret not in json.dumps(link)

    second = repo.commit({"index.html": "main two"})
    push = json.dumps({"ref": "refs/heads/main", "after": second}).encode()
    before = deployments(server, token)

    # A wrong or missing signature: 401, nothing fetched, nothing switched.
    for headers in ({"X-Hub-Signature-256": sign("not the secret", push)}, {}):
        status, answer = call(server, "POST", "/webhook/git/blog", raw=push, headers=headers)
        assert (status, answer["error"]["code"]) == (401, "INVALID_SIGNATURE")
    assert deployments(server, token) == before
    assert server.get("/", "blog.example.test") == (200, b"main one")

    # A signed push to another branch: accepted and ignored.
    other = json.dumps({"ref": "refs/heads/dev", "after": dev}).encode()
    status, answer = call(server, "POST", "/webhook/git/blog", raw=other,
                          headers={"X-Hub-Signature-256": sign(secret, other), "X-GitHub-Event": "push"})
    assert (status, answer["data"]["ignored"]) == (202, True)
    assert deployments(server, token) == before

    # A signed push to main: the new commit is deployed.
    status, answer = call(server, "POST", "/webhook/git/blog", raw=push,
                          headers={"X-Hub-Signature-256": sign(secret, push), "X-GitHub-Event": "push"})
    assert status == 200, answer
    assert answer["data"]["source_commit"] == second
    assert server.get("/", "blog.example.test") == (200, b"main two")
    assert deployments(server, token)[0]["source_commit"] == second


def test_private_addresses_are_refused(twistd, fz, cli_env, git_server):
    repo = git_server.repo("site")
    repo.commit({"index.html": "one"})
    server = twistd.start()  # no allowance: loopback is as private as 10.0.0.1
    token = fz.create_token(cli_env, server.db)
    for url in ("http://10.0.0.1/x.git", git_server.url("site"), f"http://localhost:{git_server.port}/site.git",
                "file:///etc/passwd"):
        status, answer = call(server, "POST", "/api/sites/blog/git", token, {"url": url})
        assert (status, answer["error"]["code"]) == (400, "GIT_URL_BLOCKED"), (url, answer)
    done = fz.run_fazt(cli_env, "deploy", "--git", "http://10.0.0.1/x.git", "--site", "blog",
                       "--server", server.url, "--token", token)
    assert done.returncode == 1
    assert done.stderr.startswith("error: ") and "GIT_URL_BLOCKED" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    status, _ = call(server, "GET", "/api/sites/blog", token)
    assert status == 404  # nothing was deployed


def test_the_allowance_is_refused_in_production(twistd, git_server):
    server = twistd.spawn(args=("--env", "production", "--unsafe-git-fetch-allow", f"127.0.0.1:{git_server.port}"))
    assert server.proc.wait(30) != 0
    assert "refused with --env production" in server.log()
