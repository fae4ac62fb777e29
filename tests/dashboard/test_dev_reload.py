"""`fazt dev` in a real Chromium: an open page reloads itself when a file of the folder changes, shows
the error page while a script does not compile, and comes back once it is fixed (SPEC §15).

Each check is on an outcome (the new text in a fresh document), never on how long it took: a marker
set on the old document's window must be gone, which only a reload does.
"""

from __future__ import annotations

from devserver_testing import start_dev

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>dev</title></head>
<body><h1 id="title">{title}</h1><p id="from-js"></p><script src="/app.js"></script></body></html>
"""


def mark(page) -> None:
    """Set a marker on the current document's window; a reload drops it."""
    page.evaluate("window.__beforeReload = true")


def reloaded(page) -> bool:
    return page.evaluate("window.__beforeReload === undefined")


def test_open_page_reloads_on_change_and_survives_a_broken_script(installed, browser, helpers, tmp_path):
    folder = tmp_path / "site"
    (folder / "api").mkdir(parents=True)
    (folder / "index.html").write_text(PAGE.format(title="first title"))
    (folder / "app.js").write_text("document.getElementById('from-js').textContent = 'script one';")
    (folder / "api" / "hello.js").write_text("export const GET = () => new Response('hi');\n")
    dev = start_dev(folder, tmp_path)
    context, page = helpers.new_page(browser)
    try:
        page.goto(f"http://localhost:{dev.port}/")
        page.wait_for_function("document.getElementById('from-js').textContent === 'script one'")
        assert page.text_content("#title") == "first title"

        # An edit of the page itself.
        mark(page)
        (folder / "index.html").write_text(PAGE.format(title="second title"))
        page.wait_for_function("document.getElementById('title')?.textContent === 'second title'")
        assert reloaded(page)

        # An edit of a script the page loads (the page itself is unchanged).
        mark(page)
        (folder / "app.js").write_text("document.getElementById('from-js').textContent = 'script two';")
        page.wait_for_function("document.getElementById('from-js')?.textContent === 'script two'")
        assert reloaded(page)

        # A function that does not compile: the open page becomes the error page...
        (folder / "api" / "hello.js").write_text("export const GET = () => {\n  return 1 +;\n};\n")
        page.wait_for_selector("text=INVALID_SCRIPT")
        assert page.text_content("p.where code") == "api/hello.js:2"
        assert "SyntaxError" in page.text_content("pre.message")
        # ... and the page itself again once the file is fixed.
        (folder / "api" / "hello.js").write_text("export const GET = () => new Response('fixed');\n")
        page.wait_for_function("document.getElementById('title')?.textContent === 'second title'")
        assert page.text_content("#from-js") == "script two"
        helpers.screenshot(page, "dev-reload")
    finally:
        context.close()
        dev.stop()
