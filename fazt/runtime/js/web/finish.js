// The hidden helper the runtime uses (not a standard API), then the build helpers go away.

const W = globalThis.__faztWebBuild;

const faztWeb = Object.freeze({
  // {text} or {base64}: the body a Request or Response (or a raw BodyInit) holds, synchronously.
  bodyToWire: W.bodyToWire,
  wireToBytes: (base64) => {
    const bytes = W.base64ToBytes(base64);
    if (bytes === null) throw new TypeError('wireToBytes: invalid base64');
    return bytes;
  },
  bytesToBase64: (bytes) => W.bytesToBase64(W.viewBytes(bytes)),
  // A Response as fetch() resolves to it: {status, statusText, headers (pairs or record), body
  // (null, a string or a Uint8Array), url, redirected}; any status 0-999, type "basic".
  fetchedResponse: W.fetchedResponse,
});
Object.defineProperty(globalThis, '__faztWeb', { value: faztWeb, writable: false, enumerable: false, configurable: false });
delete globalThis.__faztWebBuild;
