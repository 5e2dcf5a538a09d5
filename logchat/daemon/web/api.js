// The REST API and the sign-in it needs. The access token lives in memory only; the refresh token is
// kept in sessionStorage so that reloading the page keeps this tab signed in (and closing it does not).

const REFRESH_KEY = "logchat.refresh_token";
// Refresh a little before the access token expires (30 s, or a quarter of a short lifetime), so that
// no request or chat frame is sent with a dying token.
const EXPIRY_MARGIN_MS = 30_000;

export class ApiError extends Error {
  constructor(status, code, message, field = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

let access = null;
let accessExpiresAt = 0;
let accessMargin = EXPIRY_MARGIN_MS;
let account = null;
let refreshing = null;
let onSignedOut = () => {};

export const currentAccount = () => account;
export const hasStoredSignIn = () => sessionStorage.getItem(REFRESH_KEY) !== null;

// Called when the sign-in is gone for good (refresh refused): the page shows the sign-in form.
export function whenSignedOut(callback) {
  onSignedOut = callback;
}

function keep(pair) {
  access = pair.access_token;
  accessExpiresAt = Date.now() + pair.expires_in * 1000;
  accessMargin = Math.min(EXPIRY_MARGIN_MS, pair.expires_in * 250);
  account = { username: pair.username, role: pair.role };
  sessionStorage.setItem(REFRESH_KEY, pair.refresh_token);
}

function forget() {
  access = null;
  accessExpiresAt = 0;
  account = null;
  sessionStorage.clear();
}

async function send(method, path, { body, token } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, "unreachable", "Cannot reach the logchat server. Check the connection and try again.");
  }
  return response;
}

async function read(response) {
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (response.ok) return data;
  const error = data && data.error;
  if (error) throw new ApiError(response.status, error.code, error.message, error.field ?? null);
  throw new ApiError(response.status, "http_error", `The server answered ${response.status} ${response.statusText}.`);
}

export async function signIn(username, password) {
  const pair = await read(await send("POST", "/api/v1/auth/login", { body: { username, password } }));
  keep(pair);
  return account;
}

// One refresh at a time: a refresh token is used up by its first use, and a second use of it would
// be taken for theft (the server then revokes the whole sign-in).
export function refresh() {
  if (!refreshing) {
    refreshing = (async () => {
      const token = sessionStorage.getItem(REFRESH_KEY);
      if (!token) throw new ApiError(401, "token_invalid", "Sign in first.");
      try {
        keep(await read(await send("POST", "/api/v1/auth/refresh", { body: { refresh_token: token } })));
      } catch (error) {
        if (error.status === 401) {
          forget();
          onSignedOut(error);
        }
        throw error;
      }
      return account;
    })().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

export async function accessToken() {
  if (!access || Date.now() > accessExpiresAt - accessMargin) await refresh();
  return access;
}

// A call of the API as the signed-in account; an expired or revoked access token is refreshed once.
export async function api(method, path, body) {
  let response = await send(method, path, { body, token: await accessToken() });
  if (response.status === 401) {
    await refresh();
    response = await send(method, path, { body, token: access });
  }
  return read(response);
}

export async function signOut() {
  const token = sessionStorage.getItem(REFRESH_KEY);
  const body = token ? { refresh_token: token } : undefined;
  try {
    // An expired access token is accepted here; the refresh token ends the sign-in either way.
    await read(await send("POST", "/api/v1/auth/logout", { body, token: access }));
  } catch {
    // Signing out locally must work even when the server cannot be reached.
  } finally {
    forget();
  }
}
