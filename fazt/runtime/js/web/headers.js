// Headers (Fetch standard): case-insensitive names, values combined with ", ", iteration sorted
// by name, Set-Cookie kept apart (getSetCookie). No forbidden header names: this is a server.

const W = globalThis.__faztWebBuild;
const { define, webidl, slot, setSlot, hasSlot, byteString } = W;

const HEADERS = 'Headers';
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function headerName(name) {
  const n = byteString(name);
  if (!TOKEN.test(n)) throw new TypeError(`Invalid header name: "${n}"`);
  return n.toLowerCase();
}

function headerValue(value) {
  const v = byteString(value).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
  if (/[\0\r\n]/.test(v)) throw new TypeError(`Invalid header value: "${v}"`);
  return v;
}

function writable(s) {
  if (s.guard === 'immutable') throw new TypeError('Headers are immutable');
  return s;
}

function fill(headers, init) {
  if (init === undefined) return;
  if (typeof init !== 'object' || init === null) {
    throw new TypeError("Headers: init must be a sequence of pairs or a record");
  }
  if (hasSlot(init, HEADERS)) {
    for (const [n, v] of slot(init, HEADERS).list) slot(headers, HEADERS).list.push([n, v]);
  } else if (typeof init[Symbol.iterator] === 'function') {
    for (const pair of init) {
      const items = typeof pair === 'object' && pair !== null && typeof pair[Symbol.iterator] === 'function'
        ? [...pair] : null;
      if (!items || items.length !== 2) throw new TypeError('Headers: each header must be a [name, value] pair');
      headers.append(items[0], items[1]);
    }
  } else {
    for (const key of Reflect.ownKeys(init)) {
      const d = Reflect.getOwnPropertyDescriptor(init, key);
      if (d === undefined || !d.enumerable) continue;
      if (typeof key === 'symbol') throw new TypeError('Cannot convert a Symbol value to a string');
      headers.append(key, init[key]);
    }
  }
}

// The sort-and-combine algorithm: [name, value] pairs, names lower-case and sorted.
function sortAndCombine(list) {
  const names = [...new Set(list.map(([n]) => n))].sort();
  const out = [];
  for (const name of names) {
    if (name === 'set-cookie') {
      for (const [n, v] of list) if (n === name) out.push([n, v]);
    } else {
      out.push([name, list.filter(([n]) => n === name).map(([, v]) => v).join(', ')]);
    }
  }
  return out;
}

class Headers {
  constructor(init = undefined) {
    setSlot(this, HEADERS, { list: [], guard: 'none' });
    fill(this, init);
  }
  append(name, value) {
    if (arguments.length < 2) throw new TypeError('Headers.append: 2 arguments required');
    const n = headerName(name);
    const v = headerValue(value);
    writable(slot(this, HEADERS)).list.push([n, v]);
  }
  delete(name) {
    const n = headerName(name);
    const s = writable(slot(this, HEADERS));
    s.list = s.list.filter(([x]) => x !== n);
  }
  get(name) {
    const n = headerName(name);
    const values = slot(this, HEADERS).list.filter(([x]) => x === n).map(([, v]) => v);
    return values.length ? values.join(', ') : null;
  }
  getSetCookie() {
    return slot(this, HEADERS).list.filter(([x]) => x === 'set-cookie').map(([, v]) => v);
  }
  has(name) {
    const n = headerName(name);
    return slot(this, HEADERS).list.some(([x]) => x === n);
  }
  set(name, value) {
    if (arguments.length < 2) throw new TypeError('Headers.set: 2 arguments required');
    const n = headerName(name);
    const v = headerValue(value);
    const s = writable(slot(this, HEADERS));
    const i = s.list.findIndex(([x]) => x === n);
    if (i < 0) s.list.push([n, v]);
    else {
      s.list[i] = [n, v];
      s.list = s.list.filter(([x], j) => j <= i || x !== n);
    }
  }
  forEach(callback, thisArg = undefined) {
    if (typeof callback !== 'function') throw new TypeError('forEach: callback is not a function');
    for (const [n, v] of sortAndCombine(slot(this, HEADERS).list)) callback.call(thisArg, v, n, this);
  }
  *entries() { yield* sortAndCombine(slot(this, HEADERS).list); }
  *keys() { for (const [n] of sortAndCombine(slot(this, HEADERS).list)) yield n; }
  *values() { for (const [, v] of sortAndCombine(slot(this, HEADERS).list)) yield v; }
}
define(Headers.prototype, Symbol.iterator, Headers.prototype.entries, true);
webidl(Headers, 'Headers');

// A new Headers filled from `init`, with the given guard ("none" or "immutable").
W.makeHeaders = (init, guard = 'none') => {
  const h = new Headers(init);
  slot(h, HEADERS).guard = guard;
  return h;
};
W.setHeadersGuard = (headers, guard) => { slot(headers, HEADERS).guard = guard; };
W.headersGuard = (headers) => slot(headers, HEADERS).guard;
define(globalThis, 'Headers', Headers);
