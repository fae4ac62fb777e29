// TextEncoder, TextDecoder (UTF-8, the Encoding standard), atob and btoa (HTML standard).

const W = globalThis.__faztWebBuild;
const { define, webidl, slot, setSlot, utf8Encode, utf8Decode, viewBytes, base64ToBytes, bytesToBase64 } = W;

const UTF8_LABELS = new Set([
  'unicode-1-1-utf-8', 'unicode11utf8', 'unicode20utf8', 'utf-8', 'utf8', 'x-unicode20utf8',
]);

class TextEncoder {
  get encoding() { return 'utf-8'; }
  encode(input = '') { return utf8Encode(input); }
  encodeInto(source, destination) {
    if (!(destination instanceof Uint8Array)) throw new TypeError('destination must be a Uint8Array');
    const s = W.usv(source);
    let read = 0, written = 0;
    for (const ch of s) {
      const bytes = utf8Encode(ch);
      if (written + bytes.length > destination.length) break;
      destination.set(bytes, written);
      written += bytes.length;
      read += ch.length;
    }
    return { read, written };
  }
}
webidl(TextEncoder, 'TextEncoder');

const DECODER = 'TextDecoder';
const BOM = [0xef, 0xbb, 0xbf];

// How many bytes at the end of `bytes` start a UTF-8 sequence that more input could complete.
function incompleteTail(bytes) {
  for (let back = 1; back <= 3 && back <= bytes.length; back++) {
    const b = bytes[bytes.length - back];
    if (b >= 0x80 && b <= 0xbf) continue;  // a continuation byte: keep looking for the lead
    const need = b >= 0xf0 && b <= 0xf4 ? 4 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xc2 && b <= 0xdf ? 2 : 0;
    if (need <= back) return 0;
    // The second byte has a narrower range after some lead bytes; a wrong one will never complete.
    if (back >= 2) {
      const c = bytes[bytes.length - back + 1];
      const lower = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
      const upper = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
      if (c < lower || c > upper) return 0;
    }
    return back;
  }
  return 0;
}

class TextDecoder {
  constructor(label = 'utf-8', options = {}) {
    const name = String(label).trim().toLowerCase();
    if (!UTF8_LABELS.has(name)) throw new RangeError(`The "${label}" encoding is not supported`);
    setSlot(this, DECODER, {
      fatal: !!(options && options.fatal), ignoreBOM: !!(options && options.ignoreBOM),
      pending: new Uint8Array(0), bomSeen: false,
    });
  }
  get encoding() { return 'utf-8'; }
  get fatal() { return slot(this, DECODER).fatal; }
  get ignoreBOM() { return slot(this, DECODER).ignoreBOM; }
  decode(input, options = {}) {
    const s = slot(this, DECODER);
    let bytes = input === undefined || input === null ? new Uint8Array(0) : viewBytes(input);
    if (s.pending.length) bytes = W.concatBytes([s.pending, bytes]);
    const stream = !!(options && options.stream);
    let keep = stream ? incompleteTail(bytes) : 0;
    s.pending = keep ? bytes.slice(bytes.length - keep) : new Uint8Array(0);
    let body = keep ? bytes.subarray(0, bytes.length - keep) : bytes;
    if (!s.ignoreBOM && !s.bomSeen) {
      if (body.length >= 3 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) {
        body = body.subarray(3);
        s.bomSeen = true;
      } else if (stream && body.length < 3 && body.every((b, i) => b === BOM[i])) {
        // The start of a stream that may still be a BOM: wait for more.
        s.pending = W.concatBytes([body, s.pending]);
        body = new Uint8Array(0);
      } else if (body.length || !stream) {
        s.bomSeen = true;
      }
    }
    try {
      return utf8Decode(body, s.fatal);
    } finally {
      if (!stream) { s.pending = new Uint8Array(0); s.bomSeen = false; }
    }
  }
}
webidl(TextDecoder, 'TextDecoder');

function invalidCharacter(message) {
  return new DOMException(message, 'InvalidCharacterError');
}

function atob(data) {
  if (arguments.length === 0) throw new TypeError('atob: 1 argument required');
  const bytes = base64ToBytes(String(data));
  if (bytes === null) throw invalidCharacter('The string to be decoded is not correctly encoded.');
  let out = '';
  for (let i = 0; i < bytes.length; i += 8192) out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return out;
}

function btoa(data) {
  if (arguments.length === 0) throw new TypeError('btoa: 1 argument required');
  const s = String(data);
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw invalidCharacter('The string to be encoded contains characters outside of the Latin1 range.');
    bytes[i] = c;
  }
  return bytesToBase64(bytes);
}

define(globalThis, 'TextEncoder', TextEncoder);
define(globalThis, 'TextDecoder', TextDecoder);
define(globalThis, 'atob', atob);
define(globalThis, 'btoa', btoa);
