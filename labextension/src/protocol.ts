/**
 * TypeScript mirror of the jupyter-duel Socket.IO protocol.
 *
 * `docs/protocol.md` is normative and `server/jupyter_duel_server/protocol.py` holds the pydantic models; these
 * interfaces copy them field by field so the compiler checks every payload this front end sends or reads.
 */

export type Pool = 'any' | 'easy' | 'medium' | 'hard';
export const POOLS: Pool[] = ['any', 'easy', 'medium', 'hard'];

export type Verdict = 'AC' | 'WA' | 'TLE' | 'MLE' | 'RE' | 'OLE' | 'CE' | 'REFUSED';

/** One retain/insert/delete op. Counts are in Unicode code points (Python `str` indices). */
export type DeltaOp = { retain: number } | { insert: string } | { delete: number };

// ------------------------------------------------------------------ client -> server

export interface IRegisterUser {
  token?: string;
  display_name?: string;
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
export const BOT_SPEEDS: BotSpeed[] = ['slow', 'normal', 'fast'];

export interface IPlayBot {
  pool?: Pool;
  speed?: BotSpeed;
}

// ------------------------------------------------------------------ shared objects

export interface IUserProfile {
  name: string;
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
  name: string;
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
}

export interface IRatingChange {
  name: string;
  before: number;
  after: number;
}

// ------------------------------------------------------------------ server -> client

export interface IRegistered {
  user: IUserProfile;
  battle_id: string | null;
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
}

export interface IOpponentStatus {
  battle_id: string;
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

export interface ITestResult {
  battle_id: string;
  submission_id: number;
  player: string;
  kind: 'sample' | 'hidden';
  index: number;
  total: number;
  passed: boolean;
  verdict: Verdict;
  time_ms: number;
  detail: ITestDetail | null;
}

export interface ISubmissionResult {
  battle_id: string;
  submission_id: number;
  player: string;
  samples_only: boolean;
  verdict: Verdict;
  passed: number;
  total: number;
  message: string | null;
}

/** The whole running battle as the player sees it (answer to `resume`). */
export interface IBattleState extends IMatchFound {
  your_code: string;
  your_seq: number;
  opponent_code: string;
  opponent_seq: number;
  opponent_connected: boolean;
  your_tests: ITestResult[];
  your_submissions: ISubmissionResult[];
  opponent_submissions: number;
  opponent_best_passed: number;
}

export type CompleteReason = 'solved' | 'forfeit' | 'time_limit' | 'disconnect' | 'aborted';

export interface IBattleComplete {
  battle_id: string;
  winner: string | null;
  reason: CompleteReason;
  ranked: boolean;
  ratings: IRatingChange[];
}

export interface IErrorEvent {
  code: string;
  message: string;
  event: string | null;
  /** For `rate_limited` and `cooldown`: seconds until the same event is accepted again. */
  retry_after_s?: number | null;
}

/** What `GET {baseUrl}jupyter-duel/session` answers (see the Jupyter server extension). */
export interface ISessionInfo {
  user: string;
  name: string;
  guest: boolean;
  guests_allowed: boolean;
  token: string;
  socketio_url: string;
  socketio_path: string;
  api_url: string;
}

// ------------------------------------------------------------------ REST

export type HistoryResult = 'win' | 'loss' | 'draw' | 'aborted' | 'running';

/** One row of `GET {api_url}users/{name}/battles` (newest first). */
export interface IHistoryEntry {
  battle_id: string;
  challenge_id: string;
  challenge_title?: string | null;
  opponent: string | null;
  result: HistoryResult;
  ranked: boolean;
  rating_before: number | null;
  rating_after: number | null;
  reason: string | null;
  started_at: number;
  ended_at: number | null;
  duration_s: number | null;
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
