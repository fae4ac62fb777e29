// Shared helpers for the Web API files that follow in ORDER. They communicate through globals
// only, so these live on a temporary global that finish.js removes once every file is loaded.

const callPython = globalThis.call_python;  // captured now: the prelude guards the global later
const QuickJSInternalError = globalThis.InternalError;

// The CPU budget is gone (the worker answers every call with {abort: true}). Spin in pure JS:
// the next CPU-timer tick interrupts the interpreter itself, and no script can catch that.
function spinUntilInterrupted() {
  for (;;) {}
}

// Call a worker-local Python function (fazt/runtime/webhost.py). Its ValueError becomes a
// TypeError with the Python message, or an error of `ErrorType` when given.
function local(name, ...args) {
  let reply;
  try {
    reply = callPython(name, ...args);
  } catch (e) {
    if (e instanceof QuickJSInternalError && e.message === 'interrupted') spinUntilInterrupted();
    const m = /ValueError\((['"])(.*)\1\)/s.exec(String(e && e.message));
    throw new TypeError(m ? m[2] : String(e && e.message));
  }
  if (reply !== null && typeof reply === 'object' && reply.abort === true) spinUntilInterrupted();
  return reply === undefined ? null : reply;  // Python's None arrives as undefined
}

function define(target, name, value, writable = false) {
  Object.defineProperty(target, name, { value, writable, enumerable: false, configurable: writable });
}

// Give a class the WebIDL shape: methods and accessors enumerable, a toStringTag.
function webidl(cls, tag) {
  for (const key of Object.getOwnPropertyNames(cls.prototype)) {
    if (key === 'constructor') continue;
    const d = Object.getOwnPropertyDescriptor(cls.prototype, key);
    if (!d.configurable) continue;  // constants, already in their final shape
    d.enumerable = true;
    Object.defineProperty(cls.prototype, key, d);
  }
  Object.defineProperty(cls.prototype, Symbol.toStringTag, { value: tag, configurable: true });
  return cls;
}

// WebIDL USVString conversion: lone surrogates become U+FFFD.
function usv(value) {
  return String(value).toWellFormed();
}

// WebIDL ByteString conversion.
function byteString(value) {
  const s = String(value);
  if (/[^\x00-\xff]/.test(s)) throw new TypeError('value is not a ByteString: ' + s);
  return s;
}

// ---- UTF-8 (the Encoding standard's encoder and decoder) ----

function utf8Encode(input) {
  const s = usv(input);
  const out = new Uint8Array(s.length * 3);
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      c = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00);
    }
    if (c < 0x80) out[n++] = c;
    else if (c < 0x800) { out[n++] = 0xc0 | (c >> 6); out[n++] = 0x80 | (c & 63); }
    else if (c < 0x10000) {
      out[n++] = 0xe0 | (c >> 12); out[n++] = 0x80 | ((c >> 6) & 63); out[n++] = 0x80 | (c & 63);
    } else {
      out[n++] = 0xf0 | (c >> 18); out[n++] = 0x80 | ((c >> 12) & 63);
      out[n++] = 0x80 | ((c >> 6) & 63); out[n++] = 0x80 | (c & 63);
    }
  }
  return out.slice(0, n);
}

// Decode UTF-8 bytes; invalid sequences become U+FFFD (maximal subparts), or throw when fatal.
function utf8Decode(bytes, fatal = false) {
  const parts = [];
  let chunk = [];
  const emit = (cp) => {
    chunk.push(cp);
    if (chunk.length >= 4096) { parts.push(String.fromCodePoint(...chunk)); chunk = []; }
  };
  const bad = () => {
    if (fatal) throw new TypeError('The encoded data was not valid utf-8');
    emit(0xfffd);
  };
  let i = 0;
  const len = bytes.length;
  while (i < len) {
    const b = bytes[i];
    if (b < 0x80) { emit(b); i++; continue; }
    let need, cp, lower = 0x80, upper = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) { need = 1; cp = b & 0x1f; }
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2; cp = b & 0xf;
      if (b === 0xe0) lower = 0xa0;
      if (b === 0xed) upper = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3; cp = b & 0x7;
      if (b === 0xf0) lower = 0x90;
      if (b === 0xf4) upper = 0x8f;
    } else { bad(); i++; continue; }
    let j = i + 1;
    let ok = true;
    for (let k = 0; k < need; k++, j++) {
      const c = bytes[j];
      if (j >= len || c < lower || c > upper) { ok = false; break; }
      cp = (cp << 6) | (c & 0x3f);
      lower = 0x80; upper = 0xbf;
    }
    if (!ok) { bad(); i = j; continue; }
    emit(cp);
    i = j;
  }
  if (chunk.length) parts.push(String.fromCodePoint(...chunk));
  return parts.join('');
}

// ---- base64 (RFC 4648, as the bridge to Python and atob/btoa use it) ----

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Int16Array(256).fill(-1);
for (let i = 0; i < 64; i++) B64_INDEX[B64.charCodeAt(i)] = i;

function bytesToBase64(bytes) {
  const out = [];
  let line = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    line += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + B64[n & 63];
    if (line.length >= 8192) { out.push(line); line = ''; }
  }
  if (i < bytes.length) {
    const n = (bytes[i] << 16) | ((i + 1 < bytes.length ? bytes[i + 1] : 0) << 8);
    line += B64[n >> 18] + B64[(n >> 12) & 63] + (i + 1 < bytes.length ? B64[(n >> 6) & 63] : '=') + '=';
  }
  out.push(line);
  return out.join('');
}

// The forgiving-base64 decode of the Infra standard; null when the input is not valid.
function base64ToBytes(input) {
  let s = String(input).replace(/[\t\n\f\r ]/g, '');
  if (s.length % 4 === 0) s = s.replace(/==?$/, '');
  if (s.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(s)) return null;
  const out = new Uint8Array(Math.floor(s.length * 3 / 4));
  let buffer = 0, bits = 0, n = 0;
  for (let i = 0; i < s.length; i++) {
    buffer = (buffer << 6) | B64_INDEX[s.charCodeAt(i)];
    bits += 6;
    if (bits >= 8) { bits -= 8; out[n++] = (buffer >> bits) & 0xff; }
  }
  return out;
}

// ---- BufferSource ----

function isBufferSource(value) {
  return value instanceof ArrayBuffer || ArrayBuffer.isView(value) ||
    (typeof SharedArrayBuffer === 'function' && value instanceof SharedArrayBuffer);
}

// A copy of the bytes an ArrayBuffer or ArrayBufferView holds.
function copyBytes(value) {
  if (ArrayBuffer.isView(value)) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength).slice();
  }
  if (isBufferSource(value)) return new Uint8Array(value).slice();
  throw new TypeError('expected an ArrayBuffer or ArrayBufferView');
}

// The bytes of a BufferSource without copying (a view on the same memory).
function viewBytes(value) {
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (isBufferSource(value)) return new Uint8Array(value);
  throw new TypeError('expected an ArrayBuffer or ArrayBufferView');
}

function concatBytes(chunks) {
  let size = 0;
  for (const c of chunks) size += c.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}

// A hidden per-object slot store: platform objects keep their state out of the script's reach.
// One object may hold several brands (a File is also a Blob).
const slots = new WeakMap();
function slot(obj, brand) {
  const all = (typeof obj === 'object' || typeof obj === 'function') && obj !== null ? slots.get(obj) : undefined;
  const s = all === undefined ? undefined : all[brand];
  if (s === undefined) throw new TypeError('Illegal invocation');
  return s;
}
function setSlot(obj, brand, state) {
  let all = slots.get(obj);
  if (all === undefined) slots.set(obj, (all = Object.create(null)));
  all[brand] = state;
  return state;
}
function hasSlot(obj, brand) {
  if ((typeof obj !== 'object' && typeof obj !== 'function') || obj === null) return false;
  const all = slots.get(obj);
  return all !== undefined && all[brand] !== undefined;
}

define(globalThis, '__faztWebBuild', {
  local, define, webidl, usv, byteString, utf8Encode, utf8Decode, bytesToBase64, base64ToBytes,
  isBufferSource, copyBytes, viewBytes, concatBytes, slot, setSlot, hasSlot,
}, true);
