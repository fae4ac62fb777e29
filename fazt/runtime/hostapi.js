// fazt host APIs: fetch, db, socket and timers, for the run of the current slice.
//
// Evaluated once per interpreter after prelude.js (see interpreters.py). db.* and socket.* are
// synchronous host calls (fazt style: their value is needed at once). fetch() returns a lazy
// thenable: awaiting it sends an asynchronous call (the worker serves other runs meanwhile),
// while reading `status`, `headers`, `body`, `ok` or `error` at once blocks on the reply.
// Timers live as long as the run that set them (see lifecycle.js).

import {
  state, host, hostAsync, awaitCall, takeBack, emit, recordTo, headerPairs, plainHeaders, wireBody, wireToBytes,
  Request, useWeb, safeString,
} from 'fazt:prelude';

const freeze = Object.freeze;
const jsonStringify = JSON.stringify;
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

// ---------------------------------------------------------------------------------------------
// fetch

function abortError(signal) {
  if (signal && signal.reason !== undefined) return signal.reason;
  if (typeof DOMException === 'function') return new DOMException('The operation was aborted.', 'AbortError');
  const error = new Error('The operation was aborted.');
  error.name = 'AbortError';
  return error;
}

// [url, {method, headers, body, body_base64}] as the "fetch" host call takes them.
function fetchArguments(input, init) {
  const options = init || {};
  useWeb();
  const fromRequest = typeof Request === 'function' && input instanceof Request;
  const url = fromRequest ? input.url : String(input);
  const method = String(options.method || (fromRequest ? input.method : 'GET')).toUpperCase();
  const headers = Object.fromEntries(headerPairs(options.headers !== undefined ? options.headers
    : fromRequest ? input.headers : undefined));
  let body = options.body !== undefined ? options.body : fromRequest ? input.body : null;
  if (body !== null && body !== undefined && typeof body === 'object' && !ArrayBuffer.isView(body)
      && !(body instanceof ArrayBuffer) && Object.getPrototypeOf(body) === Object.prototype) {
    body = jsonStringify(body);  // fazt style: a plain object is sent as JSON
  } else if (typeof URLSearchParams === 'function' && body instanceof URLSearchParams) {
    if (!('content-type' in headers)) headers['content-type'] = 'application/x-www-form-urlencoded;charset=UTF-8';
    body = String(body);
  }
  const [text, base64] = body === null || body === undefined ? [null, false] : wireBody(body);
  const signal = options.signal !== undefined ? options.signal : fromRequest ? input.signal : undefined;
  return [url, { method, headers, body: text, body_base64: base64 }, signal];
}

function normalReply(reply) {
  if (reply === null || typeof reply !== 'object') return { error: 'fetch failed' };
  if (typeof reply.error === 'string') return { error: reply.error };
  return reply;
}

function responseFrom(url, reply) {
  const status = Number(reply.status) || 0;
  const body = NULL_BODY_STATUS.has(status) ? null : reply.body_base64 ? wireToBytes(reply.body) : String(reply.body || '');
  // Any status (the Response constructor refuses some), with the url, as fetch() resolves to it.
  return globalThis.__faztWeb.fetchedResponse({ status, statusText: '', headers: reply.headers || {}, body, url,
    redirected: false });
}

// What fetch() returns: awaiting it sends an async call; reading status/headers/body/ok/error at
// once blocks on the reply (fazt style). A fetch neither awaited nor read during its slice is sent
// at the slice's end all the same (fetch starts the request, as everywhere; fazt-style scripts that
// fire and forget still reach the server): see startFetches. A class, not closures: a run in flight keeps it alive, and
// every object alive costs each slice (dukpy runs QuickJS's GC twice per evaljs).
class PendingFetch {
  #run; #url; #request; #signal;
  #reply;          // the normalized reply, once known
  #promise;        // what awaiting gives, once asked
  #key = 0;        // the async call in flight
  #reject = null;  // rejects #promise when the signal aborts
  #aborted;

  constructor(run, url, request, signal) {
    this.#run = run;
    this.#url = url;
    this.#request = request;
    this.#signal = signal;
    this.#aborted = signal ? Boolean(signal.aborted) : false;
    if (signal && !this.#aborted && typeof signal.addEventListener === 'function') {
      signal.addEventListener('abort', () => this.#abort());
    }
  }

  #abort() {
    this.#aborted = true;
    if (this.#key) {
      this.#run.calls.delete(this.#key);  // its late reply is ignored
      takeBack(this.#run, this.#key);     // and if it has not left yet, it never does
    }
    if (this.#reply === undefined) this.#reply = { error: safeString(abortError(this.#signal)) };
    if (this.#reject !== null) this.#reject(abortError(this.#signal));
  }

  // Sent at the end of the slice if nothing asked for it before (see startFetches).
  static launch(pending) {
    if (pending.#key === 0 && pending.#reply === undefined && pending.#promise === undefined) {
      pending.#awaited().catch(() => {});  // a failure is for whoever awaits it, if anyone does
    }
  }

  #now() {
    unstarted.delete(this);
    if (this.#reply === undefined) {
      if (this.#aborted) this.#reply = { error: safeString(abortError(this.#signal)) };
      else if (this.#key) this.#reply = normalReply(awaitCall(this.#run, this.#key));
      else {
        try {
          this.#reply = normalReply(host('fetch', [this.#url, this.#request]));
        } catch (e) {
          this.#reply = { error: e.message };
        }
      }
    }
    return this.#reply;
  }

  #awaited() {
    unstarted.delete(this);
    if (this.#promise !== undefined) return this.#promise;
    const url = this.#url;
    if (this.#aborted) {
      this.#promise = Promise.reject(abortError(this.#signal));
    } else if (this.#reply !== undefined) {
      const reply = this.#reply;
      this.#promise = reply.error !== undefined ? Promise.reject(new Error(reply.error)) : Promise.resolve(responseFrom(url, reply));
    } else {
      const [sent, key] = hostAsync(this.#run, 'fetch', [url, this.#request]);
      this.#key = key;
      this.#promise = new Promise((resolve, reject) => {
        this.#reject = reject;
        sent.then((value) => {
          if (this.#reply === undefined) this.#reply = normalReply(value);
          if (this.#reply.error !== undefined) reject(new Error(this.#reply.error));
          else resolve(responseFrom(url, this.#reply));
        }, (error) => {
          if (this.#reply === undefined) this.#reply = { error: error.message };
          reject(error);
        });
      });
    }
    return this.#promise;
  }

  then(onFulfilled, onRejected) { return this.#awaited().then(onFulfilled, onRejected); }
  catch(onRejected) { return this.#awaited().catch(onRejected); }
  finally(onFinally) { return this.#awaited().finally(onFinally); }
  text() { return this.#awaited().then((r) => r.text()); }
  json() { return this.#awaited().then((r) => r.json()); }
  arrayBuffer() { return this.#awaited().then((r) => r.arrayBuffer()); }

  // fazt style: these read at once (blocking on the reply); a failed fetch has `error`, status 0.
  get status() { return this.#now().error !== undefined ? 0 : Number(this.#now().status) || 0; }
  get statusText() { return ''; }
  get ok() { return this.#now().error === undefined && this.#now().status >= 200 && this.#now().status <= 299; }
  get error() { return this.#now().error; }
  get headers() { return plainHeaders(this.#now().error !== undefined ? {} : this.#now().headers); }
  get body() {
    const reply = this.#now();
    return reply.error !== undefined ? '' : reply.body_base64 ? wireToBytes(reply.body) : String(reply.body || '');
  }
  get url() { return this.#url; }
}

// What top-level code gets for I/O and timers (see lifecycle.js preload): an error it can read.
function outsideRequest(what) {
  return new Error(`${what} cannot be called in a module's top-level code, only while a request runs ` +
    '(move it into the handler, or start it there with ctx.waitUntil)');
}

function fetch(input, init) {
  const run = state.current;
  if (run === null) throw outsideRequest('fetch()');
  const [url, request, signal] = fetchArguments(input, init);
  const pending = new PendingFetch(run, url, request, signal);
  unstarted.add(pending);
  return pending;
}

const unstarted = new Set();  // fetches of this slice not yet awaited nor read

// At the end of a slice: send every fetch nothing asked for yet.
function startFetches() {
  for (const pending of unstarted) PendingFetch.launch(pending);
  unstarted.clear();
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
// Timers: the worker keeps the clock; a timer fires in a slice of its own run (see fire)

const timers = new Map();  // id -> {run, callback, args, delay, repeat}
let timerIds = 0;

function addTimer(callback, delay, args, repeat) {
  const run = state.current;
  if (typeof callback !== 'function') throw new TypeError('the callback must be a function');
  if (run === null) throw outsideRequest(repeat ? 'setInterval()' : 'setTimeout()');
  if (run.ended) return 0;
  const id = ++timerIds;
  const ms = Math.max(repeat ? 1 : 0, Math.min(Number(delay) || 0, 2147483647));
  timers.set(id, { run, callback, args, delay: ms, repeat });
  run.timers.add(id);
  emit(['timer', run.id, id, ms]);
  return id;
}

function clearTimer(id) {
  const timer = timers.get(id);
  if (timer === undefined) return;
  timers.delete(id);
  timer.run.timers.delete(id);
  emit(['untimer', timer.run.id, id]);
}

// The worker says timer `id` of run `runId` is due.
function fireTimer(runId, id) {
  const timer = timers.get(id);
  if (timer === undefined || timer.run.id !== runId || timer.run.ended) return;
  state.current = timer.run;
  if (timer.repeat) {
    emit(['timer', runId, id, timer.delay]);
  } else {
    timers.delete(id);
    timer.run.timers.delete(id);
  }
  try {
    timer.callback(...timer.args);
  } catch (e) {
    recordTo(timer.run, 'error', ['Uncaught exception in a timer callback:', e]);
  }
}

function dropTimers(run) {
  for (const id of run.timers) timers.delete(id);
  run.timers.clear();
}

const setTimeout = (callback, delay, ...args) => addTimer(callback, delay, args, false);
const setInterval = (callback, delay, ...args) => addTimer(callback, delay, args, true);

export { fetch, startFetches, db, socket, setTimeout, setInterval, clearTimer, fireTimer, dropTimers };
