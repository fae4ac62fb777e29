"""Real npm packages (installed from the registry, see tests/npm_testing.py) resolve and load.

Resolution picks the ESM/browser builds a Workers bundler would; the whole import graph of each
resolves; and the graph LOADS in a bare QuickJS through the resolver and the wrappers (the way the
worker loads it), where each package does its job.
"""

import json

import pytest
from dukpy import _dukpy

from fazt.runtime import jstokens, modules
from modules_testing import ModuleInterpreter
from npm_testing import folder_files, npm_packages  # noqa: F401  (session fixture)

EXPECTED = {
    # specifier: (resolved file, format, how it was chosen)
    "hono": ("node_modules/hono/dist/index.js", "esm"),                    # exports "." import
    "hono/cors": ("node_modules/hono/dist/middleware/cors/index.js", "esm"),  # exports "./cors" import
    "zod": ("node_modules/zod/index.js", "esm"),                           # exports "." import
    "dayjs": ("node_modules/dayjs/dayjs.min.js", "cjs"),                   # no exports/module: main (UMD)
    "nanoid": ("node_modules/nanoid/index.browser.js", "esm"),             # exports "." browser
    "marked": ("node_modules/marked/lib/marked.esm.js", "esm"),            # exports "." default
}


@pytest.fixture(scope="module")
def site(npm_packages, tmp_path_factory):  # noqa: F811
    folder = npm_packages.copy_to(tmp_path_factory.mktemp("npm-site"))
    (folder / "api").mkdir()
    (folder / "api" / "x.js").write_text("export default () => 'x';\n")
    return folder_files(folder)


def test_packages_resolve_to_their_esm_or_browser_builds(site):
    paths, read_text = site
    read_json = modules.json_reader(read_text)
    for specifier, (expected, fmt) in EXPECTED.items():
        found = modules.resolve("api/x.js", specifier, paths, read_json)
        assert found == expected, specifier
        assert modules.module_format(found, paths, read_json, read_text(found)) == fmt, specifier


def test_every_import_of_every_resolved_graph_resolves(site):
    paths, read_text = site
    read_json = modules.json_reader(read_text)
    seen, pending = set(), [modules.resolve("api/x.js", s, paths, read_json) for s in EXPECTED]
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        declarations, _ = jstokens.module_syntax(read_text(path))
        for declaration in declarations:
            pending.append(modules.resolve(path, declaration.specifier, paths, read_json))
    assert len(seen) > 50  # hono and zod are graphs of many files, all found
    assert all(path.startswith("node_modules/") for path in seen)


LOAD_ALL = """
import { Hono } from "hono";
import { cors } from "hono/cors";
import { z } from "zod";
import dayjs from "dayjs";
import { nanoid } from "nanoid";
import { marked } from "marked";

const out = globalThis.out = {};
out.zod = z.object({ name: z.string(), n: z.number().int() }).parse({ name: "ada", n: 3 });
out.zodIssue = z.object({ n: z.number() }).safeParse({ n: "x" }).error.issues[0].code;
out.dayjs = dayjs("2024-01-31T10:00:00Z").add(1, "day").format("YYYY-MM-DD");
out.nanoid = nanoid();
out.marked = marked.parse("# hi\\n\\n*there*");

const app = new Hono();
app.use("/api/*", cors());
app.get("/api/hello/:name", (c) => c.json({ hello: c.req.param("name"), q: c.req.query("q") }));
app.post("/api/echo", async (c) => c.json(await c.req.json(), 201));
out.hono = [];
const send = async (request) => {
  const response = await app.fetch(request);
  out.hono.push([request.method, request.url, response.status, await response.text(),
                 response.headers.get("content-type"), response.headers.get("access-control-allow-origin")]);
};
await send(new Request("http://site.test/api/hello/bob?q=1", { headers: { origin: "http://o.test" } }));
await send(new Request("http://site.test/api/echo", { method: "POST", body: '{"a":1}' }));
await send(new Request("http://site.test/nope"));
"""

# THIS TEST ONLY: the Web APIs are not part of module loading (fazt's own Request/Response/Headers
# and crypto come from the "webapi" part, evaluated before the site's code in the worker). These
# minimal stand-ins give Hono the shapes it touches, and nanoid a Math.random getRandomValues (not
# cryptographically random: fine for checking that the module graph loads and runs).
WEB_STANDINS = """
class Headers {
  constructor(init) { this.map = new Map();
    const pairs = init instanceof Headers ? init.map : Object.entries(init || {});
    for (const [k, v] of pairs) this.map.set(k.toLowerCase(), String(v)); }
  get(k) { k = k.toLowerCase(); return this.map.has(k) ? this.map.get(k) : null; }
  set(k, v) { this.map.set(k.toLowerCase(), String(v)); }
  append(k, v) { this.set(k, v); }
  has(k) { return this.map.has(k.toLowerCase()); }
  delete(k) { this.map.delete(k.toLowerCase()); }
  forEach(f) { this.map.forEach((v, k) => f(v, k, this)); }
  entries() { return this.map.entries(); }
  [Symbol.iterator]() { return this.map.entries(); }
}
class Request {
  constructor(url, init = {}) { this.url = url; this.method = init.method || "GET";
    this.headers = new Headers(init.headers); this.raw = init.body || ""; }
  async text() { return this.raw; }
  async json() { return JSON.parse(this.raw); }
}
class Response {
  constructor(body, init = {}) { this.body = body ?? null; this.status = init.status || 200;
    this.headers = new Headers(init.headers); }
  async text() { return String(this.body); }
}
globalThis.crypto = { getRandomValues(bytes) {
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return bytes; } };
const console = { logged: [], error(...args) { console.logged.push(args.map((a) => a && a.stack ? a + a.stack : String(a)).join(" ")); } };
console.log = console.warn = console.error;
Object.assign(globalThis, { Headers, Request, Response, console });
null
"""


def test_the_packages_load_in_quickjs_through_the_resolver_and_do_their_job(site):
    paths, read_text = site
    js = ModuleInterpreter(paths, read_text)
    js.evaljs(WEB_STANDINS)
    js.run_module(LOAD_ALL, "api/x.js")
    out = js.value("out")
    assert js.value("console.logged") == []
    assert out["zod"] == {"name": "ada", "n": 3}
    assert out["zodIssue"] == "invalid_type"
    assert out["dayjs"] == "2024-02-01"
    assert len(out["nanoid"]) == 21 and set(out["nanoid"]) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
    assert out["marked"] == "<h1>hi</h1>\n<p><em>there</em></p>\n"
    assert out["hono"] == [
        ["GET", "http://site.test/api/hello/bob?q=1", 200, '{"hello":"bob","q":"1"}', "application/json", "*"],
        ["POST", "http://site.test/api/echo", 201, '{"a":1}', "application/json", "*"],
        ["GET", "http://site.test/nope", 404, "404 Not Found", "text/plain; charset=UTF-8", None],
    ]
    assert "node_modules/dayjs/dayjs.min.js" in js.loaded  # the CommonJS build, wrapped
    assert len(js.loaded) == len(set(js.loaded))  # each module loaded once
    # The static scan (hoisting, deploy checks) finds exactly the imports QuickJS's parser found.
    for path in js.loaded:
        scanned = {d.specifier for d in jstokens.module_syntax(read_text(path))[0]}
        assert scanned == {spec for importer, spec in js.asked if importer == path}, path


def test_a_missing_package_fails_the_import_with_the_reason(site):
    paths, read_text = site
    js = ModuleInterpreter(paths, read_text)
    with pytest.raises(Exception):
        js.run_module('import x from "left-pad";', "api/x.js")
    assert js.errors == ["cannot find module 'left-pad' imported from api/x.js "
                         "(no package of that name in node_modules/)"]


def test_a_failed_import_is_described_with_its_file_and_line(site):
    paths, read_text = site
    files = dict.fromkeys(paths)
    files["api/broken.js"] = 'import { Hono } from "hono";\n\nimport { z } from "zod/nope";\n'
    js = ModuleInterpreter(files, lambda path: files["api/broken.js"] if path == "api/broken.js" else read_text(path))
    with pytest.raises(Exception):
        js.run_module(files["api/broken.js"], "api/broken.js")
    assert js.bundle.describe_failure() == (
        "api/broken.js", 3,
        "cannot find module 'zod/nope' imported from api/broken.js (package 'zod': its \"exports\" field has "
        "no entry for \"./nope\")")


def test_check_mode_compiles_and_links_the_whole_graph_without_running_any_of_it(site):
    paths, read_text = site
    entry = ('import { Hono } from "hono";\nimport dayjs from "dayjs";\nimport { z } from "zod";\n'
             'globalThis.ran = true;\nexport default new Hono();\n')
    files = {**dict.fromkeys(paths), "api/ok.js": entry,
             "api/syntax.js": 'import { z } from "zod";\nimport { helper } from "./_lib.js";\nexport default 1;\n',
             "api/_lib.js": "export const helper = 1;\n\nconst broken = ;\n",
             "api/names.js": 'import { Nope } from "hono";\nexport default Nope;\n',
             "api/cjs.js": 'import bad from "./_bad.cjs";\nexport default bad;\n',
             "api/_bad.cjs": "module.exports = 1;\nfunction (\n"}

    def read(path):
        return files[path] if files.get(path) is not None else read_text(path)

    def check(path):
        js = ModuleInterpreter(files, read, check=True)
        js.evaljs("globalThis.ran = false; null")
        try:
            js.run_module(js.bundle.entry_source(read(path)), path)
        except _dukpy.JSRuntimeError as error:
            outcome = str(error)
        for file, source in js.bundle.commonjs:
            try:
                js.evaljs(f"__fazt_cjs.compile({json.dumps(file)}, {json.dumps(source)})")
            except _dukpy.JSRuntimeError as error:
                outcome = str(error)
                break
        assert js.value("ran") is False  # not a line of the site or of its packages ran
        assert js.value("typeof globalThis.dayjs") == "undefined"
        return outcome

    assert check("api/ok.js") == "fazt:check-stop"
    assert check("api/syntax.js").startswith("SyntaxError: unexpected token in expression: ';'\n    at api/_lib.js:3:")
    assert check("api/names.js") == "SyntaxError: Could not find export 'Nope' in module 'node_modules/hono/dist/index.js'"
    assert check("api/cjs.js").startswith("SyntaxError: ") and "(api/_bad.cjs:2)" in check("api/cjs.js")
