/**
 * TypeScript mirror of the jupyter-duel Socket.IO protocol.
 *
 * `docs/protocol.md` is normative and `server/jupyter_duel_server/protocol.py` holds the pydantic models; these
 * interfaces copy them field by field so the compiler checks every payload this front end sends or reads.
 */

export type Pool = 'any' | 'easy' | 'medium' | 'hard';
export const POOLS: Pool[] = ['any', 'easy', 'medium', 'hard'];

export type Verdict = 'AC' | 'WA' | 'TLE' | 'MLE' | 'RE' | 'OLE' | 'CE' | 'REFUSED';

/**
 * What a player sees of the opponent's code while a battle runs: every edit (`live`), the same edits `delay_s`
 * late (`delayed`), only each line's indentation and length (`shape`), or nothing (`off`). Both codes are
 * revealed in full once the battle is over, whatever the mode.
 */
export type MirrorMode = 'live' | 'delayed' | 'shape' | 'off';
export const MIRROR_MODES: MirrorMode[] = ['live', 'delayed', 'shape', 'off'];

/**
 * Prefix of a guest's handle. Every name field of the protocol is a *handle* (unique: a guest's is `guest:` and
 * the chosen name); people are shown display names (`display_name`, or `displayName(handle)`).
 */
export const GUEST_PREFIX = 'guest:';

/** One retain/insert/delete op. Counts are in Unicode code points (Python `str` indices). */
export type DeltaOp = { retain: number } | { insert: string } | { delete: number };

// ------------------------------------------------------------------ client -> server

export interface IRegisterUser {
  token?: string;
  display_name?: string;
  /** The key this browser was given when it first registered this guest name (kept in `localStorage`). */
  guest_key?: string;
}

export interface IJoinQueue {
  pool?: Pool;
  ranked?: boolean;
}

export interface ISyncCode {
  battle_id: string;
  seq: number;
  delta?: DeltaOp[];
  text?: string;
}

export interface ICodePayload {
  battle_id: string;
  code: string;
}

export interface IForfeit {
  battle_id: string;
}

export interface IResume {
  resume_token: string;
}

export type BotSpeed = 'slow' | 'normal' | 'fast';

/** The canned quick messages (`react`). */
export type ReactionName = 'good_luck' | 'have_fun' | 'well_played' | 'nice_one' | 'oops' | 'thanks';

/** A quick message between the two players of a battle. */
export interface IReaction {
  battle_id: string;
  player: string;
  reaction: ReactionName;
}
export const BOT_SPEEDS: BotSpeed[] = ['slow', 'normal', 'fast'];

export interface IPlayBot {
  pool?: Pool;
  speed?: BotSpeed;
}

/** Offer a duel to one online player (a rematch is an offer to the last opponent). */
export interface IChallengePlayer {
  /** The challenged player's handle. */
  name: string;
  pool?: Pool;
  ranked?: boolean;
}

export interface IAnswerChallenge {
  offer_id: string;
  accept: boolean;
}

/** Instructors: follow the room (`room_state` now and after every change) or stop. */
export interface IWatchRoom {
  watch?: boolean;
}

/** Instructors: follow one battle at full fidelity (`spectate_state`, then `spectator_code`...) or stop. */
export interface ISpectate {
  battle_id: string;
  watch?: boolean;
}

/** Instructors: every new battle draws from this pack / uses this challenge (null: back to normal). */
export interface IClassSettings {
  pack: string | null;
  challenge_id: string | null;
}

/** Instructors: open a battle between two online players (handles) who are not in a battle. */
export interface IPairPlayers {
  first: string;
  second: string;
  ranked?: boolean;
}

/** `join_tournament` / `leave_tournament`: enter a tournament (open, or running when its format allows late
 * joiners) / withdraw from it (a running game plays on). */
export interface ITournamentRef {
  tournament_id: string;
}

/** `pause_tournament` (arena): no new pairing for this player while paused. */
export interface IPauseTournament {
  tournament_id: string;
  paused: boolean;
}

/** Instructors: end a running battle, unrated; the reason reaches both players as `battle_complete.note`. */
export interface IAbortBattle {
  battle_id: string;
  reason: string;
}

// ------------------------------------------------------------------ shared objects

export interface IUserProfile {
  /** The handle (`guest:NAME` for a guest). */
  name: string;
  /** What to show: the chosen name, without the guest prefix. */
  display_name: string;
  rating: number;
  guest: boolean;
  /** The rating is still settling (few games, or a long absence). */
  provisional: boolean;
  games: number;
  wins: number;
  losses: number;
  draws: number;
}

export interface IPlayerInfo {
  /** The handle (`guest:NAME` for a guest). */
  name: string;
  /** What to show. */
  display_name: string;
  rating: number;
  guest: boolean;
  /** The practice bot. */
  bot: boolean;
  provisional: boolean;
}

export interface ISampleView {
  call: string;
  expected: string;
}

export interface IChallengeView {
  id: string;
  title: string;
  difficulty: 'easy' | 'medium' | 'hard';
  tags: string[];
  statement: string;
  function: string;
  signature: string;
  starter_code: string;
  samples: ISampleView[];
  hidden_count: number;
}

export interface ITestDetail {
  call: string;
  expected: string;
  got: string | null;
  error: string | null;
  /** What the test printed (`run_samples` only; capped, ends with "… output cut" when cut). */
  output: string | null;
}

/** `run_custom`: the code run once on the player's own arguments (Python literals, as inside a call). */
export interface IRunCustom {
  battle_id: string;
  code: string;
  args: string;
}

/** `custom_result`: a `run_custom` run's answer, to its player alone. */
export interface ICustomResult {
  battle_id: string;
  run_id: number;
  verdict: 'OK' | 'RE' | 'TLE' | 'MLE' | 'OLE' | 'CE' | 'REFUSED';
  call: string;
  value: string | null;
  output: string | null;
  error: string | null;
  time_ms: number;
}

export interface IRatingChange {
  /** A handle. */
  name: string;
  before: number;
  after: number;
}

// ------------------------------------------------------------------ server -> client

export interface IRegistered {
  user: IUserProfile;
  battle_id: string | null;
  resume_token: string | null;
  /** The first time a guest name is registered: the key this browser must send with it from now on. */
  guest_key: string | null;
  /** The player may follow the room, spectate, pair players and abort battles. */
  instructor: boolean;
  /** With `battle_id`: another open tab of this player plays it (`resume` takes it over). */
  battle_elsewhere: boolean;
  worker_url?: string | null;
}

/** This tab does not play the player's running battle (docs/protocol.md § One tab plays). */
export interface IBattleElsewhere {
  battle_id: string;
  /** True: another open tab plays it. False: no tab does, and the grace period runs. */
  open_elsewhere: boolean;
}

export interface IQueueUpdate {
  status: 'waiting' | 'left' | 'matched';
  pool: Pool;
  ranked: boolean;
  position: number;
  size: number;
  waited_s: number;
  /** The rating gap this player accepts now (grows with waiting). */
  window: number;
  /** Waited long enough to be offered a practice bot. */
  bot_available: boolean;
  /** The mirror mode the battles of this queue use. */
  mirror: MirrorMode;
}

export interface IMirrorInfo {
  mode: MirrorMode;
  /** In `delayed` mode: how late the opponent's edits are shown (0 otherwise). */
  delay_s: number;
}

export interface IMatchFound {
  battle_id: string;
  challenge: IChallengeView;
  you: IPlayerInfo;
  opponent: IPlayerInfo;
  ranked: boolean;
  time_limit_s: number;
  /** When the clock starts, after the countdown (service epoch seconds). */
  started_at: number;
  /** When the time limit ends (service epoch seconds). */
  deadline: number;
  /** The service's clock when sending. */
  server_time: number;
  resume_token: string;
  mirror: IMirrorInfo;
  /** The largest code (UTF-8 bytes) the service accepts in this battle. */
  max_code_bytes: number;
  worker_url?: string | null;
  /** The tournament this battle is a game of (null or absent: an ordinary duel). */
  tournament_id?: string | null;
}

export interface IOpponentStatus {
  battle_id: string;
  /** A handle. */
  name: string;
  connected: boolean;
  /** While disconnected: seconds left for them to come back. */
  grace_s: number | null;
  submissions: number;
  best_passed: number;
}

export interface IOpponentCode {
  battle_id: string;
  seq: number;
  delta: DeltaOp[] | null;
  text: string | null;
}

/**
 * The outline of the opponent's code (`shape` mirror mode), at most once a second: per line
 * `[indentation in columns, length of the rest]`; `chars` is the whole code's length.
 */
export interface IOpponentShape {
  battle_id: string;
  lines: [number, number][];
  chars: number;
}

export interface ITestResult {
  battle_id: string;
  submission_id: number;
  /** A handle. */
  player: string;
  kind: 'sample' | 'hidden';
  index: number;
  total: number;
  passed: boolean;
  verdict: Verdict;
  time_ms: number;
  detail: ITestDetail | null;
  /** Never ran: an earlier test ended the run. */
  skipped: boolean;
}

export interface ISubmissionResult {
  battle_id: string;
  submission_id: number;
  /** A handle. */
  player: string;
  samples_only: boolean;
  /** `LOST`: the run was being judged when the service stopped; it is not counted. */
  verdict: Verdict | 'LOST';
  passed: number;
  total: number;
  message: string | null;
}

/** The whole running battle as the player sees it (answer to `resume`). */
export interface IBattleState extends IMatchFound {
  your_code: string;
  your_seq: number;
  /** In `live` mode the opponent's code now, in `delayed` mode as far as shown so far; '' otherwise. */
  opponent_code: string;
  opponent_seq: number;
  /** In `shape` mode the current outline (null before any); null otherwise. */
  opponent_shape: IOpponentShape | null;
  opponent_connected: boolean;
  your_tests: ITestResult[];
  your_submissions: ISubmissionResult[];
  opponent_submissions: number;
  opponent_best_passed: number;
}

export type CompleteReason = 'solved' | 'forfeit' | 'time_limit' | 'disconnect' | 'aborted';

/** A player's final code, revealed to both players when the battle ends. */
export interface IPlayerCode {
  /** A handle. */
  name: string;
  code: string;
}

export interface IBattleComplete {
  battle_id: string;
  /** The winner's handle. */
  winner: string | null;
  reason: CompleteReason;
  ranked: boolean;
  ratings: IRatingChange[];
  /** Both final codes, whatever the mirror mode. */
  codes: IPlayerCode[];
  /** With `reason: "aborted"` by an instructor: their reason; null otherwise. */
  note?: string | null;
}

export type OfferStatus = 'offered' | 'accepted' | 'declined' | 'expired' | 'cancelled';

/** A duel offered by one player to another, sent to both at every change of its status. */
export interface IChallengeOffer {
  offer_id: string;
  server_time: number;
  status: OfferStatus;
  challenger: IPlayerInfo;
  challenged: IPlayerInfo;
  pool: Pool;
  ranked: boolean;
  /** When an open offer expires (service epoch seconds). */
  expires_at: number;
}

/** One player of a running battle, as the room shows it to instructors. */
export interface IRoomPlayer {
  /** A handle. */
  name: string;
  display_name: string;
  guest: boolean;
  connected: boolean;
  submissions: number;
  best_passed: number;
  /** Large insertions in one edit so far. */
  pastes: number;
}

export interface IRoomBattle {
  battle_id: string;
  challenge_id: string;
  challenge_title: string;
  difficulty: string;
  ranked: boolean;
  mirror: MirrorMode;
  players: IRoomPlayer[];
  total_tests: number;
  started_at: number;
  deadline: number;
  /** The two codes' similarity now, 0..1 (null: nothing to compare yet). */
  similarity: number | null;
}

export interface IRoomWaiting {
  /** A handle. */
  name: string;
  display_name: string;
  pool: Pool;
  ranked: boolean;
  rating: number;
  waited_s: number;
}

/** What an instructor watching the room gets, at once and after every change. */
export interface IRoomState {
  battles: IRoomBattle[];
  queue: IRoomWaiting[];
  /** Handles of every connected player. */
  online: string[];
  /** The class setting: the pack new battles draw from, or null. */
  pack: string | null;
  /** The class setting: the challenge new battles use, or null. */
  challenge_id: string | null;
  /** Names of the loaded challenge packs. */
  packs: string[];
  server_time: number;
}

/** The answer to `spectate`: the battle as it is now, at full fidelity. */
export interface ISpectateState {
  battle_id: string;
  challenge: IChallengeView;
  players: IPlayerInfo[];
  codes: IPlayerCode[];
  /** The `seq` of each player's code, in `players` order. */
  seqs: number[];
  ranked: boolean;
  mirror: MirrorMode;
  started_at: number;
  deadline: number;
  server_time: number;
  /** The judged submissions so far, oldest first. */
  results: ISubmissionResult[];
}

/** One edit of one player of a spectated battle (apply like `opponent_code`). */
export interface ISpectatorCode {
  battle_id: string;
  /** A handle. */
  player: string;
  seq: number;
  delta: DeltaOp[] | null;
  text: string | null;
}

// ------------------------------------------------------------------ tournaments (docs/tournaments.md)

export type TournamentFormat = 'arena' | 'swiss' | 'round_robin';
export type TournamentStatus = 'open' | 'running' | 'paused' | 'finished';

/** One tournament in `tournaments` / `list_tournaments` (newest first). */
export interface ITournamentSummary {
  id: string;
  name: string;
  format: TournamentFormat;
  status: TournamentStatus;
  /** Ended while games still run: no new game; `finished` when the last one ends. */
  ending: boolean;
  rated: boolean;
  players: number;
  /** The current round (arena: games are not in rounds, 0). */
  round: number;
  /** Swiss / round robin: how many rounds (null for an arena, or a round robin before it starts). */
  rounds: number | null;
  /** Service epoch seconds. */
  starts_at: number | null;
  /** Arena: when it ends (service epoch seconds). */
  ends_at: number | null;
  /** Grows with every change of the tournament. */
  version: number;
}

export type TournamentEntrantStatus = 'active' | 'paused' | 'withdrawn';

export interface ITournamentEntrant {
  /** A handle. */
  name: string;
  display_name: string;
  rating: number;
  status: TournamentEntrantStatus;
  /** The battle the entrant plays now. */
  battle_id: string | null;
}

export interface ITournamentStanding {
  rank: number;
  /** A handle. */
  name: string;
  display_name: string;
  score: number;
  games: number;
  wins: number;
  draws: number;
  losses: number;
  tiebreaks: { buchholz?: number; sonneborn_berger?: number };
  /** Arena: two wins in a row, games score double. */
  on_fire: boolean;
  withdrawn: boolean;
}

export type TournamentPairingStatus = 'pending' | 'playing' | 'finished' | 'bye' | 'forfeit';

/** One game of a tournament (or a bye). */
export interface ITournamentPairing {
  round: number;
  /** Handles; `second` is null for a bye. */
  first: string;
  second: string | null;
  battle_id: string | null;
  status: TournamentPairingStatus;
  points_first: number | null;
  points_second: number | null;
  /** The winner's handle (null: draw, or not over). */
  winner: string | null;
  reason: string | null;
  /** Per handle: tests passed by the best submission so far. */
  progress: Record<string, { passed: number; total: number }>;
}

/** A tournament in full: `tournament_state`, `GET api/tournaments/{id}`. */
export interface ITournamentView extends ITournamentSummary {
  created_at: number;
  pack: string | null;
  difficulty: string;
  duration_s: number | null;
  /** The service's clock when the view was made. */
  server_time: number;
  entrants: ITournamentEntrant[];
  standings: ITournamentStanding[];
  /** The current round's pairings (arena: the running games and the last 20). */
  pairings: ITournamentPairing[];
  /** Every finished game, oldest first. */
  games: ITournamentPairing[];
}

/** `tournaments`: the list changed (a tournament was created, or its status or number of players changed). */
export interface ITournamentsEvent {
  tournaments: ITournamentSummary[];
}

/** `tournament_state`: to every entrant when their tournament changes. */
export interface ITournamentStateEvent {
  tournament: ITournamentView;
}

export interface IErrorEvent {
  code: string;
  message: string;
  event: string | null;
  /** For `rate_limited` and `cooldown`: seconds until the same event is accepted again. */
  retry_after_s?: number | null;
}

/**
 * Where the service is: `embedded` in this Jupyter server, `external` (another server, tokens signed here) or
 * `hub` (the JupyterHub service: the browser logs in to it with its hub identity, no token).
 */
export type SessionMode = 'embedded' | 'external' | 'hub';

/** What `GET {baseUrl}jupyter-duel/session` answers (see the Jupyter server extension). */
export interface ISessionInfo {
  /** Absent from older servers: `embedded` or `external` then. */
  mode?: SessionMode;
  user: string;
  name: string;
  guest: boolean;
  guests_allowed: boolean;
  /** Null in hub mode: the hub identity is the proof. */
  token: string | null;
  socketio_url: string;
  socketio_path: string;
  api_url: string;
  /** Hub mode: where the browser logs in to the service (answers `IHubLogin` once the OAuth dance is done). */
  login_url?: string;
  version?: string;
  /** Hub mode: this server's own (embedded) service, used when the hub has no duel service. */
  fallback?: ISessionInfo | null;
  /** Hub mode, once signed in (not sent by the endpoint): the XSRF token REST calls to the service carry. */
  xsrf_token?: string | null;
}

/** What the hub service's `login_url` answers once the browser is logged in. */
export interface IHubLogin {
  name: string;
  display_name: string;
  instructor: boolean;
  /** The token the hub wants with every cookie-authenticated request of a page script (header X-XSRFToken). */
  xsrf_token?: string;
}

// ------------------------------------------------------------------ REST

export type HistoryResult = 'win' | 'loss' | 'draw' | 'aborted' | 'running';

/** A large insertion in one edit (a fair-play signal, not a verdict). */
export interface IPasteSignal {
  /** A handle. */
  player: string | null;
  chars: number;
  /** Seconds after the battle's clock started. */
  at_s: number;
}

/** One row of `GET {api_url}users/{handle}/battles` (newest first). */
export interface IHistoryEntry {
  battle_id: string;
  challenge_id: string;
  challenge_title?: string | null;
  /** The opponent's handle. */
  opponent: string | null;
  opponent_display_name?: string | null;
  result: HistoryResult;
  ranked: boolean;
  rating_before: number | null;
  rating_after: number | null;
  reason: string | null;
  started_at: number;
  ended_at: number | null;
  duration_s: number | null;
  /** The mirror mode the battle was played with (null for battles from before modes). */
  mirror?: MirrorMode | null;
  /** Token similarity of the two final codes, 0..1 (null: nothing to compare). */
  similarity?: number | null;
  pastes?: IPasteSignal[];
}

/** One accepted edit of a player's code: `[seconds into the battle, seq, delta or null, full text or null]`. */
export type TimelineEdit = [number, number, DeltaOp[] | null, string | null];

/** One test of a reviewed submission: `[kind, verdict, passed, time_ms]`. */
export type ReviewTest = ['sample' | 'hidden', Verdict, boolean, number];

/** One submission in a battle's review. */
export interface IReviewSubmission {
  /** A handle. */
  player: string | null;
  at_s: number;
  samples_only: boolean;
  verdict: Verdict | null;
  passed: number | null;
  total: number | null;
  tests: ReviewTest[];
  code: string;
}

/** `GET {api_url}battles/{id}`: a finished battle for its review and replay. */
export interface IBattleReview {
  battle_id: string;
  challenge_id: string;
  challenge: IChallengeView | null;
  challenge_title: string;
  /** Both players' handles (first player first). */
  players: (string | null)[];
  display_names: string[];
  winner: string | null;
  status: 'finished' | 'aborted';
  reason: string | null;
  note: string | null;
  ranked: boolean;
  mirror: MirrorMode | null;
  started_at: number;
  ended_at: number | null;
  duration_s: number | null;
  /** Per player `[before, after]`. */
  ratings: [number, number | null][];
  /** Per player `after - before` (null when not rated). */
  rating_deltas: (number | null)[];
  similarity: number | null;
  codes: (string | null)[];
  timelines: TimelineEdit[][];
  submissions: IReviewSubmission[];
}

/** One row of `GET {api_url}players/online`. */
export interface IOnlinePlayer {
  /** A handle. */
  name: string;
  display_name: string;
  guest: boolean;
  /** In a battle (cannot be challenged now). */
  busy: boolean;
}

/** One row of `GET {api_url}challenges`. */
export interface IChallengeSummary {
  id: string;
  title: string;
  difficulty: 'easy' | 'medium' | 'hard';
  tags: string[];
}

/** The name to show for a handle when no `display_name` came with it. */
export function displayName(handle: string | null | undefined): string {
  if (!handle) {
    return '';
  }
  return handle.startsWith(GUEST_PREFIX) ? handle.slice(GUEST_PREFIX.length) : handle;
}

/** Whether a handle is a guest's. */
export function isGuestHandle(handle: string | null | undefined): boolean {
  return !!handle && handle.startsWith(GUEST_PREFIX);
}

/**
 * The outline of `code` as the service computes it for the `shape` mirror: per line, the indentation in columns
 * (a tab is 4) and the length of the rest without trailing whitespace, both in code points.
 */
export function codeShape(code: string, maxLines = 400): [number, number][] {
  return code
    .split('\n')
    .slice(0, maxLines)
    .map(line => {
      const body = line.replace(/^[ \t]+/, '');
      let indent = 0;
      for (const ch of line.slice(0, line.length - body.length)) {
        indent = ch === '\t' ? indent + 4 - (indent % 4) : indent + 1;
      }
      return [indent, Array.from(body.trimEnd()).length] as [number, number];
    });
}

/** How one battle ended, from the point of view of one player. */
export type Outcome = 'won' | 'lost' | 'draw' | 'aborted';

/** The viewing player's outcome of a finished battle. */
export function outcomeFor(me: string, complete: IBattleComplete): Outcome {
  if (complete.reason === 'aborted') {
    return 'aborted';
  }
  if (complete.winner === null) {
    return 'draw';
  }
  return complete.winner === me ? 'won' : 'lost';
}
