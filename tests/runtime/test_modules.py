"""Module resolution inside a deployment (fazt.runtime.modules): Node's rules, the site as the world."""

import json

import pytest

from fazt.runtime.modules import ModuleNotFound, json_reader, module_format, require_info, required_specifiers, resolve
from fazt.runtime.modulesource import unresolved_import


def site(files):
    """(paths, read_text, read_json) for a dict of path -> text (dict values are dumped as JSON)."""
    texts = {path: json.dumps(value) if isinstance(value, dict) else value for path, value in files.items()}
    read_text = texts.get
    return frozenset(texts), read_text, json_reader(read_text)


def resolved(files, importer, specifier, kind="import"):
    paths, _, read_json = site(files)
    return resolve(importer, specifier, paths, read_json, kind=kind)


def failure(files, importer, specifier, kind="import"):
    with pytest.raises(ModuleNotFound) as caught:
        resolved(files, importer, specifier, kind)
    return str(caught.value)


# --- relative and root-absolute specifiers -------------------------------------------------------

def test_relative_paths_probe_extensions_then_index_files():
    files = {"api/a.js": "", "lib/b.mjs": "", "lib/c.cjs": "", "data/d.json": "{}", "lib/dir/index.js": "",
             "api/exact": "", "api/exact.js": ""}
    assert resolved(files, "api/x.js", "./a.js") == "api/a.js"
    assert resolved(files, "api/x.js", "./a") == "api/a.js"
    assert resolved(files, "api/x.js", "../lib/b") == "lib/b.mjs"
    assert resolved(files, "api/x.js", "../lib/c") == "lib/c.cjs"
    assert resolved(files, "api/x.js", "../data/d") == "data/d.json"
    assert resolved(files, "api/x.js", "../lib/dir") == "lib/dir/index.js"
    assert resolved(files, "api/x.js", "../lib/dir/") == "lib/dir/index.js"
    assert resolved(files, "api/x.js", "./exact") == "api/exact"  # the file as named comes first
    assert resolved(files, "main.js", "./api/a") == "api/a.js"
    assert resolved(files, "api/deep/x.js", "/lib/b.mjs") == "lib/b.mjs"  # "/" is the site root


def test_a_folder_with_package_json_main():
    files = {"lib/pkg/package.json": {"main": "src/entry.js"}, "lib/pkg/src/entry.js": ""}
    assert resolved(files, "main.js", "./lib/pkg") == "lib/pkg/src/entry.js"


def test_nothing_resolves_above_the_site_root():
    files = {"a.js": "", "api/x.js": ""}
    assert "points outside the site" in failure(files, "api/x.js", "../../a.js")
    assert "points outside the site" in failure(files, "main.js", "../a.js")
    assert resolved(files, "api/x.js", "../a.js") == "a.js"
    assert resolved(files, "api/x.js", "./../api/../a") == "a.js"


def test_missing_files_name_the_specifier_and_the_importer():
    message = failure({"api/x.js": ""}, "api/x.js", "./nope.js")
    assert message.startswith("cannot find module './nope.js' imported from api/x.js")


# --- bare specifiers ------------------------------------------------------------------------------

def test_bare_names_walk_up_node_modules_from_the_importer():
    files = {
        "node_modules/a/package.json": {"name": "a", "main": "lib/a.js"}, "node_modules/a/lib/a.js": "",
        "node_modules/b/package.json": {"name": "b"}, "node_modules/b/index.js": "",
        # a's own nested copy of b wins inside a, like npm's nested installs
        "node_modules/a/node_modules/b/package.json": {"name": "b", "main": "nested.js"},
        "node_modules/a/node_modules/b/nested.js": "",
        "node_modules/@scope/pkg/package.json": {"name": "@scope/pkg"}, "node_modules/@scope/pkg/index.js": "",
        "node_modules/@scope/pkg/sub/x.js": "",
    }
    assert resolved(files, "api/x.js", "a") == "node_modules/a/lib/a.js"
    assert resolved(files, "api/x.js", "b") == "node_modules/b/index.js"
    assert resolved(files, "node_modules/a/lib/a.js", "b") == "node_modules/a/node_modules/b/nested.js"
    assert resolved(files, "api/x.js", "@scope/pkg") == "node_modules/@scope/pkg/index.js"
    assert resolved(files, "api/x.js", "@scope/pkg/sub/x") == "node_modules/@scope/pkg/sub/x.js"


def test_without_exports_module_beats_main_for_import_and_main_beats_module_for_require():
    files = {"node_modules/p/package.json": {"name": "p", "main": "p.cjs.js", "module": "p.esm.js"},
             "node_modules/p/p.cjs.js": "", "node_modules/p/p.esm.js": ""}
    assert resolved(files, "api/x.js", "p") == "node_modules/p/p.esm.js"
    assert resolved(files, "api/x.js", "p", kind="require") == "node_modules/p/p.cjs.js"


def test_exports_string_subpaths_and_nested_conditions_in_the_packages_own_order():
    exports = {
        ".": {"types": "./index.d.ts", "node": "./node.js", "worker": "./worker.js", "import": "./esm.js",
              "require": "./cjs.js"},
        "./sub": {"import": {"browser": "./sub.browser.mjs", "default": "./sub.mjs"}, "default": "./sub.cjs"},
        "./lib/*": "./dist/lib/*.js",
        "./lib/internal/*": None,
        "./package.json": "./package.json",
    }
    files = {"node_modules/p/package.json": {"name": "p", "exports": exports}}
    for name in ("node.js", "worker.js", "esm.js", "cjs.js", "sub.browser.mjs", "sub.mjs", "sub.cjs",
                 "dist/lib/a/b.js", "dist/lib/internal/x.js"):
        files[f"node_modules/p/{name}"] = ""
    assert resolved(files, "api/x.js", "p") == "node_modules/p/worker.js"  # "node" is not ours
    assert resolved(files, "api/x.js", "p/sub") == "node_modules/p/sub.browser.mjs"
    assert resolved(files, "api/x.js", "p/lib/a/b") == "node_modules/p/dist/lib/a/b.js"
    assert resolved(files, "api/x.js", "p/package.json") == "node_modules/p/package.json"
    assert "no entry for \"./lib/internal/x\"" not in failure(files, "api/x.js", "p/lib/internal/x")
    assert "has no entry for \"./esm.js\"" in failure(files, "api/x.js", "p/esm.js")  # exports encapsulate


def test_exports_order_of_the_map_decides_as_in_node_and_esbuild():
    files = {"node_modules/p/package.json": {"exports": {"import": "./a.js", "browser": "./b.js"}},
             "node_modules/p/a.js": "", "node_modules/p/b.js": ""}
    assert resolved(files, "main.js", "p") == "node_modules/p/a.js"


def test_exports_require_condition_for_require_and_as_the_last_resort_for_import():
    files = {"node_modules/p/package.json": {"exports": {"import": "./p.mjs", "require": "./p.cjs"}},
             "node_modules/p/p.mjs": "", "node_modules/p/p.cjs": "",
             "node_modules/q/package.json": {"exports": {"require": "./q.cjs"}}, "node_modules/q/q.cjs": ""}
    assert resolved(files, "api/x.js", "p", kind="require") == "node_modules/p/p.cjs"
    assert resolved(files, "api/x.js", "p") == "node_modules/p/p.mjs"
    assert resolved(files, "api/x.js", "q") == "node_modules/q/q.cjs"


def test_exports_arrays_and_bare_string_exports_and_a_missing_target():
    files = {"node_modules/a/package.json": {"exports": ["./nope.js", "./yes.js"]}, "node_modules/a/yes.js": "",
             "node_modules/b/package.json": {"exports": "./main.js"}, "node_modules/b/main.js": "",
             "node_modules/c/package.json": {"name": "c", "exports": {".": "./gone.js"}}}
    assert resolved(files, "api/x.js", "a") == "node_modules/a/yes.js"
    assert resolved(files, "api/x.js", "b") == "node_modules/b/main.js"
    assert "exports '.' as './gone.js', which is missing" in failure(files, "api/x.js", "c")


def test_exports_targets_cannot_leave_the_package():
    files = {"node_modules/p/package.json": {"exports": {"./x": "../../secret.js", "./y/*": "./y/*.js"}},
             "secret.js": "", "node_modules/p/y/ok.js": ""}
    failure(files, "api/x.js", "p/x")
    failure(files, "api/x.js", "p/y/../../../secret")
    assert resolved(files, "api/x.js", "p/y/ok") == "node_modules/p/y/ok.js"


def test_self_reference_and_package_imports():
    files = {
        "package.json": {"name": "my-site", "exports": {"./util": "./lib/util.js"},
                         "imports": {"#db": {"worker": "./lib/db-worker.js", "default": "./lib/db.js"},
                                     "#dep": "dep", "#cfg/*": "./config/*.json"}},
        "lib/util.js": "", "lib/db-worker.js": "", "lib/db.js": "", "config/prod.json": "{}",
        "node_modules/dep/package.json": {"name": "dep"}, "node_modules/dep/index.js": "",
    }
    assert resolved(files, "api/x.js", "my-site/util") == "lib/util.js"
    assert resolved(files, "api/x.js", "#db") == "lib/db-worker.js"
    assert resolved(files, "api/x.js", "#dep") == "node_modules/dep/index.js"
    assert resolved(files, "api/x.js", "#cfg/prod") == "config/prod.json"
    assert "no entry for \"#nope\"" in failure(files, "api/x.js", "#nope")


def test_node_built_ins_urls_and_missing_packages_are_refused_clearly():
    files = {"node_modules/events/package.json": {"name": "events"}, "node_modules/events/events.js": "",
             "node_modules/events/index.js": ""}
    assert "Node.js built-in modules are not available" in failure(files, "api/a.js", "node:fs")
    assert failure(files, "api/a.js", "fs") == (
        "cannot find module 'fs' imported from api/a.js (a Node.js built-in module, not available in fazt)")
    assert resolved(files, "api/a.js", "events") == "node_modules/events/index.js"  # an installed polyfill
    assert "only the site's own files" in failure(files, "api/a.js", "https://esm.sh/zod")
    assert failure(files, "api/a.js", "left-pad") == (
        "cannot find module 'left-pad' imported from api/a.js (no package of that name in node_modules/)")
    assert "empty specifier" in failure(files, "api/a.js", "")


# --- formats --------------------------------------------------------------------------------------

def test_module_format_by_extension_syntax_and_package_type():
    files = {
        "a.mjs": "", "b.cjs": "", "c.json": "{}",
        "api/esm.js": "export default 1", "api/cjs.js": "module.exports = 1", "api/plain.js": "var x = 1",
        "node_modules/m/package.json": {"type": "module"}, "node_modules/m/x.js": "var y",
        "node_modules/c/package.json": {"type": "commonjs"}, "node_modules/c/x.js": "",
        "node_modules/u/package.json": {}, "node_modules/u/x.js": "",
    }
    paths, read_text, read_json = site(files)

    def fmt(path, with_source=True):
        return module_format(path, paths, read_json, read_text(path) if with_source else None)

    assert (fmt("a.mjs"), fmt("b.cjs"), fmt("c.json")) == ("esm", "cjs", "json")
    assert fmt("api/esm.js") == "esm"
    assert fmt("api/cjs.js") == "cjs"
    assert fmt("api/plain.js") == "cjs"           # Node's default for a file without module syntax
    assert fmt("api/plain.js", with_source=False) == "esm"    # the site's own code, not read
    assert fmt("node_modules/m/x.js") == "esm"
    assert fmt("node_modules/c/x.js") == "cjs"
    assert fmt("node_modules/u/x.js", with_source=False) == "cjs"


def test_require_info_answers_what_the_js_hook_needs_and_never_raises():
    files = {"api/a.js": "", "lib/c.cjs": "module.exports = 2", "lib/d.json": '{"x": 1}'}
    paths, read_text, _ = site(files)
    assert require_info("api/a.js", "../lib/c.cjs", paths, read_text) == {
        "path": "lib/c.cjs", "format": "cjs", "source": "module.exports = 2"}
    assert require_info("api/a.js", "../lib/d.json", paths, read_text)["format"] == "json"
    assert require_info("api/a.js", "zod", paths, read_text) == {
        "error": "cannot find module 'zod' imported from api/a.js (no package of that name in node_modules/)"}


def test_unresolved_import_names_the_line_and_the_reason():
    source = ('import a from "./a.js";\n// import x from "./comment.js"\nconst s = "import y from \'./s.js\'";\n'
              'export { b } from "./b.js";\nimport {\n  c\n} from "zod";\n')
    paths, read_text, _ = site({"api/x.js": source, "api/a.js": "", "api/b.js": ""})
    assert unresolved_import("api/x.js", source, paths, read_text) == (
        7, "cannot find module 'zod' imported from api/x.js (no package of that name in node_modules/)")
    assert unresolved_import("api/a.js", "import a from './b.js'", paths, read_text) is None


def test_a_node_modules_folder_without_package_json_is_probed_like_node():
    files = {"node_modules/plain/index.js": "", "node_modules/plain/sub/x.js": "", "node_modules/one.js": ""}
    assert resolved(files, "api/x.js", "plain") == "node_modules/plain/index.js"
    assert resolved(files, "api/x.js", "plain/sub/x") == "node_modules/plain/sub/x.js"
    assert resolved(files, "api/x.js", "one") == "node_modules/one.js"
    assert "no package of that name" in failure(files, "api/x.js", "plain/nope")


def test_browser_field_replacements_and_browser_main():
    files = {
        "node_modules/p/package.json": {"name": "p", "main": "index.js",
                                        "browser": {"./node-impl.js": "./web-impl.js", "./inspect": False,
                                                    "util": False, "stream": "readable", "other": "./shim.js"}},
        "node_modules/p/index.js": "", "node_modules/p/node-impl.js": "", "node_modules/p/web-impl.js": "",
        "node_modules/p/inspect.js": "", "node_modules/p/shim.js": "",
        "node_modules/readable/package.json": {"name": "readable"}, "node_modules/readable/index.js": "",
        "node_modules/d/package.json": {"main": "./node.js", "browser": "./browser.js"},
        "node_modules/d/node.js": "", "node_modules/d/browser.js": "",
    }
    inside = "node_modules/p/index.js"
    assert resolved(files, inside, "./node-impl.js") == "node_modules/p/web-impl.js"
    assert resolved(files, inside, "./node-impl") == "node_modules/p/web-impl.js"
    assert resolved(files, inside, "./inspect.js") == "fazt:empty"
    assert resolved(files, inside, "util") == "fazt:empty"
    assert resolved(files, inside, "stream") == "node_modules/readable/index.js"
    assert resolved(files, inside, "other") == "node_modules/p/shim.js"
    assert "built-in" in failure(files, "api/x.js", "util")  # the map is p's, not the site's
    assert resolved(files, "api/x.js", "d") == "node_modules/d/browser.js"
    assert resolved(files, "api/x.js", "d", kind="require") == "node_modules/d/browser.js"
    paths, read_text, _ = site(files)
    assert require_info(inside, "util", paths, read_text) == {"path": "fazt:empty", "format": "json", "source": "{}"}


def test_required_specifiers_are_the_string_literals_given_to_require():
    source = ("const a = require('./a');\nconst b = module.require(\"b/sub\");\n"
              "require(name); require(`./t`); obj.require('./method'); require.resolve('./r');\n"
              "// require('./comment')\nconst s = \"require('./string')\";\nfunction require(x) {}\n")
    assert required_specifiers(source) == ["./a", "b/sub"]
    assert required_specifiers("export const x = 1;") == []
