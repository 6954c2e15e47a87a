/**
 * The service's read-only REST API (`{api_url}...`, see `docs/protocol.md` § REST).
 *
 * `api_url` comes from the session endpoint. Embedded in Jupyter it is a path under Jupyter's base URL and the
 * handlers sit behind Jupyter's authentication, so the request goes through `ServerConnection.makeRequest`
 * (token and XSRF headers). A standalone service on another origin is open and is fetched directly.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import type { IHistoryEntry, ISessionInfo, IUserProfile } from './protocol';

/** A refused or failed REST call, with the service's error code when it sent one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string
  ) {
    super(message);
  }
}

/** GET `{api_url}{path}` and decode the JSON answer. */
export async function apiGet<T>(session: ISessionInfo, path: string): Promise<T> {
  const base = new URL(session.api_url, window.location.href).href;
  const url = URLExt.join(base, path);
  const settings = ServerConnection.makeSettings();
  const sameServer = url.indexOf(settings.baseUrl) === 0;
  const response = sameServer
    ? await ServerConnection.makeRequest(url, { method: 'GET', cache: 'no-store' }, settings)
    : await fetch(url, { method: 'GET', cache: 'no-store', credentials: 'omit' });
  return readJson<T>(response, 'The duel API');
}

/**
 * The JSON body of `response`, or the service's `{"error": {code, message}}` thrown as an `ApiError` (or as
 * what `makeError` builds) when the status is not OK.
 */
export async function readJson<T>(
  response: Response,
  what: string,
  makeError: (status: number, code: string, message: string) => Error = (status, code, message) =>
    new ApiError(status, code, message)
): Promise<T> {
  let body: any = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const error = body?.error ?? {};
    throw makeError(
      response.status,
      error.code ?? 'http_error',
      error.message ?? `${what} answered ${response.status} ${response.statusText}`
    );
  }
  return body as T;
}

/** The player's battles, newest first. */
export async function fetchHistory(session: ISessionInfo, name: string): Promise<IHistoryEntry[]> {
  const body = await apiGet<{ battles: IHistoryEntry[] }>(session, `users/${encodeURIComponent(name)}/battles`);
  return body.battles ?? [];
}

/** Every player, best first. */
export async function fetchLeaderboard(session: ISessionInfo): Promise<IUserProfile[]> {
  const body = await apiGet<{ players: IUserProfile[] }>(session, 'leaderboard');
  return body.players ?? [];
}

/** One player's profile. */
export async function fetchProfile(session: ISessionInfo, name: string): Promise<IUserProfile> {
  return apiGet<IUserProfile>(session, `users/${encodeURIComponent(name)}`);
}
