/**
 * Outgoing half of live code mirroring: turns "the editor now holds this text" into `sync_code` payloads.
 *
 * - the first message of a battle is the full `text` (seq 1), later ones are deltas against what was last sent;
 * - updates are coalesced and sent at most every `intervalMs`, so typing does not flood the service;
 * - `resync()` (after an `out_of_sync` error or a reconnect) sends the full text with the next seq, which the
 *   service always accepts;
 * - after a `battle_state` (resume) a new instance continues from the service's `your_seq` / `your_code`.
 *
 * `send` must refuse (return false) while disconnected: nothing is buffered, the resume path resends.
 */
import { diffText } from './delta';
import type { ISyncCode } from './protocol';

export class CodeSync {
  constructor(options: CodeSync.IOptions) {
    this._battleId = options.battleId;
    this._send = options.send;
    this._intervalMs = options.intervalMs ?? 80;
    this._current = options.initialText;
    if (options.resumeFrom) {
      this._seq = options.resumeFrom.seq;
      this._sent = options.resumeFrom.text;
      this._needFull = false;
    }
  }

  /** The last sequence number used. */
  get seq(): number {
    return this._seq;
  }

  /** The editor's latest text (sent or not). */
  get text(): string {
    return this._current;
  }

  /** Record the editor's current text; it is sent soon (throttled). */
  update(text: string): void {
    this._current = text;
    this._schedule();
  }

  /** Send the full text with the next seq at the next opportunity. */
  resync(): void {
    this._needFull = true;
    this._schedule();
  }

  /** Send what is pending right now (e.g. before a submission). Returns false when `send` refused. */
  flush(): boolean {
    this._clearTimer();
    if (this._stopped) {
      return true;
    }
    const text = this._current;
    let payload: ISyncCode;
    if (this._needFull || this._sent === null) {
      payload = { battle_id: this._battleId, seq: this._seq + 1, text };
    } else {
      if (text === this._sent) {
        return true;
      }
      payload = { battle_id: this._battleId, seq: this._seq + 1, delta: diffText(this._sent, text) };
    }
    if (!this._send(payload)) {
      // Not connected: the service's copy is now unknown, so the next message must be the full text.
      this._needFull = true;
      return false;
    }
    this._seq = payload.seq;
    this._sent = text;
    this._needFull = false;
    this._lastSentAt = Date.now();
    return true;
  }

  /** Stop sending (battle over). */
  stop(): void {
    this._stopped = true;
    this._clearTimer();
  }

  private _schedule(): void {
    if (this._stopped || this._timer !== null) {
      return;
    }
    const wait = Math.max(0, this._lastSentAt + this._intervalMs - Date.now());
    this._timer = window.setTimeout(() => {
      this._timer = null;
      this.flush();
    }, wait);
  }

  private _clearTimer(): void {
    if (this._timer !== null) {
      window.clearTimeout(this._timer);
      this._timer = null;
    }
  }

  private readonly _battleId: string;
  private readonly _send: (payload: ISyncCode) => boolean;
  private readonly _intervalMs: number;
  private _current: string;
  private _sent: string | null = null;
  private _seq = 0;
  private _needFull = true;
  private _stopped = false;
  private _lastSentAt = 0;
  private _timer: number | null = null;
}

export namespace CodeSync {
  export interface IOptions {
    battleId: string;
    /** The text the editor starts with (sent as the first, full-text message). */
    initialText: string;
    /** Emit one `sync_code`; return false when it could not be sent (disconnected). */
    send: (payload: ISyncCode) => boolean;
    /** Minimum time between two messages. */
    intervalMs?: number;
    /** Continue after a resume: the service's last accepted `seq` and its copy of the text. */
    resumeFrom?: { seq: number; text: string };
  }
}
