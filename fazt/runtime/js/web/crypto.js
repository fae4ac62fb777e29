// crypto (Web Crypto API): randomUUID, getRandomValues, and crypto.subtle for SHA digests and
// HMAC keys (importKey, exportKey, generateKey, sign, verify). The work is done in the worker by
// Python's hashlib, hmac (compare_digest for verify) and secrets: webhost.py.

const W = globalThis.__faztWebBuild;
const { define, webidl, slot, setSlot, local, binaryToBytes, bufferBinary } = W;

const HASHES = { 'SHA-1': 512, 'SHA-256': 512, 'SHA-384': 1024, 'SHA-512': 1024 };  // block size, bits
const KEY = 'CryptoKey';
const CREATE = Symbol('create');
const INTEGER_ARRAYS = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array,
  Uint32Array, BigInt64Array, BigUint64Array];

function domError(message, name) {
  return new DOMException(message, name);
}

// Normalize an algorithm identifier: a name (case-insensitive) or an object with `name`.
function algorithmName(algorithm) {
  const name = typeof algorithm === 'string' ? algorithm : algorithm && algorithm.name;
  if (typeof name !== 'string') throw new TypeError('Algorithm: name is missing');
  return name.toUpperCase();
}

function hashName(hash) {
  if (hash === undefined) throw new TypeError('HMAC: hash is required');
  const name = algorithmName(hash);
  if (!(name in HASHES)) throw domError(`Unrecognized hash ${name}`, 'NotSupportedError');
  return name;
}

// The bytes of a BufferSource as a binary string (see base.js).
function bufferSource(data) {
  if (!W.isBufferSource(data)) throw new TypeError('Expected a BufferSource (ArrayBuffer or view)');
  return bufferBinary(data);
}

function base64url(binary) {
  return W.toBase64(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64url(text) {
  const binary = typeof text === 'string' && /^[A-Za-z0-9_-]*$/.test(text)
    ? W.fromBase64(text.replace(/-/g, '+').replace(/_/g, '/'), true) : null;
  if (binary === null) throw domError('JWK "k" is not valid base64url', 'DataError');
  return binary;
}

const bufferOf = (binary) => binaryToBytes(binary).buffer;

class CryptoKey {
  constructor(key) {
    if (key !== CREATE) throw new TypeError('Illegal constructor');
  }
  get type() { return slot(this, KEY).type; }
  get extractable() { return slot(this, KEY).extractable; }
  get algorithm() { return slot(this, KEY).algorithm; }
  get usages() { return slot(this, KEY).usages; }
}
webidl(CryptoKey, 'CryptoKey');

// An HMAC CryptoKey of the key bytes in the binary string `secret`.
function hmacKey(secret, algorithm, extractable, usages) {
  const hash = hashName(algorithm.hash);
  usages = [...usages].map(String);
  for (const u of usages) {
    if (u !== 'sign' && u !== 'verify') throw domError(`HMAC keys cannot be used to ${u}`, 'SyntaxError');
  }
  if (usages.length === 0) throw domError('A secret key needs at least one usage', 'SyntaxError');
  let length = secret.length * 8;
  if (algorithm.length !== undefined) {
    if (Number(algorithm.length) > length || Number(algorithm.length) <= length - 8 || !length) {
      throw domError('HMAC: length does not match the key data', 'DataError');
    }
    length = Number(algorithm.length);
  }
  if (length === 0) throw domError('HMAC: the key is empty', 'DataError');
  const key = new CryptoKey(CREATE);
  setSlot(key, KEY, {
    type: 'secret', extractable: !!extractable, usages: Object.freeze(usages), secret,
    algorithm: Object.freeze({ name: 'HMAC', hash: Object.freeze({ name: hash }), length }),
  });
  return key;
}

function usableKey(key, algorithm, usage) {
  const k = slot(key, KEY);
  if (algorithmName(algorithm) !== k.algorithm.name) throw domError('The key is not for this algorithm', 'InvalidAccessError');
  if (!k.usages.includes(usage)) throw domError(`The key may not be used to ${usage}`, 'InvalidAccessError');
  return k;
}

// Every SubtleCrypto method returns a promise; errors become rejections, as the standard says.
function promised(fn) {
  return function (...args) {
    try {
      return Promise.resolve(fn.apply(this, args));
    } catch (e) {
      return Promise.reject(e);
    }
  };
}

class SubtleCrypto {
  constructor(key) {
    if (key !== CREATE) throw new TypeError('Illegal constructor');
  }
}
const SUBTLE = {
  digest(algorithm, data) {
    const name = algorithmName(algorithm);
    if (!(name in HASHES)) throw domError(`Unrecognized algorithm ${name}`, 'NotSupportedError');
    return bufferOf(local('web.crypto.digest', name, bufferSource(data)));
  },
  importKey(format, keyData, algorithm, extractable, usages) {
    if (algorithmName(algorithm) !== 'HMAC') throw domError('Only HMAC keys are supported', 'NotSupportedError');
    if (format === 'raw') return hmacKey(bufferSource(keyData), algorithm, extractable, usages);
    if (format === 'jwk') {
      if (!keyData || keyData.kty !== 'oct') throw domError('JWK: kty must be "oct"', 'DataError');
      const hash = hashName(algorithm.hash);
      const alg = 'HS' + hash.slice(4);
      if (keyData.alg !== undefined && keyData.alg !== (hash === 'SHA-1' ? 'HS1' : alg)) {
        throw domError(`JWK: alg ${keyData.alg} does not match ${hash}`, 'DataError');
      }
      return hmacKey(fromBase64url(keyData.k), algorithm, extractable, usages);
    }
    throw domError(`Unsupported key format ${format}`, 'NotSupportedError');
  },
  exportKey(format, key) {
    const k = slot(key, KEY);
    if (!k.extractable) throw domError('The key is not extractable', 'InvalidAccessError');
    if (format === 'raw') return bufferOf(k.secret);
    if (format === 'jwk') {
      const h = k.algorithm.hash.name;
      return { kty: 'oct', k: base64url(k.secret), alg: h === 'SHA-1' ? 'HS1' : 'HS' + h.slice(4), key_ops: [...k.usages], ext: k.extractable };
    }
    throw domError(`Unsupported key format ${format}`, 'NotSupportedError');
  },
  generateKey(algorithm, extractable, usages) {
    if (algorithmName(algorithm) !== 'HMAC') throw domError('Only HMAC keys can be generated', 'NotSupportedError');
    const hash = hashName(algorithm.hash);
    const bits = algorithm.length === undefined ? HASHES[hash] : Number(algorithm.length);
    if (!Number.isInteger(bits) || bits <= 0 || bits % 8) throw domError('HMAC: length must be a positive multiple of 8', 'OperationError');
    return hmacKey(local('web.crypto.random', bits / 8), { ...algorithm, length: bits }, extractable, usages);
  },
  sign(algorithm, key, data) {
    const k = usableKey(key, algorithm, 'sign');
    return bufferOf(local('web.crypto.hmac', k.algorithm.hash.name, k.secret, bufferSource(data)));
  },
  verify(algorithm, key, signature, data) {
    const k = usableKey(key, algorithm, 'verify');
    return local('web.crypto.hmac_verify', k.algorithm.hash.name, k.secret, bufferSource(signature), bufferSource(data));
  },
};
for (const [name, fn] of Object.entries(SUBTLE)) {
  Object.defineProperty(SubtleCrypto.prototype, name, { value: promised(fn), writable: true, enumerable: true, configurable: true });
}
webidl(SubtleCrypto, 'SubtleCrypto');

const subtle = new SubtleCrypto(CREATE);

class Crypto {
  constructor(key) {
    if (key !== CREATE) throw new TypeError('Illegal constructor');
  }
  get subtle() { return subtle; }
  getRandomValues(array) {
    if (!INTEGER_ARRAYS.some((T) => array instanceof T)) {
      throw domError('getRandomValues: the array must be an integer typed array', 'TypeMismatchError');
    }
    if (array.byteLength > 65536) {
      throw domError(`getRandomValues: ${array.byteLength} bytes is more than 65536`, 'QuotaExceededError');
    }
    const bytes = binaryToBytes(local('web.crypto.random', array.byteLength));
    new Uint8Array(array.buffer, array.byteOffset, array.byteLength).set(bytes);
    return array;
  }
  randomUUID() { return local('web.crypto.uuid'); }
}
webidl(Crypto, 'Crypto');

define(globalThis, 'crypto', new Crypto(CREATE));
define(globalThis, 'Crypto', Crypto);
define(globalThis, 'CryptoKey', CryptoKey);
define(globalThis, 'SubtleCrypto', SubtleCrypto);
