// structuredClone (HTML standard): the serializable built-ins, with cycles and shared references
// kept; functions, symbols, WeakMaps and other non-serializable values throw DataCloneError.

const W = globalThis.__faztWebBuild;
const { define } = W;

const TYPED_ARRAYS = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array,
  Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array]
  .concat(typeof Float16Array === 'function' ? [Float16Array] : []);
const ERRORS = { Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError };

function dataCloneError(what) {
  return new DOMException(`${what} could not be cloned.`, 'DataCloneError');
}

function tagOf(value) {
  return Object.prototype.toString.call(value).slice(8, -1);
}

function cloneValue(value, memory) {
  if (typeof value === 'symbol') throw dataCloneError('Symbol()');
  if (typeof value === 'function') throw dataCloneError(String(value).slice(0, 60));
  if (value === null || typeof value !== 'object') return value;
  if (memory.has(value)) return memory.get(value);
  const keep = (copy) => { memory.set(value, copy); return copy; };
  const tag = tagOf(value);
  if (tag === 'Boolean' || tag === 'Number' || tag === 'String' || tag === 'BigInt') {
    return keep(Object(value.valueOf()));
  }
  if (value instanceof Date) return keep(new Date(value.getTime()));
  if (value instanceof RegExp) return keep(new RegExp(value.source, value.flags));
  if (value instanceof ArrayBuffer) return keep(value.slice(0));
  if (ArrayBuffer.isView(value)) {
    const buffer = cloneValue(value.buffer, memory);
    if (value instanceof DataView) return keep(new DataView(buffer, value.byteOffset, value.byteLength));
    const Type = TYPED_ARRAYS.find((T) => value instanceof T);
    return keep(new Type(buffer, value.byteOffset, value.length));
  }
  if (value instanceof Map) {
    const copy = keep(new Map());
    for (const [k, v] of value) copy.set(cloneValue(k, memory), cloneValue(v, memory));
    return copy;
  }
  if (value instanceof Set) {
    const copy = keep(new Set());
    for (const v of value) copy.add(cloneValue(v, memory));
    return copy;
  }
  if (value instanceof Error) {
    const name = Object.prototype.hasOwnProperty.call(ERRORS, value.name) ? value.name : 'Error';
    const copy = keep(new ERRORS[name]());
    if (Object.prototype.hasOwnProperty.call(value, 'message')) define(copy, 'message', String(value.message), true);
    if ('cause' in value) define(copy, 'cause', cloneValue(value.cause, memory), true);
    if (typeof value.stack === 'string') define(copy, 'stack', value.stack, true);
    return copy;
  }
  if (W.isFile(value)) return keep(W.fileOf(W.blobData(value), value.name, value.type, value.lastModified));
  if (W.isBlob(value)) return keep(W.blobOf(W.blobData(value), value.type));
  if (value instanceof DOMException) return keep(new DOMException(value.message, value.name));
  if (Array.isArray(value)) {
    const copy = keep(new Array(value.length));
    for (const key of Object.keys(value)) copy[key] = cloneValue(value[key], memory);
    return copy;
  }
  const proto = Object.getPrototypeOf(value);
  if (tag !== 'Object' || (proto !== Object.prototype && proto !== null && !isPlainProto(proto))) {
    throw dataCloneError(`#<${(proto && proto.constructor && proto.constructor.name) || tag}>`);
  }
  const copy = keep({});
  for (const key of Object.keys(value)) copy[key] = cloneValue(value[key], memory);
  return copy;
}

// Class instances are cloned as plain objects (own enumerable data), as browsers do, unless
// they are platform objects (which carry a toStringTag and were refused above).
function isPlainProto(proto) {
  return !(Symbol.toStringTag in proto);
}

function structuredClone(value, options = undefined) {
  if (arguments.length === 0) throw new TypeError('structuredClone: 1 argument required');
  const transfer = options && options.transfer !== undefined ? [...options.transfer] : [];
  for (const item of transfer) {
    if (!(item instanceof ArrayBuffer)) throw dataCloneError('A transferable other than ArrayBuffer');
  }
  const memory = new Map();
  const result = cloneValue(value, memory);
  // Transferred buffers are detached in the sender, as a transfer does.
  for (const buffer of transfer) if (typeof buffer.transfer === 'function') buffer.transfer();
  return result;
}

define(globalThis, 'structuredClone', structuredClone);
