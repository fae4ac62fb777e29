// fazt prelude: the serverless JavaScript API of SPEC §7 for one site's interpreter.
//
// sandbox.py evaluates this file once per interpreter, as an ES module (strict mode, its own
// scope). It defines the globals a site script sees -- req, res, db, fetch, console, socket,
// process, Response, Headers -- on top of a single host function, "fazt.host", reached through
// dukpy's call_python. It also defines `__fazt`, the frozen object sandbox.py uses to register
// compiled scripts and to run one request.
//
// Host calls are synchronous: the worker blocks on its pipe until the parent replies. So every
// Promise built from their results settles while dukpy drains the job queue at the end of the
// evaljs call that started the request. The request's outcome is computed by a toJSON hook,
// which dukpy invokes only after that drain (see __fazt.start).

const callPython = globalThis.call_python;
const jsonStringify = JSON.stringify;
const jsonParse = JSON.parse;
const defineProperty = Object.defineProperty;
const freeze = Object.freeze;
const objectKeys = Object.keys;
const isArray = Array.isArray;
const QuickJSInternalError = InternalError;
const hasOwn = (object, key) => Object.prototype.hasOwnProperty.call(object, key);

const HTML = 'text/html; charset=utf-8';
const JSON_TYPE = 'application/json';
const TEXT = 'text/plain; charset=utf-8';
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

// Call a host function (see PROTOCOL.md for names and arguments) and return its value.
// A failed host call throws an Error with the host's message.
function host(fn, args) {
  const reply = guardedCallPython('fazt.host', fn, args);
  if (reply === null || typeof reply !== 'object' || reply.ok !== true) {
    throw new Error(String(reply && reply.error));
  }
  return reply.value;
}

// ---------------------------------------------------------------------------------------------
// Per-request state

let current = null;  // the request being run: see newRun()

function newRun(request, env) {
  const envCopy = {};
  for (const name of objectKeys(env || {})) {
    defineProperty(envCopy, name, { value: String(env[name]), enumerable: true });
  }
  return {
    req: makeRequest(request || {}),
    res: new ResponseBuilder(),
    process: freeze({ env: freeze(envCopy) }),
    logs: [],
    droppedLogs: 0,
    settled: false,
    failed: false,
    result: undefined,
    error: undefined,
  };
}

function copyPlainObject(source) {
  const copy = {};
  if (source && typeof source === 'object') {
    for (const key of objectKeys(source)) {
      defineProperty(copy, key, { value: source[key], enumerable: true, writable: true, configurable: true });
    }
  }
  return copy;
}

function makeRequest(request) {
  return {
    method: String(request.method || 'GET'),
    path: String(request.path || '/'),
    query: String(request.query || ''),
    params: copyPlainObject(request.params),
    headers: trustedHeaders(request.headers),
    body: String(request.body || ''),
    ip: String(request.ip || ''),
    host: String(request.host || ''),
    cookies: copyPlainObject(request.cookies),
  };
}

// ---------------------------------------------------------------------------------------------
// console: lines collected into the request's logs (at most MAX_LOG_LINES of MAX_LOG_CHARS)

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

function record(level, args) {
  const run = current;
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

const console = freeze({
  log: (...args) => record('info', args),
  info: (...args) => record('info', args),
  warn: (...args) => record('warn', args),
  error: (...args) => record('error', args),
  debug: (...args) => record('debug', args),
});

function collectLogs(run) {
  const logs = run.logs.slice(0, MAX_LOG_LINES);
  if (run.droppedLogs > 0) {
    logs[logs.length] = ['warn', `${run.droppedLogs} more log lines dropped (limit ${MAX_LOG_LINES} per request)`];
  }
  return logs;
}

// ---------------------------------------------------------------------------------------------
// Headers: a plain object of lowercase name -> value, with Fetch-style methods on its prototype

function checkHeader(name, value) {
  const text = String(name);
  if (!HEADER_NAME.test(text)) throw new TypeError(`invalid header name: ${jsonStringify(text)}`);
  const valueText = String(value);
  if (HEADER_VALUE_FORBIDDEN.test(valueText)) throw new TypeError(`invalid value for header ${text}`);
  return [text.toLowerCase(), valueText];
}

// Turn a Headers, a plain object (values may be arrays) or an array of pairs into [name, value] pairs.
function headerPairs(init) {
  const pairs = [];
  if (init === undefined || init === null) return pairs;
  if (isArray(init)) {
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

class Headers {
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

// Headers from the parent (the request's, a fetch result's): taken as they are, never refused.
function trustedHeaders(source) {
  const headers = Object.create(Headers.prototype);
  if (source && typeof source === 'object') {
    for (const name of objectKeys(source)) {
      defineProperty(headers, String(name).toLowerCase(),
        { value: String(source[name]), enumerable: true, writable: true, configurable: true });
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

// ---------------------------------------------------------------------------------------------
// Response: a minimal Fetch-style response, also what fetch() returns on success

class Response {
  constructor(body, init) {
    const options = init || {};
    this.status = options.status === undefined ? 200 : checkStatus(options.status);
    this.statusText = options.statusText === undefined ? '' : String(options.statusText);
    this.headers = new Headers(options.headers);
    this.body = bodyText(body);
  }
  get ok() { return this.status >= 200 && this.status <= 299; }
  text() { return Promise.resolve(this.body); }
  json() { return new Promise((resolve) => resolve(jsonParse(this.body))); }
  static json(value, init) {
    const text = jsonStringify(value);
    const response = new Response(text === undefined ? 'null' : text, init);
    if (!response.headers.has('content-type')) response.headers.set('content-type', JSON_TYPE);
    return response;
  }
  static redirect(url, status = 302) {
    return new Response('', { status, headers: { location: String(url) } });
  }
}

// ---------------------------------------------------------------------------------------------
// fetch: synchronous underneath; the parent does the request (SSRF checks, limits)

function fetchFailure(message) {
  const rejection = () => Promise.reject(new Error(message));
  // Thenable on purpose: `await fetch(bad)` throws, while `fetch(bad).error` still reads (fazt style).
  return {
    error: message,
    status: 0,
    ok: false,
    headers: new Headers(),
    body: '',
    then: (onFulfilled, onRejected) => rejection().then(onFulfilled, onRejected),
    catch: (onRejected) => rejection().catch(onRejected),
    text: rejection,
    json: rejection,
  };
}

function fetch(url, options) {
  const init = options || {};
  const body = init.body === undefined || init.body === null ? null
    : typeof init.body === 'string' ? init.body : jsonStringify(init.body);
  const request = {
    method: String(init.method || 'GET').toUpperCase(),
    headers: Object.fromEntries(headerPairs(init.headers)),
    body,
  };
  let reply;
  try {
    reply = host('fetch', [String(url), request]);
  } catch (e) {
    return fetchFailure(e.message);
  }
  if (reply === null || typeof reply !== 'object' || typeof reply.error === 'string') {
    return fetchFailure(reply && typeof reply.error === 'string' ? reply.error : 'fetch failed');
  }
  // Not validated like user input: the status comes from the remote server via the parent.
  const response = Object.create(Response.prototype);
  response.status = Number(reply.status) || 0;
  response.statusText = '';
  response.headers = trustedHeaders(reply.headers);
  response.body = bodyText(reply.body);
  response.url = String(url);
  return response;
}

// ---------------------------------------------------------------------------------------------
// db (per-site key-value store) and socket (the site's WebSocket clients)

const db = freeze({
  get: (key) => host('db.get', [String(key)]),
  set(key, value, options) {
    let ttl = null;
    if (options && options.ttl !== undefined && options.ttl !== null) {
      ttl = Number(options.ttl);
      if (!Number.isFinite(ttl) || ttl <= 0) throw new TypeError('db.set: ttl must be a positive number of seconds');
    }
    host('db.set', [String(key), value === undefined ? null : value, ttl]);
  },
  delete: (key) => host('db.delete', [String(key)]),
  list: (prefix) => host('db.list', [prefix === undefined || prefix === null ? '' : String(prefix)]),
  incr(key, by) {
    const amount = by === undefined || by === null ? 1 : Number(by);
    if (!Number.isFinite(amount)) throw new TypeError('db.incr: the increment must be a number');
    return host('db.incr', [String(key), amount]);
  },
});

const socket = freeze({
  broadcast: (message) => host('socket.broadcast', [typeof message === 'string' ? message : jsonStringify(message)]),
  clients: () => host('socket.clients', []),
});

// ---------------------------------------------------------------------------------------------
// Running one request

function describeError(error) {
  if (error instanceof Error) {
    const kind = error.name === 'InternalError' && error.message === 'out of memory' ? 'memory' : 'exception';
    return { kind, message: safeString(error), stack: typeof error.stack === 'string' ? error.stack : null };
  }
  let message;
  try {
    message = typeof error === 'object' && error !== null ? jsonStringify(error) : undefined;
  } catch (e) {
    message = undefined;
  }
  const text = message === undefined ? safeString(error) : message;
  return { kind: 'exception', message: 'Uncaught ' + text, stack: null };
}

function settle(run, value) {
  run.settled = true;
  run.result = value;
}

function fail(run, error) {
  run.settled = true;
  run.failed = true;
  run.error = error;
}

// Call the default export (if any) with req; a returned thenable settles during the job drain.
function callHandler(run, exported) {
  if (exported === undefined || exported === null) return settle(run, undefined);
  let result = exported;
  try {
    if (typeof exported === 'function') result = exported(run.req);
    else if (typeof exported === 'object' && typeof exported.fetch === 'function') result = exported.fetch(run.req);
  } catch (e) {
    return fail(run, e);
  }
  if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
    Promise.resolve(result).then((value) => settle(run, value), (error) => fail(run, error));
  } else {
    settle(run, result);
  }
}

// Turn a handler result (or, when it is undefined, what `res` accumulated) into a response.
function toResponse(result, res) {
  if (result === undefined || result === null) return ResponseBuilder.envelope(res);
  if (typeof result === 'string') return { status: 200, headers: [['content-type', HTML]], body: result };
  if (result instanceof Response) {
    const headers = headerPairs(result.headers);
    if (result.body !== '' && !hasHeader(headers, 'content-type')) headers.push(['content-type', TEXT]);
    return { status: checkStatus(result.status), headers, body: result.body };
  }
  if (typeof result !== 'object') return { status: 200, headers: [['content-type', HTML]], body: safeString(result) };
  if (!('status' in result || 'headers' in result || 'body' in result)) {
    return { status: 200, headers: [['content-type', JSON_TYPE]], body: jsonStringify(result) };
  }
  const headers = headerPairs(result.headers);
  let body = result.body;
  let type = HTML;
  if (body === undefined || body === null) {
    body = '';
  } else if (typeof body !== 'string') {
    body = jsonStringify(body);
    type = JSON_TYPE;
  }
  if (body !== '' && !hasHeader(headers, 'content-type')) headers.push(['content-type', type]);
  return { status: result.status === undefined ? 200 : checkStatus(result.status), headers, body };
}

function finish(run) {
  const logs = collectLogs(run);
  if (!run.settled) {
    return { ok: false, kind: 'exception', stack: null, logs,
      message: 'the handler never finished: its Promise is still pending (only host calls settle)' };
  }
  if (run.failed) return { ok: false, ...describeError(run.error), logs };
  try {
    return { ok: true, response: toResponse(run.result, run.res), logs };
  } catch (e) {
    return { ok: false, ...describeError(e), logs };
  }
}

const scripts = new Map();  // content hash -> compiled script function (see sandbox.py)

const internal = freeze({
  register(script, hash) {
    scripts.set(hash, script);
  },
  forget(hash) {
    scripts.delete(hash);
  },
  // Start one request; the returned object's toJSON runs after the job queue has drained.
  start(hash, request, env) {
    const run = newRun(request, env);
    current = run;
    const script = scripts.get(hash);
    try {
      if (script === undefined) throw new Error(`script ${hash} is not loaded`);
      script().then((exported) => callHandler(run, exported), (error) => fail(run, error));
    } catch (e) {
      fail(run, e);
    }
    return { toJSON: () => finish(run) };
  },
  // The logs of the current request, for a run that ended without reaching finish().
  logs() {
    return current === null ? [] : collectLogs(current);
  },
});

// ---------------------------------------------------------------------------------------------
// Globals: fixed (non-writable) API objects, and per-request accessors

function defineGlobal(name, value) {
  defineProperty(globalThis, name, { value, writable: false, enumerable: false, configurable: false });
}

function defineRequestGlobal(name, read) {
  defineProperty(globalThis, name, { get: read, enumerable: false, configurable: false });
}

defineProperty(globalThis, 'call_python', {
  get: () => guardedCallPython,
  set: () => {},  // dukpy's re-installation before each evaljs
  enumerable: false,
  configurable: false,
});
defineGlobal('__fazt', internal);
defineGlobal('console', console);
defineGlobal('db', db);
defineGlobal('socket', socket);
defineGlobal('fetch', fetch);
defineGlobal('Response', Response);
defineGlobal('Headers', Headers);
defineRequestGlobal('req', () => (current === null ? undefined : current.req));
defineRequestGlobal('res', () => (current === null ? undefined : current.res));
defineRequestGlobal('process', () => (current === null ? undefined : current.process));
