// URL and URLSearchParams (WHATWG URL standard). Parsing, serialisation and the URL setters are
// done by ada (the parser Node uses) in the worker: web.url.parse / web.url.set in webhost.py.
// URLSearchParams is the standard's application/x-www-form-urlencoded parser and serializer.

const W = globalThis.__faztWebBuild;
const { define, webidl, slot, setSlot, hasSlot, usv, local, utf8EncodeBinary, utf8DecodeBinary } = W;

const URL_BRAND = 'URL';
const PARAMS = 'URLSearchParams';

// ---- application/x-www-form-urlencoded ----

// Percent-decode (after "+" to space), then UTF-8 decode without BOM, with replacement.
function percentDecode(text) {
  if (!/[%+]/.test(text)) return text;
  const binary = utf8EncodeBinary(text.replace(/\+/g, ' '))
    .replace(/%([0-9A-Fa-f]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
  return utf8DecodeBinary(binary);
}

function parseUrlencoded(input) {
  const list = [];
  for (const sequence of input.split('&')) {
    if (sequence === '') continue;
    const eq = sequence.indexOf('=');
    const name = eq < 0 ? sequence : sequence.slice(0, eq);
    const value = eq < 0 ? '' : sequence.slice(eq + 1);
    list.push([percentDecode(name), percentDecode(value)]);
  }
  return list;
}

// The application/x-www-form-urlencoded percent-encode set differs from encodeURIComponent's
// only in these characters (and in writing a space as "+").
const FORM_EXTRA = { '!': '%21', "'": '%27', '(': '%28', ')': '%29', '~': '%7E' };

function encodeComponent(text) {
  if (/^[A-Za-z0-9*\-._]*$/.test(text)) return text;
  return encodeURIComponent(text).replace(/%20/g, '+').replace(/[!'()~]/g, (c) => FORM_EXTRA[c]);
}

function serializeUrlencoded(list) {
  return list.map(([name, value]) => encodeComponent(name) + '=' + encodeComponent(value)).join('&');
}

// ---- URLSearchParams ----

class URLSearchParams {
  constructor(init = '') {
    const s = setSlot(this, PARAMS, { list: [], url: null });
    if (init !== null && typeof init === 'object' || typeof init === 'function') {
      if (typeof init[Symbol.iterator] === 'function') {
        for (const pair of init) {
          const items = typeof pair === 'object' && pair !== null && typeof pair[Symbol.iterator] === 'function'
            ? [...pair] : null;
          if (!items || items.length !== 2) {
            throw new TypeError('Each query pair must be an iterable [name, value] tuple');
          }
          s.list.push([usv(items[0]), usv(items[1])]);
        }
      } else {
        for (const key of Reflect.ownKeys(init)) {
          const d = Reflect.getOwnPropertyDescriptor(init, key);
          if (d === undefined || !d.enumerable) continue;
          if (typeof key === 'symbol') throw new TypeError('Cannot convert a Symbol value to a string');
          s.list.push([usv(key), usv(init[key])]);
        }
      }
    } else {
      let text = usv(init);
      if (text.startsWith('?')) text = text.slice(1);
      s.list = parseUrlencoded(text);
    }
  }
  get size() { return slot(this, PARAMS).list.length; }
  append(name, value) {
    requireArgs(arguments, 2, 'append');
    const s = slot(this, PARAMS);
    s.list.push([usv(name), usv(value)]);
    updateUrl(s);
  }
  delete(name, value) {
    requireArgs(arguments, 1, 'delete');
    const s = slot(this, PARAMS);
    name = usv(name);
    const v = value === undefined ? undefined : usv(value);
    s.list = s.list.filter(([n, x]) => !(n === name && (v === undefined || x === v)));
    updateUrl(s);
  }
  get(name) {
    requireArgs(arguments, 1, 'get');
    name = usv(name);
    const found = slot(this, PARAMS).list.find(([n]) => n === name);
    return found ? found[1] : null;
  }
  getAll(name) {
    requireArgs(arguments, 1, 'getAll');
    name = usv(name);
    return slot(this, PARAMS).list.filter(([n]) => n === name).map(([, v]) => v);
  }
  has(name, value) {
    requireArgs(arguments, 1, 'has');
    name = usv(name);
    const v = value === undefined ? undefined : usv(value);
    return slot(this, PARAMS).list.some(([n, x]) => n === name && (v === undefined || x === v));
  }
  set(name, value) {
    requireArgs(arguments, 2, 'set');
    const s = slot(this, PARAMS);
    name = usv(name);
    value = usv(value);
    const i = s.list.findIndex(([n]) => n === name);
    if (i < 0) s.list.push([name, value]);
    else {
      s.list[i][1] = value;
      s.list = s.list.filter(([n], j) => j <= i || n !== name);
    }
    updateUrl(s);
  }
  sort() {
    const s = slot(this, PARAMS);
    // Stable, by UTF-16 code units (the standard), which is what < on strings compares.
    s.list = s.list.map((pair, i) => [pair, i])
      .sort(([a, i], [b, j]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : i - j))
      .map(([pair]) => pair);
    updateUrl(s);
  }
  forEach(callback, thisArg = undefined) {
    if (typeof callback !== 'function') throw new TypeError('forEach: callback is not a function');
    const s = slot(this, PARAMS);
    for (let i = 0; i < s.list.length; i++) callback.call(thisArg, s.list[i][1], s.list[i][0], this);
  }
  *entries() { const s = slot(this, PARAMS); for (let i = 0; i < s.list.length; i++) yield [s.list[i][0], s.list[i][1]]; }
  *keys() { const s = slot(this, PARAMS); for (let i = 0; i < s.list.length; i++) yield s.list[i][0]; }
  *values() { const s = slot(this, PARAMS); for (let i = 0; i < s.list.length; i++) yield s.list[i][1]; }
  toString() { return serializeUrlencoded(slot(this, PARAMS).list); }
}
define(URLSearchParams.prototype, Symbol.iterator, URLSearchParams.prototype.entries, true);
webidl(URLSearchParams, 'URLSearchParams');

function requireArgs(args, count, name) {
  if (args.length < count) {
    throw new TypeError(`URLSearchParams.${name}: ${count} argument${count > 1 ? 's' : ''} required`);
  }
}

// The URLSearchParams update steps: write the list back into the URL it belongs to.
function updateUrl(paramsState) {
  const url = paramsState.url;
  if (url === null) return;
  const text = serializeUrlencoded(paramsState.list);
  const u = slot(url, URL_BRAND);
  u.record = local('web.url.set', u.record.href, 'search', text === '' ? '' : '?' + text);
}

// ---- URL ----

function parse(url, base) {
  return local('web.url.parse', usv(url), base === undefined ? null : usv(base));
}

class URL {
  constructor(url, base = undefined) {
    if (arguments.length === 0) throw new TypeError('URL: 1 argument required');
    const record = parse(url, base);
    if (record === null) throw new TypeError(`Invalid URL: ${String(url)}`);
    const s = setSlot(this, URL_BRAND, { record, params: null });
    s.params = new URLSearchParams(record.search);
    slot(s.params, PARAMS).url = this;
  }
  static canParse(url, base = undefined) {
    if (arguments.length === 0) throw new TypeError('URL.canParse: 1 argument required');
    return parse(url, base) !== null;
  }
  static parse(url, base = undefined) {
    if (arguments.length === 0) throw new TypeError('URL.parse: 1 argument required');
    return parse(url, base) === null ? null : new URL(url, base);
  }
  get href() { return slot(this, URL_BRAND).record.href; }
  set href(value) {
    const s = slot(this, URL_BRAND);
    const record = parse(value);
    if (record === null) throw new TypeError(`Invalid URL: ${String(value)}`);
    s.record = record;
    slot(s.params, PARAMS).list = parseUrlencoded(record.search.slice(1));
  }
  get origin() { return slot(this, URL_BRAND).record.origin; }
  get searchParams() { return slot(this, URL_BRAND).params; }
  toString() { return slot(this, URL_BRAND).record.href; }
  toJSON() { return slot(this, URL_BRAND).record.href; }
}
for (const part of ['protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search', 'hash']) {
  Object.defineProperty(URL.prototype, part, {
    get() { return slot(this, URL_BRAND).record[part]; },
    set(value) {
      const s = slot(this, URL_BRAND);
      s.record = local('web.url.set', s.record.href, part, usv(value));
      if (part === 'search') slot(s.params, PARAMS).list = parseUrlencoded(s.record.search.slice(1));
    },
    enumerable: true,
    configurable: true,
  });
}
webidl(URL, 'URL');

W.parseUrlencoded = parseUrlencoded;
W.isURLSearchParams = (value) => hasSlot(value, PARAMS);
define(globalThis, 'URL', URL);
define(globalThis, 'URLSearchParams', URLSearchParams);
