// The one way the dashboard talks to the admin API. Every answer is either {data, meta?} or
// {error: {code, message, details?}}; this module turns the second (and network failures, and
// anything that is not the envelope) into an ApiError with a message fit to show a person, so
// no page ever has to look at a raw response.

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || {};
  }
  get field() { return this.details.field; }
}

let unauthorized = () => {};
// app.js decides what a 401 means (back to the login page); set once at start.
export function onUnauthorized(handler) { unauthorized = handler; }

const NETWORK = 'The server cannot be reached. Check the connection and try again.';

function headersFor(method, body) {
  const headers = { Accept: 'application/json' };
  // Cookie-authenticated writes must prove they are not a cross-site form post (SPEC §9).
  if (method !== 'GET' && method !== 'HEAD') headers['X-Fazt-CSRF'] = '1';
  if (body !== undefined && !(body instanceof FormData)) headers['Content-Type'] = 'application/json';
  return headers;
}

function url(path, query) {
  const u = new URL('/api' + path, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') u.searchParams.set(k, v);
  }
  return u.pathname + u.search;
}

async function errorFrom(response, options) {
  let payload = null;
  try { payload = await response.json(); } catch { /* not JSON: described below */ }
  const error = payload && typeof payload === 'object' ? payload.error : null;
  const err = error && error.message
    ? new ApiError(response.status, error.code || 'ERROR', error.message, error.details)
    : new ApiError(response.status, 'HTTP_' + response.status, `The server answered ${response.status} ${response.statusText || ''}`.trim() + '.');
  if (response.status === 401 && !options.keep401) unauthorized(err);
  return err;
}

// request('/sites', {query, method, body, meta, raw, keep401, signal})
//   -> data (or {data, meta} with meta: true, or the Response with raw: true)
export async function request(path, options = {}) {
  const method = options.method || 'GET';
  const body = options.body === undefined || options.body instanceof FormData ? options.body : JSON.stringify(options.body);
  let response;
  try {
    response = await fetch(url(path, options.query), {
      method, body, headers: headersFor(method, options.body), credentials: 'same-origin', signal: options.signal,
    });
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'NETWORK', NETWORK);
  }
  if (!response.ok) throw await errorFrom(response, options);
  if (options.raw) return response;
  let payload;
  try { payload = await response.json(); } catch { payload = null; }
  if (!payload || typeof payload !== 'object' || !('data' in payload)) {
    throw new ApiError(response.status, 'BAD_RESPONSE', 'The server sent an answer the dashboard does not understand.');
  }
  return options.meta ? payload : payload.data;
}

export const get = (path, query, options) => request(path, { ...options, query });
export const post = (path, body, options) => request(path, { ...options, method: 'POST', body });
export const put = (path, body, options) => request(path, { ...options, method: 'PUT', body });
export const del = (path, options) => request(path, { ...options, method: 'DELETE' });

// A multipart upload with progress (fetch cannot report upload progress; XMLHttpRequest can).
export function upload(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api' + path);
    xhr.setRequestHeader('X-Fazt-CSRF', '1');
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.onprogress = (e) => { if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total); };
    xhr.onerror = () => reject(new ApiError(0, 'NETWORK', NETWORK));
    xhr.onload = () => {
      let payload = null;
      try { payload = JSON.parse(xhr.responseText); } catch { /* handled below */ }
      if (xhr.status >= 200 && xhr.status < 300 && payload && 'data' in payload) return resolve(payload.data);
      const error = payload && payload.error;
      const err = error && error.message
        ? new ApiError(xhr.status, error.code, error.message, error.details)
        : new ApiError(xhr.status, 'HTTP_' + xhr.status, `The upload failed (the server answered ${xhr.status}).`);
      if (xhr.status === 401) unauthorized(err);
      reject(err);
    };
    xhr.send(form);
  });
}

// The URL where a hosted site answers, seen from this browser: the dashboard's own scheme and
// port with the site's host (NAME.localhost when the dashboard is opened on localhost).
export function siteUrl(name, fallback) {
  const { protocol, hostname, port } = location;
  const suffix = port ? ':' + port : '';
  if (['localhost', '127.0.0.1', 'admin.localhost', '[::1]'].includes(hostname)) return `${protocol}//${name}.localhost${suffix}/`;
  if (hostname.startsWith('admin.')) return `${protocol}//${name}.${hostname.slice(6)}${suffix}/`;
  return fallback || '#';
}

