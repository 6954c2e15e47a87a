/**
 * The incoming half of live code mirroring: keeps a read-only editor model equal to the opponent's code.
 *
 * `opponent_code` carries either the full text (replace) or a delta against the previous text. A delta that
 * does not fit (a message was missed, e.g. during our own reconnect) is dropped and the mirror is marked stale
 * until the next full text arrives (or a `battle_state` resets it). Sequence numbers are tracked so a delta that
 * is already contained in a reset text (sent before a `battle_state` but received after it) is skipped.
 */
import type { CodeEditor } from '@jupyterlab/codeeditor';
import { Signal } from '@lumino/signaling';

import { applyDelta, editRange } from './delta';
import type { IOpponentCode } from './protocol';

export class OpponentMirror {
  constructor(
    readonly model: CodeEditor.IModel,
    initialText: string
  ) {
    // Shown until the opponent's first message; deltas apply to the service's copy, which starts empty
    // (a client sends its full text first, but the practice bot starts with a delta on the empty text).
    this._text = '';
    model.sharedModel.setSource(initialText);
  }

  /** True while a delta could not be applied and a full text is awaited. */
  get stale(): boolean {
    return this._stale;
  }

  /** Emitted after every applied update (or when staleness changes). */
  get changed(): Signal<this, void> {
    return this._changed;
  }

  /** The last applied sequence number (0 before any). */
  get seq(): number {
    return this._seq;
  }

  /** Replace the mirror with the opponent's code as the service knows it (from `battle_state`). */
  reset(text: string, seq: number): void {
    this._seq = seq;
    this._stale = false;
    this._setText(text);
    this._changed.emit();
  }

  apply(msg: IOpponentCode): void {
    let next: string;
    if (typeof msg.text === 'string') {
      if (msg.seq <= this._seq) {
        return; // older than what is shown
      }
      next = msg.text;
      this._stale = false;
    } else if (Array.isArray(msg.delta) && !this._stale) {
      if (msg.seq <= this._seq) {
        return; // already contained in the text shown
      }
      if (this._seq > 0 && msg.seq !== this._seq + 1) {
        this._stale = true; // a delta was missed
        this._changed.emit();
        return;
      }
      try {
        next = applyDelta(this._text, msg.delta);
      } catch {
        this._stale = true;
        this._changed.emit();
        return;
      }
    } else {
      return;
    }
    this._seq = msg.seq;
    this._setText(next);
    this._changed.emit();
  }

  /** Patch only the changed range so the read-only editor keeps its scroll position. */
  private _setText(next: string): void {
    const shared = this.model.sharedModel;
    const current = shared.getSource();
    if (current !== next) {
      const { start, end, value } = editRange(current, next);
      shared.updateSource(start, end, value);
    }
    this._text = next;
  }

  private _text: string;
  private _seq = 0;
  private _stale = false;
  private _changed = new Signal<this, void>(this);
}
