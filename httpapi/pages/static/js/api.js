// The REST API with the logged-in user's tokens. Tokens live in localStorage (so a reload
// keeps the login), travel only in the Authorization header, never in a URL or a cookie,
// and are refreshed a minute before the access token expires.
const KEY = 'bidserver.session';
const REFRESH_AHEAD_MS = 60_000;
let timer = null;
let refreshing = null;

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || {};
  }
}

export function session() {
  try {
    return JSON.parse(localStorage.getItem(KEY)) || null;
  } catch {
    return null;
  }
}

export function currentUser() {
  return session()?.user ?? null;
}

function save(value) {
  localStorage.setItem(KEY, JSON.stringify(value));
  window.dispatchEvent(new CustomEvent('bidserver:session'));
}

export function logout() {
  localStorage.removeItem(KEY);
  window.dispatchEvent(new CustomEvent('bidserver:session'));
}

function keep(tokens, user) {
  save({
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken,
    expiresAt: Date.now() + tokens.expiresIn * 1000,
    user,
  });
  schedule();
}

export async function login(email, password) {
  const tokens = await request('/auth/login', { method: 'POST', body: { email, password }, auth: false });
  keep(tokens, null);
  const user = await request('/me');
  save({ ...session(), user });
  return user;
}

export async function register(email, password, displayName) {
  return request('/auth/register', { method: 'POST', body: { email, password, displayName }, auth: false });
}

async function rotate() {
  const before = session();
  if (!before?.refreshToken) return false;
  const response = await fetch('/auth/refresh', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ refreshToken: before.refreshToken }),
    credentials: 'omit',
    cache: 'no-store',
  });
  if (!response.ok) {
    if (response.status === 401 && session()?.refreshToken === before.refreshToken) logout();
    return false;
  }
  keep(await response.json(), session()?.user ?? before.user);
  return true;
}

// One refresh at a time, across tabs too where the browser has Web Locks: a tab that waited
// finds the token already fresh and does not spend the (single-use) refresh token again.
export function refresh() {
  if (refreshing) return refreshing;
  const fresh = () => (session()?.expiresAt ?? 0) - Date.now() > REFRESH_AHEAD_MS;
  const run = async () => (fresh() ? true : rotate());
  refreshing = (navigator.locks ? navigator.locks.request('bidserver-refresh', run) : run())
    .catch(() => false)
    .finally(() => { refreshing = null; });
  return refreshing;
}

export function schedule() {
  clearTimeout(timer);
  const current = session();
  if (!current) return;
  const wait = Math.max(5_000, current.expiresAt - Date.now() - REFRESH_AHEAD_MS);
  timer = setTimeout(async () => {
    await refresh();
    schedule();
  }, wait);
}

export async function accessToken() {
  const current = session();
  if (!current) return null;
  if (current.expiresAt - Date.now() < REFRESH_AHEAD_MS / 2) await refresh();
  return session()?.accessToken ?? null;
}

export async function request(path, { method = 'GET', body, form, auth = true } = {}) {
  const send = async () => {
    const headers = { Accept: 'application/json' };
    let payload;
    if (form) payload = form;
    else if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const token = auth ? await accessToken() : null;
    if (token) headers.Authorization = `Bearer ${token}`;
    const response = await fetch(path, { method, headers, body: payload, credentials: 'omit', cache: 'no-store' });
    return { response, token };
  };
  let { response, token } = await send();
  if (response.status === 401 && token && (await rotate())) ({ response } = await send());
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = data?.error ?? {};
    throw new ApiError(response.status, error.code ?? 'internal', error.message ?? response.statusText, error);
  }
  return data;
}

window.addEventListener('storage', (event) => {
  if (event.key === KEY) {
    schedule();
    window.dispatchEvent(new CustomEvent('bidserver:session'));
  }
});
schedule();
