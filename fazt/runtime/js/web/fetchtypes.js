// Request and Response (Fetch standard), with the Body mixin from body.js.

const W = globalThis.__faztWebBuild;
const { define, webidl, slot, setSlot, hasSlot, usv, byteString } = W;

const REQUEST = 'Request';
const RESPONSE = 'Response';
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);
const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const NORMALIZED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);
const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);

function option(init, name, allowed, fallback) {
  const value = init[name];
  if (value === undefined) return fallback;
  const v = String(value);
  if (!allowed.includes(v)) throw new TypeError(`Request: invalid ${name} "${v}"`);
  return v;
}

function absoluteUrl(input, what) {
  let url;
  try {
    url = new URL(input);
  } catch {
    throw new TypeError(`${what}: invalid URL "${String(input)}" (it must be absolute)`);
  }
  return url;
}

// ---- Request ----

class Request {
  constructor(input, init = {}) {
    if (arguments.length === 0) throw new TypeError('Request: 1 argument required');
    init = init === null || init === undefined ? {} : init;
    const from = hasSlot(input, REQUEST) ? slot(input, REQUEST) : null;
    let url;
    if (from === null) {
      url = absoluteUrl(usv(input), 'Request');
      if (url.username || url.password) throw new TypeError('Request: a URL with credentials is not allowed');
    }
    let method = from ? from.method : 'GET';
    if (init.method !== undefined) {
      method = byteString(init.method);
      if (!TOKEN.test(method)) throw new TypeError(`Request: invalid method "${method}"`);
      const upper = method.toUpperCase();
      if (FORBIDDEN_METHODS.has(upper)) throw new TypeError(`Request: method "${method}" is forbidden`);
      if (NORMALIZED_METHODS.has(upper)) method = upper;
    }
    const inputBody = from ? W.bodyState(input) : null;
    if (init.body === undefined && inputBody && inputBody.used) {
      throw new TypeError('Request: the body of the input Request has already been consumed');
    }
    const headers = W.makeHeaders(init.headers !== undefined ? init.headers : from ? input.headers : undefined);
    let body = { type: null };
    if (init.body !== undefined && init.body !== null) {
      body = W.extractBody(init.body);
      if (body.type !== null && !headers.has('content-type')) headers.append('content-type', body.type);
    } else if (init.body === undefined && inputBody) {
      body = W.bodyContent(inputBody);
    }
    if ((body.text !== undefined || body.data !== undefined) && (method === 'GET' || method === 'HEAD')) {
      throw new TypeError('Request with GET/HEAD method cannot have body.');
    }
    // Taking the input's body disturbs the input, as when its stream is read.
    if (init.body === undefined && inputBody && W.bodyHasContent(inputBody)) inputBody.used = true;
    const signal = init.signal !== undefined ? init.signal : from ? from.signal : undefined;
    setSlot(this, REQUEST, {
      url: from ? from.url : url.href,
      method,
      headers,
      signal: W.followSignal(signal),
      redirect: option(init, 'redirect', ['follow', 'error', 'manual'], from ? from.redirect : 'follow'),
      credentials: option(init, 'credentials', ['omit', 'same-origin', 'include'], from ? from.credentials : 'same-origin'),
      mode: option(init, 'mode', ['same-origin', 'no-cors', 'cors', 'navigate'], from ? from.mode : 'cors'),
      cache: option(init, 'cache', ['default', 'no-store', 'reload', 'no-cache', 'force-cache', 'only-if-cached'],
        from ? from.cache : 'default'),
      referrer: init.referrer !== undefined ? usv(init.referrer) : from ? from.referrer : 'about:client',
      referrerPolicy: init.referrerPolicy !== undefined ? String(init.referrerPolicy) : from ? from.referrerPolicy : '',
      integrity: init.integrity !== undefined ? String(init.integrity) : from ? from.integrity : '',
      keepalive: init.keepalive !== undefined ? !!init.keepalive : from ? from.keepalive : false,
    });
    W.initBody(this, body, headers);
  }
  get method() { return slot(this, REQUEST).method; }
  get url() { return slot(this, REQUEST).url; }
  get headers() { return slot(this, REQUEST).headers; }
  get destination() { slot(this, REQUEST); return ''; }
  get referrer() { return slot(this, REQUEST).referrer; }
  get referrerPolicy() { return slot(this, REQUEST).referrerPolicy; }
  get mode() { return slot(this, REQUEST).mode; }
  get credentials() { return slot(this, REQUEST).credentials; }
  get cache() { return slot(this, REQUEST).cache; }
  get redirect() { return slot(this, REQUEST).redirect; }
  get integrity() { return slot(this, REQUEST).integrity; }
  get keepalive() { return slot(this, REQUEST).keepalive; }
  get isReloadNavigation() { slot(this, REQUEST); return false; }
  get isHistoryNavigation() { slot(this, REQUEST); return false; }
  get signal() { return slot(this, REQUEST).signal; }
  get duplex() { slot(this, REQUEST); return 'half'; }
  clone() {
    const body = W.bodyState(this);
    if (body.used) throw new TypeError('Request.clone: the body has already been consumed');
    const s = slot(this, REQUEST);
    const copy = Object.create(Object.getPrototypeOf(this));
    const headers = W.makeHeaders(s.headers);
    setSlot(copy, REQUEST, { ...s, headers, signal: W.followSignal(s.signal) });
    W.initBody(copy, W.bodyContent(body), headers);
    return copy;
  }
}
W.installBody(Request);
webidl(Request, 'Request');

// ---- Response ----

function validStatusText(text) {
  return /^[\t\x20-\x7e\x80-\xff]*$/.test(text);
}

function newResponse(state, body, headers) {
  const response = Object.create(Response.prototype);
  setSlot(response, RESPONSE, { ...state, headers });
  W.initBody(response, body, headers);
  return response;
}

class Response {
  constructor(body = null, init = {}) {
    init = init === null || init === undefined ? {} : init;
    const status = init.status === undefined ? 200 : Number(init.status);
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      throw new RangeError(`Response: status ${init.status} is not in the range 200 to 599`);
    }
    const statusText = init.statusText === undefined ? '' : byteString(init.statusText);
    if (!validStatusText(statusText)) throw new TypeError('Response: invalid statusText');
    const headers = W.makeHeaders(init.headers);
    let extracted = { type: null };
    if (body !== null && body !== undefined) {
      if (NULL_BODY_STATUS.has(status)) throw new TypeError(`Response with status ${status} cannot have a body`);
      extracted = W.extractBody(body);
      if (extracted.type !== null && !headers.has('content-type')) headers.append('content-type', extracted.type);
    }
    setSlot(this, RESPONSE, { type: 'default', url: '', redirected: false, status, statusText, headers });
    W.initBody(this, extracted, headers);
  }
  static error() {
    return newResponse({ type: 'error', url: '', redirected: false, status: 0, statusText: '' }, {},
      W.makeHeaders(undefined, 'immutable'));
  }
  static redirect(url, status = 302) {
    const target = absoluteUrl(usv(url), 'Response.redirect');
    status = Number(status);
    if (!REDIRECT_STATUS.has(status)) throw new RangeError(`Response.redirect: invalid status ${status}`);
    return newResponse({ type: 'default', url: '', redirected: false, status, statusText: '' }, {},
      W.makeHeaders([['location', target.href]], 'immutable'));
  }
  static json(data, init = {}) {
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError('Response.json: the data is not JSON serializable');
    const response = new Response(text, init);
    const headers = response.headers;
    if (!(init && init.headers !== undefined && new Headers(init.headers).has('content-type'))) {
      headers.set('content-type', 'application/json');
    }
    return response;
  }
  get type() { return slot(this, RESPONSE).type; }
  get url() { return slot(this, RESPONSE).url; }
  get redirected() { return slot(this, RESPONSE).redirected; }
  get status() { return slot(this, RESPONSE).status; }
  get ok() { const s = slot(this, RESPONSE).status; return s >= 200 && s <= 299; }
  get statusText() { return slot(this, RESPONSE).statusText; }
  get headers() { return slot(this, RESPONSE).headers; }
  clone() {
    const body = W.bodyState(this);
    if (body.used) throw new TypeError('Response.clone: the body has already been consumed');
    const s = slot(this, RESPONSE);
    const copy = Object.create(Object.getPrototypeOf(this));
    const headers = W.makeHeaders(s.headers);
    W.setHeadersGuard(headers, W.headersGuard(s.headers));
    setSlot(copy, RESPONSE, { ...s, headers });
    W.initBody(copy, W.bodyContent(body), headers);
    return copy;
  }
}
W.installBody(Response);
webidl(Response, 'Response');

// A Response as fetch() delivers it: any status the network gave, with the final URL; the body
// is a BodyInit (wireBlob() makes one from base64 without a byte loop).
W.fetchedResponse = ({ status, statusText = '', headers = [], body = null, url = '', redirected = false }) => {
  if (!Number.isInteger(status) || status < 0 || status > 999) throw new RangeError(`invalid status ${status}`);
  const h = W.makeHeaders(headers);
  return newResponse({ type: 'basic', url: String(url), redirected: !!redirected, status, statusText: String(statusText) },
    NULL_BODY_STATUS.has(status) ? {} : W.extractBody(body), h);
};

define(globalThis, 'Request', Request);
define(globalThis, 'Response', Response);
