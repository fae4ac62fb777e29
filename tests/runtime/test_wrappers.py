"""CommonJS / JSON as ES modules and import hoisting (fazt.runtime.wrappers), run in real QuickJS."""

import json
import signal

import pytest
from dukpy import _dukpy

from fazt.runtime.wrappers import InvalidModule, commonjs_export_names, esm_from_json, hoist_imports
from modules_testing import ModuleInterpreter


def interpreter(files):
    texts = {path: json.dumps(v) if isinstance(v, dict) else v for path, v in files.items()}
    return ModuleInterpreter(texts, texts.get)


# --- JSON ------------------------------------------------------------------------------------------

def test_json_files_import_as_their_value_and_never_run_as_code():
    js = interpreter({"data/config.json": '{"name": "x", "__proto__": {"polluted": true}, "n": [1, 2]}',
                      "data/list.json": "[1, 2, 3]"})
    js.run_module('import c from "../data/config.json"; import l from "../data/list.json";'
                  'globalThis.out = [c.name, c.n, Object.keys(c), ({}).polluted === undefined, l];', "api/x.js")
    assert js.value("out") == ["x", [1, 2], ["name", "__proto__", "n"], True, [1, 2, 3]]


def test_an_invalid_json_import_fails_with_the_file_and_line():
    js = interpreter({"data/bad.json": '{\n  "a": 1,\n}'})
    with pytest.raises(_dukpy.JSRuntimeError):
        js.run_module('import bad from "./data/bad.json";', "main.js")
    file, line, message = js.bundle.describe_failure()
    assert (file, line) == ("data/bad.json", 3) and message.startswith("data/bad.json: invalid JSON")


def test_invalid_json_is_refused_with_its_line():
    with pytest.raises(InvalidModule) as caught:
        esm_from_json('{\n  "a": 1,\n  oops\n}')
    assert caught.value.line == 3 and "invalid JSON" in str(caught.value)
    with pytest.raises(InvalidModule):
        esm_from_json("(function(){ globalThis.pwned = 1 })()")
    with pytest.raises(InvalidModule):
        esm_from_json('{"a": NaN}')


# --- CommonJS --------------------------------------------------------------------------------------

CJS_FILES = {
    "lib/math.cjs": (
        "'use strict';\n"
        "const helper = require('./helper');\n"
        "exports.add = (a, b) => a + b;\n"
        "exports.twice = (x) => helper.double(x);\n"
        "exports['kebab-name'] = 1;\n"
        "exports.class = 'reserved';\n"
        "Object.defineProperty(exports, 'defined', {enumerable: true, get() { return 'yes'; }});\n"
        "exports.self = this === module.exports && typeof __filename + typeof __dirname;\n"
    ),
    "lib/helper.js": "module.exports = { double(x) { return 2 * x; }, counter: 0 };\nmodule.exports.counter++;",
    "lib/sloppy.js": "undeclared = 41; module.exports = function () { return this === undefined ? 's' : 'sloppy'; };",
    "lib/config.json": '{"port": 8080}',
    "lib/reads-json.cjs": "module.exports = require('./config.json').port + 1;",
    "lib/esm.mjs": "export default 1;",
    "lib/requires-esm.cjs": "module.exports = require('./esm.mjs');",
    "lib/requires-missing.cjs": "module.exports = require('left-pad');",
    "lib/a.cjs": "exports.fromA = 'a'; const b = require('./b.cjs'); exports.sawB = b.fromB;",
    "lib/b.cjs": "const a = require('./a.cjs'); exports.fromB = 'b'; exports.sawPartialA = a.fromA;",
    "lib/broken.cjs": "module.exports = 1;\nvar x = ;\n",
    "lib/umd.js": ("(function (root, factory) { typeof exports === 'object' && typeof module !== 'undefined' ?"
                   " module.exports = factory() : root.umd = factory(); })(this, function () {"
                   " return { kind: 'umd' }; });"),
    "lib/index.js": "module.exports = require('./impl.js');",
    "lib/impl.js": "exports.deep = 'reexported';",
}


def test_commonjs_default_export_is_module_exports_with_named_exports_beside_it():
    js = interpreter(CJS_FILES)
    js.run_module(
        'import math, { add, twice, defined, self, "kebab-name" as kebab, class as klass } from "../lib/math.cjs";\n'
        'import * as ns from "../lib/math.cjs";\n'
        'import helper from "../lib/helper.js";\n'
        'globalThis.out = [add(2, 3), twice(4), defined, self, math["kebab-name"], typeof ns.default.add,'
        ' helper.counter, Object.keys(ns).sort(), kebab, klass];', "api/x.js")
    assert js.value("out") == [5, 8, "yes", "stringstring", 1, "function", 1,
                               ["add", "class", "default", "defined", "kebab-name", "self", "twice"], 1, "reserved"]


def test_a_file_imported_and_required_runs_once():
    js = interpreter({**CJS_FILES, "lib/count.cjs": "globalThis.runs = (globalThis.runs || 0) + 1; exports.n = 1;",
                      "lib/user.cjs": "module.exports = require('./count.cjs');"})
    js.run_module('import c from "../lib/count.cjs"; import u from "../lib/user.cjs";'
                  'globalThis.out = [c === u, globalThis.runs];', "api/x.js")
    assert js.value("out") == [True, 1]


def test_commonjs_runs_in_sloppy_mode_with_this_as_module_exports():
    js = interpreter(CJS_FILES)
    js.run_module('import f from "../lib/sloppy.js"; import umd from "../lib/umd.js";'
                  'globalThis.out = [f.call(undefined), globalThis.undeclared, umd.kind];', "api/x.js")
    assert js.value("out") == ["sloppy", 41, "umd"]


def test_require_reads_json_and_handles_cycles_like_node():
    js = interpreter(CJS_FILES)
    js.run_module('import n from "../lib/reads-json.cjs"; import a from "../lib/a.cjs";'
                  'globalThis.out = [n, a.sawB, require_b()];'
                  'function require_b() { return globalThis.__fazt_require("lib/a.cjs", "./b.cjs").sawPartialA; }',
                  "api/x.js")
    assert js.value("out") == [8081, "b", "a"]


def test_reexported_commonjs_names_are_followed():
    js = interpreter(CJS_FILES)
    js.run_module('import { deep } from "../lib/index.js"; globalThis.out = deep;', "api/x.js")
    assert js.value("out") == "reexported"


def test_require_errors_are_clear_javascript_errors():
    js = interpreter(CJS_FILES)
    for name, expected in [
        ("requires-esm.cjs", "require() of the ES module 'lib/esm.mjs' from lib/requires-esm.cjs is not supported"),
        ("requires-missing.cjs", "cannot find module 'left-pad' imported from lib/requires-missing.cjs"),
        ("broken.cjs", "(lib/broken.cjs:2)"),
    ]:
        with pytest.raises(_dukpy.JSRuntimeError) as caught:
            js.run_module(f'import x from "../lib/{name}";', f"api/{name}.js")
        assert expected in str(caught.value)


def test_a_commonjs_syntax_error_is_found_by_compile_without_running_anything():
    js = interpreter({})
    js.evaljs("globalThis.ran = false; null")
    source = "globalThis.ran = true;\n\nfunction (\n"
    with pytest.raises(_dukpy.JSRuntimeError) as caught:
        js.evaljs(f"__fazt_cjs.compile('lib/x.cjs', {json.dumps(source)})")
    assert "SyntaxError" in str(caught.value) and "(lib/x.cjs:3)" in str(caught.value)
    assert js.value("ran") is False
    assert js.evaljs("__fazt_cjs.compile('lib/y.cjs', 'exports.a = 1')") is None


def test_commonjs_export_names_are_detected_statically():
    names, reexports = commonjs_export_names(
        "exports.a = 1; module.exports.b = 2; exports['c'] = 3; exports.d == 4; foo.exports.e = 5;\n"
        "Object.defineProperty(exports, 'f', {value: 1}); Object.defineProperty(module.exports, \"g\", {});\n"
        "Object.defineProperty(exports, '__esModule', {value: true}); exports.default = 9;\n"
        "// exports.h = 1\n const s = 'exports.i = 1';\n"
        "__exportStar(require('./star'), exports); if (x) { module.exports = require('./other'); }")
    assert names == ["a", "b", "c", "f", "g"]
    assert reexports == ["./star", "./other"]
    names, _ = commonjs_export_names(
        "0 && (module.exports = { one, two: 2, 'three': 3, four() {}, ...rest, five: { nested: 1 }, });")
    assert names == ["one", "two", "three", "four", "five"]


# --- import hoisting ------------------------------------------------------------------------------

MAIN = """// main.js
import a, { b as c,
  // a comment with import x from "y"
  d } from "./lib.js" with { type: "js" }
const s = "import t from 'u'"; /* import v from 'w' */
const re = /import\\/'x'/g;
const tpl = `import ${'z'} from "q"`;
import * as ns from "./ns.js"
import "./side.js";
const lazy = () => import("./lazy.js");
if (import.meta) {}
export default function (req) { return ns + c + d; }
"""


def test_hoist_imports_moves_static_imports_to_one_line_keeping_every_other_line_in_place():
    hoisted, body = hoist_imports(MAIN)
    assert hoisted == ('import a , { b as c , d } from "./lib.js"; '
                       'import * as ns from "./ns.js"; import "./side.js";')
    assert "\n" not in hoisted
    assert len(body) == len(MAIN) and body.count("\n") == MAIN.count("\n")
    lines, original = body.split("\n"), MAIN.split("\n")
    assert lines[0] == original[0] and lines[1:4] == [" " * len(x) for x in original[1:4]]
    for index in (4, 5, 6, 9, 10, 11):
        assert lines[index] == original[index]
    assert lines[7].strip() == "" and lines[8].strip() == ""


def test_hoisted_imports_and_body_evaluate_as_the_original_module():
    js = interpreter({"lib.js": "export default 'A'; export const b = 'B';", "ns.js": "export const n = 1;"})
    source = 'import x, {\n  b // the b\n} from "./lib.js"\nglobalThis.out = [x, b, new Error().stack];\n'
    hoisted, body = hoist_imports(source)
    js.run_module(hoisted + body, "main.js")
    x, b, stack = js.value("out")
    assert (x, b) == ("A", "B") and "main.js:4" in stack  # the body kept its line numbers


def test_import_attributes_which_quickjs_cannot_parse_are_dropped_in_modules_and_hoisted_imports():
    files = {"data/d.json": '{"a": 1}', "api/f.js": (
        'import d from "../data/d.json" with { type: "json" };\n'
        'export { default as e } from "../data/d.json" assert {type: "json"}\n'
        'export const line = new Error().stack;\nexport default d;\n')}
    js = interpreter(files)
    main = 'import d from "./data/d.json" with { type: "json" }\nimport f, { e, line } from "./api/f.js";\n' \
           'globalThis.out = [d.a, f.a, e.a, line];\n'
    hoisted, body = hoist_imports(main)
    js.run_module(hoisted + body, "main.js")
    a, fa, ea, line = js.value("out")
    assert (a, fa, ea) == (1, 1, 1) and "api/f.js:3" in line


def test_sources_without_imports_come_back_unchanged():
    source = "const importer = 1; obj.import = 2; x = { import: 3 }; import('./dyn.js');"
    assert hoist_imports(source) == ("", source)


class _OutOfCpu(BaseException):
    pass


def test_once_the_cpu_budget_is_gone_require_cannot_be_caught_past():
    # The worker answers every host call with {"abort": true} once a run's CPU budget is used up
    # (sandbox.py); require() must then spin until the CPU timer stops the interpreter, like the
    # prelude does, not throw an Error the script could catch and carry on after.
    js = interpreter({"lib/x.cjs": "module.exports = 1;"})
    js.export_function("fazt.modules.require", lambda frm, spec: {"abort": True})

    def out_of_cpu(signum, frame):
        raise _OutOfCpu()

    previous = signal.signal(signal.SIGALRM, out_of_cpu)
    signal.setitimer(signal.ITIMER_REAL, 0.2)
    try:
        with pytest.raises(_OutOfCpu):
            js.evaljs("try { __fazt_require('api/x.js', '../lib/x.cjs'); } catch (e) { 'caught'; }")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_browser_map_false_entries_load_as_empty_modules_for_import_and_require():
    js = interpreter({
        "node_modules/p/package.json": {"name": "p", "browser": {"./node.js": False, "util": False}},
        "node_modules/p/index.js": "import n from './node.js'; export default [n, require_util()];\n"
                                   "function require_util() { return 'esm'; }",
        "node_modules/p/node.js": "import fs from 'node:fs'; export default fs;",
        "node_modules/p/legacy.js": "module.exports = require('util');",
    })
    js.run_module('import p from "p"; import u from "p/legacy.js"; globalThis.out = [p, u];', "api/x.js")
    assert js.value("out") == [[{}, "esm"], {}]


def test_check_mode_stops_before_running_even_a_module_with_a_hashbang():
    files = {"bin/tool.js": "#!/usr/bin/env node\nglobalThis.ran = true;\nexport default 1;\n"}
    js = ModuleInterpreter(files, files.get, check=True)
    with pytest.raises(_dukpy.JSRuntimeError) as caught:
        js.run_module(js.bundle.entry_source('import t from "./bin/tool.js";'), "main.js")
    assert str(caught.value) == "fazt:check-stop" and js.value("typeof ran") == "undefined"
