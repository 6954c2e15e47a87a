/**
 * `DuelClient`: the session fetch, the Socket.IO connection and the protocol handling, in one place.
 *
 * Identity: on every (re)connect a fresh short-lived token is fetched from the Jupyter server extension
 * (`GET {baseUrl}jupyter-duel/session[?name=NAME]`, through `ServerConnection` so Jupyter's auth and XSRF apply)
 * and sent as `register_user {token}`. The chosen display name lives in `sessionStorage`, so every browser tab
 * can play as its own (guest) identity; the last name chosen in this browser is also kept in `localStorage`, so a
 * tab opened later (after the duel's tab was closed) plays under it too.
 *
 * Guest keys: the first time a guest name is registered, `registered.guest_key` binds the name to this browser.
 * The key is kept in `localStorage` (per service and guest name, so it outlives the tab) and sent with every
 * later `register_user` for that name; another browser asking for the name is refused (`name_taken`), as is a
 * look-alike of an existing name (`name_confusable`). A refused name is reported (`nameError`) and the client
 * falls back to the Jupyter user.
 *
 * Resuming (`docs/protocol.md` § Resuming): `match_found` / `battle_state` carry a `resume_token` that is kept in
 * `sessionStorage` with the battle id, and the editor's latest text is kept there too (the "draft"). After every
 * `registered` the client sends `resume` when it holds a token for the running battle, or when `registered` names
 * one that no other tab plays (with the token `registered` carries): the `battle_state` answer rebuilds the battle
 * (a new view after a page reload, a refresh of the existing one after a reconnect). Edits the service has not
 * seen (typed while offline) win over its copy and are sent as the full text with `seq = your_seq + 1`.
 * Nothing is emitted while disconnected (Socket.IO's send buffer is bypassed and cleared): the resume resends.
 * One tab plays a battle (§ One tab plays): a battle another tab plays is `elsewhere` here, and `takeOver` moves
 * it to this tab (a `resume`); a tab whose battle was taken over freezes its view until it takes it back.
 *
 * JupyterHub: when the session endpoint answers `mode: "hub"`, the duel service is the hub's. The browser logs
 * in to it first: `login_url` is loaded as a navigation in a hidden frame (it goes through the hub's OAuth and
 * leaves the service's cookie; the hub accepts that cookie from a page script's request only with the XSRF
 * token the answer carries, which every REST call then sends). The socket connects to the service on this
 * origin and registers with the hub identity (`register_user {}`: no token, no guest name). When the hub has
 * no duel service (its URL answers 404, 502 or 503), the session's `fallback` (this server's own service) is
 * used instead, and `serviceNote` says so. The choice is made once per page.
 *
 * Instructors (`registered.instructor`) may follow the room (`watch_room`) and single battles (`spectate`);
 * both are re-requested after every reconnect while some view still follows them. Challenges between players
 * (`challenge_player`, `answer_challenge`) are kept as `offers`, with their latest status.
 */
import { Notification } from '@jupyterlab/apputils';
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import type { IDisposable } from '@lumino/disposable';
import { Signal } from '@lumino/signaling';
import { io, type Socket } from 'socket.io-client';

import { CodeSync } from './codesync';
import type {
  BotSpeed,
  IBattleComplete,
  IBattleElsewhere,
  IBattleState,
  IChallengeOffer,
  ICustomResult,
  IErrorEvent,
  IHubLogin,
  IMatchFound,
  IOpponentCode,
  IOpponentShape,
  IOpponentStatus,
  IPlayerInfo,
  IQueueUpdate,
  IReaction,
  IRegistered,
  IRegisterUser,
  IRoomState,
  ISessionInfo,
  ISpectateState,
  ISpectatorCode,
  ISubmissionResult,
  ISyncCode,
  ITestResult,
  ITournamentsEvent,
  ITournamentStateEvent,
  ITournamentSummary,
  ITournamentView,
  IUserProfile,
  Pool
} from './protocol';
import { outcomeFor, POOLS } from './protocol';
import { fetchHistory, fetchProfile, fetchTournament, readJson as readResponseJson } from './rest';
import {
  DEFAULT_PREFERENCES,
  NEWCOMER_GAMES,
  type ConnectionState,
  type IAck,
  type IBattle,
  type IBattleRestore,
  type IDuelClient,
  type IDuelPreferences,
  type INameError,
  type IOfferState,
  type IQueueStatus
} from './tokens';

const NAME_KEY = 'jupyter-duel:name';
/** `localStorage`: the guest name last chosen in this browser, the default of a tab that chose none. */
const LAST_NAME_KEY = 'jupyter-duel:last-name';
/** Prefix of the `localStorage` keys holding a player's own pool choice: `PREFIX + JSON([service URL, handle])`. */
const POOL_CHOICE_PREFIX = 'jupyter-duel:pool-choice:';
const RANKED_KEY = 'jupyter-duel:ranked';
/** `{battle_id, token}` of the running battle. */
const RESUME_KEY = 'jupyter-duel:resume';
/** `{battle_id, seq, text}`: the editor's latest text and the last seq sent when it was typed. */
const DRAFT_KEY = 'jupyter-duel:draft';
/** Prefix of the `localStorage` keys holding guest keys: `PREFIX + JSON([service URL, guest name])`. */
const GUEST_KEY_PREFIX = 'jupyter-duel:guest-key:';

/** Errors that are part of the normal flow and need no pop-up. */
const QUIET_ERRORS = new Set(['out_of_sync', 'not_queued', 'cooldown', 'code_too_large']);
/** Refusals of a guest name: shown next to the name field, not as a pop-up. */
const NAME_ERRORS = new Set(['name_taken', 'name_confusable', 'invalid_name', 'guests_disabled']);
/** Answers to `resume` that only mean "nothing to resume". */
const STALE_RESUME_ERRORS = new Set(['bad_resume_token', 'battle_over', 'unknown_battle', 'not_in_battle']);
/** Events whose refusals the view that sent them shows in place (from the ack), so no pop-up. */
const INLINE_EVENTS = new Set([
  'react',
  'run_custom',
  'challenge_player',
  'answer_challenge',
  'class_settings',
  'pair_players',
  'abort_battle',
  'spectate',
  'list_tournaments',
  'join_tournament',
  'leave_tournament',
  'pause_tournament'
]);
/** How long a settled challenge offer stays listed (ms). */
const OFFER_KEPT_MS = 120_000;
/** Statuses of the hub's login URL that mean "no duel service on this hub". */
const NO_HUB_SERVICE = new Set([404, 502, 503]);

interface IStoredResume {
  battle_id: string;
  token: string;
}

interface IDraft {
  battle_id: string;
  seq: number;
  text: string;
}

/** Thrown by `fetchSession` with the service's error object. */
export class SessionError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string
  ) {
    super(message);
  }
}

/** The hub service's login failed: `status` 0 when the request itself failed. */
export class HubLoginError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message);
  }
}

/** How long the hub's sign-in may take (it is a few redirects). */
const HUB_LOGIN_TIMEOUT_MS = 30_000;

/**
 * Log in to the hub's duel service.
 *
 * First a probe: the service's health (open to all) answers 200 when the service is there; the hub answers a
 * path of no service with a redirect into itself (then 404), or 502 / 503 for a service that is down: all of
 * which mean "no duel service here" (status 404 when redirected). Then the sign-in itself, as a navigation in a
 * hidden frame of this origin: the hub's OAuth redirects come back to `login_url` with the service's cookie set,
 * and the page the frame ends on is the service's JSON answer (with the XSRF token for REST calls).
 */
export async function hubLogin(loginUrl: string, apiUrl: string): Promise<IHubLogin> {
  let probe: Response;
  try {
    probe = await fetch(URLExt.join(apiUrl, 'health'), {
      method: 'GET',
      credentials: 'same-origin',
      cache: 'no-store',
      redirect: 'manual'
    });
  } catch (reason) {
    throw new HubLoginError(0, `the hub's duel service cannot be reached (${describe(reason)})`);
  }
  if (!probe.ok) {
    const status = probe.type === 'opaqueredirect' ? 404 : probe.status;
    throw new HubLoginError(status, `the hub's duel service answered ${status}`);
  }
  return new Promise<IHubLogin>((resolve, reject) => {
    const frame = document.createElement('iframe');
    frame.setAttribute('aria-hidden', 'true');
    frame.tabIndex = -1;
    frame.style.display = 'none';
    const finish = (error: HubLoginError | null, login?: IHubLogin): void => {
      window.clearTimeout(timer);
      frame.remove();
      if (error) {
        reject(error);
      } else {
        resolve(login!);
      }
    };
    const timer = window.setTimeout(
      () => finish(new HubLoginError(0, 'the sign-in to the hub’s duel service took too long')),
      HUB_LOGIN_TIMEOUT_MS
    );
    frame.addEventListener('load', () => {
      let text = '';
      try {
        text = frame.contentDocument?.body?.textContent ?? '';
      } catch {
        // Another origin: the hub sent the frame to a sign-in page elsewhere.
      }
      try {
        const login = JSON.parse(text) as IHubLogin;
        if (typeof login?.name === 'string') {
          finish(null, login);
          return;
        }
      } catch {
        // not the service's answer
      }
      finish(new HubLoginError(401, 'the hub did not complete the sign-in to its duel service'));
    });
    const separator = loginUrl.includes('?') ? '&' : '?';
    frame.src = `${loginUrl}${separator}_=${Date.now()}`;
    document.body.append(frame);
  });
}

/** Ask the Jupyter server extension for an identity token (optionally for a guest name). */
export async function fetchSession(name: string): Promise<ISessionInfo> {
  const settings = ServerConnection.makeSettings();
  let url = URLExt.join(settings.baseUrl, 'jupyter-duel', 'session');
  if (name) {
    url += URLExt.objectToQueryString({ name });
  }
  const response = await ServerConnection.makeRequest(url, { method: 'GET' }, settings);
  return readResponseJson<ISessionInfo>(
    response,
    'The duel session endpoint',
    (status, code, message) => new SessionError(status, code, message)
  );
}

export class DuelClient implements IDuelClient, IDisposable {
  constructor() {
    this._requestedName = readStorage(NAME_KEY) ?? readLocal(LAST_NAME_KEY) ?? '';
    this._ranked = readStorage(RANKED_KEY) !== 'false';
  }

  // ---------------------------------------------------------------- state

  get connectionState(): ConnectionState {
    return this._state;
  }
  get session(): ISessionInfo | null {
    return this._session;
  }
  get profile(): IUserProfile | null {
    return this._profile;
  }
  get requestedName(): string {
    return this._requestedName;
  }
  get queue(): IQueueStatus | null {
    return this._queue;
  }
  get battle(): IBattle | null {
    return this._battle;
  }
  get elsewhere(): { battleId: string; open: boolean } | null {
    return this._elsewhere;
  }
  get problem(): string | null {
    return this._problem;
  }
  get nameError(): INameError | null {
    return this._nameError;
  }
  get instructor(): boolean {
    return this._instructor;
  }
  get serviceNote(): string | null {
    return this._serviceNote;
  }
  get hubLoginUrl(): string | null {
    return this._target === 'fallback' ? this._hubLoginUrl : null;
  }
  get room(): IRoomState | null {
    return this._roomWatchers > 0 ? this._room : null;
  }
  get offers(): readonly IOfferState[] {
    return this._offers;
  }
  get lastOpponent(): IPlayerInfo | null {
    return this._lastOpponent;
  }
  get clockOffsetMs(): number {
    return this._clockOffsetMs;
  }
  get tournaments(): readonly ITournamentSummary[] {
    return this._tournaments;
  }
  tournament(id: string): ITournamentView | null {
    return this._tournamentViews.get(id) ?? null;
  }
  get myTournaments(): readonly ITournamentView[] {
    const me = this._profile?.name;
    if (!me) {
      return [];
    }
    return [...this._tournamentViews.values()]
      .filter(view => view.entrants.some(e => e.name === me))
      .sort((a, b) => b.created_at - a.created_at);
  }
  get lastRestore(): IBattleRestore | null {
    const restore = this._lastRestore;
    return restore && restore.battle === this._battle && !restore.battle.complete ? restore : null;
  }

  get pool(): Pool {
    const chosen = this._chosenPool();
    if (chosen) {
      return chosen;
    }
    const preferred = this._preferences.defaultPool;
    if (preferred !== 'auto') {
      return preferred;
    }
    return (this._profile?.games ?? 0) < NEWCOMER_GAMES ? 'easy' : 'any';
  }
  set pool(value: Pool) {
    if (!POOLS.includes(value)) {
      return;
    }
    const where = this._poolChoiceKey();
    if (where) {
      pagePoolChoices.set(where, value);
      try {
        window.localStorage.setItem(where, value);
      } catch {
        // see pagePoolChoices
      }
    } else {
      this._unboundPool = value;
    }
    this._stateChanged.emit();
  }
  get poolChosen(): boolean {
    return this._chosenPool() !== null;
  }
  get preferences(): IDuelPreferences {
    return this._preferences;
  }
  setPreferences(preferences: Partial<IDuelPreferences>): void {
    const next = { ...this._preferences };
    if (preferences.defaultPool === 'auto' || POOLS.includes(preferences.defaultPool as Pool)) {
      next.defaultPool = preferences.defaultPool!;
    }
    if (preferences.mirrorDisplay && ['battle', 'outline', 'hidden'].includes(preferences.mirrorDisplay)) {
      next.mirrorDisplay = preferences.mirrorDisplay;
    }
    if (typeof preferences.notifications === 'boolean') {
      next.notifications = preferences.notifications;
    }
    if (typeof preferences.quickMessages === 'boolean') {
      next.quickMessages = preferences.quickMessages;
    }
    this._preferences = next;
    this._stateChanged.emit();
  }
  get ranked(): boolean {
    return this._ranked;
  }
  set ranked(value: boolean) {
    this._ranked = value;
    writeStorage(RANKED_KEY, String(value));
    this._stateChanged.emit();
  }

  get stateChanged(): Signal<this, void> {
    return this._stateChanged;
  }
  get matchFound(): Signal<this, IBattle> {
    return this._matchFound;
  }
  get battleRestored(): Signal<this, IBattleRestore> {
    return this._battleRestored;
  }
  get opponentStatus(): Signal<this, IOpponentStatus> {
    return this._opponentStatus;
  }
  get opponentCode(): Signal<this, IOpponentCode> {
    return this._opponentCode;
  }
  get opponentShape(): Signal<this, IOpponentShape> {
    return this._opponentShape;
  }
  get testResult(): Signal<this, ITestResult> {
    return this._testResult;
  }
  get customResult(): Signal<this, ICustomResult> {
    return this._customResult;
  }
  get submissionResult(): Signal<this, ISubmissionResult> {
    return this._submissionResult;
  }
  get battleComplete(): Signal<this, IBattleComplete> {
    return this._battleComplete;
  }
  get errorReceived(): Signal<this, IErrorEvent> {
    return this._errorReceived;
  }
  get challengeOffer(): Signal<this, IOfferState> {
    return this._challengeOffer;
  }
  get roomState(): Signal<this, IRoomState> {
    return this._roomState;
  }
  get spectateState(): Signal<this, ISpectateState> {
    return this._spectateState;
  }
  get spectatorCode(): Signal<this, ISpectatorCode> {
    return this._spectatorCode;
  }
  get spectatorTestResult(): Signal<this, ITestResult> {
    return this._spectatorTestResult;
  }
  get spectatorSubmissionResult(): Signal<this, ISubmissionResult> {
    return this._spectatorSubmissionResult;
  }
  get spectatorComplete(): Signal<this, IBattleComplete> {
    return this._spectatorComplete;
  }
  get reactionReceived(): Signal<this, IReaction> {
    return this._reactionReceived;
  }
  get tournamentsChanged(): Signal<this, void> {
    return this._tournamentsChanged;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._sync?.stop();
    this._socket?.disconnect();
    this._socket = null;
    window.clearInterval(this._offerTimer);
    Signal.clearData(this);
  }

  // ---------------------------------------------------------------- actions

  connect(): void {
    if (this._socket || this._isDisposed) {
      return;
    }
    this._setState('connecting');
    void this._openSocket();
  }

  setName(name: string): void {
    name = name.trim();
    if (name === this._requestedName) {
      if (this._nameError) {
        this._nameError = null;
        this._stateChanged.emit();
      }
      return;
    }
    this._nameError = null;
    this._requestedName = name;
    if (name) {
      writeStorage(NAME_KEY, name);
      writeLocal(LAST_NAME_KEY, name);
    } else {
      removeStorage(NAME_KEY);
      removeLocal(LAST_NAME_KEY);
    }
    this._reconnect();
  }

  findOpponent(): void {
    this._emit('join_queue', { pool: this.pool, ranked: this._ranked });
  }

  cancelSearch(): void {
    this._emit('leave_queue', {});
  }

  playBot(speed: BotSpeed): void {
    this._emit('play_bot', { pool: this.pool, speed });
  }

  updateCode(text: string): void {
    const sync = this._sync;
    const battle = this._runningBattle();
    if (!sync || !battle) {
      return;
    }
    sync.update(text);
    // Kept so that edits not yet accepted by the service survive a reload (see `_onBattleState`).
    writeJson<IDraft>(DRAFT_KEY, { battle_id: battle.match.battle_id, seq: sync.seq, text });
  }

  refreshBattle(): boolean {
    const stored = readJson<IStoredResume>(RESUME_KEY);
    const battle = this._runningBattle();
    if (!stored || !battle || stored.battle_id !== battle.match.battle_id || !this._socket?.connected || !this._registered) {
      return false;
    }
    this._resuming = stored.battle_id;
    this._socket.emit('resume', { resume_token: stored.token });
    return true;
  }

  runSamples(code: string): boolean {
    const battle = this._runningBattle();
    if (!battle) {
      return false;
    }
    this._sync?.flush();
    return this._emit('run_samples', { battle_id: battle.match.battle_id, code });
  }

  runCustom(code: string, args: string): Promise<IAck> {
    const battle = this._runningBattle();
    if (!battle) {
      return Promise.resolve(failed('battle_over', 'No battle is running.', 'run_custom'));
    }
    this._sync?.flush();
    return this.request('run_custom', { battle_id: battle.match.battle_id, code, args });
  }

  submit(code: string): boolean {
    const battle = this._runningBattle();
    if (!battle) {
      return false;
    }
    this._sync?.flush();
    return this._emit('submit_code', { battle_id: battle.match.battle_id, code });
  }

  forfeit(battleId?: string): boolean {
    const battle = this._battle && !this._battle.complete ? this._battle : null;
    const id = battleId ?? battle?.match.battle_id ?? this._elsewhere?.battleId;
    if (!id) {
      return false;
    }
    return this._emit('forfeit', { battle_id: id });
  }

  challengePlayer(name: string, options: { pool?: Pool; ranked?: boolean } = {}): Promise<IAck> {
    return this.request('challenge_player', {
      name,
      pool: options.pool ?? this.pool,
      ranked: options.ranked ?? this._ranked
    });
  }

  answerChallenge(offerId: string, accept: boolean): Promise<IAck> {
    return this.request('answer_challenge', { offer_id: offerId, accept });
  }

  rematch(): Promise<IAck> {
    const opponent = this._lastOpponent;
    if (!opponent) {
      return Promise.resolve(failed('no_opponent', 'There is no last opponent to offer a rematch to.'));
    }
    const last = this._battle?.complete ? this._battle : null;
    return this.challengePlayer(opponent.name, { ranked: last ? last.match.ranked : this._ranked });
  }

  watchRoom(watch: boolean): void {
    const before = this._roomWatchers;
    this._roomWatchers = Math.max(0, before + (watch ? 1 : -1));
    if ((before === 0) !== (this._roomWatchers === 0)) {
      if (this._roomWatchers === 0) {
        this._room = null;
      }
      if (this._instructor) {
        // Otherwise nothing is followed anyway (and the service would refuse it).
        this._send('watch_room', { watch: this._roomWatchers > 0 });
      }
    }
  }

  spectate(battleId: string, watch: boolean): Promise<IAck> {
    if (watch) {
      this._spectating.add(battleId);
    } else if (!this._spectating.delete(battleId)) {
      return Promise.resolve({ ok: true });
    }
    return this.request('spectate', { battle_id: battleId, watch });
  }

  classSettings(pack: string | null, challengeId: string | null): Promise<IAck> {
    return this.request('class_settings', { pack, challenge_id: challengeId });
  }

  pairPlayers(first: string, second: string, ranked: boolean): Promise<IAck> {
    return this.request('pair_players', { first, second, ranked });
  }

  abortBattle(battleId: string, reason: string): Promise<IAck> {
    return this.request('abort_battle', { battle_id: battleId, reason });
  }

  // ---------------------------------------------------------------- tournaments

  async listTournaments(): Promise<IAck> {
    const ack = await this.request('list_tournaments', {});
    if (ack.ok && Array.isArray(ack.tournaments)) {
      this._setTournaments(ack.tournaments as ITournamentSummary[]);
    }
    return ack;
  }

  async joinTournament(tournamentId: string): Promise<IAck> {
    const ack = await this.request('join_tournament', { tournament_id: tournamentId });
    if (ack.ok) {
      // The entrant list changed: `tournament_state` follows, the view is fetched meanwhile.
      void this.refreshTournament(tournamentId);
    }
    return ack;
  }

  async leaveTournament(tournamentId: string): Promise<IAck> {
    const ack = await this.request('leave_tournament', { tournament_id: tournamentId });
    if (ack.ok) {
      void this.refreshTournament(tournamentId);
    }
    return ack;
  }

  async pauseTournament(tournamentId: string, paused: boolean): Promise<IAck> {
    const ack = await this.request('pause_tournament', { tournament_id: tournamentId, paused });
    if (ack.ok) {
      void this.refreshTournament(tournamentId);
    }
    return ack;
  }

  /** Fetch one tournament's view (REST) and keep it; resolves to it, or null when it cannot be read. */
  async refreshTournament(tournamentId: string): Promise<ITournamentView | null> {
    const session = this._session;
    if (!session) {
      return null;
    }
    try {
      const view = await fetchTournament(session, tournamentId);
      this._applyTournamentView(view);
      return this._tournamentViews.get(tournamentId) ?? view;
    } catch {
      return null;
    }
  }

  /** A tournament view, kept unless an equally recent or newer one is held already. */
  private _applyTournamentView(view: ITournamentView): void {
    const held = this._tournamentViews.get(view.id);
    if (held && held.version > view.version) {
      return;
    }
    this._noteServerTime(view.server_time);
    this._tournamentViews.set(view.id, view);
    // The list shows the same summary fields: keep them in step.
    const index = this._tournaments.findIndex(t => t.id === view.id);
    const summary = tournamentSummary(view);
    if (index >= 0) {
      if (this._tournaments[index].version <= view.version) {
        this._tournaments = this._tournaments.map((t, i) => (i === index ? summary : t));
      }
    } else {
      this._tournaments = [summary, ...this._tournaments];
    }
    this._tournamentsChanged.emit();
  }

  /**
   * A new list: kept, and the views this tab holds are fetched again when their tournament changed. After a
   * (re)registration (`checkEntries`) every unfinished tournament is read once, to find those this player is in
   * (the list does not say; the service sends `tournament_state` only at their next change).
   */
  private _setTournaments(list: ITournamentSummary[], checkEntries = false): void {
    this._tournaments = [...list];
    for (const summary of list) {
      const held = this._tournamentViews.get(summary.id);
      if (held ? held.version < summary.version : checkEntries && summary.status !== 'finished') {
        void this.refreshTournament(summary.id);
      }
    }
    this._tournamentsChanged.emit();
  }

  /** Send `event` once registered and resolve with the service's ack (or a local failure). */
  request(event: string, payload: object): Promise<IAck> {
    const socket = this._socket;
    if (!socket || !this._registered || !socket.connected) {
      return Promise.resolve(failed('not_connected', 'Not connected to the duel service yet.', event));
    }
    return new Promise<IAck>(resolve => {
      socket.timeout(15_000).emit(event, payload, (err: Error | null, ack: IAck | undefined) => {
        if (err) {
          resolve(failed('timeout', 'The duel service did not answer in time.', event));
        } else {
          resolve(ack && typeof ack === 'object' ? ack : { ok: true });
        }
      });
    });
  }

  /** Where this player's own pool choice is kept (null until the player is known). */
  private _poolChoiceKey(): string | null {
    const session = this._session;
    const handle = this._profile?.name;
    if (!session || !handle) {
      return null;
    }
    let service = session.api_url;
    try {
      service = new URL(session.api_url, window.location.href).href;
    } catch {
      // keep the URL as given
    }
    return POOL_CHOICE_PREFIX + JSON.stringify([service, handle]);
  }

  /** The pool this player chose themselves, if they did. */
  private _chosenPool(): Pool | null {
    const where = this._poolChoiceKey();
    if (!where) {
      return this._unboundPool;
    }
    let stored: string | null = null;
    try {
      stored = window.localStorage.getItem(where);
    } catch {
      stored = null;
    }
    stored = stored ?? pagePoolChoices.get(where) ?? null;
    return stored && POOLS.includes(stored as Pool) ? (stored as Pool) : null;
  }

  // ---------------------------------------------------------------- connection

  /** The session endpoint tells where the service lives, so it is asked before the socket is created. */
  private async _openSocket(): Promise<void> {
    let session: ISessionInfo;
    try {
      session = await this._currentSession();
    } catch (reason) {
      this._problem = `Cannot reach the duel session endpoint: ${describe(reason)}`;
      this._setState('disconnected');
      // Retry later: the server extension may be starting, or the network flaky.
      window.setTimeout(() => {
        if (!this._socket) {
          this.connect();
        }
      }, 5000);
      return;
    }
    // With several workers, the one that runs this player's battle (`worker_url`), else the service's address.
    const worker = this._workerUrl ? new URL(this._workerUrl) : null;
    this._socketBase = worker
      ? this._workerUrl!
      : (session.socketio_url || window.location.origin) + session.socketio_path.replace(/socket\.io\/?$/, '');
    const socket = io(worker ? worker.origin : session.socketio_url || window.location.origin, {
      path: worker ? worker.pathname.replace(/\/?$/, '/') + 'socket.io/' : session.socketio_path,
      extraHeaders: session.xsrf_token ? { 'X-XSRFToken': session.xsrf_token } : undefined,
      transports: ['websocket', 'polling'],
      tryAllTransports: true,
      reconnection: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000
    });
    this._socket = socket;
    socket.on('connect', () => void this._register(socket));
    socket.on('disconnect', () => {
      this._registered = false;
      // Whatever Socket.IO buffered while the connection was going down must not be replayed on reconnect
      // (it would reach the service before `register_user`); the resume after reconnecting resends the code.
      socket.sendBuffer.splice(0);
      this._setState(socket.active ? 'connecting' : 'disconnected');
    });
    socket.on('connect_error', (err: Error) => {
      if (this._workerUrl && this._socket === socket) {
        // The battle's worker is gone: back to the service's address, whose `registered` says where it runs now.
        this._workerUrl = null;
        this._switchSocket();
        return;
      }
      this._problem = `Connection failed: ${err.message}`;
      this._setState(socket.active ? 'connecting' : 'disconnected');
    });
    socket.on('registered', (msg: IRegistered) => this._onRegistered(msg));
    socket.on('queue_update', (msg: IQueueUpdate) => this._onQueueUpdate(msg));
    socket.on('match_found', (msg: IMatchFound) => this._onMatchFound(msg));
    socket.on('battle_elsewhere', (msg: IBattleElsewhere) => this._onBattleElsewhere(msg));
    socket.on('reaction', (msg: IReaction) => this._reactionReceived.emit(msg));
    socket.on('battle_state', (msg: IBattleState) => this._onBattleState(msg));
    socket.on('opponent_status', (msg: IOpponentStatus) => this._onOpponentStatus(msg));
    socket.on('opponent_code', (msg: IOpponentCode) => {
      if (msg.battle_id === this._battle?.match.battle_id) {
        this._opponentCode.emit(msg);
      }
    });
    socket.on('opponent_shape', (msg: IOpponentShape) => {
      if (msg.battle_id === this._battle?.match.battle_id) {
        this._opponentShape.emit(msg);
      }
    });
    socket.on('test_result', (msg: ITestResult) => {
      if (msg.battle_id === this._battle?.match.battle_id) {
        this._testResult.emit(msg);
      } else if (this._spectating.has(msg.battle_id)) {
        this._spectatorTestResult.emit(msg);
      }
    });
    socket.on('custom_result', (msg: ICustomResult) => {
      if (msg.battle_id === this._battle?.match.battle_id) {
        this._customResult.emit(msg);
      }
    });
    socket.on('submission_result', (msg: ISubmissionResult) => {
      if (msg.battle_id === this._battle?.match.battle_id) {
        this._submissionResult.emit(msg);
      } else if (this._spectating.has(msg.battle_id)) {
        this._spectatorSubmissionResult.emit(msg);
      }
    });
    socket.on('battle_complete', (msg: IBattleComplete) => this._onBattleComplete(msg));
    socket.on('error', (msg: IErrorEvent) => this._onError(msg));
    socket.on('challenge_offer', (msg: IChallengeOffer) => this._onChallengeOffer(msg));
    socket.on('room_state', (msg: IRoomState) => {
      this._noteServerTime(msg.server_time);
      if (this._roomWatchers > 0) {
        this._room = msg;
        this._roomState.emit(msg);
      }
    });
    socket.on('spectate_state', (msg: ISpectateState) => {
      this._noteServerTime(msg.server_time);
      if (this._spectating.has(msg.battle_id)) {
        this._spectateState.emit(msg);
      }
    });
    socket.on('tournaments', (msg: ITournamentsEvent) => {
      if (Array.isArray(msg?.tournaments)) {
        this._setTournaments(msg.tournaments);
      }
    });
    socket.on('tournament_state', (msg: ITournamentStateEvent) => {
      if (msg?.tournament?.id) {
        this._applyTournamentView(msg.tournament);
      }
    });
    socket.on('spectator_code', (msg: ISpectatorCode) => {
      if (this._spectating.has(msg.battle_id)) {
        this._spectatorCode.emit(msg);
      }
    });
  }

  /**
   * The session to connect with: the endpoint's answer, or under a hub the hub's service once logged in to it
   * (or this server's own service when the hub has none). Also sets `session`.
   */
  private async _currentSession(): Promise<ISessionInfo> {
    const answer = await this._fetchSessionForName();
    if (answer.mode !== 'hub') {
      this._target = 'direct';
      this._session = answer;
      return answer;
    }
    if (this._target === 'fallback' && answer.fallback) {
      this._session = answer.fallback;
      return answer.fallback;
    }
    try {
      if (!answer.login_url) {
        throw new HubLoginError(404, 'the hub names no duel service');
      }
      const login = await hubLogin(answer.login_url, answer.api_url);
      this._target = 'hub';
      this._serviceNote = null;
      this._session = { ...answer, xsrf_token: login.xsrf_token ?? null };
      // Socket.IO's long-polling requests are script requests too: they carry the token (websockets need none).
      if (this._socket && login.xsrf_token) {
        this._socket.io.opts.extraHeaders = { 'X-XSRFToken': login.xsrf_token };
      }
      return this._session;
    } catch (reason) {
      // Once connected to the hub's service, a failed login is a problem to retry, never a switch of service.
      if (this._target === 'hub' || !answer.fallback) {
        throw reason;
      }
      const status = reason instanceof HubLoginError ? reason.status : 0;
      this._target = 'fallback';
      // The service is there but the sign-in did not complete: signing in by hand (in a tab) may.
      this._hubLoginUrl = NO_HUB_SERVICE.has(status) ? null : (answer.login_url ?? null);
      this._serviceNote = NO_HUB_SERVICE.has(status)
        ? 'This hub has no duel service: you play on this server’s own duel service, with people using this server only.'
        : `Signing in to the hub’s duel service failed (${describe(reason)}): you play on this server’s own duel service meanwhile.`;
      this._session = answer.fallback;
      return answer.fallback;
    }
  }

  /** Fetch a token for the requested name; fall back to the Jupyter user when the name is refused. */
  private async _fetchSessionForName(): Promise<ISessionInfo> {
    // Guest names are not offered under a hub.
    const name = this._target === 'hub' || this._target === 'fallback' ? '' : this._requestedName;
    try {
      return await fetchSession(name);
    } catch (reason) {
      const refused = reason instanceof SessionError && (reason.status === 400 || reason.status === 403);
      if (!refused || !name) {
        throw reason;
      }
      const error = reason as SessionError;
      this._refuseName(error.code, error.message);
      return fetchSession('');
    }
  }

  /** Runs on every `connect`: tokens are short-lived, so a fresh one is fetched each time. */
  private async _register(socket: Socket): Promise<void> {
    this._setState('connecting');
    let session: ISessionInfo;
    try {
      session = await this._currentSession();
    } catch (reason) {
      this._problem = `Cannot get a duel token: ${describe(reason)}`;
      this._stateChanged.emit();
      socket.disconnect();
      window.setTimeout(() => socket.connect(), 3000);
      return;
    }
    if (socket !== this._socket || !socket.connected) {
      return;
    }
    if (this._target === 'hub') {
      socket.emit('register_user', {} as IRegisterUser); // the connection's hub identity
      return;
    }
    if (session.mode === 'external') {
      // A standalone service signs nobody in: this browser plays there as a guest, its name bound to its key.
      const name = this._requestedName || session.name;
      const guest: IRegisterUser = { display_name: name };
      const guestKey = readGuestKey(session, name);
      if (guestKey) {
        guest.guest_key = guestKey;
      }
      socket.emit('register_user', guest);
      return;
    }
    const payload: IRegisterUser = { token: session.token ?? undefined };
    const key = session.guest ? readGuestKey(session, session.name) : null;
    if (key) {
      payload.guest_key = key;
    }
    socket.emit('register_user', payload);
  }

  /** Forget a guest name the service (or the session endpoint) refused; the Jupyter user is used instead. */
  private _refuseName(code: string, message: string): void {
    this._nameError = { name: this._requestedName, code, message };
    if (readLocal(LAST_NAME_KEY) === this._requestedName) {
      removeLocal(LAST_NAME_KEY);
    }
    this._requestedName = '';
    removeStorage(NAME_KEY);
    this._stateChanged.emit();
  }

  /** With several workers (`docs/hosting.md`, Several processes): connect to the worker at `url` that runs
   *  this player's battle, unless this socket is there already. True when moving. */
  private _moveToWorker(url: string | null | undefined): boolean {
    const base = (u: string) => u.replace(/\/+$/, '');
    if (!url || !this._socket || base(url) === base(this._socketBase)) {
      return false;
    }
    this._workerUrl = url;
    this._switchSocket();
    return true;
  }

  private _switchSocket(): void {
    const old = this._socket;
    this._socket = null;
    this._registered = false;
    if (old) {
      old.removeAllListeners();
      old.disconnect();
    }
    this.connect();
  }

  private _reconnect(): void {
    const socket = this._socket;
    this._registered = false;
    this._profile = null;
    this._queue = null;
    this._offers = [];
    this._lastOpponent = null;
    if (!socket) {
      this.connect();
      return;
    }
    this._setState('connecting');
    socket.disconnect();
    socket.connect();
  }

  /** Emit only once registered: Socket.IO would otherwise buffer events and send them before `register_user`. */
  private _emit(event: string, payload: object): boolean {
    if (!this._socket || !this._registered || !this._socket.connected) {
      Notification.warning('Not connected to the duel service yet.', { autoClose: 4000 });
      return false;
    }
    this._socket.emit(event, payload);
    return true;
  }

  /** Like `_emit`, without the warning: for what is re-sent after every registration anyway. */
  private _send(event: string, payload: object): boolean {
    const socket = this._socket;
    if (!socket || !this._registered || !socket.connected) {
      return false;
    }
    socket.emit(event, payload);
    return true;
  }

  /** `sync_code` never waits in a buffer: refused while disconnected, the resume path resends the text. */
  private _sendSync = (payload: ISyncCode): boolean => {
    const socket = this._socket;
    if (!socket || !this._registered || !socket.connected) {
      return false;
    }
    socket.emit('sync_code', payload);
    return true;
  };

  /** The battle this tab plays: running, and not taken over by another tab. */
  private _runningBattle(): IBattle | null {
    const battle = this._battle;
    return battle && !battle.complete && !battle.elsewhere ? battle : null;
  }

  takeOver(): boolean {
    const battleId = this._elsewhere?.battleId;
    const socket = this._socket;
    if (!battleId || !socket?.connected || !this._registered) {
      return false;
    }
    const stored = readJson<IStoredResume>(RESUME_KEY);
    const token =
      (stored?.battle_id === battleId ? stored.token : null) ??
      (this._registeredResume?.battle_id === battleId ? this._registeredResume.token : null) ??
      (this._battle?.match.battle_id === battleId ? this._battle.match.resume_token : null);
    if (!token) {
      return false;
    }
    this._resuming = battleId;
    socket.emit('resume', { resume_token: token });
    return true;
  }

  /** This tab does not play `battleId` now: another tab does (`open`), or none does. */
  private _onBattleElsewhere(msg: IBattleElsewhere): void {
    this._elsewhere = { battleId: msg.battle_id, open: msg.open_elsewhere };
    const battle = this._battle;
    if (battle && battle.match.battle_id === msg.battle_id && !battle.complete) {
      // Frozen: the other tab's edits are the service's copy now; this one sends nothing until it takes over.
      battle.elsewhere = { open: msg.open_elsewhere };
      this._sync?.stop();
      this._sync = null;
      // Reloading this tab must not take the battle back unasked: it asks, like any other tab.
      removeStorage(DRAFT_KEY);
      removeStorage(RESUME_KEY);
    }
    this._stateChanged.emit();
  }

  // ---------------------------------------------------------------- server events

  private _onRegistered(msg: IRegistered): void {
    this._registered = true;
    this._problem = null;
    this._profile = msg.user;
    if (this._unboundPool) {
      const chosen = this._unboundPool;
      this._unboundPool = null;
      if (!this._chosenPool()) {
        this.pool = chosen;
      }
    }
    this._instructor = msg.instructor === true;
    if (this._instructor) {
      // A new connection follows nothing: follow again what views still show.
      if (this._roomWatchers > 0) {
        this._socket?.emit('watch_room', { watch: true });
      }
      for (const battleId of this._spectating) {
        this._socket?.emit('spectate', { battle_id: battleId, watch: true });
      }
    } else {
      this._room = null;
    }
    if (msg.guest_key && msg.user.guest && this._session) {
      writeGuestKey(this._session, msg.user.display_name, msg.guest_key);
    }
    if (this._moveToWorker(msg.worker_url)) {
      return; // registered again there, which resumes the battle
    }
    const stored = readJson<IStoredResume>(RESUME_KEY);
    this._registeredResume =
      msg.battle_id && msg.resume_token ? { battle_id: msg.battle_id, token: msg.resume_token } : null;
    this._elsewhere = null;
    let resume: IStoredResume | null = null;
    if (this._registeredResume) {
      const mine = stored?.battle_id === msg.battle_id;
      const taken = this._battle?.match.battle_id === msg.battle_id && this._battle.elsewhere !== null;
      if ((mine && !taken) || !msg.battle_elsewhere) {
        // This tab played it before the reload or the reconnect, or no tab plays it (the duel's tab was
        // closed): play it here, with the code the service kept. The token `registered` just issued, never an
        // older one: after a restart of the service (a new secret, a long downtime) only a fresh one verifies.
        resume = this._registeredResume;
      } else {
        this._elsewhere = { battleId: msg.battle_id!, open: true };
        if (this._battle?.match.battle_id === msg.battle_id && !this._battle.complete) {
          this._battle.elsewhere = { open: true };
        }
      }
    } else if (stored) {
      resume = stored; // answered with `battle_over`: the view shows how the battle this tab knew ended
    }
    if (resume && this._socket) {
      // `battle_state` (or an error saying it is over) answers.
      this._resuming = resume.battle_id;
      this._socket.emit('resume', { resume_token: resume.token });
    }
    this._setState('connected');
    if (this._tournamentsOwner !== msg.user.name) {
      // Another player now: the views held were read for the previous one's sake.
      this._tournamentsOwner = msg.user.name;
      this._tournamentViews.clear();
    }
    void this.request('list_tournaments', {}).then(ack => {
      if (ack.ok && Array.isArray(ack.tournaments)) {
        this._setTournaments(ack.tournaments as ITournamentSummary[], true);
      }
    });
  }

  private _onQueueUpdate(msg: IQueueUpdate): void {
    this._queue = msg.status === 'waiting' ? { ...msg, receivedAt: Date.now() } : null;
    this._stateChanged.emit();
  }

  private _onMatchFound(msg: IMatchFound): void {
    this._noteServerTime(msg.server_time);
    this._sync?.stop();
    this._queue = null;
    this._elsewhere = null;
    writeJson<IStoredResume>(RESUME_KEY, { battle_id: msg.battle_id, token: msg.resume_token });
    removeStorage(DRAFT_KEY);
    const battle = newBattle(msg);
    battle.opponent.connected = true;
    this._battle = battle;
    this._sync = new CodeSync({
      battleId: msg.battle_id,
      initialText: msg.challenge.starter_code,
      send: this._sendSync
    });
    if (!this._moveToWorker(msg.worker_url)) {
      this._sync.flush(); // seq 1: the full starter text (after a move, the resume there sends it)
    }
    this._noteTournamentGame(msg.tournament_id);
    this._matchFound.emit(battle);
    this._stateChanged.emit();
  }

  /** The answer to `resume`: rebuild (after a reload) or refresh (after a reconnect) the running battle. */
  private _onBattleState(msg: IBattleState): void {
    this._noteServerTime(msg.server_time);
    this._resuming = null;
    writeJson<IStoredResume>(RESUME_KEY, { battle_id: msg.battle_id, token: msg.resume_token });
    if (this._elsewhere?.battleId === msg.battle_id) {
      this._elsewhere = null;
    }
    this._queue = null;
    const match: IMatchFound = {
      battle_id: msg.battle_id,
      challenge: msg.challenge,
      you: msg.you,
      opponent: msg.opponent,
      ranked: msg.ranked,
      time_limit_s: msg.time_limit_s,
      started_at: msg.started_at,
      deadline: msg.deadline,
      server_time: msg.server_time,
      resume_token: msg.resume_token,
      mirror: msg.mirror,
      max_code_bytes: msg.max_code_bytes,
      tournament_id: msg.tournament_id ?? null
    };
    this._noteTournamentGame(match.tournament_id);
    const current = this._battle;
    const same = current !== null && current.match.battle_id === msg.battle_id && current.complete === null;
    // Taken back from another tab: that tab's edits are the service's copy, this tab's text is stale.
    const takenBack = same && current!.elsewhere !== null;
    if (same) {
      current!.elsewhere = null;
    }
    const battle = same ? current! : newBattle(match);
    if (!same) {
      battle.resumed = true;
    }
    if (same) {
      const fresh = newBattle(match);
      battle.match = match;
      battle.startsAt = fresh.startsAt;
      battle.deadline = fresh.deadline;
    }
    const opp = battle.opponent;
    if (!msg.opponent_connected && opp.connected) {
      opp.graceUntil = null; // unknown until an `opponent_status` tells
      opp.graceS = null;
    }
    opp.connected = msg.opponent_connected;
    if (opp.connected) {
      opp.graceUntil = null;
      opp.graceS = null;
    }
    opp.submissions = msg.opponent_submissions;
    opp.bestPassed = msg.opponent_best_passed;

    // Which text wins: edits the service has not seen (typed after the last accepted seq) or its copy.
    let local: { text: string; seq: number } | null = null;
    if (takenBack) {
      local = null;
    } else if (same && this._sync) {
      local = { text: this._sync.text, seq: this._sync.seq };
    } else {
      const draft = readJson<IDraft>(DRAFT_KEY);
      if (draft && draft.battle_id === msg.battle_id && typeof draft.text === 'string') {
        local = { text: draft.text, seq: draft.seq };
      }
    }
    const keepLocal = local !== null && local.text !== msg.your_code && local.seq >= msg.your_seq;
    const code = keepLocal ? local!.text : msg.your_code;
    this._sync?.stop();
    this._sync = new CodeSync({
      battleId: msg.battle_id,
      initialText: code,
      send: this._sendSync,
      resumeFrom: { seq: msg.your_seq, text: msg.your_code }
    });
    if (keepLocal) {
      this._sync.resync(); // the full text, seq = your_seq + 1
      this._sync.flush();
    }
    writeJson<IDraft>(DRAFT_KEY, { battle_id: msg.battle_id, seq: this._sync.seq, text: code });
    this._battle = battle;
    if (!same) {
      this._matchFound.emit(battle);
    }
    this._lastRestore = { battle, state: msg, code };
    this._battleRestored.emit(this._lastRestore);
    this._stateChanged.emit();
  }

  /** A tournament game began or resumed: the tournament's view is read unless held (its name shows in the duel). */
  private _noteTournamentGame(tournamentId: string | null | undefined): void {
    if (tournamentId && !this._tournamentViews.has(tournamentId)) {
      void this.refreshTournament(tournamentId);
    }
  }

  private _onOpponentStatus(msg: IOpponentStatus): void {
    const battle = this._battle;
    if (!battle || battle.match.battle_id !== msg.battle_id) {
      return;
    }
    const opp = battle.opponent;
    opp.connected = msg.connected;
    opp.graceS = msg.connected ? null : msg.grace_s;
    opp.graceUntil = msg.connected || msg.grace_s === null ? null : Date.now() + msg.grace_s * 1000;
    opp.submissions = msg.submissions;
    opp.bestPassed = msg.best_passed;
    this._opponentStatus.emit(msg);
    this._stateChanged.emit();
  }

  /**
   * `resume` found the battle over (it ended while this tab was away): show how it ended, from the history,
   * so the view does not stay "running".
   */
  private async _recoverOutcome(battleId: string): Promise<void> {
    const battle = this._battle;
    const session = this._session;
    if (!battle || battle.complete || battle.match.battle_id !== battleId || !session) {
      return;
    }
    const me = battle.match.you.name;
    let entry;
    try {
      entry = (await fetchHistory(session, me)).find(b => b.battle_id === battleId);
    } catch {
      entry = undefined;
    }
    if (battle.complete) {
      return;
    }
    const result = entry?.result ?? 'aborted';
    const opponent = battle.match.opponent.name;
    const reason = (entry?.reason ?? 'aborted') as IBattleComplete['reason'];
    const before = entry?.rating_before ?? battle.match.you.rating;
    const after = entry?.rating_after ?? before;
    const aborted = result === 'aborted' || result === 'running';
    this._onBattleComplete({
      battle_id: battleId,
      winner: result === 'win' ? me : result === 'loss' ? opponent : null,
      reason: aborted ? 'aborted' : reason,
      // `battle_complete.ranked` says whether ratings changed (the history's `ranked`: whether the duel was ranked).
      ranked: !aborted && (entry?.ranked ?? battle.match.ranked) && after !== before,
      ratings: [{ name: me, before, after }],
      codes: [] // the final codes went with the missed `battle_complete`
    });
  }

  private _onBattleComplete(msg: IBattleComplete): void {
    const own = this._battle?.match.battle_id === msg.battle_id || msg.battle_id === this._elsewhere?.battleId;
    if (!own && this._spectating.has(msg.battle_id)) {
      this._spectatorComplete.emit(msg);
      return;
    }
    if (msg.battle_id === this._elsewhere?.battleId) {
      this._elsewhere = null;
    }
    if (readJson<IStoredResume>(RESUME_KEY)?.battle_id === msg.battle_id) {
      removeStorage(RESUME_KEY);
      removeStorage(DRAFT_KEY);
    }
    const battle = this._battle;
    if (battle && battle.match.battle_id === msg.battle_id && !battle.complete) {
      battle.complete = msg;
      battle.elsewhere = null;
      this._sync?.stop();
      this._sync = null;
      if (!battle.match.opponent.bot) {
        this._lastOpponent = battle.match.opponent;
      }
      this._updateProfileAfter(battle.match.you.name, msg);
      this._battleComplete.emit(msg);
    } else if (!battle || battle.match.battle_id !== msg.battle_id) {
      // e.g. an orphan battle forfeited from this tab: listeners (history) still want to know.
      this._battleComplete.emit(msg);
    }
    this._stateChanged.emit();
    void this._refreshProfile();
  }

  /** The service's own profile (rating, provisional flag) after a battle. */
  private async _refreshProfile(): Promise<void> {
    const session = this._session;
    const name = this._profile?.name;
    if (!session || !name) {
      return;
    }
    try {
      const profile = await fetchProfile(session, name);
      if (this._profile?.name === profile.name) {
        this._profile = profile;
        this._stateChanged.emit();
      }
    } catch {
      // keep the locally updated numbers
    }
  }

  /** The service sends no new profile after a battle, so the sidebar's numbers are updated here. */
  private _updateProfileAfter(me: string, msg: IBattleComplete): void {
    const profile = this._profile;
    if (!profile || profile.name !== me) {
      return;
    }
    const mine = msg.ratings.find(r => r.name === me);
    const updated = { ...profile };
    if (mine) {
      updated.rating = mine.after;
    }
    if (msg.ranked) {
      const outcome = outcomeFor(me, msg);
      if (outcome !== 'aborted') {
        updated.games += 1;
        updated.wins += outcome === 'won' ? 1 : 0;
        updated.losses += outcome === 'lost' ? 1 : 0;
        updated.draws += outcome === 'draw' ? 1 : 0;
      }
    }
    this._profile = updated;
  }

  private _onError(msg: IErrorEvent): void {
    if (msg.code === 'tab_inactive' && this._battle && !this._battle.complete) {
      // An edit or a run raced another tab that plays the battle.
      this._onBattleElsewhere({ battle_id: this._battle.match.battle_id, open_elsewhere: true });
      return;
    }
    if (msg.event === 'resume' && STALE_RESUME_ERRORS.has(msg.code)) {
      // Nothing to resume: forget the token; a battle this tab still shows as running has ended meanwhile.
      const battleId = this._resuming ?? readJson<IStoredResume>(RESUME_KEY)?.battle_id ?? null;
      this._resuming = null;
      removeStorage(RESUME_KEY);
      removeStorage(DRAFT_KEY);
      if (battleId) {
        void this._recoverOutcome(battleId);
      }
      this._errorReceived.emit(msg);
      return;
    }
    if (msg.event === 'register_user' && NAME_ERRORS.has(msg.code) && this._requestedName && this._socket) {
      // The name is refused (held by another browser, a look-alike...): say so by the name field and play as
      // the Jupyter user meanwhile.
      this._refuseName(msg.code, msg.message);
      void this._register(this._socket);
      this._errorReceived.emit(msg);
      return;
    }
    if (msg.code === 'out_of_sync') {
      this._sync?.resync();
    } else if (msg.code === 'auth_failed' && msg.event === 'register_user') {
      this._problem = `Authentication failed: ${msg.message}`;
      this._setState('disconnected');
    } else if (msg.code === 'not_registered' && this._socket) {
      void this._register(this._socket);
    }
    if (!QUIET_ERRORS.has(msg.code) && !(msg.event && INLINE_EVENTS.has(msg.event))) {
      Notification.error(`Duel: ${msg.message}`, { autoClose: 6000 });
    }
    this._errorReceived.emit(msg);
  }

  /** A challenge offer, new or with a new status: kept (settled ones for a while) and announced. */
  private _onChallengeOffer(msg: IChallengeOffer): void {
    const me = this._profile?.name;
    const now = Date.now();
    const state: IOfferState = {
      offer: msg,
      incoming: me !== undefined ? msg.challenged.name === me : msg.challenger.name !== me,
      receivedAt: now,
      expiresAt: msg.expires_at * 1000 - this._clockOffsetMs,
      rematch: this._lastOpponent !== null && [msg.challenger.name, msg.challenged.name].includes(this._lastOpponent.name)
    };
    const previous = this._offers.find(o => o.offer.offer_id === msg.offer_id);
    if (previous) {
      state.rematch = previous.rematch;
    }
    this._offers = [state, ...this._offers.filter(o => o.offer.offer_id !== msg.offer_id)].filter(
      o => o.offer.status === 'offered' || now - o.receivedAt < OFFER_KEPT_MS
    );
    if (!this._offerTimer) {
      // Expired offers leave the list even if the service's word about them is missed.
      this._offerTimer = window.setInterval(() => this._pruneOffers(), 5000);
    }
    this._challengeOffer.emit(state);
    this._stateChanged.emit();
  }

  private _pruneOffers(): void {
    const now = Date.now();
    const kept = this._offers.filter(o =>
      o.offer.status === 'offered' ? o.expiresAt + 10_000 > now : now - o.receivedAt < OFFER_KEPT_MS
    );
    if (kept.length !== this._offers.length) {
      this._offers = kept;
      this._stateChanged.emit();
    }
  }

  /** The offset between the service's clock and this browser's, from any message that carries the former. */
  private _noteServerTime(serverTime: number): void {
    if (typeof serverTime === 'number' && Number.isFinite(serverTime)) {
      this._clockOffsetMs = Date.now() - serverTime * 1000;
    }
  }

  private _setState(state: ConnectionState): void {
    this._state = state;
    this._stateChanged.emit();
  }

  private _socket: Socket | null = null;
  private _workerUrl: string | null = null; // the worker running this player's battle, when the service has several
  private _socketBase = ''; // the base URL the socket is connected to
  private _registered = false;
  private _state: ConnectionState = 'disconnected';
  private _session: ISessionInfo | null = null;
  private _profile: IUserProfile | null = null;
  private _requestedName: string;
  private _queue: IQueueStatus | null = null;
  private _battle: IBattle | null = null;
  /** The running battle this tab does not play (see `elsewhere`). */
  private _elsewhere: { battleId: string; open: boolean } | null = null;
  /** `registered`'s token for the player's running battle (any tab may resume with it). */
  private _registeredResume: IStoredResume | null = null;
  private _problem: string | null = null;
  private _nameError: INameError | null = null;
  /** A pool chosen before the player was known (bound to them once registered). */
  private _unboundPool: Pool | null = null;
  private _preferences: IDuelPreferences = { ...DEFAULT_PREFERENCES };
  private _ranked: boolean;
  private _sync: CodeSync | null = null;
  /** The battle a `resume` was sent for, until its answer. */
  private _resuming: string | null = null;
  private _lastRestore: IBattleRestore | null = null;
  private _isDisposed = false;
  private _instructor = false;
  /** Where the socket goes: decided with the first session (`hub` and `fallback` only under JupyterHub). */
  private _target: 'direct' | 'hub' | 'fallback' | null = null;
  private _hubLoginUrl: string | null = null;
  private _serviceNote: string | null = null;
  /** How many views follow the room. */
  private _roomWatchers = 0;
  private _room: IRoomState | null = null;
  /** Battles some view spectates. */
  private _spectating = new Set<string>();
  private _offers: IOfferState[] = [];
  private _offerTimer = 0;
  private _lastOpponent: IPlayerInfo | null = null;
  /** Local time minus service time, in milliseconds. */
  private _clockOffsetMs = 0;
  private _tournaments: ITournamentSummary[] = [];
  /** Views of the tournaments this player is in (or looked at), by id. */
  private _tournamentViews = new Map<string, ITournamentView>();
  /** The handle the tournament views were read for. */
  private _tournamentsOwner: string | null = null;

  private _stateChanged = new Signal<this, void>(this);
  private _matchFound = new Signal<this, IBattle>(this);
  private _battleRestored = new Signal<this, IBattleRestore>(this);
  private _opponentStatus = new Signal<this, IOpponentStatus>(this);
  private _opponentCode = new Signal<this, IOpponentCode>(this);
  private _opponentShape = new Signal<this, IOpponentShape>(this);
  private _testResult = new Signal<this, ITestResult>(this);
  private _customResult = new Signal<this, ICustomResult>(this);
  private _submissionResult = new Signal<this, ISubmissionResult>(this);
  private _battleComplete = new Signal<this, IBattleComplete>(this);
  private _errorReceived = new Signal<this, IErrorEvent>(this);
  private _challengeOffer = new Signal<this, IOfferState>(this);
  private _roomState = new Signal<this, IRoomState>(this);
  private _spectateState = new Signal<this, ISpectateState>(this);
  private _spectatorCode = new Signal<this, ISpectatorCode>(this);
  private _spectatorTestResult = new Signal<this, ITestResult>(this);
  private _spectatorSubmissionResult = new Signal<this, ISubmissionResult>(this);
  private _spectatorComplete = new Signal<this, IBattleComplete>(this);
  private _reactionReceived = new Signal<this, IReaction>(this);
  private _tournamentsChanged = new Signal<this, void>(this);
}

/** The summary fields of a tournament view. */
function tournamentSummary(view: ITournamentView): ITournamentSummary {
  const { id, name, format, status, ending, rated, players, round, rounds, starts_at, ends_at, version } = view;
  return { id, name, format, status, ending, rated, players, round, rounds, starts_at, ends_at, version };
}

/** A refusal made here (not connected, no answer), shaped like the service's. */
function failed(code: string, message: string, event: string | null = null): IAck {
  return { ok: false, error: { code, message, event } };
}

/**
 * A battle from `match_found` (or the same fields of `battle_state`). The clock is corrected for the offset
 * between the two clocks, measured at receipt: `offset = server_time - now`.
 */
function newBattle(match: IMatchFound): IBattle {
  const offsetS = match.server_time - Date.now() / 1000;
  return {
    match,
    startsAt: (match.started_at - offsetS) * 1000,
    deadline: (match.deadline - offsetS) * 1000,
    complete: null,
    opponent: { connected: true, graceUntil: null, graceS: null, submissions: 0, bestPassed: 0 },
    practice: match.opponent.bot || match.you.bot,
    resumed: false,
    elsewhere: null
  };
}

function describe(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}

/** Where a guest key is kept: one entry per service (its API URL) and guest name, in `localStorage`. */
function guestKeyName(session: ISessionInfo, name: string): string {
  let service = session.api_url;
  try {
    service = new URL(session.api_url, window.location.href).href;
  } catch {
    // keep the URL as given
  }
  return GUEST_KEY_PREFIX + JSON.stringify([service, name]);
}

/** Pool choices of this page, for when `localStorage` is unavailable. */
const pagePoolChoices = new Map<string, string>();

/** Guest keys of this page, for when `localStorage` is unavailable (then a name lasts as long as the page). */
const pageGuestKeys = new Map<string, string>();

function readGuestKey(session: ISessionInfo, name: string): string | null {
  const where = guestKeyName(session, name);
  try {
    return window.localStorage.getItem(where) ?? pageGuestKeys.get(where) ?? null;
  } catch {
    return pageGuestKeys.get(where) ?? null;
  }
}

function writeGuestKey(session: ISessionInfo, name: string, key: string): void {
  const where = guestKeyName(session, name);
  pageGuestKeys.set(where, key);
  try {
    window.localStorage.setItem(where, key);
  } catch {
    // see pageGuestKeys
  }
}

function readStorage(key: string): string | null {
  try {
    return window.sessionStorage.getItem(key);
  } catch {
    return null;
  }
}

function writeStorage(key: string, value: string): void {
  try {
    window.sessionStorage.setItem(key, value);
  } catch {
    // Storage unavailable (privacy mode): the choice just lasts for this page.
  }
}

/** `localStorage`, shared by the browser's tabs (null when unavailable). */
function readLocal(key: string): string | null {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null;
  }
}

function writeLocal(key: string, value: string): void {
  try {
    window.localStorage.setItem(key, value);
  } catch {
    // see writeStorage
  }
}

function removeLocal(key: string): void {
  try {
    window.localStorage.removeItem(key);
  } catch {
    // see writeStorage
  }
}

function readJson<T>(key: string): T | null {
  const raw = readStorage(key);
  if (!raw) {
    return null;
  }
  try {
    return JSON.parse(raw) as T;
  } catch {
    return null;
  }
}

function writeJson<T>(key: string, value: T): void {
  writeStorage(key, JSON.stringify(value));
}

function removeStorage(key: string): void {
  try {
    window.sessionStorage.removeItem(key);
  } catch {
    // see writeStorage
  }
}
