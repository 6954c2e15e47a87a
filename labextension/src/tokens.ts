/**
 * The `IDuelClient` service token: the one object that talks to the duel service. Other plugins (sidebar,
 * duel view, commands) read its state and listen to its signals instead of touching the socket.
 */
import { Token } from '@lumino/coreutils';
import type { ISignal } from '@lumino/signaling';
import type {
  BotSpeed,
  IBattleComplete,
  IBattleState,
  IChallengeOffer,
  ICustomResult,
  IErrorEvent,
  IMatchFound,
  IOpponentCode,
  IOpponentShape,
  IOpponentStatus,
  IPlayerInfo,
  IQueueUpdate,
  IReaction,
  IRoomState,
  ISessionInfo,
  ISpectateState,
  ISpectatorCode,
  ISubmissionResult,
  ITestResult,
  ITournamentSummary,
  ITournamentView,
  IUserProfile,
  Pool
} from './protocol';

/** `connected` means registered with the service, not merely a socket being open. */
export type ConnectionState = 'disconnected' | 'connecting' | 'connected';

/** A guest name the service refused (`name_taken`, `name_confusable`, `invalid_name`), to show by the name field. */
export interface INameError {
  /** The name that was asked for. */
  name: string;
  code: string;
  /** The service's sentence. */
  message: string;
}

/** The current queue wait, with the local time the status arrived (to tick the wait time locally). */
export interface IQueueStatus extends IQueueUpdate {
  receivedAt: number;
}

/** What is known of the opponent's presence and progress. */
export interface IOpponentState {
  connected: boolean;
  /** While disconnected: local epoch milliseconds when their grace period ends (null when unknown). */
  graceUntil: number | null;
  /** `grace_s` as last received. */
  graceS: number | null;
  submissions: number;
  bestPassed: number;
}

/** The battle being played (or just finished) in this tab. */
export interface IBattle {
  match: IMatchFound;
  /** Local epoch milliseconds when the clock starts (end of the countdown), corrected for clock offset. */
  startsAt: number;
  /** Local epoch milliseconds when the clock runs out. */
  deadline: number;
  complete: IBattleComplete | null;
  opponent: IOpponentState;
  /** Against the practice bot (never rated). */
  practice: boolean;
  /** Rebuilt from a `battle_state` (a page reloaded mid-battle), not a new match. */
  resumed: boolean;
  /** Another tab plays this battle now (it was taken over): `open` false when no tab does. */
  elsewhere: { open: boolean } | null;
}

/** A `battle_state` applied by the client: the view refreshes from it. */
export interface IBattleRestore {
  battle: IBattle;
  state: IBattleState;
  /** What the player's editor must hold (the service's copy, or newer local edits kept). */
  code: string;
}

/** The service's acknowledgement of one event (or a local failure shaped like it). */
export interface IAck {
  ok: boolean;
  error?: { code: string; message: string; event?: string | null };
  [key: string]: unknown;
}

/**
 * What the opponent's pane shows while a battle runs, whatever more the battle's mirror mode would allow:
 * `battle` (what the mode shows), `outline` (at most the outline of their lines, never their text) or `hidden`
 * (no opponent pane until the duel ends: more room for the player's own editor).
 */
export type MirrorDisplay = 'battle' | 'outline' | 'hidden';

/** The player's preferences (the `jupyter-duel:client` settings). */
export interface IDuelPreferences {
  /** The challenge pool a player starts with: `auto` is `easy` for a player's first games, then `any`. */
  defaultPool: Pool | 'auto';
  mirrorDisplay: MirrorDisplay;
  /** JupyterLab notifications ("Match found", "Your opponent submitted") while the duel is not in view. */
  notifications: boolean;
  /** Quick messages between the players (false: muted, the opponent's are not shown). */
  quickMessages: boolean;
}

export const DEFAULT_PREFERENCES: IDuelPreferences = {
  defaultPool: 'auto',
  mirrorDisplay: 'battle',
  notifications: true,
  quickMessages: true
};

/** Finished games under which `defaultPool: auto` starts a player on the easy pool. */
export const NEWCOMER_GAMES = 5;

/** A challenge offer as this player knows it: the latest status, and which side of it they are on. */
export interface IOfferState {
  offer: IChallengeOffer;
  /** This player is the challenged one. */
  incoming: boolean;
  /** Local epoch milliseconds when the status arrived. */
  receivedAt: number;
  /** Local epoch milliseconds when an open offer expires. */
  expiresAt: number;
  /** Between the two players of the last finished battle. */
  rematch: boolean;
}

export interface IDuelClient {
  readonly connectionState: ConnectionState;
  /** The last session endpoint answer (Jupyter user, whether guests are allowed). */
  readonly session: ISessionInfo | null;
  readonly profile: IUserProfile | null;
  /** The name the player asked for ('' = the Jupyter user name). */
  readonly requestedName: string;
  readonly queue: IQueueStatus | null;
  readonly battle: IBattle | null;
  /**
   * The player's running battle that this tab does not play: another tab does (`open`), or none does and the
   * grace period runs. `takeOver` plays it here.
   */
  readonly elsewhere: { battleId: string; open: boolean } | null;
  /**
   * The last `battle_state` applied, while its battle runs: a view created after the event (the page is still
   * starting when a resume is answered) restores itself from it.
   */
  readonly lastRestore: IBattleRestore | null;
  /** A human-readable problem with the connection, if any. */
  readonly problem: string | null;
  /** The last guest name the service refused, until another name is chosen. */
  readonly nameError: INameError | null;
  /** The registered player may watch the room, spectate, pair players and abort battles. */
  readonly instructor: boolean;
  /** Something to tell about where the service is (e.g. the hub has none and this server's own is used). */
  readonly serviceNote: string | null;
  /** Under a hub whose duel service could not be signed in to: its login URL (to open by hand). */
  readonly hubLoginUrl: string | null;
  /** The room as last sent, while some view watches it. */
  readonly room: IRoomState | null;
  /** Challenge offers to and from this player: open ones, and settled ones for a while; newest first. */
  readonly offers: readonly IOfferState[];
  /** The opponent of the last finished battle (not the bot): whom a rematch is offered to. */
  readonly lastOpponent: IPlayerInfo | null;
  /** This browser's clock minus the service's, in milliseconds (0 until a message told the service's time). */
  readonly clockOffsetMs: number;
  /** Every tournament as last listed (`tournaments`, `list_tournaments`), newest first. */
  readonly tournaments: readonly ITournamentSummary[];
  /** The tournaments this player is an entrant of (withdrawn ones too), as last read; newest first. */
  readonly myTournaments: readonly ITournamentView[];

  /**
   * The pool this player queues for: their own choice once they made one (remembered per player in this
   * browser), otherwise the preferred default (`auto`: easy for a newcomer, then any).
   */
  pool: Pool;
  /** The player chose `pool` themselves (it is not the default). */
  readonly poolChosen: boolean;
  ranked: boolean;
  /** The player's preferences; `stateChanged` is emitted when they change. */
  readonly preferences: IDuelPreferences;

  /** Any of the above changed. */
  readonly stateChanged: ISignal<IDuelClient, void>;
  readonly matchFound: ISignal<IDuelClient, IBattle>;
  /** A running battle was resumed (reload or reconnect); emitted after `matchFound` when the view is new. */
  readonly battleRestored: ISignal<IDuelClient, IBattleRestore>;
  readonly opponentStatus: ISignal<IDuelClient, IOpponentStatus>;
  readonly opponentCode: ISignal<IDuelClient, IOpponentCode>;
  /** The opponent's outline (`shape` mirror mode). */
  readonly opponentShape: ISignal<IDuelClient, IOpponentShape>;
  readonly testResult: ISignal<IDuelClient, ITestResult>;
  /** The answer to this player's `run_custom` in the running battle. */
  readonly customResult: ISignal<IDuelClient, ICustomResult>;
  readonly submissionResult: ISignal<IDuelClient, ISubmissionResult>;
  readonly battleComplete: ISignal<IDuelClient, IBattleComplete>;
  readonly errorReceived: ISignal<IDuelClient, IErrorEvent>;
  /** A challenge offer arrived or changed status. */
  readonly challengeOffer: ISignal<IDuelClient, IOfferState>;
  /** Instructors, while watching: the room now. */
  readonly roomState: ISignal<IDuelClient, IRoomState>;
  /** Instructors: a spectated battle as it is now (first answer to `spectate`, and after every reconnect). */
  readonly spectateState: ISignal<IDuelClient, ISpectateState>;
  readonly spectatorCode: ISignal<IDuelClient, ISpectatorCode>;
  readonly spectatorTestResult: ISignal<IDuelClient, ITestResult>;
  readonly spectatorSubmissionResult: ISignal<IDuelClient, ISubmissionResult>;
  /** A spectated battle ended. */
  readonly spectatorComplete: ISignal<IDuelClient, IBattleComplete>;
  /** A quick message in this player's battle (theirs or the opponent's). */
  readonly reactionReceived: ISignal<IDuelClient, IReaction>;
  /** The tournament list or a tournament's view changed. */
  readonly tournamentsChanged: ISignal<IDuelClient, void>;

  /** Apply the player's preferences (from the settings registry). */
  setPreferences(preferences: Partial<IDuelPreferences>): void;
  /** Open the connection (idempotent). */
  connect(): void;
  /** Play under another name ('' = Jupyter user); re-registers. */
  setName(name: string): void;
  findOpponent(): void;
  cancelSearch(): void;
  /** Start an unrated practice battle against the bot (offered once `queue.bot_available`). */
  playBot(speed: BotSpeed): void;
  /** The player's editor now holds `text` (mirrored to the opponent, throttled). */
  updateCode(text: string): void;
  /** Ask the service for the whole battle state again (`resume`), e.g. when the mirror missed a delta. */
  refreshBattle(): boolean;
  runSamples(code: string): boolean;
  /** Run `code` once on `args` (Python literals, as inside a call); the result comes as `customResult`. */
  runCustom(code: string, args: string): Promise<IAck>;
  submit(code: string): boolean;
  forfeit(battleId?: string): boolean;
  /** Play the `elsewhere` battle in this tab (a `resume`: the tab that played it is told). */
  takeOver(): boolean;
  /** Offer a duel to an online player (pool and ranked default to the player's choices). */
  challengePlayer(name: string, options?: { pool?: Pool; ranked?: boolean }): Promise<IAck>;
  answerChallenge(offerId: string, accept: boolean): Promise<IAck>;
  /** Offer a duel to the last opponent. */
  rematch(): Promise<IAck>;
  /** Instructors: one more (true) or one fewer (false) view following the room. */
  watchRoom(watch: boolean): void;
  /** Instructors: follow one battle (or stop). */
  spectate(battleId: string, watch: boolean): Promise<IAck>;
  classSettings(pack: string | null, challengeId: string | null): Promise<IAck>;
  pairPlayers(first: string, second: string, ranked: boolean): Promise<IAck>;
  abortBattle(battleId: string, reason: string): Promise<IAck>;
  /** A tournament's view as last read or sent (null when this tab has none). */
  tournament(id: string): ITournamentView | null;
  /** Ask the service for the tournament list (`list_tournaments`); `tournaments` is updated. */
  listTournaments(): Promise<IAck>;
  /** Fetch one tournament's view (REST); null when it cannot be read. */
  refreshTournament(tournamentId: string): Promise<ITournamentView | null>;
  /** Enter a tournament (its games arrive as `match_found` with its `tournament_id`). */
  joinTournament(tournamentId: string): Promise<IAck>;
  /** Withdraw from a tournament (a running game is not forfeited by this). */
  leaveTournament(tournamentId: string): Promise<IAck>;
  /** Arena: no new pairing while paused. */
  pauseTournament(tournamentId: string, paused: boolean): Promise<IAck>;
  /** Send any client event and wait for its ack. */
  request(event: string, payload: object): Promise<IAck>;
}

export const IDuelClient = new Token<IDuelClient>(
  'jupyter-duel:IDuelClient',
  'The connection to the jupyter-duel service: session, queue, battle events.'
);
