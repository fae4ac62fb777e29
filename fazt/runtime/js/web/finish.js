// The hidden helper the runtime uses (not a standard API), then the build helpers go away.

const W = globalThis.__faztWebBuild;


const faztWeb = Object.freeze({
  // {text} or {base64}: the body a Request or Response (or a raw BodyInit) holds, synchronously.
  bodyToWire: W.bodyToWire,
  wireToBytes: (base64) => W.binaryToBytes(W.dataBinary(W.base64Data(base64))),
  // A Blob of the bytes base64 encodes, kept as base64 until a script needs them: the fast
  // BodyInit for a body from the wire (text(), json(), formData() and sending it on never make a
  // Uint8Array; bytes()/arrayBuffer()/body do, once).
  wireBlob: (base64, type = '') => W.blobOf(W.base64Data(base64), String(type).toLowerCase()),
  bytesToBase64: (bytes) => W.bytesToBase64(W.viewBytes(bytes)),
  // A Response as fetch() resolves to it: {status, statusText, headers (pairs or record), body
  // (null, a string or a Uint8Array), url, redirected}; any status 0-999, type "basic".
  fetchedResponse: W.fetchedResponse,
});
Object.defineProperty(globalThis, '__faztWeb', { value: faztWeb, writable: false, enumerable: false, configurable: false });
delete globalThis.__faztWebBuild;
