// fazt prelude: the serverless JavaScript API of SPEC §7 and §14 for one interpreter.
//
// interpreters.py evaluates this file once per interpreter (one per site and deployment), as an
// ES module, after the Web API files of js/web/ORDER. It defines the fazt globals -- req, res, db,
// fetch, console, socket, process, setTimeout and friends -- on top of the Python functions the
// worker exports ("fazt.host" for host calls, "fazt.wait" to wait for an async call's reply), and
// `__fazt`, the frozen object the worker drives runs with (see lifecycle.js for the runs
// themselves: this file holds the APIs, lifecycle.js what a run is).
//
// Many runs are in flight in one interpreter. Each worker slice (one evaljs) belongs to one run and
// sets `current` to it, so the per-request globals (req, res, process, console) and host calls
// are that run's. A slice hands its events (async calls to send, timers, outcomes) back to the
// worker through a toJSON hook, which dukpy invokes after it has drained the job queue.

const callPython = globalThis.call_python;
const jsonStringify = JSON.stringify;
const defineProperty = Object.defineProperty;
const freeze = Object.freeze;
const objectKeys = Object.keys;
const isArray = Array.isArray;
const QuickJSInternalError = InternalError;
const hasOwn = (object, key) => Object.prototype.hasOwnProperty.call(object, key);

const HTML = 'text/html; charset=utf-8';
const JSON_TYPE = 'application/json';
const MAX_LOG_LINES = 200;
const MAX_LOG_CHARS = 4096;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEADER_VALUE_FORBIDDEN = /[\r\n\0]/;

// ---------------------------------------------------------------------------------------------
// Host bridge

// The only door to Python. dukpy re-installs a fresh `call_python` global before every evaljs;
// at the end of this file that global becomes an accessor whose setter ignores the new function
// and whose getter returns this wrapper, so scripts never hold the raw function.
function guardedCallPython(...args) {
  let reply;
  try {
    reply = callPython(...args);
  } catch (e) {
    // dukpy throws a catchable "interrupted" error when a CPU-timer tick is handled around a call.
    if (e instanceof QuickJSInternalError && e.message === 'interrupted') spinUntilInterrupted();
    throw e;
  }
  if (reply !== null && typeof reply === 'object' && reply.abort === true) spinUntilInterrupted();
  return reply;
}

// The CPU budget is gone. Spin in pure JS: the next CPU-timer tick interrupts the interpreter
// itself, and that interrupt cannot be caught by the script.
function spinUntilInterrupted() {
  for (;;) {}
}

function unwrapReply(reply) {
  if (reply === null || typeof reply !== 'object' || reply.ok !== true) {
    throw new Error(String(reply && reply.error));
  }
  return reply.value;
}

const state = { current: null, outbox: [] };

// A synchronous host call (see PROTOCOL.md for names and arguments): the worker blocks until
// its reply. A failed host call throws an Error with the host's message.
function host(fn, args) {
  const run = state.current;
  return unwrapReply(guardedCallPython('fazt.host', run === null ? -1 : run.id, fn, args));
}

function emit(event) {
  state.outbox[state.outbox.length] = event;
}

// An asynchronous host call: the worker sends it and goes on; the reply settles the Promise in a
// later slice (see lifecycle.js resume). Returns [promise, key].
function hostAsync(run, fn, args) {
  const key = ++run.keys;
  const promise = new Promise((resolve, reject) => run.calls.set(key, { resolve, reject, fn, args }));
  emit(['call', run.id, key, fn, args]);
  return [promise, key];
}

// Block until the reply of an async call (a fazt-style getter needs it now); its Promise settles
// with the same reply. A call still in this slice's outbox is taken back and made synchronously.
function awaitCall(run, key) {
  const call = run.calls.get(key);
  run.calls.delete(key);
  let value;
  try {
    value = takeBack(run, key) ? host(call.fn, call.args) : unwrapReply(guardedCallPython('fazt.wait', run.id, key));
  } catch (e) {
    if (call !== undefined) call.reject(e);
    throw e;
  }
  if (call !== undefined) call.resolve(value);
  return value;
}

function takeBack(run, key) {
  const outbox = state.outbox;
  for (let i = 0; i < outbox.length; i++) {
    const event = outbox[i];
    if (event[0] === 'call' && event[1] === run.id && event[2] === key) {
      outbox.splice(i, 1);
      return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// console: lines collected into the run's logs (at most MAX_LOG_LINES of MAX_LOG_CHARS)

function safeString(value) {
  try {
    return String(value);
  } catch (e) {
    return Object.prototype.toString.call(value);
  }
}

function formatLogArgument(value) {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return value.stack ? safeString(value) + '\n' + value.stack : safeString(value);
  if (value === null || typeof value !== 'object') return safeString(value);
  try {
    const text = jsonStringify(value);
    return text === undefined ? safeString(value) : text;
  } catch (e) {
    return safeString(value);  // e.g. a circular structure
  }
}

function recordTo(run, level, args) {
  if (run === null) return;
  if (run.logs.length >= MAX_LOG_LINES) {
    run.droppedLogs += 1;
    return;
  }
  let line = '';
  for (let i = 0; i < args.length; i++) {
    line += (i ? ' ' : '') + formatLogArgument(args[i]);
    if (line.length > MAX_LOG_CHARS) break;
  }
  run.logs[run.logs.length] = [level, line.length > MAX_LOG_CHARS ? line.slice(0, MAX_LOG_CHARS) : line];
}

const record = (level, args) => recordTo(state.current, level, args);

const console = freeze({
  log: (...args) => record('info', args),
  info: (...args) => record('info', args),
  warn: (...args) => record('warn', args),
  error: (...args) => record('error', args),
  debug: (...args) => record('debug', args),
});

// ---------------------------------------------------------------------------------------------
// Part one's headers (req.headers, a fetch result read at once): a plain object of lowercase name -> value

function checkHeader(name, value) {
  const text = String(name);
  if (!HEADER_NAME.test(text)) throw new TypeError(`invalid header name: ${jsonStringify(text)}`);
  const valueText = String(value);
  if (HEADER_VALUE_FORBIDDEN.test(valueText)) throw new TypeError(`invalid value for header ${text}`);
  return [text.toLowerCase(), valueText];
}

// Turn a Headers (anything iterable of pairs), a plain object (values may be arrays) or an
// array of pairs into checked [name, value] pairs.
function headerPairs(init) {
  const pairs = [];
  if (init === undefined || init === null) return pairs;
  if (isArray(init) || (typeof init.entries === 'function' && typeof init[Symbol.iterator] === 'function')) {
    for (const pair of init) pairs[pairs.length] = checkHeader(pair[0], pair[1]);
    return pairs;
  }
  for (const name of objectKeys(init)) {
    const value = init[name];
    if (isArray(value)) {
      for (const item of value) pairs[pairs.length] = checkHeader(name, item);
    } else if (value !== undefined && value !== null) {
      pairs[pairs.length] = checkHeader(name, value);
    }
  }
  return pairs;
}

class LegacyHeaders {
  constructor(init) {
    for (const [name, value] of headerPairs(init)) this.append(name, value);
  }
  get(name) {
    const key = String(name).toLowerCase();
    return hasOwn(this, key) ? this[key] : null;
  }
  has(name) {
    return hasOwn(this, String(name).toLowerCase());
  }
  set(name, value) {
    const [key, text] = checkHeader(name, value);
    defineProperty(this, key, { value: text, enumerable: true, writable: true, configurable: true });
  }
  append(name, value) {
    const [key, text] = checkHeader(name, value);
    this.set(key, hasOwn(this, key) ? `${this[key]}, ${text}` : text);
  }
  delete(name) {
    delete this[String(name).toLowerCase()];
  }
  forEach(callback, thisArg) {
    for (const key of objectKeys(this)) callback.call(thisArg, this[key], key, this);
  }
  keys() { return objectKeys(this)[Symbol.iterator](); }
  values() { return objectKeys(this).map((key) => this[key])[Symbol.iterator](); }
  entries() { return objectKeys(this).map((key) => [key, this[key]])[Symbol.iterator](); }
  [Symbol.iterator]() { return this.entries(); }
}

// The Web API classes, bound on first use (useWeb): the Web API files load lazily (sandbox.py), so a
// request that never touches them never pays for them.
let Headers;

// Headers as part one's scripts see them (req.headers, a fetch result read at once): every header an
// own property (lowercase name), with the Fetch-style methods on the prototype; never refused.
function plainHeaders(source) {
  const headers = Object.create(LegacyHeaders.prototype);
  if (source && typeof source === 'object') {
    for (const name of objectKeys(source)) {
      defineProperty(headers, String(name).toLowerCase(),
        { value: String(source[name]), enumerable: true, writable: true, configurable: true });
    }
  }
  return headers;
}

// Headers from the parent (the request's, a fetch result's): taken as they are, never refused;
// a name the Headers class would refuse is left out of it (the legacy req keeps every header).
function trustedHeaders(source) {
  useWeb();
  const headers = new Headers();
  if (source && typeof source === 'object') {
    for (const name of objectKeys(source)) {
      try {
        headers.append(name, String(source[name]));
      } catch (e) {
        // a name or value the Headers class refuses is left out
      }
    }
  }
  return headers;
}

// ---------------------------------------------------------------------------------------------
// res: the fazt-style response builder (send appends; every method is chainable)

function checkStatus(code) {
  const status = Number(code);
  if (!Number.isInteger(status) || status < 100 || status > 599) {
    throw new RangeError(`invalid HTTP status: ${safeString(code)}`);
  }
  return status;
}

function bodyText(body) {
  return body === undefined || body === null ? '' : safeString(body);
}

function hasHeader(pairs, key) {
  for (const pair of pairs) if (pair[0] === key) return true;
  return false;
}

class ResponseBuilder {
  #status = 200;
  #headers = [];
  #body = '';

  status(code) {
    this.#status = checkStatus(code);
    return this;
  }
  header(name, value) {
    const pair = checkHeader(name, value);
    if (pair[0] !== 'set-cookie') this.#headers = this.#headers.filter((existing) => existing[0] !== pair[0]);
    this.#headers.push(pair);
    return this;
  }
  send(text) {
    if (!hasHeader(this.#headers, 'content-type')) this.#headers.push(['content-type', HTML]);
    this.#body += bodyText(text);
    return this;
  }
  json(value) {
    if (!hasHeader(this.#headers, 'content-type')) this.#headers.push(['content-type', JSON_TYPE]);
    const text = jsonStringify(value);
    this.#body += text === undefined ? 'null' : text;
    return this;
  }
  redirect(url, code = 302) {
    return this.status(code).header('location', String(url));
  }
  static envelope(builder) {
    const headers = builder.#headers.slice();
    if (!hasHeader(headers, 'content-type')) headers.push(['content-type', HTML]);
    return { status: builder.#status, headers, body: builder.#body };
  }
}

let Response;
let Request;

// ---------------------------------------------------------------------------------------------
// Bodies on the wire: text, or base64 of the bytes (PROTOCOL.md body_base64)

let web;
let webBound = false;

// Bind Headers, Response, Request and the hidden helpers to the Web API files' (loading them).
function useWeb() {
  if (webBound) return;
  webBound = true;
  web = globalThis.__faztWeb;
  Headers = globalThis.Headers;
  Response = globalThis.Response;
  Request = globalThis.Request;
}

function bytesToBase64(bytes) {
  useWeb();
  return web.bytesToBase64(bytes);
}

function wireToBytes(base64) {
  useWeb();
  return web.wireToBytes(base64);
}

function asBytes(body) {
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  return null;
}

// [text, base64?] of a body a script gave (a Response's body, a fetch init's body).
function wireBody(body) {
  if (body === undefined || body === null) return ['', false];
  if (typeof body === 'string') return [body, false];
  const bytes = asBytes(body);
  if (bytes !== null) return [bytesToBase64(bytes), true];
  useWeb();
  const wire = web.bodyToWire(body);
  return 'base64' in wire ? [wire.base64, true] : [wire.text, false];
}

export {
  state, host, hostAsync, awaitCall, takeBack, emit, guardedCallPython, recordTo, console, safeString, checkHeader,
  headerPairs, hasHeader, trustedHeaders, plainHeaders, checkStatus, bodyText, ResponseBuilder, Headers, Response, Request, useWeb,
  wireBody, wireToBytes, asBytes, HTML, JSON_TYPE, MAX_LOG_LINES,
};
