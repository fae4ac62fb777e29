"""The deployments tab shows each deployment's preview link and the site's traffic split (SPEC §15):
real twistd, real Chromium."""

from __future__ import annotations

import json

SITE = "promo"


def preview_deploy(server, token, helpers, files) -> int:
    boundary = "rollout-test-boundary"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="site_name"\r\n\r\n{SITE}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="preview"\r\n\r\ntrue\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="site.zip"\r\n'
            f"Content-Type: application/zip\r\n\r\n").encode() + helpers.make_zip(files) + f"\r\n--{boundary}--\r\n".encode()
    status, answer = helpers.api(server, "POST", "/api/deploy", token, body, f"multipart/form-data; boundary={boundary}")
    assert status == 200, answer
    return json.loads(answer)["data"]["deployment_id"]


def split_of(server, token, helpers):
    status, answer = helpers.api(server, "GET", f"/api/sites/{SITE}", token)
    assert status == 200, answer
    return json.loads(answer)["data"]["split"]


def test_deployments_show_preview_links_the_split_and_promote(server, token, browser, helpers):
    live = helpers.deploy(server, token, SITE, {"index.html": "<h1>live</h1>"})
    preview = preview_deploy(server, token, helpers, {"index.html": "<h1>preview</h1>"})
    weights = {"weights": [{"deployment_id": live, "weight": 75}, {"deployment_id": preview, "weight": 25}]}
    status, answer = helpers.api(server, "PUT", f"/api/sites/{SITE}/split", token, json.dumps(weights).encode())
    assert status == 200, answer
    status, answer = helpers.api(server, "GET", f"/api/sites/{SITE}/deployments", token)
    urls = {d["id"]: d["preview_url"] for d in json.loads(answer)["data"]}

    context, page = helpers.new_page(browser)
    watch = helpers.PageWatch(page)
    helpers.login(page, server)
    # Leaving the overview while its figures still load aborts those requests (the watch reports them).
    page.wait_for_function("() => !document.querySelector('main').innerText.includes('Loading')")
    page.goto(server.base + f"/sites/{SITE}")
    for deployment_id in (live, preview):
        link = page.wait_for_selector(f"a[data-preview='{deployment_id}']")
        assert link.get_attribute("href") == urls[deployment_id]
        assert f"d{deployment_id}--{SITE}." in link.inner_text()
        assert link.get_attribute("rel") == "noopener noreferrer"
    split = page.wait_for_selector("[data-split]:has-text('Traffic split')").inner_text()
    assert f"#{live} 75%" in split and f"#{preview} 25%" in split

    page.click("button[data-end-split]")
    page.wait_for_selector("#toast:has-text('to everyone')")
    assert split_of(server, token, helpers) is None
    page.click(f"button[data-rollback='{preview}']:has-text('Promote')")
    page.wait_for_selector(f"tr:has-text('#{preview}') .badge:has-text('live')")
    status, _, body = server.get(f"http://127.0.0.1:{server.port}/", {"Host": f"{SITE}.localhost"})
    assert (status, body) == (200, b"<h1>preview</h1>")
    assert watch.problems == []
    context.close()
