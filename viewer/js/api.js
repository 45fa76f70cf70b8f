// api: talks to the collector. With API keys configured, the key the user
// typed is kept for this tab only (sessionStorage) and sent as
// "Authorization: Bearer KEY" with every request; the live stream, which
// EventSource cannot give headers, uses a short-lived token that an
// authenticated POST /v1/stream-token issues.

const KEY = 'causeway.apiKey';
const listeners = new Set();

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function getKey() {
  try {
    return sessionStorage.getItem(KEY) || '';
  } catch (e) {
    return '';
  }
}

export function setKey(k) {
  if (k) sessionStorage.setItem(KEY, k);
  else sessionStorage.removeItem(KEY);
}

// Called with no argument whenever the collector refuses the key.
export function onUnauthorized(fn) {
  listeners.add(fn);
}

function headers() {
  const k = getKey();
  return k ? {Authorization: 'Bearer ' + k} : {};
}

export async function request(method, path) {
  let res;
  try {
    res = await fetch(path, {method, headers: headers(), cache: 'no-store'});
  } catch (e) {
    throw new ApiError(0, 'collector unreachable');
  }
  if (res.status === 401) {
    for (const fn of listeners) fn();
    throw new ApiError(401, 'API key required');
  }
  let body = null;
  try {
    body = await res.json();
  } catch (e) {
    body = null;
  }
  if (!res.ok) throw new ApiError(res.status, (body && body.error) || res.statusText);
  return body;
}

export const get = (path) => request('GET', path);
export const post = (path) => request('POST', path);

// GET that answers null on 404 (optional routes, unknown items).
export async function getOptional(path) {
  try {
    return await get(path);
  } catch (e) {
    if (e.status === 404) return null;
    throw e;
  }
}

// Downloads a route as a file (the key travels in the header, not the URL).
export async function download(path, filename) {
  const res = await fetch(path, {headers: headers(), cache: 'no-store'});
  if (!res.ok) throw new ApiError(res.status, res.statusText);
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// Live stream. handlers: {events(data), findings(data), state(text)}.
// Reconnects with a fresh token after an error. @return a stop function.
export function stream(handlers) {
  let es = null;
  let stopped = false;
  let timer = null;
  const connect = async () => {
    if (stopped) return;
    handlers.state && handlers.state('connecting');
    let tok;
    try {
      tok = await post('/v1/stream-token');
    } catch (e) {
      handlers.state && handlers.state(e.status === 401 ? 'needs key' : 'offline');
      timer = setTimeout(connect, 3000);
      return;
    }
    if (stopped) return;
    es = new EventSource('/v1/stream?token=' + encodeURIComponent(tok.token));
    es.addEventListener('open', () => handlers.state && handlers.state('live'));
    es.addEventListener('events', (e) => handlers.events && handlers.events(JSON.parse(e.data)));
    es.addEventListener('findings', (e) => handlers.findings && handlers.findings(JSON.parse(e.data)));
    es.addEventListener('error', () => {
      es.close();
      handlers.state && handlers.state('offline');
      if (!stopped) timer = setTimeout(connect, 2000);
    });
  };
  connect();
  return () => {
    stopped = true;
    clearTimeout(timer);
    if (es) es.close();
  };
}
