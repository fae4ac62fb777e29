// Blob and File (File API). The bytes live in one Uint8Array; no streams in this runtime.

const W = globalThis.__faztWebBuild;
const { define, webidl, slot, setSlot, hasSlot, utf8Encode, utf8Decode, isBufferSource, copyBytes, concatBytes } = W;

const BLOB = 'Blob';

function normalizeType(type) {
  const t = type === undefined ? '' : String(type);
  return /^[\x20-\x7e]*$/.test(t) ? t.toLowerCase() : '';
}

function partBytes(part, endings) {
  if (isBufferSource(part)) return copyBytes(part);
  if (hasSlot(part, BLOB)) return slot(part, BLOB).bytes;
  let text = String(part);
  if (endings === 'native') text = text.replace(/\r\n|\r/g, '\n');
  return utf8Encode(text);
}

class Blob {
  constructor(parts = [], options = {}) {
    if (parts === null || typeof parts !== 'object' || typeof parts[Symbol.iterator] !== 'function') {
      if (parts !== undefined) throw new TypeError("Blob: parts must be a sequence");
    }
    const opts = options === null || options === undefined ? {} : options;
    const endings = opts.endings === undefined ? 'transparent' : String(opts.endings);
    if (endings !== 'transparent' && endings !== 'native') {
      throw new TypeError(`Blob: invalid endings "${endings}"`);
    }
    const chunks = [];
    for (const part of parts || []) chunks.push(partBytes(part, endings));
    setSlot(this, BLOB, { bytes: concatBytes(chunks), type: normalizeType(opts.type) });
  }
  get size() { return slot(this, BLOB).bytes.length; }
  get type() { return slot(this, BLOB).type; }
  slice(start = 0, end = undefined, contentType = undefined) {
    const s = slot(this, BLOB);
    const size = s.bytes.length;
    const clamp = (v) => { v = Math.trunc(Number(v)) || 0; return v < 0 ? Math.max(size + v, 0) : Math.min(v, size); };
    const from = clamp(start);
    const to = end === undefined ? size : clamp(end);
    return blobFrom(s.bytes.slice(from, Math.max(from, to)), normalizeType(contentType));
  }
  text() {
    // "UTF-8 decode" drops a leading byte order mark.
    return Promise.resolve().then(() => {
      const b = slot(this, BLOB).bytes;
      return utf8Decode(b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? b.subarray(3) : b);
    });
  }
  arrayBuffer() { return Promise.resolve().then(() => slot(this, BLOB).bytes.slice().buffer); }
  bytes() { return Promise.resolve().then(() => slot(this, BLOB).bytes.slice()); }
  stream() { throw new TypeError('Blob.stream() is not available: this runtime has no ReadableStream'); }
}
webidl(Blob, 'Blob');

// A Blob over `bytes` (not copied: callers pass bytes nobody else holds).
function blobFrom(bytes, type) {
  const blob = Object.create(Blob.prototype);
  setSlot(blob, BLOB, { bytes, type });
  return blob;
}

const FILE = 'File';

class File extends Blob {
  constructor(parts, name, options = {}) {
    if (arguments.length < 2) throw new TypeError('File: 2 arguments required');
    super(parts, options);
    const opts = options === null || options === undefined ? {} : options;
    const lastModified = opts.lastModified === undefined ? Date.now() : Math.trunc(Number(opts.lastModified)) || 0;
    setSlot(this, FILE, { name: W.usv(name), lastModified });
  }
  get name() { return slot(this, FILE).name; }
  get lastModified() { return slot(this, FILE).lastModified; }
  get webkitRelativePath() { slot(this, FILE); return ''; }
}
webidl(File, 'File');

W.blobFrom = blobFrom;
W.blobBytes = (blob) => slot(blob, BLOB).bytes;
W.isBlob = (value) => hasSlot(value, BLOB);
W.isFile = (value) => hasSlot(value, FILE);
// A File over `bytes` (not copied).
W.fileFrom = (bytes, name, type, lastModified = Date.now()) => {
  const file = Object.create(File.prototype);
  setSlot(file, BLOB, { bytes, type });
  setSlot(file, FILE, { name, lastModified });
  return file;
};
define(globalThis, 'Blob', Blob);
define(globalThis, 'File', File);
