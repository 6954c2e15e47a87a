/**
 * The service's read-only REST API (`{api_url}...`, see `docs/protocol.md` § REST).
 *
 * `api_url` comes from the session endpoint. Embedded in Jupyter it is a path under Jupyter's base URL and the
 * handlers sit behind Jupyter's authentication, so the request goes through `ServerConnection.makeRequest`
 * (token and XSRF headers). A service elsewhere is fetched directly: with the browser's cookies when it is on
 * this origin (the JupyterHub service knows the browser by its login cookie), without them on another origin.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import type {
  IBattleReview,
  IChallengeSummary,
  IHistoryEntry,
  IOnlinePlayer,
  ISessionInfo,
  ITournamentView,
  IUserProfile
} from './protocol';

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

/**
 * GET `{api_url}{path}` (the path may carry a query string) and return the raw response; `extraHeaders` go with
 * it (only to a service on this origin: a header of its own would need a cross-origin preflight).
 */
export async function apiFetch(
  session: ISessionInfo,
  path: string,
  extraHeaders: Record<string, string> = {}
): Promise<Response> {
  const base = new URL(session.api_url, window.location.href).href;
  const url = URLExt.join(base, path);
  const settings = ServerConnection.makeSettings();
  const absoluteBase = new URL(settings.baseUrl, window.location.href).href;
  if (url.indexOf(absoluteBase) === 0) {
    return ServerConnection.makeRequest(url, { method: 'GET', cache: 'no-store', headers: extraHeaders }, settings);
  }
  const sameOrigin = new URL(url).origin === window.location.origin;
  // The hub's service knows the browser by its cookie, which the hub accepts from a script with the XSRF token.
  const headers: Record<string, string> = sameOrigin && session.xsrf_token ? { 'X-XSRFToken': session.xsrf_token } : {};
  if (sameOrigin) {
    Object.assign(headers, extraHeaders);
  }
  return fetch(url, { method: 'GET', cache: 'no-store', credentials: sameOrigin ? 'same-origin' : 'omit', headers });
}

/** GET `{api_url}{path}` and decode the JSON answer. */
export async function apiGet<T>(session: ISessionInfo, path: string): Promise<T> {
  return readJson<T>(await apiFetch(session, path), 'The duel API');
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

/** Who is connected now, with whether each is in a battle. */
export async function fetchOnlinePlayers(session: ISessionInfo): Promise<IOnlinePlayer[]> {
  const body = await apiGet<{ players: IOnlinePlayer[] }>(session, 'players/online');
  return body.players ?? [];
}

/** Every loaded challenge (id, title, difficulty, tags). */
export async function fetchChallenges(session: ISessionInfo): Promise<IChallengeSummary[]> {
  const body = await apiGet<{ challenges: IChallengeSummary[] }>(session, 'challenges');
  return body.challenges ?? [];
}

/** One tournament in full (standings, pairings, games): `GET {api_url}tournaments/{id}`. */
export async function fetchTournament(session: ISessionInfo, tournamentId: string): Promise<ITournamentView> {
  return apiGet<ITournamentView>(session, `tournaments/${encodeURIComponent(tournamentId)}`);
}

/** Instructors: the finished battles as CSV (this service session's, or every battle with `all`). */
export async function fetchClassResults(session: ISessionInfo, all: boolean): Promise<Blob> {
  const response = await apiFetch(session, all ? 'class/results.csv?all=1' : 'class/results.csv');
  if (!response.ok) {
    await readJson(response, 'The class results');
  }
  return response.blob();
}

/** The header that makes the service answer as `identityToken`'s player (`X-Duel-Identity`), when given. */
function asReader(identityToken: string | null): Record<string, string> {
  return identityToken ? { 'X-Duel-Identity': identityToken } : {};
}

/**
 * A finished battle's review. `identityToken` (a guest tab's token from the session endpoint) asks the service
 * to answer as that player (`X-Duel-Identity`): 403 `not_in_battle` when they did not play it.
 */
export async function fetchReview(
  session: ISessionInfo,
  battleId: string,
  identityToken: string | null
): Promise<IBattleReview> {
  const response = await apiFetch(session, `battles/${encodeURIComponent(battleId)}`, asReader(identityToken));
  return readJson<IBattleReview>(response, 'The duel review');
}

/** A finished battle as a notebook (nbformat JSON), read as `identityToken`'s player when given (see `fetchReview`). */
export async function fetchBattleNotebook<T>(
  session: ISessionInfo,
  battleId: string,
  identityToken: string | null
): Promise<T> {
  const response = await apiFetch(session, `battles/${encodeURIComponent(battleId)}/notebook`, asReader(identityToken));
  return readJson<T>(response, 'The duel notebook');
}
