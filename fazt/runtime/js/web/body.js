// The Body mixin (Fetch standard) shared by Request and Response, and body extraction.
// A body is held as null, a string (made from a string or URLSearchParams) or a Uint8Array:
// there is no ReadableStream here, so `body` returns that value (a valid BodyInit itself).

const W = globalThis.__faztWebBuild;
const { slot, setSlot, hasSlot, usv, utf8Encode, utf8Decode, isBufferSource, copyBytes, local } = W;

const BODY = 'Body';

// Extract a body from a BodyInit: {source, type} (type is the Content-Type it implies, or null).
function extractBody(init) {
  if (init === null || init === undefined) return { source: null, type: null };
  if (typeof init === 'string') return { source: init.toWellFormed(), type: 'text/plain;charset=UTF-8' };
  if (W.isURLSearchParams(init)) {
    return { source: init.toString(), type: 'application/x-www-form-urlencoded;charset=UTF-8' };
  }
  if (W.isFormData(init)) {
    const { bytes, type } = W.encodeMultipart(init);
    return { source: bytes, type };
  }
  if (W.isBlob(init)) return { source: W.blobBytes(init).slice(), type: init.type || null };
  if (isBufferSource(init)) return { source: copyBytes(init), type: null };
  if (hasSlot(init, BODY)) throw new TypeError('a Request or Response is not a BodyInit: pass its body');
  return { source: usv(init), type: 'text/plain;charset=UTF-8' };
}

// Give `obj` a body (its Headers object gets the implied Content-Type when it has none).
function initBody(obj, source, headers) {
  return setSlot(obj, BODY, { source, used: false, headers });
}

function sourceBytes(source) {
  if (source === null) return new Uint8Array(0);
  return typeof source === 'string' ? utf8Encode(source) : source;
}

// The consume-body steps: a rejected promise if the body was already read, else `convert(source)`.
function consume(obj, convert) {
  let s;
  try {
    s = slot(obj, BODY);
  } catch (e) {
    return Promise.reject(e);
  }
  if (s.used) return Promise.reject(new TypeError('Body has already been consumed'));
  if (s.source !== null) s.used = true;
  const source = s.source;
  return Promise.resolve().then(() => convert(source, s));
}

function decodeText(source) {
  // "UTF-8 decode" strips a leading byte order mark.
  if (typeof source === 'string') return source.startsWith('\ufeff') ? source.slice(1) : source;
  const bytes = sourceBytes(source);
  const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  return utf8Decode(bytes.subarray(start));
}

function mimeEssence(s) {
  const type = s.headers.get('content-type');
  return type === null ? '' : type.split(';')[0].trim().toLowerCase();
}

function parseFormData(source, s) {
  const essence = mimeEssence(s);
  const form = new FormData();
  if (essence === 'multipart/form-data') {
    let entries;
    try {
      entries = local('web.multipart.parse', s.headers.get('content-type'), W.bytesToBase64(sourceBytes(source)));
    } catch (e) {
      throw new TypeError(`Could not parse the body as FormData: ${e.message}`);
    }
    for (const e of entries) {
      if (e.filename === undefined) form.append(e.name, e.value);
      else form.append(e.name, W.fileFrom(W.base64ToBytes(e.base64), e.filename, e.type));
    }
    return form;
  }
  if (essence === 'application/x-www-form-urlencoded') {
    // The urlencoded parser decodes "without BOM": a leading U+FEFF stays part of the first name.
    const text = typeof source === 'string' ? source : utf8Decode(sourceBytes(source));
    for (const [name, value] of W.parseUrlencoded(text)) form.append(name, value);
    return form;
  }
  throw new TypeError('Could not parse the body as FormData: the Content-Type is not multipart/form-data or application/x-www-form-urlencoded');
}

// The Body mixin's members, installed on a class prototype.
const BodyMixin = {
  get body() { return slot(this, BODY).source; },
  get bodyUsed() { return slot(this, BODY).used; },
  arrayBuffer() { return consume(this, (src) => sourceBytes(src).slice().buffer); },
  bytes() { return consume(this, (src) => sourceBytes(src).slice()); },
  blob() {
    return consume(this, (src, s) => W.blobFrom(sourceBytes(src).slice(), (s.headers.get('content-type') || '').toLowerCase()));
  },
  text() { return consume(this, decodeText); },
  json() { return consume(this, (src) => JSON.parse(decodeText(src))); },
  formData() { return consume(this, parseFormData); },
};

function installBody(cls) {
  for (const key of Object.keys(BodyMixin)) {
    const d = Object.getOwnPropertyDescriptor(BodyMixin, key);
    d.enumerable = true;
    d.configurable = true;
    Object.defineProperty(cls.prototype, key, d);
  }
}

// The body a Request/Response (or a raw BodyInit) holds, for the wire to the parent.
function bodyToWire(value) {
  const source = hasSlot(value, BODY) ? slot(value, BODY).source : extractBody(value).source;
  if (source === null) return { text: '' };
  return typeof source === 'string' ? { text: source } : { base64: W.bytesToBase64(source) };
}

Object.assign(W, {
  extractBody, initBody, installBody, bodyToWire,
  bodyState: (obj) => slot(obj, BODY),
  hasBody: (obj) => hasSlot(obj, BODY),
  copySource: (source) => (source instanceof Uint8Array ? source.slice() : source),
});
