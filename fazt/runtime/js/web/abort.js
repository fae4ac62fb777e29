// AbortController and AbortSignal (DOM standard). AbortSignal.timeout needs the worker's
// setTimeout, looked up when it is called (it is installed after these files).

const W = globalThis.__faztWebBuild;
const { define, webidl, slot, setSlot } = W;

const SIGNAL = 'AbortSignal';
const CONTROLLER = 'AbortController';
const CREATE = Symbol('create');

function abortError() {
  return new DOMException('This operation was aborted', 'AbortError');
}

class AbortSignal extends EventTarget {
  constructor(key) {
    if (key !== CREATE) throw new TypeError('Illegal constructor');
    super();
    setSlot(this, SIGNAL, { aborted: false, reason: undefined, onabort: null, followers: [] });
  }
  get aborted() { return slot(this, SIGNAL).aborted; }
  get reason() { return slot(this, SIGNAL).reason; }
  get onabort() { return slot(this, SIGNAL).onabort; }
  set onabort(handler) {
    const s = slot(this, SIGNAL);
    if (s.onabort) this.removeEventListener('abort', s.onabort);
    s.onabort = typeof handler === 'function' ? handler : null;
    if (s.onabort) this.addEventListener('abort', s.onabort);
  }
  throwIfAborted() {
    const s = slot(this, SIGNAL);
    if (s.aborted) throw s.reason;
  }
  static abort(reason = undefined) {
    const signal = new AbortSignal(CREATE);
    const s = slot(signal, SIGNAL);
    s.aborted = true;
    s.reason = reason === undefined ? abortError() : reason;
    return signal;
  }
  static timeout(milliseconds) {
    const ms = Number(milliseconds);
    if (!Number.isFinite(ms) || ms < 0 || ms > Number.MAX_SAFE_INTEGER) {
      throw new TypeError('AbortSignal.timeout: milliseconds must be a non-negative integer');
    }
    const setTimer = globalThis.setTimeout;
    if (typeof setTimer !== 'function') {
      throw new DOMException('AbortSignal.timeout needs timers, which are not available here', 'NotSupportedError');
    }
    const signal = new AbortSignal(CREATE);
    setTimer(() => signalAbort(signal, new DOMException('The operation timed out.', 'TimeoutError')), Math.trunc(ms));
    return signal;
  }
  static any(signals) {
    const result = new AbortSignal(CREATE);
    const list = [...signals];
    for (const signal of list) {
      const s = slot(signal, SIGNAL);
      if (s.aborted) {
        const r = slot(result, SIGNAL);
        r.aborted = true;
        r.reason = s.reason;
        return result;
      }
    }
    for (const signal of list) slot(signal, SIGNAL).followers.push(result);
    return result;
  }
}
webidl(AbortSignal, 'AbortSignal');

// The "signal abort" steps: set the reason on the signal and every signal that follows it
// (AbortSignal.any), then fire "abort" at each.
function signalAbort(signal, reason) {
  const s = slot(signal, SIGNAL);
  if (s.aborted) return;
  s.aborted = true;
  s.reason = reason === undefined ? abortError() : reason;
  const toFire = [signal];
  for (let i = 0; i < toFire.length; i++) {
    const current = slot(toFire[i], SIGNAL);
    for (const follower of current.followers) {
      const f = slot(follower, SIGNAL);
      if (f.aborted) continue;
      f.aborted = true;
      f.reason = s.reason;
      toFire.push(follower);
    }
    current.followers = [];
  }
  for (const target of toFire) target.dispatchEvent(new Event('abort'));
}

class AbortController {
  constructor() {
    setSlot(this, CONTROLLER, { signal: new AbortSignal(CREATE) });
  }
  get signal() { return slot(this, CONTROLLER).signal; }
  abort(reason = undefined) { signalAbort(slot(this, CONTROLLER).signal, reason); }
}
webidl(AbortController, 'AbortController');

// A signal that follows `signal` (or a fresh one that is never aborted).
W.followSignal = (signal) => (signal === undefined || signal === null ? new AbortSignal(CREATE) : AbortSignal.any([signal]));
define(globalThis, 'AbortSignal', AbortSignal);
define(globalThis, 'AbortController', AbortController);
