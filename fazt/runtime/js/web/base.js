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

// ---- bytes ----
// Bytes travel as "binary strings", one character per byte (U+0000-U+00FF). QuickJS strings are
// immutable and handled by native code (slice, join, regular expressions, JSON to Python), while a
// byte-by-byte JS loop costs ~150 ns a byte; a Uint8Array is made only when a script asks for one.

const ASCII = /^[\x00-\x7f]*$/;

function bytesToBinary(bytes) {
  if (bytes.length <= 8192) return String.fromCharCode.apply(null, bytes);
  const parts = [];
  for (let i = 0; i < bytes.length; i += 8192) parts.push(String.fromCharCode.apply(null, bytes.subarray(i, i + 8192)));
  return parts.join('');
}

// The one byte loop left (~95 ms a MiB): only when a script asks for a Uint8Array.
function binaryToBytes(binary) {
  const n = binary.length;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = binary.charCodeAt(i);
  return out;
}

// UTF-8 encode (the Encoding standard) to a binary string: lone surrogates become U+FFFD.
function utf8EncodeBinary(text) {
  const s = usv(text);
  return ASCII.test(s) ? s : unescape(encodeURIComponent(s));
}

function utf8Encode(text) {
  return binaryToBytes(utf8EncodeBinary(text));
}

// UTF-8 decode a binary string (no BOM handling here). Valid input is decoded natively;
// otherwise Python replaces each maximal invalid subpart with U+FFFD, or throws when fatal.
function utf8DecodeBinary(binary, fatal = false) {
  if (ASCII.test(binary)) return binary;
  try {
    return decodeURIComponent(escape(binary));
  } catch {
    return local('web.text.decode', binary, fatal);
  }
}

function toBase64(binary) {
  return local('web.bytes.to_base64', binary);
}

// The binary string base64 `text` encodes; null if invalid. `forgiving`: atob's rules.
function fromBase64(text, forgiving = false) {
  return local('web.bytes.from_base64', String(text), forgiving);
}

function bytesToBase64(bytes) {
  return toBase64(bytesToBinary(bytes));
}

// Byte data that may still be in the base64 form it arrived in (a body from the wire): a record
// {binary} or {base64}, filled in on first need and never changed otherwise, so it can be shared.
// text(), formData() and sending it back on the wire never need the binary form at all.
function dataBinary(data) {
  if (data.binary === undefined) {
    const binary = fromBase64(data.base64);
    if (binary === null) throw new TypeError('invalid base64 data');
    data.binary = binary;
  }
  return data.binary;
}

function dataBase64(data) {
  if (data.base64 === undefined) data.base64 = toBase64(data.binary);
  return data.base64;
}

function dataSize(data) {
  if (data.binary !== undefined) return data.binary.length;
  const b = data.base64;
  return (b.length / 4) * 3 - (b.endsWith('==') ? 2 : b.endsWith('=') ? 1 : 0);
}

// What a worker-local function taking bytes accepts: the binary string, or {base64}.
function dataArgument(data) {
  return data.binary !== undefined ? data.binary : { base64: data.base64 };
}

// UTF-8 decode the data (replacement, BOM kept).
function dataText(data) {
  return data.binary !== undefined ? utf8DecodeBinary(data.binary) : local('web.text.decode', dataArgument(data), false);
}

// A data record of canonical base64 (as the parent sends it); anything else is refused now.
function base64Data(base64) {
  const b = String(base64);
  if (b.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(b)) throw new TypeError('invalid base64 data');
  return { base64: b };
}

// ---- BufferSource ----

function isBufferSource(value) {
  return value instanceof ArrayBuffer || ArrayBuffer.isView(value) ||
    (typeof SharedArrayBuffer === 'function' && value instanceof SharedArrayBuffer);
}

// The bytes of a BufferSource without copying (a view on the same memory).
function viewBytes(value) {
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (isBufferSource(value)) return new Uint8Array(value);
  throw new TypeError('expected an ArrayBuffer or ArrayBufferView');
}

// The bytes a BufferSource holds, as a binary string (a copy, as the standard's "get a copy").
function bufferBinary(value) {
  return bytesToBinary(viewBytes(value));
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
  local, define, webidl, usv, byteString, bytesToBinary, binaryToBytes, utf8EncodeBinary, utf8Encode,
  utf8DecodeBinary, toBase64, fromBase64, bytesToBase64, isBufferSource, viewBytes, bufferBinary,
  dataBinary, dataBase64, dataSize, dataArgument, dataText, base64Data,
  slot, setSlot, hasSlot,
}, true);
