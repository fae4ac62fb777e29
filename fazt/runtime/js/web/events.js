// Event and EventTarget (DOM standard), the minimum AbortSignal needs. QuickJS-NG already
// provides DOMException; it is defined here only if missing.

const W = globalThis.__faztWebBuild;
const { define, webidl, slot, setSlot } = W;

if (typeof globalThis.DOMException !== 'function') {
  const CODES = {
    IndexSizeError: 1, HierarchyRequestError: 3, WrongDocumentError: 4, InvalidCharacterError: 5,
    NoModificationAllowedError: 7, NotFoundError: 8, NotSupportedError: 9, InvalidStateError: 11,
    SyntaxError: 12, InvalidModificationError: 13, NamespaceError: 14, InvalidAccessError: 15,
    TypeMismatchError: 17, SecurityError: 18, NetworkError: 19, AbortError: 20, URLMismatchError: 21,
    QuotaExceededError: 22, TimeoutError: 23, InvalidNodeTypeError: 24, DataCloneError: 25,
  };
  class DOMException extends Error {
    constructor(message = '', name = 'Error') {
      super(String(message));
      define(this, 'name', String(name), true);
    }
    get code() { return CODES[this.name] || 0; }
  }
  define(globalThis, 'DOMException', DOMException);
}

const EVENT = 'Event';
const TARGET = 'EventTarget';

class Event {
  constructor(type, init = {}) {
    if (arguments.length === 0) throw new TypeError("Event: 1 argument required");
    setSlot(this, EVENT, {
      type: String(type), bubbles: !!init.bubbles, cancelable: !!init.cancelable,
      composed: !!init.composed, canceled: false, stop: false, stopNow: false,
      target: null, currentTarget: null, dispatching: false, timeStamp: performance.now(),
    });
  }
  get type() { return slot(this, EVENT).type; }
  get target() { return slot(this, EVENT).target; }
  get srcElement() { return slot(this, EVENT).target; }
  get currentTarget() { return slot(this, EVENT).currentTarget; }
  get eventPhase() { return slot(this, EVENT).dispatching ? 2 : 0; }
  get bubbles() { return slot(this, EVENT).bubbles; }
  get cancelable() { return slot(this, EVENT).cancelable; }
  get composed() { return slot(this, EVENT).composed; }
  get defaultPrevented() { return slot(this, EVENT).canceled; }
  get returnValue() { return !slot(this, EVENT).canceled; }
  get isTrusted() { return false; }
  get timeStamp() { return slot(this, EVENT).timeStamp; }
  get cancelBubble() { return slot(this, EVENT).stop; }
  set cancelBubble(value) { if (value) slot(this, EVENT).stop = true; }
  composedPath() { const s = slot(this, EVENT); return s.dispatching && s.currentTarget ? [s.currentTarget] : []; }
  preventDefault() { const s = slot(this, EVENT); if (s.cancelable) s.canceled = true; }
  stopPropagation() { slot(this, EVENT).stop = true; }
  stopImmediatePropagation() { const s = slot(this, EVENT); s.stop = true; s.stopNow = true; }
}
for (const [i, name] of ['NONE', 'CAPTURING_PHASE', 'AT_TARGET', 'BUBBLING_PHASE'].entries()) {
  define(Event, name, i);
  define(Event.prototype, name, i);
}
webidl(Event, 'Event');

function flattenOptions(options) {
  if (typeof options === 'boolean') return { capture: options };
  return options && typeof options === 'object' ? options : {};
}

// An exception thrown by a listener is reported, not propagated (the DOM standard).
function reportListenerError(error) {
  if (typeof globalThis.reportError === 'function') globalThis.reportError(error);
  else if (globalThis.console && typeof console.error === 'function') console.error(error);
}

class EventTarget {
  constructor() {
    setSlot(this, TARGET, { listeners: new Map() });
  }
  addEventListener(type, callback, options) {
    const s = slot(this, TARGET);
    if (callback === null || callback === undefined) return;
    const opts = flattenOptions(options);
    const signal = opts.signal;
    if (signal !== undefined && signal.aborted) return;
    type = String(type);
    const capture = !!opts.capture;
    let list = s.listeners.get(type);
    if (!list) s.listeners.set(type, (list = []));
    if (list.some((l) => l.callback === callback && l.capture === capture)) return;
    const listener = { callback, capture, once: !!opts.once, removed: false };
    list.push(listener);
    if (signal !== undefined) {
      signal.addEventListener('abort', () => this.removeEventListener(type, callback, { capture }));
    }
  }
  removeEventListener(type, callback, options) {
    const s = slot(this, TARGET);
    const capture = !!flattenOptions(options).capture;
    const list = s.listeners.get(String(type));
    if (!list) return;
    const i = list.findIndex((l) => l.callback === callback && l.capture === capture);
    if (i >= 0) { list[i].removed = true; list.splice(i, 1); }
  }
  dispatchEvent(event) {
    const s = slot(this, TARGET);
    const e = slot(event, EVENT);
    if (e.dispatching) throw new DOMException('The event is already being dispatched', 'InvalidStateError');
    e.dispatching = true;
    e.target = this;
    e.currentTarget = this;
    try {
      for (const listener of [...(s.listeners.get(e.type) || [])]) {
        if (listener.removed) continue;
        if (listener.once) this.removeEventListener(e.type, listener.callback, { capture: listener.capture });
        try {
          if (typeof listener.callback === 'function') listener.callback.call(this, event);
          else if (listener.callback && typeof listener.callback.handleEvent === 'function') {
            listener.callback.handleEvent(event);
          }
        } catch (error) {
          reportListenerError(error);
        }
        if (e.stopNow) break;
      }
    } finally {
      e.dispatching = false;
      e.currentTarget = null;
      e.stop = false;
      e.stopNow = false;
    }
    return !e.canceled;
  }
}
webidl(EventTarget, 'EventTarget');

define(globalThis, 'Event', Event);
define(globalThis, 'EventTarget', EventTarget);
