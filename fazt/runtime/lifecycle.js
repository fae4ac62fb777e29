// fazt request lifecycle: what a run is, how its handler is found and called, and what the
// worker learns from each slice. Evaluated once per interpreter, last (after prelude.js and
// hostapi.js); it defines the globals and `__fazt`, the object the worker's slices call.
//
// Entries (PROTOCOL.md `run`): "script" is the root main.js, registered once per interpreter as
// an async function re-run per request in a fresh scope (fazt style, or `export default` handler
// style: a function gets the legacy `req`, an object's `fetch` a standard Request); "module" is a
// function module of api/, imported once (its graph stays loaded) and dispatched per method.
//
// A run ends when its response is out AND the work it handed to ctx.waitUntil has settled (or the
// worker says its wall time is over): then its timers go and the worker forgets it.

import {
  state, emit, recordTo, console, safeString, headerPairs, hasHeader, trustedHeaders, plainHeaders, checkStatus,
  ResponseBuilder, Response, Request, useWeb, wireBody, asBytes, guardedCallPython, HTML, JSON_TYPE,
  MAX_LOG_LINES,
} from 'fazt:prelude';
import { fetch, startFetches, db, socket, setTimeout, setInterval, clearTimer, fireTimer, dropTimers } from 'fazt:hostapi';

const defineProperty = Object.defineProperty;
const freeze = Object.freeze;
const objectKeys = Object.keys;
const jsonStringify = JSON.stringify;
const TEXT = 'text/plain; charset=utf-8';
const BINARY = 'application/octet-stream';
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const NEVER_FINISHED = 'the handler never finished: its Promise is still pending and nothing it waits for is left';

const runs = new Map();  // run id -> run
let script = null;       // the root main.js as an async function (fazt style, see registerScript)

function frozenCopy(source, asString) {
  const copy = {};
  if (source && typeof source === 'object') {
    for (const key of objectKeys(source)) {
      defineProperty(copy, key, { value: asString ? String(source[key]) : source[key], enumerable: true });
    }
  }
  return freeze(copy);
}

function plainCopy(source) {
  const copy = {};
  if (source && typeof source === 'object') {
    for (const key of objectKeys(source)) {
      defineProperty(copy, key, { value: source[key], enumerable: true, writable: true, configurable: true });
    }
  }
  return copy;
}

function newRun(id, entry, wire, env, site, text) {
  const envCopy = frozenCopy(env, true);
  return {
    id, entry, wire, site, text, env: envCopy,
    process: freeze({ env: envCopy }),
    res: new ResponseBuilder(),
    legacy: null, request: null, ctx: null,
    logs: [], droppedLogs: 0, sentLogs: 0,
    calls: new Map(), keys: 0, timers: new Set(),
    waiting: 0, responded: false, ended: false, awaitQuiet: false,
  };
}

// ---------------------------------------------------------------------------------------------
// What a handler gets: the legacy req (SPEC §7), a standard Request (§14), ctx

function legacyRequest(run) {
  if (run.legacy === null) {
    const wire = run.wire;
    run.legacy = {
      method: String(wire.method || 'GET'),
      path: String(wire.path || '/'),
      query: String(wire.query || ''),
      params: plainCopy(wire.params),
      headers: plainHeaders(wire.headers),
      body: run.text,
      ip: String(wire.ip || ''),
      host: String(wire.host || ''),
      cookies: plainCopy(wire.cookies),
    };
  }
  return run.legacy;
}

function standardRequest(run) {
  if (run.request === null) {
    const wire = run.wire;
    const method = String(wire.method || 'GET');
    const hasBody = method !== 'GET' && method !== 'HEAD' && (wire.body || '') !== '';
    useWeb();
    const body = !hasBody ? null : !wire.body_base64 ? String(wire.body) : globalThis.__faztWeb.wireBlob(wire.body);
    const query = wire.query ? `?${wire.query}` : '';
    const url = wire.url || `http://${wire.host || 'localhost'}${wire.path || '/'}${query}`;
    const request = new Request(url, { method, headers: trustedHeaders(wire.headers), body });
    defineProperty(request, 'ip', { value: String(wire.ip || ''), enumerable: true });
    defineProperty(request, 'cookies', { value: frozenCopy(wire.cookies, true), enumerable: true });
    run.request = request;
  }
  return run.request;
}

function context(run) {
  if (run.ctx === null) {
    const route = run.wire.route && typeof run.wire.route === 'object' ? run.wire.route : {};
    run.ctx = freeze({
      params: frozenCopy(route.params, true),
      env: run.env,
      site: run.site,
      user: null,
      waitUntil: (promise) => waitUntil(run, promise),
      passThroughOnException: () => {},
    });
  }
  return run.ctx;
}

function waitUntil(run, promise) {
  if (run.ended) return;
  run.waiting += 1;
  Promise.resolve(promise).then(undefined, (error) => {
    recordTo(run, 'error', ['ctx.waitUntil: a Promise was rejected:', error]);
  }).then(() => {
    run.waiting -= 1;
    if (run.responded && run.waiting === 0) end(run);
  });
}

// ---------------------------------------------------------------------------------------------
// Outcomes

function takeLogs(run) {
  const logs = run.logs.slice(run.sentLogs);
  run.sentLogs = run.logs.length;
  if (run.droppedLogs > 0) {
    logs[logs.length] = ['warn', `${run.droppedLogs} more log lines dropped (limit ${MAX_LOG_LINES} per request)`];
    run.droppedLogs = 0;
  }
  return logs;
}

function describeError(error) {
  if (error instanceof Error) {
    const kind = error.name === 'InternalError' && error.message === 'out of memory' ? 'memory' : 'exception';
    return [kind, safeString(error), typeof error.stack === 'string' ? error.stack : null];
  }
  let message;
  try {
    message = typeof error === 'object' && error !== null ? jsonStringify(error) : undefined;
  } catch (e) {
    message = undefined;
  }
  return ['exception', 'Uncaught ' + (message === undefined ? safeString(error) : message), null];
}

function respond(run, result) {
  if (run.responded || run.ended) return;
  let response;
  try {
    response = toWire(result, run.res);
  } catch (e) {
    return fail(run, e);
  }
  run.responded = true;
  emit(['done', run.id, response, takeLogs(run)]);
  if (run.waiting === 0) end(run);
}

function fail(run, error) {
  if (run.responded || run.ended) return;
  run.responded = true;
  const [kind, message, stack] = describeError(error);
  emit(['failed', run.id, kind, message, stack, takeLogs(run), null]);
  if (run.waiting === 0) end(run);
}

function failMethod(run, namespace) {
  const allow = METHODS.filter((m) => m !== 'HEAD' && typeof namespace[m] === 'function');
  if (allow.includes('GET')) allow.splice(1, 0, 'HEAD');
  run.responded = true;
  emit(['failed', run.id, 'method', `${run.wire.method} is not allowed here`, null, takeLogs(run), allow]);
  end(run);
}

function end(run) {
  if (run.ended) return;
  run.ended = true;
  if (run.sentLogs < run.logs.length || run.droppedLogs > 0) emit(['late', run.id, takeLogs(run)]);
  dropTimers(run);
  run.calls.clear();
  runs.delete(run.id);
  emit(['end', run.id]);
}

function isResponse(value) {
  if (value === null || typeof value !== 'object') return false;
  useWeb();
  return value instanceof Response;
}

function responseHeaders(headers, hasBody, type) {
  const pairs = headerPairs(headers);
  if (hasBody && !hasHeader(pairs, 'content-type')) pairs.push(['content-type', type]);
  return pairs;
}

// A handler's result (or, when it is undefined, what `res` accumulated) as a PROTOCOL.md response.
function toWire(result, res) {
  if (result === undefined || result === null) return ResponseBuilder.envelope(res);
  if (typeof result === 'string') return { status: 200, headers: [['content-type', HTML]], body: result };
  if (isResponse(result)) {
    const [body, base64] = wireBody(result.body);
    const headers = responseHeaders(result.headers, body !== '', base64 ? BINARY : TEXT);
    return { status: checkStatus(result.status), headers, body, body_base64: base64 };
  }
  if (typeof result !== 'object') return { status: 200, headers: [['content-type', HTML]], body: safeString(result) };
  if (asBytes(result) !== null) {
    return { status: 200, headers: [['content-type', BINARY]], body: wireBody(result)[0], body_base64: true };
  }
  if (!('status' in result || 'headers' in result || 'body' in result)) {
    return { status: 200, headers: [['content-type', JSON_TYPE]], body: jsonStringify(result) };
  }
  let body = result.body;
  let base64 = false;
  let type = HTML;
  if (body === undefined || body === null) {
    body = '';
  } else if (asBytes(body) !== null) {
    [body, base64] = wireBody(body);
    type = BINARY;
  } else if (typeof body !== 'string') {
    body = jsonStringify(body);
    type = JSON_TYPE;
  }
  const headers = responseHeaders(result.headers, body !== '', type);
  return { status: result.status === undefined ? 200 : checkStatus(result.status), headers, body, body_base64: base64 };
}

// ---------------------------------------------------------------------------------------------
// Starting a run

function settleWith(run, call) {
  let result;
  try {
    result = call();
  } catch (e) {
    return fail(run, e);
  }
  if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
    Promise.resolve(result).then((value) => respond(run, value), (error) => fail(run, error));
  } else {
    respond(run, result);
  }
}

// The root main.js: its default export (if any) decides what the request gets. Without one (fazt
// style) the response is what `res` holds once none of the run's host calls is pending (see flush):
// promise chains the script left running on them still write to `res`, as they always could.
function callScriptExport(run, exported) {
  if (exported === undefined || exported === null) {
    run.awaitQuiet = true;
    return undefined;
  }
  if (typeof exported === 'function') return settleWith(run, () => exported(legacyRequest(run)));
  if (exported !== null && typeof exported === 'object' && typeof exported.fetch === 'function') {
    return settleWith(run, () => exported.fetch(standardRequest(run), run.env, context(run)));
  }
  return respond(run, exported);
}

// A function module: GET/POST/... exports first, HEAD falls back to GET, then the default export.
function dispatch(run, namespace) {
  const method = String(run.wire.method || 'GET');
  let handler = METHODS.includes(method) && method !== 'HEAD' ? namespace[method] : undefined;
  if (method === 'HEAD') handler = namespace.HEAD === undefined ? namespace.GET : undefined;
  if (typeof handler === 'function') return settleWith(run, () => handler(standardRequest(run), context(run)));
  const fallback = namespace.default;
  if (typeof fallback === 'function') return settleWith(run, () => fallback(standardRequest(run), context(run)));
  if (fallback !== null && typeof fallback === 'object' && typeof fallback.fetch === 'function') {
    return settleWith(run, () => fallback.fetch(standardRequest(run), run.env, context(run)));
  }
  return failMethod(run, namespace);
}

function start(id, entry, wire, env, site, text) {
  const run = newRun(id, entry, wire || {}, env, site, text);
  runs.set(id, run);
  state.current = run;
  try {
    if (entry.kind === 'script' && script !== null) {
      script().then((exported) => callScriptExport(run, exported), (error) => fail(run, error));
    } else if (entry.kind === 'script') {
      import('main.js').then((namespace) => namespace.default())
        .then((exported) => callScriptExport(run, exported), (error) => fail(run, error));
    } else {
      import(entry.path).then((namespace) => dispatch(run, namespace), (error) => fail(run, error));
    }
  } catch (e) {
    fail(run, e);
  }
}

// ---------------------------------------------------------------------------------------------
// The worker's side: every function returns the slice's events (read after the job queue drained)

function flush() {
  startFetches();
  for (const run of runs.values()) {
    if (run.awaitQuiet && !run.responded && run.calls.size === 0) {
      state.current = run;
      respond(run, undefined);
    }
  }
  const events = state.outbox;
  state.outbox = [];
  return events;
}

const sliceResult = freeze({ toJSON: flush });

function forRun(id, action) {
  const run = runs.get(id);
  if (run !== undefined && !run.ended) {
    state.current = run;
    action(run);
  }
  return sliceResult;
}

const internal = freeze({
  // Register the root main.js (fazt style: evaluated as a script, see interpreters.py).
  registerScript(fn) {
    script = fn;
  },
  start(id, entry, wire, env, site, text) {
    start(id, entry, wire, env, site, text);
    return sliceResult;
  },
  // Load an entry's module graph before its first run (the worker's start-up slice); errors are
  // reported by the run's own import.
  preload(entry) {
    // Top-level code runs once per interpreter, for no request: as in Workers, it may not set timers
    // or fetch (hostapi.js throws). Left pointing at an earlier run, it did, on that run's behalf,
    // and the module waited for ever once that run had ended or was cancelled.
    state.current = null;
    const ignore = () => {};
    if (entry.kind === 'script' && script === null) import('main.js').then(ignore, ignore);
    else if (entry.kind !== 'script') import(entry.path).then(ignore, ignore);
    return [];
  },
  // The reply of async call `key` of run `id`.
  resume: (id, key, ok, value) => forRun(id, (run) => {
    const call = run.calls.get(key);
    if (call === undefined) return;  // aborted, or already taken by a blocking getter
    run.calls.delete(key);
    if (ok) call.resolve(value);
    else call.reject(new Error(String(value)));
  }),
  fire: (id, timer) => forRun(id, () => fireTimer(id, timer)),
  // The run's wall time is over while work handed to waitUntil is still pending.
  expire: (id) => forRun(id, (run) => end(run)),
  // The parent gave up on the run: drop it without a word.
  forget(id) {
    const run = runs.get(id);
    if (run !== undefined) {
      run.ended = true;
      dropTimers(run);
      runs.delete(id);
    }
    return [];
  },
  // Nothing can wake this interpreter any more: its runs still pending never finish.
  abandon() {
    for (const run of Array.from(runs.values())) {
      state.current = run;
      if (run.responded) end(run);
      else fail(run, new Error(NEVER_FINISHED));
    }
    return sliceResult;
  },
  // A Promise rejection no handler took, reported by dukpy after the drain of the previous slice.
  unhandled(id, text) {
    const run = runs.get(id);
    if (run !== undefined && !run.ended) recordTo(run, 'error', ['Uncaught (in promise)', text.trimEnd()]);
    return sliceResult;
  },
  // The logs of a run that ended abnormally (CPU limit), as far as the interpreter can tell.
  logs(id) {
    const run = runs.get(id);
    return run === undefined ? [] : takeLogs(run);
  },
  flush: () => sliceResult,
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
defineProperty(globalThis, 'setTimeout', { value: setTimeout, writable: true, configurable: true });
defineProperty(globalThis, 'setInterval', { value: setInterval, writable: true, configurable: true });
defineProperty(globalThis, 'clearTimeout', { value: clearTimer, writable: true, configurable: true });
defineProperty(globalThis, 'clearInterval', { value: clearTimer, writable: true, configurable: true });
defineRequestGlobal('req', () => (state.current === null ? undefined : legacyRequest(state.current)));
defineRequestGlobal('res', () => (state.current === null ? undefined : state.current.res));
defineRequestGlobal('process', () => (state.current === null ? undefined : state.current.process));
