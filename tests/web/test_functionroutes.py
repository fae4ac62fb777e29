"""Function routes from files under api/ (SPEC §14), fazt.web.functionroutes."""

from fazt.web.functionroutes import FunctionRoutes

SITE = [
    "index.html", "app.js", "main.css",
    "api/index.js", "api/hello.js", "api/time.mjs",
    "api/users/[id].js", "api/users/me.js", "api/users/[uid]/posts.js",
    "api/files/[...path].js",
    "api/teams/index.mjs",
    "api/_lib/db.js", "api/_helpers.js", "api/users/_shared.js",
    "api/data.json", "api/node_modules/x/index.js",
    "api/bad/[...rest]/inner.js",
]


def routes(paths=SITE):
    return FunctionRoutes.from_paths(paths)


def test_static_files_index_and_mjs_map_to_paths():
    table = routes()
    assert table.match("/api") == ("api/index.js", {})
    assert table.match("/api/hello") == ("api/hello.js", {})
    assert table.match("/api/time") == ("api/time.mjs", {})
    assert table.match("/api/teams") == ("api/teams/index.mjs", {})
    assert table.match("/api/nope") is None
    assert table.match("/") is None and table.match("/apix") is None and table.match("/index.html") is None


def test_a_static_segment_beats_a_param_which_beats_a_rest():
    table = routes(SITE + ["api/[section]/list.js", "api/[...all].js"])
    assert table.match("/api/users/me") == ("api/users/me.js", {})
    assert table.match("/api/users/42") == ("api/users/[id].js", {"id": "42"})
    assert table.match("/api/users/42/posts") == ("api/users/[uid]/posts.js", {"uid": "42"})
    # "users" is static, but users/list has no static route: the [section] branch is tried next
    assert table.match("/api/users/list") == ("api/users/[id].js", {"id": "list"})
    assert table.match("/api/teams/list") == ("api/[section]/list.js", {"section": "teams"})
    assert table.match("/api/other/deep/path") == ("api/[...all].js", {"all": "other/deep/path"})


def test_rest_params_take_one_or_more_segments():
    table = routes()
    assert table.match("/api/files/a/b.png") == ("api/files/[...path].js", {"path": "a/b.png"})
    assert table.match("/api/files/a") == ("api/files/[...path].js", {"path": "a"})
    assert table.match("/api/files") is None


def test_params_are_percent_decoded_per_segment_and_a_trailing_slash_is_tolerated():
    table = routes()
    assert table.match("/api/users/J%C3%BCrgen%20K") == ("api/users/[id].js", {"id": "Jürgen K"})
    assert table.match("/api/users/a%2Fb") == ("api/users/[id].js", {"id": "a/b"})
    assert table.match("/api/files/x%20y/z") == ("api/files/[...path].js", {"path": "x y/z"})
    assert table.match("/api/hello/") == ("api/hello.js", {})
    assert table.match("/api/") == ("api/index.js", {})
    assert table.match("/api/h%65llo") == ("api/hello.js", {})
    assert table.match("/api//hello") is None


def test_underscore_files_and_folders_node_modules_and_other_files_are_not_routes():
    table = routes()
    for path in ("/api/_lib/db", "/api/_helpers", "/api/data", "/api/node_modules/x"):
        assert table.match(path) is None, path
    assert table.match("/api/users/_shared") == ("api/users/[id].js", {"id": "_shared"})  # a param, not the file
    assert table.match("/api/bad/x/inner") is None  # a [...rest] that is not last is no route
    assert table.files == ("api/files/[...path].js", "api/hello.js", "api/index.js", "api/teams/index.mjs",
                           "api/time.mjs", "api/users/[id].js", "api/users/[uid]/posts.js", "api/users/me.js")
    assert table.is_route_file("api/hello.js") and not table.is_route_file("api/_lib/db.js")


def test_api_main_js_catches_every_api_path_no_other_file_claims():
    table = routes(["api/main.js", "api/hello.js", "api/files/[...p].js", "index.html"])
    assert table.match("/api") == ("api/main.js", {})
    assert table.match("/api/") == ("api/main.js", {})
    assert table.match("/api/hello") == ("api/hello.js", {})
    assert table.match("/api/anything/deep") == ("api/main.js", {})
    assert table.match("/api/files/x") == ("api/files/[...p].js", {"p": "x"})
    assert table.match("/api/files") == ("api/main.js", {})
    assert table.match("/other") is None
    assert "api/main.js" in table.files


def test_two_files_for_one_route_the_first_of_js_mjs_index_wins():
    table = routes(["api/x/index.js", "api/x.mjs", "api/x.js", "api/y/[a].js", "api/y/[b].js"])
    assert table.match("/api/x") == ("api/x.js", {})
    assert table.match("/api/y/1") == ("api/y/[a].js", {"a": "1"})
    assert table.files == ("api/x.js", "api/y/[a].js")


def test_is_function_path_covers_the_api_namespace_once_there_are_functions():
    assert routes().is_function_path("/api/anything")
    assert routes().is_function_path("/api")
    assert not routes().is_function_path("/apix") and not routes().is_function_path("/about")
    static_only = routes(["index.html", "api/_only_shared.js"])
    assert static_only.files == () and not static_only.is_function_path("/api/x")
    assert static_only.match("/api/x") is None
