"""The dashboard end to end, as an owner uses it: real twistd, real Chromium, real zips.

One browser and one server for the module; the steps build on each other in one test (a
deploy is what the rollback, the env var and the logs act on), with each step's check next to
the action.
"""

from __future__ import annotations

import base64
import os
import re
import time

SITE = "shop"
APP = "counter"
APP_JS = 'console.log("visit " + req.path); res.send("FOO=" + (process.env.FOO || "unset"));'


def deployed_id(page, where: str = "#toast") -> int:
    """The id a deploy reports: in the toast (the Sites page moves on to the new site at once) or
    in the deploy box's own status line (where a toast may still show an earlier deploy)."""
    found = page.wait_for_function(
        "where => { const el = document.querySelector(where);"
        " const m = el && /Deployed .*: deployment #(\\d+)/.exec(el.textContent); return m && m[1]; }", arg=where)
    return int(found.json_value())


def site_text(server, name: str, path: str = "/") -> str:
    # Python's resolver does not know NAME.localhost (Chromium does): the Host header says it.
    status, _, body = server.get(f"http://127.0.0.1:{server.port}{path}", {"Host": f"{name}.localhost"})
    return f"{status} {body.decode(errors='replace')}"


def api_status(server, path: str, token: str) -> int:
    return server.get(server.base + path, {"Authorization": f"Bearer {token}"})[0]


def test_owner_flow(server, browser, helpers, tmp_path):
    context, page = helpers.new_page(browser)
    provoked = {(401, "/api/auth/status"), (401, "/api/login"), (401, "/api/audit"), (400, "/api/redirects")}
    watch = helpers.PageWatch(page, ignore_status=provoked)

    # Log in: a wrong password is explained beside the form; remember-me gives a 7-day cookie.
    page.goto(server.base + "/sites")
    page.wait_for_url("**/login?next=%2Fsites")
    page.fill("input[name=password]", "wrong password")
    page.click("form button[type=submit]")
    assert "Invalid username or password" in page.wait_for_selector("form .error[role=alert]").inner_text()
    page.fill("input[name=password]", helpers.PASSWORD)
    page.check("input[name=remember_me]")
    page.click("form button[type=submit]")
    page.wait_for_selector("h1:has-text('Sites')")  # back where the login started
    cookie = next(c for c in context.cookies() if c["name"] == "fazt_session")
    assert cookie["httpOnly"] and cookie["expires"] > time.time() + 6 * 86400

    # Deploy a zip by upload: the new site opens on its page and serves the content.
    page.fill("input[name=site_name]", SITE)
    page.set_input_files("input[name=file]", files=[{"name": "shop.zip", "mimeType": "application/zip",
                                                     "buffer": helpers.make_zip({"index.html": "<h1>v1</h1>"})}])
    first = deployed_id(page)
    page.wait_for_url(f"**/sites/{SITE}")
    page.wait_for_selector(f"button[role=tab][aria-selected=true]:has-text('Deployments')")
    with context.expect_page() as opened:
        page.click("#open-site")
    tab = opened.value
    tab.wait_for_load_state()
    assert tab.inner_text("h1") == "v1"
    tab.close()

    # A second version dropped on the page (a zip in a drag-and-drop DataTransfer), its upload
    # progress shown on the way, then rolled back.
    archive = helpers.make_zip({"index.html": "<h1>v2</h1>", "blob.bin": os.urandom(1 << 20)})
    transfer = page.evaluate_handle(
        "b64 => { const dt = new DataTransfer(); const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));"
        " dt.items.add(new File([bytes], 'shop-v2.zip', {type: 'application/zip'})); return dt; }",
        base64.b64encode(archive).decode())
    page.evaluate("() => { const bar = document.querySelector('.drop progress'); window.progressSeen = [];"
                  " new MutationObserver(() => progressSeen.push(bar.value)).observe(bar, {attributes: true}); }")
    page.dispatch_event("main h1", "drop", {"dataTransfer": transfer})  # anywhere on the page
    second = deployed_id(page, ".drop [aria-live]")
    assert page.evaluate("Math.max(...progressSeen)") == 1
    assert second > first
    assert "v2" in site_text(server, SITE)
    page.wait_for_selector(f"button[data-rollback='{first}']")
    assert "+1" in page.inner_text(f"tr:has-text('#{second}')")  # v2 has one file more than v1
    assert "+1.0 MiB" in page.inner_text(f"tr:has-text('#{second}')")
    page.click(f"button[data-rollback='{first}']")
    page.wait_for_selector(f"tr:has-text('#{first}') .badge:has-text('live')")
    assert site_text(server, SITE) == "200 <h1>v1</h1>"

    # An app reads an env var set here; its console.log appears in the live logs.
    # This one is deployed as a folder: zipped in the browser, dot-files left out.
    folder = tmp_path / APP
    (folder / "lib").mkdir(parents=True)
    (folder / "main.js").write_text(APP_JS)
    (folder / "lib" / "notes.txt").write_text("nested")
    (folder / ".env").write_text("SECRET=never-uploaded")
    page.goto(server.base + "/sites")
    page.fill("input[name=site_name]", APP)
    page.set_input_files("input[webkitdirectory]", str(folder))
    deployed_id(page)
    assert site_text(server, APP) == "200 FOO=unset"
    page.click("button[role=tab]:has-text('Files')")
    page.click("button.mono:text-is('lib/')")
    page.wait_for_selector("button.mono:text-is('notes.txt')")
    assert ".env" not in page.inner_text("[role=tabpanel]")
    page.click("button[role=tab]:has-text('Env vars')")
    page.fill("input[name=name]", "FOO")
    page.fill("input[name=value]", "from-the-dashboard")
    page.click("form button[type=submit]:has-text('Set')")
    page.wait_for_selector("button[data-unset=FOO]")
    assert site_text(server, APP) == "200 FOO=from-the-dashboard"
    page.click("button[role=tab]:has-text('Live logs')")
    page.wait_for_selector("#stream-state:text-is('Live')")
    site_text(server, APP, "/streamed-line")
    page.wait_for_selector("ol.log li:has-text('visit /streamed-line')")

    # API keys: created with a scope, the token shown once and working, then revoked.
    page.click("#nav a:has-text('API keys')")
    page.fill("input[name=name]", "ci-deploys")
    page.select_option("select[name=scopes]", "deploy")
    page.fill("input[name=site]", SITE)
    page.click("form button[type=submit]")
    token = page.wait_for_selector("#new-token").inner_text()
    assert token.startswith("fazt_")
    assert page.inner_text("tr:has-text('ci-deploys')").count(f"deploy:{SITE}") == 1
    # The key is live (it is known, and refused only because it may do nothing but deploy).
    assert api_status(server, f"/api/sites/{SITE}", token) == 403
    page.click("button[data-revoke=ci-deploys]")
    page.wait_for_selector("tr:has-text('ci-deploys')", state="detached")
    assert api_status(server, f"/api/sites/{SITE}", token) == 401

    # A redirect: created here, followed once, its click counted. The server's refusal of a bad
    # destination is shown beside that field.
    page.click("#nav a:has-text('Redirects')")
    page.fill("input[name=slug]", "docs")
    page.fill("input[name=destination]", "ftp://example.com/docs")
    page.click("form button[type=submit]")
    refusal = page.wait_for_selector("label:has(input[name=destination]) + .error[role=alert]")
    assert refusal.inner_text() == "destination must be an http or https URL"
    assert page.get_attribute("input[name=destination]", "aria-invalid") == "true"
    page.fill("input[name=destination]", "https://example.com/docs")
    page.click("form button[type=submit]")
    page.wait_for_selector(".error", state="detached")
    page.wait_for_selector("[data-clicks=docs]:text-is('0')")
    answer = context.request.get(server.base + "/r/docs", max_redirects=0)
    assert (answer.status, answer.headers["location"]) == (302, "https://example.com/docs")
    page.reload()
    page.wait_for_selector("[data-clicks=docs]:text-is('1')")
    page.click("button[data-edit=docs]")
    page.fill("input[name=destination]", "https://example.com/moved")
    page.click("form button[type=submit]:has-text('Save /r/docs')")
    page.wait_for_selector("tr:has-text('/r/docs') code:text-is('https://example.com/moved')")
    assert context.request.get(server.base + "/r/docs", max_redirects=0).headers["location"] == "https://example.com/moved"

    # Deleting a site asks first, then the site is gone from the list and from its host.
    page.goto(server.base + f"/sites/{SITE}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('Delete site')")
    page.wait_for_url("**/sites")
    page.wait_for_selector("a[href='/sites/counter']")
    assert page.query_selector(f"a[href='/sites/{SITE}']") is None
    assert site_text(server, SITE).startswith("404")

    # A backup of the whole cartridge downloads from the System page.
    page.click("#nav a:has-text('System')")
    with page.expect_download() as download:
        page.click("#backup")
    with open(download.value.path(), "rb") as backup:
        assert backup.read(16) == b"SQLite format 3\x00"
    assert download.value.suggested_filename.endswith(".db")

    # A session that ends underneath the page (here: its cookie is gone) sends the next API call's
    # 401 back to the login page, which then returns to where the owner was.
    context.clear_cookies()
    page.click("#nav a:has-text('Audit log')")
    page.wait_for_url("**/login?next=%2Faudit")
    helpers.login(page, server, expect="Audit log")

    # Log out: back to the login page, and the dashboard's pages need a login again.
    page.click("#logout")
    page.wait_for_selector("input[name=password]")
    page.goto(server.base + "/keys")
    page.wait_for_url("**/login?next=%2Fkeys")
    # Only the errors provoked above: each is also a console line ("Failed to load resource").
    assert all(re.search(r"\b(401|400)\b", p) for p in watch.problems), watch.problems
    context.close()


def test_login_lockout_message(server, browser, helpers):
    """After five wrong passwords the server's lockout (429) is what the form says."""
    context, page = helpers.new_page(browser)
    page.goto(server.base + "/login")
    # Counted per address; the flow test above made one failure from this same address.
    for _ in range(6):
        page.fill("input[name=password]", "not it")
        page.click("form button[type=submit]")
        page.wait_for_selector("form .error[role=alert]")
        if "Invalid" not in page.inner_text("form .error"):
            break
    message = page.inner_text("form .error")
    assert "Invalid" not in message and "undefined" not in message
    assert re.search(r"too many|try again", message, re.IGNORECASE), message
    context.close()
