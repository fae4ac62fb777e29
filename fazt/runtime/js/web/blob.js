// Blob and File (File API). The bytes are a data record (base.js): a binary string, or the base64
// a body from the wire came in. No streams here.

const W = globalThis.__faztWebBuild;
const { define, webidl, slot, setSlot, hasSlot, utf8EncodeBinary, binaryToBytes, isBufferSource, dataBinary } = W;

const BLOB = 'Blob';

function normalizeType(type) {
  const t = type === undefined ? '' : String(type);
  return /^[\x20-\x7e]*$/.test(t) ? t.toLowerCase() : '';
}

function partBinary(part, endings) {
  if (isBufferSource(part)) return W.bufferBinary(part);
  if (hasSlot(part, BLOB)) return dataBinary(slot(part, BLOB).data);
  let text = String(part);
  if (endings === 'native') text = text.replace(/\r\n|\r/g, '\n');
  return utf8EncodeBinary(text);
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
    for (const part of parts || []) chunks.push(partBinary(part, endings));
    setSlot(this, BLOB, { data: { binary: chunks.join('') }, type: normalizeType(opts.type) });
  }
  get size() { return W.dataSize(slot(this, BLOB).data); }
  get type() { return slot(this, BLOB).type; }
  slice(start = 0, end = undefined, contentType = undefined) {
    const binary = dataBinary(slot(this, BLOB).data);
    const size = binary.length;
    const clamp = (v) => { v = Math.trunc(Number(v)) || 0; return v < 0 ? Math.max(size + v, 0) : Math.min(v, size); };
    const from = clamp(start);
    const to = end === undefined ? size : clamp(end);
    return blobFrom(binary.slice(from, Math.max(from, to)), normalizeType(contentType));
  }
  text() {
    // "UTF-8 decode" drops a leading byte order mark.
    return Promise.resolve().then(() => {
      const text = W.dataText(slot(this, BLOB).data);
      return text.startsWith('\ufeff') ? text.slice(1) : text;
    });
  }
  arrayBuffer() { return Promise.resolve().then(() => binaryToBytes(dataBinary(slot(this, BLOB).data)).buffer); }
  bytes() { return Promise.resolve().then(() => binaryToBytes(dataBinary(slot(this, BLOB).data))); }
  stream() { throw new TypeError('Blob.stream() is not available: this runtime has no ReadableStream'); }
}
webidl(Blob, 'Blob');

// A Blob of the bytes in a data record (base.js).
function blobOf(data, type) {
  const blob = Object.create(Blob.prototype);
  setSlot(blob, BLOB, { data, type });
  return blob;
}

// A Blob of the bytes in a binary string.
function blobFrom(binary, type) {
  return blobOf({ binary }, type);
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
W.blobOf = blobOf;
W.blobData = (blob) => slot(blob, BLOB).data;
W.blobBinary = (blob) => dataBinary(slot(blob, BLOB).data);
W.isBlob = (value) => hasSlot(value, BLOB);
W.isFile = (value) => hasSlot(value, FILE);
// A File of the bytes in a data record (base.js).
W.fileOf = (data, name, type, lastModified = Date.now()) => {
  const file = Object.create(File.prototype);
  setSlot(file, BLOB, { data, type });
  setSlot(file, FILE, { name, lastModified });
  return file;
};
define(globalThis, 'Blob', Blob);
define(globalThis, 'File', File);
