// FormData (XMLHttpRequest standard) and its multipart/form-data encoding (HTML standard).

const W = globalThis.__faztWebBuild;
const { define, webidl, slot, setSlot, usv, utf8EncodeBinary } = W;

const FORM = 'FormData';

// Create an entry: a Blob becomes a File (named "blob" unless a filename is given).
function entry(name, value, filename, args) {
  name = usv(name);
  if (W.isBlob(value)) {
    if (filename === undefined && W.isFile(value)) return [name, value];
    const fileName = filename !== undefined ? usv(filename) : W.isFile(value) ? value.name : 'blob';
    const lastModified = W.isFile(value) ? value.lastModified : Date.now();
    return [name, W.fileOf(W.blobData(value), fileName, value.type, lastModified)];
  }
  if (args > 2) throw new TypeError("FormData: parameter 2 is not of type 'Blob'");
  return [name, usv(value)];
}

class FormData {
  constructor(form = undefined, submitter = undefined) {
    if (form !== undefined) throw new TypeError('FormData: there are no HTML forms in this runtime');
    setSlot(this, FORM, { list: [] });
  }
  append(name, value, filename = undefined) {
    if (arguments.length < 2) throw new TypeError('FormData.append: 2 arguments required');
    slot(this, FORM).list.push(entry(name, value, filename, arguments.length));
  }
  delete(name) {
    const s = slot(this, FORM);
    name = usv(name);
    s.list = s.list.filter(([n]) => n !== name);
  }
  get(name) {
    name = usv(name);
    const found = slot(this, FORM).list.find(([n]) => n === name);
    return found ? found[1] : null;
  }
  getAll(name) {
    name = usv(name);
    return slot(this, FORM).list.filter(([n]) => n === name).map(([, v]) => v);
  }
  has(name) {
    name = usv(name);
    return slot(this, FORM).list.some(([n]) => n === name);
  }
  set(name, value, filename = undefined) {
    if (arguments.length < 2) throw new TypeError('FormData.set: 2 arguments required');
    const s = slot(this, FORM);
    const e = entry(name, value, filename, arguments.length);
    const i = s.list.findIndex(([n]) => n === e[0]);
    if (i < 0) s.list.push(e);
    else {
      s.list[i] = e;
      s.list = s.list.filter(([n], j) => j <= i || n !== e[0]);
    }
  }
  forEach(callback, thisArg = undefined) {
    if (typeof callback !== 'function') throw new TypeError('forEach: callback is not a function');
    const s = slot(this, FORM);
    for (let i = 0; i < s.list.length; i++) callback.call(thisArg, s.list[i][1], s.list[i][0], this);
  }
  *entries() { const s = slot(this, FORM); for (let i = 0; i < s.list.length; i++) yield [s.list[i][0], s.list[i][1]]; }
  *keys() { const s = slot(this, FORM); for (let i = 0; i < s.list.length; i++) yield s.list[i][0]; }
  *values() { const s = slot(this, FORM); for (let i = 0; i < s.list.length; i++) yield s.list[i][1]; }
}
define(FormData.prototype, Symbol.iterator, FormData.prototype.entries, true);
webidl(FormData, 'FormData');

const crlf = (text) => text.replace(/\r\n|\r|\n/g, '\r\n');
const escapeName = (text) => text.replace(/\n/g, '%0A').replace(/\r/g, '%0D').replace(/"/g, '%22');

function randomBoundary() {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let out = '----formdata-fazt-';
  for (let i = 0; i < 24; i++) out += chars[Math.floor(Math.random() * chars.length)];
  return out;
}

// The multipart/form-data encoding of a FormData: {binary, type} (type carries the boundary).
function encodeMultipart(form) {
  const boundary = randomBoundary();
  const chunks = [];
  for (const [name, value] of slot(form, FORM).list) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${escapeName(crlf(name))}"`;
    if (typeof value === 'string') {
      chunks.push(utf8EncodeBinary(`${head}\r\n\r\n${crlf(value)}\r\n`));
    } else {
      head += `; filename="${escapeName(value.name)}"\r\nContent-Type: ${value.type || 'application/octet-stream'}\r\n\r\n`;
      chunks.push(utf8EncodeBinary(head), W.blobBinary(value), '\r\n');
    }
  }
  chunks.push(`--${boundary}--\r\n`);
  return { binary: chunks.join(''), type: `multipart/form-data; boundary=${boundary}` };
}

W.isFormData = (value) => W.hasSlot(value, FORM);
W.encodeMultipart = encodeMultipart;
define(globalThis, 'FormData', FormData);
