"""URL and URLSearchParams in scripts, checked against the web-platform-tests URL data.

tests/data/urltestdata.json and setters_tests.json are WPT's url/resources files as vendored by
ada-url/ada (tests/wpt/, commit 308110b, synced from WPT in July 2026; the WPT repository itself
is too large to fetch here). urlencoded-parser-data.json is WPT's url/resources file of that name.
"""

import json
import os

import pytest

from webapi_support import WebJS

DATA = os.path.join(os.path.dirname(__file__), "..", "data")
URL_PARTS = ("href", "origin", "protocol", "username", "password", "host", "hostname", "port",
             "pathname", "search", "hash")
# Every urltestdata.json case passes today: 891 of 891 (input, base) cases.
URLTESTDATA_PASSING = 891
URLTESTDATA_KNOWN_FAILURES = set()  # inputs known to fail; none


def load(name):
    with open(os.path.join(DATA, name), encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture(scope="module")
def js():
    return WebJS()


def run_url_cases(js, cases):
    """Run WPT url-constructor cases in the script; a list of (input, problem or None)."""
    problems = js.run(
        """dukpy.cases.map(c => {
          let u;
          try { u = c.base === null ? new URL(c.input) : new URL(c.input, c.base); }
          catch (e) { return c.failure ? null : 'threw ' + e.name + ': ' + e.message; }
          if (c.failure) return 'parsed as ' + u.href;
          for (const k of dukpy.parts) {
            if (k in c && u[k] !== c[k]) return k + ' is ' + JSON.stringify(u[k]) + ', not ' + JSON.stringify(c[k]);
          }
          if (c.base !== null && !URL.canParse(c.input, c.base)) return 'canParse is false';
          return null;
        })""",
        cases=cases, parts=URL_PARTS)
    return [(case["input"], problem) for case, problem in zip(cases, problems)]


def test_url_passes_the_wpt_urltestdata_cases(js):
    cases = [c for c in load("urltestdata.json") if isinstance(c, dict)]
    assert len(cases) == 891
    results = run_url_cases(js, cases)
    failing = {case_input for case_input, problem in results if problem}
    passing = len(cases) - len(failing)
    assert failing <= URLTESTDATA_KNOWN_FAILURES, [r for r in results if r[1]][:20]
    assert passing >= URLTESTDATA_PASSING


def test_failing_inputs_throw_a_type_error_and_url_parse_returns_null(js):
    assert js.run("""[
      (() => { try { new URL('http://f:b/c'); } catch (e) { return e instanceof TypeError; } })(),
      URL.parse('http://f:b/c'), URL.canParse('relative'), URL.canParse('relative', 'https://a/'),
      URL.parse('b', 'https://a/x/y').href,
    ]""") == [True, None, False, True, "https://a/x/b"]


def test_url_setters_pass_the_wpt_setters_tests(js):
    data = load("setters_tests.json")
    cases = [dict(c, attr=attr) for attr, group in data.items() if attr != "comment" for c in group]
    problems = js.run(
        """dukpy.cases.map(c => {
          const u = new URL(c.href);
          u[c.attr] = c.new_value;
          for (const [k, v] of Object.entries(c.expected)) if (u[k] !== v) return k + ' is ' + u[k] + ', not ' + v;
          return null;
        })""", cases=cases)
    failing = [(c["attr"], c["href"], c["new_value"], p) for c, p in zip(cases, problems) if p]
    assert len(cases) == 278
    assert failing == []


def test_href_setter_throws_on_an_invalid_url_and_keeps_the_old_one(js):
    assert js.run("""const u1 = new URL('https://a.test/x?y=1');
      let err = null;
      try { u1.href = 'not a url'; } catch (e) { err = e.name; }
      [err, u1.href]""") == ["TypeError", "https://a.test/x?y=1"]


def test_url_shape(js):
    assert js.run("""const u2 = new URL('https://user:pw@EXAMPLE.com:443/a/../b?x=1#f');
      [String(u2), JSON.stringify({u: u2}), Object.prototype.toString.call(u2), Object.keys(u2).length,
       'href' in URL.prototype, u2.origin]""") == [
        "https://user:pw@example.com/b?x=1#f", '{"u":"https://user:pw@example.com/b?x=1#f"}', "[object URL]", 0,
        True, "https://example.com"]


def test_urlsearchparams_passes_the_wpt_urlencoded_parser_data(js):
    cases = load("urlencoded-parser-data.json")
    got = js.run("dukpy.cases.map(c => [...new URLSearchParams(c.input)])", cases=cases)
    assert got == [c["output"] for c in cases]


def test_urlsearchparams_serialises_as_the_standard_says(js):
    assert js.run("""[
      new URLSearchParams({a: '1 2', 'b&': 'é=', c: '*-._~!'}).toString(),
      new URLSearchParams([['x', '\\ud800']]).toString(),
      new URLSearchParams('?a=1&a=2&b').getAll('a'),
      new URLSearchParams(new URLSearchParams('q=1')).get('q'),
    ]""") == ["a=1+2&b%26=%C3%A9%3D&c=*-._%7E%21", "x=%EF%BF%BD", ["1", "2"], "1"]


def test_urlsearchparams_methods(js):
    assert js.run("""const p = new URLSearchParams('b=2&a=1&b=3&c=4');
      const out = [p.size, p.get('b'), p.get('zz'), p.has('b', '3'), p.has('b', '9')];
      p.set('b', 'x'); out.push(p.toString());
      p.delete('c'); p.append('a', '0'); p.sort(); out.push(p.toString());
      p.delete('a', '0'); out.push(p.toString());
      const seen = []; p.forEach((v, k) => seen.push(k + ':' + v)); out.push(seen);
      out.push([...p.keys()], [...p.values()]);
      let err = null; try { new URLSearchParams([['a']]); } catch (e) { err = e.name; }
      out.push(err);
      out""") == [4, "2", None, True, False, "b=x&a=1&c=4", "a=1&a=0&b=x", "a=1&b=x",
                  ["a:1", "b:x"], ["a", "b"], ["1", "x"], "TypeError"]


def test_searchparams_and_url_stay_in_step(js):
    assert js.run("""const u3 = new URL('https://h.test/p?q=1#frag');
      const sp = u3.searchParams;
      sp.append('name', 'Zoë & co');
      const a = u3.href;
      u3.search = '?x=9';
      const b = [...sp];
      sp.delete('x');
      const c = u3.href;
      u3.href = 'https://h.test/?k=v';
      [a, b, c, sp.get('k'), u3.searchParams === sp]""") == [
        "https://h.test/p?q=1&name=Zo%C3%AB+%26+co#frag", [["x", "9"]], "https://h.test/p#frag", "v", True]


# The cases of WPT url/urlsearchparams-sort.any.js: a stable sort by UTF-16 code units.
SORT_CASES = [
    ("z=b&a=b&z=a&a=a", [["a", "b"], ["a", "a"], ["z", "b"], ["z", "a"]]),
    ("\ufffd=x&\ufffc&\ufffd=a", [["\ufffc", ""], ["\ufffd", "x"], ["\ufffd", "a"]]),
    ("ﬃ&🌈", [["🌈", ""], ["ﬃ", ""]]),
    ("é&e\ufffd&e\u0301", [["e\u0301", ""], ["e\ufffd", ""], ["é", ""]]),
    ("z=z&a=a&z=y&a=b&z=x&a=c&z=w&a=d&z=v&a=e&z=u&a=f&z=t&a=g",
     [["a", c] for c in "abcdefg"] + [["z", c] for c in "zyxwvut"]),
    ("bbb&bb&aaa&aa=x&aa=y", [["aa", "x"], ["aa", "y"], ["aaa", ""], ["bb", ""], ["bbb", ""]]),
    ("z=z&=f&=t&=x", [["", "f"], ["", "t"], ["", "x"], ["z", "z"]]),
    ("a🌈&a💩", [["a🌈", ""], ["a💩", ""]]),
]


@pytest.mark.parametrize("query, expected", SORT_CASES)
def test_urlsearchparams_sort_passes_the_wpt_cases(js, query, expected):
    assert js.run("""const p = new URLSearchParams(dukpy.q); p.sort();
      const u = new URL('?' + dukpy.q, 'https://example/'); u.searchParams.sort();
      [[...p], [...new URLSearchParams(u.search)]]""", q=query) == [expected, expected]


def test_sorting_no_params_removes_the_question_mark(js):
    assert js.run("const u = new URL('http://example.com/?'); u.searchParams.sort(); [u.href, u.search]") == [
        "http://example.com/", ""]
