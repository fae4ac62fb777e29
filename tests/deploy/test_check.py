"""Which files of an upload are checked before a deploy, and how a refusal reads (SPEC §14)."""

from __future__ import annotations

from fazt.deploy.check import code_entries, invalid_script, is_function_file
from fazt.runtime.code import CheckResult


def test_entries_are_main_js_then_the_function_modules():
    paths = {"index.html", "main.js", "api/hello.js", "api/users/[id].mjs", "api/_shared.js",
             "api/_lib/db.js", "api/data.json", "api/node_modules/x/index.js", "node_modules/hono/dist/index.js",
             "lib/main.js"}
    assert code_entries(paths) == ["main.js", "api/hello.js", "api/users/[id].mjs"]


def test_a_static_site_has_nothing_to_check():
    assert code_entries({"index.html", "app.js", "vendor/main.js"}) == []


def test_function_files_follow_the_route_rules():
    assert is_function_file("api/main.js") and is_function_file("api/files/[...path].js")
    assert not is_function_file("api/_hidden/x.js") and not is_function_file("api/readme.md")
    assert not is_function_file("apis/x.js")


def test_a_refusal_reads_like_a_compiler_error_and_carries_file_and_line():
    error = invalid_script(CheckResult(False, "api/broken.js", 3, "SyntaxError: unexpected token"))
    assert error.status == 400
    assert error.envelope() == {"error": {
        "code": "INVALID_SCRIPT", "message": "api/broken.js:3: SyntaxError: unexpected token",
        "details": {"file": "api/broken.js", "line": 3, "message": "SyntaxError: unexpected token"}}}


def test_a_refusal_without_a_line_still_names_the_file():
    error = invalid_script(CheckResult(False, "api/a.js", None, "could not resolve './missing.js'"))
    assert error.message == "api/a.js: could not resolve './missing.js'"


def test_a_check_that_could_not_finish_says_so_without_a_file():
    error = invalid_script(CheckResult(False, None, None, "the code could not be checked: busy"))
    assert error.message == "the code could not be checked: busy"
    assert error.details == {"file": None, "line": None, "message": "the code could not be checked: busy"}
