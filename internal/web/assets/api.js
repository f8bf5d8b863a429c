// api.js: calls to Vigil's JSON API with the session cookie.

/** ApiError is a failed API call: status and the server's message. */
export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code || '';
  }
}

/** listeners for 401 answers (the session ended): back to the login form. */
const unauthorized = new Set();

/** onUnauthorized registers fn, called when any call answers 401. */
export function onUnauthorized(fn) {
  unauthorized.add(fn);
}

/** notifyUnauthorized tells the listeners that the session is gone. */
export function notifyUnauthorized() {
  for (const fn of unauthorized) fn();
}

// X-Requested-With keeps the server from asking the browser for Basic
// credentials (a pop-up) on 401.
const baseHeaders = { 'X-Requested-With': 'XMLHttpRequest' };

/**
 * request calls the API and returns the parsed JSON body (null for 204).
 * It throws ApiError with the server's message on failure.
 */
export async function request(method, path, body, { signal, quiet401 } = {}) {
  const headers = { ...baseHeaders };
  let payload;
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body: payload, credentials: 'same-origin', signal });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'The hub cannot be reached. Check your connection.');
  }
  if (res.status === 204) return null;
  let data = null;
  const type = res.headers.get('Content-Type') || '';
  if (type.includes('application/json')) {
    data = await res.json().catch(() => null);
  }
  if (!res.ok) {
    if (res.status === 401 && !quiet401) notifyUnauthorized();
    const msg = (data && data.error) || `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, msg, data && data.code);
  }
  return data;
}

/** check asks whether GET path would succeed (a HEAD request). */
export async function check(path) {
  const res = await fetch(path, { method: 'HEAD', headers: baseHeaders, credentials: 'same-origin' });
  if (res.status === 401) notifyUnauthorized();
  return res;
}

/** xhrSetup marks hls.js requests as script requests (see baseHeaders). */
export function xhrSetup(xhr) {
  xhr.setRequestHeader('X-Requested-With', 'XMLHttpRequest');
}

/** camera path helpers. */
export const paths = {
  live: (id) => `/api/v1/cameras/${encodeURIComponent(id)}/live.m3u8`,
  whep: (id) => `/api/v1/cameras/${encodeURIComponent(id)}/whep`,
  snapshot: (id, at) =>
    `/api/v1/cameras/${encodeURIComponent(id)}/snapshot.jpg${at ? `?at=${iso(at)}` : ''}`,
  recordings: (id, from, to) =>
    `/api/v1/cameras/${encodeURIComponent(id)}/recordings?from=${iso(from)}&to=${iso(to)}`,
  playback: (id, from, to) =>
    `/api/v1/cameras/${encodeURIComponent(id)}/playback.m3u8?from=${iso(from)}&to=${iso(to)}`,
  exportClip: (id, from, to, reason) =>
    `/api/v1/cameras/${encodeURIComponent(id)}/export?from=${iso(from)}&to=${iso(to)}&reason=${encodeURIComponent(reason)}`,
};

function iso(d) {
  return encodeURIComponent(new Date(d).toISOString());
}
