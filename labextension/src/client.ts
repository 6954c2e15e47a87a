/**
 * `DuelClient`: the session fetch, the Socket.IO connection and the protocol handling, in one place.
 *
 * Identity: on every (re)connect a fresh short-lived token is fetched from the Jupyter server extension
 * (`GET {baseUrl}jupyter-duel/session[?name=NAME]`, through `ServerConnection` so Jupyter's auth and XSRF apply)
 * and sent as `register_user {token}`. The chosen display name lives in `sessionStorage`, so every browser tab
 * can play as its own (guest) identity.
 */
import { Notification } from '@jupyterlab/apputils';
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import type { IDisposable } from '@lumino/disposable';
import { Signal } from '@lumino/signaling';
import { io, type Socket } from 'socket.io-client';

import { CodeSync } from './codesync';
import type {
  IBattleComplete,
  IErrorEvent,
  IMatchFound,
  IOpponentCode,
  IQueueUpdate,
  IRegistered,
  ISessionInfo,
  ISubmissionResult,
  ISyncCode,
  ITestResult,
  IUserProfile,
  Pool
} from './protocol';
import { outcomeFor } from './protocol';
import type { ConnectionState, IBattle, IDuelClient, IQueueStatus } from './tokens';

const NAME_KEY = 'jupyter-duel:name';
const POOL_KEY = 'jupyter-duel:pool';
const RANKED_KEY = 'jupyter-duel:ranked';

/** Clock skew above which `started_at` is not trusted and the local receive time is used instead. */
const MAX_CLOCK_SKEW_S = 10;

/** Errors that are part of the normal flow and need no pop-up. */
const QUIET_ERRORS = new Set(['out_of_sync', 'not_queued']);

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

/** Ask the Jupyter server extension for an identity token (optionally for a guest name). */
export async function fetchSession(name: string): Promise<ISessionInfo> {
  const settings = ServerConnection.makeSettings();
  let url = URLExt.join(settings.baseUrl, 'jupyter-duel', 'session');
  if (name) {
    url += URLExt.objectToQueryString({ name });
  }
  const response = await ServerConnection.makeRequest(url, { method: 'GET' }, settings);
  let body: any = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const error = body?.error ?? {};
    throw new SessionError(
      response.status,
      error.code ?? 'http_error',
      error.message ?? `The duel session endpoint answered ${response.status} ${response.statusText}`
    );
  }
  return body as ISessionInfo;
}

export class DuelClient implements IDuelClient, IDisposable {
  constructor() {
    this._requestedName = readStorage(NAME_KEY) ?? '';
    const pool = readStorage(POOL_KEY) as Pool | null;
    this._pool = pool && ['any', 'easy', 'medium', 'hard'].includes(pool) ? pool : 'any';
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
  get orphanBattleId(): string | null {
    return this._orphanBattleId;
  }
  get problem(): string | null {
    return this._problem;
  }

  get pool(): Pool {
    return this._pool;
  }
  set pool(value: Pool) {
    this._pool = value;
    writeStorage(POOL_KEY, value);
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
  get opponentCode(): Signal<this, IOpponentCode> {
    return this._opponentCode;
  }
  get testResult(): Signal<this, ITestResult> {
    return this._testResult;
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
      return;
    }
    this._requestedName = name;
    if (name) {
      writeStorage(NAME_KEY, name);
    } else {
      removeStorage(NAME_KEY);
    }
    this._reconnect();
  }

  findOpponent(): void {
    this._emit('join_queue', { pool: this._pool, ranked: this._ranked });
  }

  cancelSearch(): void {
    this._emit('leave_queue', {});
  }

  updateCode(text: string): void {
    this._sync?.update(text);
  }

  runSamples(code: string): boolean {
    const battle = this._runningBattle();
    if (!battle) {
      return false;
    }
    this._sync?.flush();
    return this._emit('run_samples', { battle_id: battle.match.battle_id, code });
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
    const id = battleId ?? this._runningBattle()?.match.battle_id ?? this._orphanBattleId;
    if (!id) {
      return false;
    }
    return this._emit('forfeit', { battle_id: id });
  }

  // ---------------------------------------------------------------- connection

  /** The session endpoint tells where the service lives, so it is asked before the socket is created. */
  private async _openSocket(): Promise<void> {
    let session: ISessionInfo;
    try {
      session = await this._fetchSessionForName();
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
    const socket = io(session.socketio_url || window.location.origin, {
      path: session.socketio_path,
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
      this._setState(socket.active ? 'connecting' : 'disconnected');
    });
    socket.on('connect_error', (err: Error) => {
      this._problem = `Connection failed: ${err.message}`;
      this._setState(socket.active ? 'connecting' : 'disconnected');
    });
    socket.on('registered', (msg: IRegistered) => this._onRegistered(msg));
    socket.on('queue_update', (msg: IQueueUpdate) => this._onQueueUpdate(msg));
    socket.on('match_found', (msg: IMatchFound) => this._onMatchFound(msg));
    socket.on('opponent_code', (msg: IOpponentCode) => {
      if (msg.battle_id === this._battle?.match.battle_id) {
        this._opponentCode.emit(msg);
      }
    });
    socket.on('test_result', (msg: ITestResult) => {
      if (msg.battle_id === this._battle?.match.battle_id) {
        this._testResult.emit(msg);
      }
    });
    socket.on('submission_result', (msg: ISubmissionResult) => {
      if (msg.battle_id === this._battle?.match.battle_id) {
        this._submissionResult.emit(msg);
      }
    });
    socket.on('battle_complete', (msg: IBattleComplete) => this._onBattleComplete(msg));
    socket.on('error', (msg: IErrorEvent) => this._onError(msg));
  }

  /** Fetch a token for the requested name; fall back to the Jupyter user when the name is refused. */
  private async _fetchSessionForName(): Promise<ISessionInfo> {
    try {
      this._session = await fetchSession(this._requestedName);
    } catch (reason) {
      const refused = reason instanceof SessionError && (reason.status === 400 || reason.status === 403);
      if (!refused || !this._requestedName) {
        throw reason;
      }
      Notification.warning(`Name "${this._requestedName}" refused: ${(reason as SessionError).message}`, { autoClose: 6000 });
      this._requestedName = '';
      removeStorage(NAME_KEY);
      this._session = await fetchSession('');
    }
    return this._session;
  }

  /** Runs on every `connect`: tokens are short-lived, so a fresh one is fetched each time. */
  private async _register(socket: Socket): Promise<void> {
    this._setState('connecting');
    let session: ISessionInfo;
    try {
      session = await this._fetchSessionForName();
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
    socket.emit('register_user', { token: session.token });
  }

  private _reconnect(): void {
    const socket = this._socket;
    this._registered = false;
    this._profile = null;
    this._queue = null;
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
    if (!this._socket || !this._registered) {
      Notification.warning('Not connected to the duel service yet.', { autoClose: 4000 });
      return false;
    }
    this._socket.emit(event, payload);
    return true;
  }

  private _runningBattle(): IBattle | null {
    const battle = this._battle;
    return battle && !battle.complete ? battle : null;
  }

  // ---------------------------------------------------------------- server events

  private _onRegistered(msg: IRegistered): void {
    this._registered = true;
    this._problem = null;
    this._profile = msg.user;
    const running = this._runningBattle();
    if (running && msg.battle_id === running.match.battle_id) {
      // Back after a reconnect: the service's copy of our code may be stale.
      this._sync?.resync();
      this._orphanBattleId = null;
    } else {
      this._orphanBattleId = msg.battle_id;
    }
    this._setState('connected');
  }

  private _onQueueUpdate(msg: IQueueUpdate): void {
    this._queue = msg.status === 'waiting' ? { ...msg, receivedAt: Date.now() } : null;
    this._stateChanged.emit();
  }

  private _onMatchFound(msg: IMatchFound): void {
    this._sync?.stop();
    this._queue = null;
    this._orphanBattleId = null;
    const nowS = Date.now() / 1000;
    // Trust the service's start time unless the two clocks clearly disagree.
    const start = Math.abs(nowS - msg.started_at) > MAX_CLOCK_SKEW_S ? nowS : msg.started_at;
    const battle: IBattle = { match: msg, deadline: (start + msg.time_limit_s) * 1000, complete: null };
    this._battle = battle;
    this._sync = new CodeSync({
      battleId: msg.battle_id,
      initialText: msg.challenge.starter_code,
      send: (payload: ISyncCode) => {
        if (!this._socket || !this._registered) {
          return false;
        }
        this._socket.emit('sync_code', payload);
        return true;
      }
    });
    this._sync.flush(); // seq 1: the full starter text
    this._matchFound.emit(battle);
    this._stateChanged.emit();
  }

  private _onBattleComplete(msg: IBattleComplete): void {
    if (msg.battle_id === this._orphanBattleId) {
      this._orphanBattleId = null;
    }
    const battle = this._battle;
    if (battle && battle.match.battle_id === msg.battle_id) {
      battle.complete = msg;
      this._sync?.stop();
      this._sync = null;
      this._updateProfileAfter(battle.match.you.name, msg);
      this._battleComplete.emit(msg);
    }
    this._stateChanged.emit();
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
    if (msg.code === 'out_of_sync') {
      this._sync?.resync();
    } else if (msg.code === 'auth_failed' && msg.event === 'register_user') {
      this._problem = `Authentication failed: ${msg.message}`;
      this._setState('disconnected');
    } else if (msg.code === 'not_registered' && this._socket) {
      void this._register(this._socket);
    }
    if (!QUIET_ERRORS.has(msg.code)) {
      Notification.error(`Duel: ${msg.message}`, { autoClose: 6000 });
    }
    this._errorReceived.emit(msg);
  }

  private _setState(state: ConnectionState): void {
    this._state = state;
    this._stateChanged.emit();
  }

  private _socket: Socket | null = null;
  private _registered = false;
  private _state: ConnectionState = 'disconnected';
  private _session: ISessionInfo | null = null;
  private _profile: IUserProfile | null = null;
  private _requestedName: string;
  private _queue: IQueueStatus | null = null;
  private _battle: IBattle | null = null;
  private _orphanBattleId: string | null = null;
  private _problem: string | null = null;
  private _pool: Pool;
  private _ranked: boolean;
  private _sync: CodeSync | null = null;
  private _isDisposed = false;

  private _stateChanged = new Signal<this, void>(this);
  private _matchFound = new Signal<this, IBattle>(this);
  private _opponentCode = new Signal<this, IOpponentCode>(this);
  private _testResult = new Signal<this, ITestResult>(this);
  private _submissionResult = new Signal<this, ISubmissionResult>(this);
  private _battleComplete = new Signal<this, IBattleComplete>(this);
  private _errorReceived = new Signal<this, IErrorEvent>(this);
}

function describe(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
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

function removeStorage(key: string): void {
  try {
    window.sessionStorage.removeItem(key);
  } catch {
    // see writeStorage
  }
}
