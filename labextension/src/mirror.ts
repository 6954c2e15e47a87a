/**
 * The incoming half of live code mirroring: keeps a read-only editor model equal to the opponent's code.
 *
 * `opponent_code` carries either the full text (replace) or a delta against the previous text. A delta that
 * does not fit (a message was missed, e.g. during our own reconnect) is dropped and the mirror is marked stale
 * until the next full text arrives.
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
    this._text = initialText;
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

  apply(msg: IOpponentCode): void {
    let next: string;
    if (typeof msg.text === 'string') {
      next = msg.text;
      this._stale = false;
    } else if (Array.isArray(msg.delta) && !this._stale) {
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
  private _stale = false;
  private _changed = new Signal<this, void>(this);
}
