// The Body mixin (Fetch standard) shared by Request and Response, and body extraction.
// A body is text (made from a string or URLSearchParams) or data (a record of bytes, base.js).
// There is no ReadableStream here, so `body` is null, the text, or a Uint8Array of the bytes:
// each a valid BodyInit, so `new Response(r.body, r)` works.

const W = globalThis.__faztWebBuild;
const { slot, setSlot, hasSlot, usv, utf8EncodeBinary, binaryToBytes, isBufferSource, local } = W;

const BODY = 'Body';
const TEXT_TYPE = 'text/plain;charset=UTF-8';

// Extract a body from a BodyInit: {text} or {data} or neither, and the Content-Type it implies.
function extractBody(init) {
  if (init === null || init === undefined) return { type: null };
  if (typeof init === 'string') return { text: usv(init), type: TEXT_TYPE };
  if (W.isURLSearchParams(init)) return { text: init.toString(), type: 'application/x-www-form-urlencoded;charset=UTF-8' };
  if (W.isFormData(init)) {
    const { binary, type } = W.encodeMultipart(init);
    return { data: { binary }, type };
  }
  if (W.isBlob(init)) return { data: W.blobData(init), type: init.type || null };
  if (isBufferSource(init)) return { data: { binary: W.bufferBinary(init) }, type: null };
  if (hasSlot(init, BODY)) throw new TypeError('a Request or Response is not a BodyInit: pass its body');
  return { text: usv(init), type: TEXT_TYPE };
}

// Give `obj` the extracted body; `headers` is its Headers (formData() and blob() read the type).
function initBody(obj, extracted, headers) {
  return setSlot(obj, BODY, { text: extracted.text, data: extracted.data, bytes: null, used: false, headers });
}

function hasContent(s) {
  return s.text !== undefined || s.data !== undefined;
}

function binaryOf(s) {
  return s.text !== undefined ? utf8EncodeBinary(s.text) : s.data !== undefined ? W.dataBinary(s.data) : '';
}

// The text of the body, BOM kept (the urlencoded parser wants it so).
function decodedOf(s) {
  return s.text !== undefined ? s.text : s.data !== undefined ? W.dataText(s.data) : '';
}

// "UTF-8 decode": a leading byte order mark is dropped.
function textOf(s) {
  const text = decodedOf(s);
  return text.startsWith('\ufeff') ? text.slice(1) : text;
}

// The consume-body steps: a rejected promise if the body was already read, else `convert(state)`.
function consume(obj, convert) {
  let s;
  try {
    s = slot(obj, BODY);
  } catch (e) {
    return Promise.reject(e);
  }
  if (s.used) return Promise.reject(new TypeError('Body has already been consumed'));
  if (hasContent(s)) s.used = true;
  return Promise.resolve().then(() => convert(s));
}

function mimeEssence(s) {
  const type = s.headers.get('content-type');
  return type === null ? '' : type.split(';')[0].trim().toLowerCase();
}

function parseFormData(s) {
  const essence = mimeEssence(s);
  const form = new FormData();
  if (essence === 'multipart/form-data') {
    let entries;
    try {
      const bytes = s.data !== undefined ? W.dataArgument(s.data) : binaryOf(s);
      entries = local('web.multipart.parse', s.headers.get('content-type'), bytes);
    } catch (e) {
      throw new TypeError(`Could not parse the body as FormData: ${e.message}`);
    }
    for (const e of entries) {
      if (e.filename === undefined) form.append(e.name, e.value);
      else form.append(e.name, W.fileOf(W.base64Data(e.base64), e.filename, e.type));
    }
    return form;
  }
  if (essence === 'application/x-www-form-urlencoded') {
    for (const [name, value] of W.parseUrlencoded(decodedOf(s))) form.append(name, value);
    return form;
  }
  throw new TypeError('Could not parse the body as FormData: the Content-Type is not multipart/form-data or application/x-www-form-urlencoded');
}

// The Body mixin's members, installed on a class prototype.
const BodyMixin = {
  get body() {
    const s = slot(this, BODY);
    if (s.text !== undefined) return s.text;
    if (s.data === undefined) return null;
    if (s.bytes === null) s.bytes = binaryToBytes(W.dataBinary(s.data));
    return s.bytes;
  },
  get bodyUsed() { return slot(this, BODY).used; },
  arrayBuffer() { return consume(this, (s) => binaryToBytes(binaryOf(s)).buffer); },
  bytes() { return consume(this, (s) => binaryToBytes(binaryOf(s))); },
  blob() {
    return consume(this, (s) => {
      const type = (s.headers.get('content-type') || '').toLowerCase();
      return s.data !== undefined ? W.blobOf(s.data, type) : W.blobFrom(binaryOf(s), type);
    });
  },
  text() { return consume(this, textOf); },
  json() { return consume(this, (s) => JSON.parse(textOf(s))); },
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
  const s = hasSlot(value, BODY) ? slot(value, BODY) : extractBody(value);
  if (s.text !== undefined) return { text: s.text };
  if (s.data !== undefined) return { base64: W.dataBase64(s.data) };
  return { text: '' };
}

Object.assign(W, {
  extractBody, initBody, installBody, bodyToWire,
  bodyState: (obj) => slot(obj, BODY),
  bodyContent: (s) => ({ text: s.text, data: s.data }),
  bodyHasContent: hasContent,
});
