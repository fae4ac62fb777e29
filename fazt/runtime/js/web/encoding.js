// TextEncoder, TextDecoder (UTF-8, the Encoding standard), atob and btoa (HTML standard).

const W = globalThis.__faztWebBuild;
const { define, webidl, slot, setSlot, utf8Encode, utf8EncodeBinary, utf8DecodeBinary, bytesToBinary, viewBytes } = W;

const UTF8_LABELS = new Set([
  'unicode-1-1-utf-8', 'unicode11utf8', 'unicode20utf8', 'utf-8', 'utf8', 'x-unicode20utf8',
]);
const BOM = '\xef\xbb\xbf';

class TextEncoder {
  get encoding() { return 'utf-8'; }
  encode(input = '') { return utf8Encode(input); }
  encodeInto(source, destination) {
    if (!(destination instanceof Uint8Array)) throw new TypeError('destination must be a Uint8Array');
    const s = W.usv(source);
    let read = 0, written = 0;
    for (const ch of s) {
      const bytes = utf8EncodeBinary(ch);
      if (written + bytes.length > destination.length) break;
      for (let i = 0; i < bytes.length; i++) destination[written + i] = bytes.charCodeAt(i);
      written += bytes.length;
      read += ch.length;
    }
    return { read, written };
  }
}
webidl(TextEncoder, 'TextEncoder');

const DECODER = 'TextDecoder';

// How many bytes at the end of `binary` start a UTF-8 sequence that more input could complete.
function incompleteTail(binary) {
  for (let back = 1; back <= 3 && back <= binary.length; back++) {
    const b = binary.charCodeAt(binary.length - back);
    if (b >= 0x80 && b <= 0xbf) continue;  // a continuation byte: keep looking for the lead
    const need = b >= 0xf0 && b <= 0xf4 ? 4 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xc2 && b <= 0xdf ? 2 : 0;
    if (need <= back) return 0;
    // The second byte has a narrower range after some lead bytes; a wrong one will never complete.
    if (back >= 2) {
      const c = binary.charCodeAt(binary.length - back + 1);
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
      fatal: !!(options && options.fatal), ignoreBOM: !!(options && options.ignoreBOM), pending: '', bomSeen: false,
    });
  }
  get encoding() { return 'utf-8'; }
  get fatal() { return slot(this, DECODER).fatal; }
  get ignoreBOM() { return slot(this, DECODER).ignoreBOM; }
  decode(input = undefined, options = {}) {
    const s = slot(this, DECODER);
    const stream = !!(options && options.stream);
    let binary = s.pending + (input === undefined || input === null ? '' : bytesToBinary(viewBytes(input)));
    const keep = stream ? incompleteTail(binary) : 0;
    s.pending = binary.slice(binary.length - keep);
    binary = binary.slice(0, binary.length - keep);
    if (!s.ignoreBOM && !s.bomSeen) {
      if (binary.startsWith(BOM)) {
        binary = binary.slice(3);
        s.bomSeen = true;
      } else if (stream && binary.length < 3 && BOM.startsWith(binary)) {
        // The start of a stream that may still be a BOM: wait for more.
        s.pending = binary + s.pending;
        binary = '';
      } else if (binary.length || !stream) {
        s.bomSeen = true;
      }
    }
    try {
      return utf8DecodeBinary(binary, s.fatal);
    } finally {
      if (!stream) { s.pending = ''; s.bomSeen = false; }
    }
  }
}
webidl(TextDecoder, 'TextDecoder');

function invalidCharacter(message) {
  return new DOMException(message, 'InvalidCharacterError');
}

function atob(data) {
  if (arguments.length === 0) throw new TypeError('atob: 1 argument required');
  const binary = W.fromBase64(String(data), true);
  if (binary === null) throw invalidCharacter('The string to be decoded is not correctly encoded.');
  return binary;
}

function btoa(data) {
  if (arguments.length === 0) throw new TypeError('btoa: 1 argument required');
  const s = String(data);
  if (/[^\x00-\xff]/.test(s)) {
    throw invalidCharacter('The string to be encoded contains characters outside of the Latin1 range.');
  }
  return W.toBase64(s);
}

define(globalThis, 'TextEncoder', TextEncoder);
define(globalThis, 'TextDecoder', TextDecoder);
define(globalThis, 'atob', atob);
define(globalThis, 'btoa', btoa);
