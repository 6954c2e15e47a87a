/**
 * The opponent's code as an outline (`shape` mirror mode): one row per line, a bar offset by the line's
 * indentation and as wide as the rest of the line, in character cells of the code font. No text at all: the
 * player sees how far the opponent got (structure, length, nesting), never what they wrote.
 *
 * Rows are patched in place on every update (at most one a second), so a long outline does not flicker.
 */
import { Widget } from '@lumino/widgets';

import { h } from './dom';
import type { IOpponentShape } from './protocol';

export class ShapeView extends Widget {
  constructor() {
    super();
    this.addClass('jp-DuelShape');
    this.node.dataset.testid = 'duel-mirror-shape';
    this.node.setAttribute('role', 'img');
    this._stats = h('div', { class: 'jp-DuelShape-stats', testid: 'duel-shape-stats' });
    this._rows = h('div', { class: 'jp-DuelShape-rows' });
    this.node.append(this._stats, this._rows);
    this.setShape([], 0);
  }

  /** The outline shown: `[indent, length]` per line. */
  get lines(): [number, number][] {
    return this._lines;
  }

  /** Show the outline of an `opponent_shape` (or of a `battle_state`'s `opponent_shape`). */
  apply(msg: IOpponentShape): void {
    this.setShape(msg.lines, msg.chars);
  }

  setShape(lines: [number, number][], chars: number): void {
    this._lines = lines.map(([indent, length]) => [Math.max(0, indent), Math.max(0, length)]);
    const count = this._lines.length;
    const longest = this._lines.reduce((m, [indent, length]) => Math.max(m, indent + length), 0);
    this._stats.textContent = `${count} line${count === 1 ? '' : 's'} · ${chars} character${chars === 1 ? '' : 's'}`;
    this._stats.dataset.lines = String(count);
    this._stats.dataset.chars = String(chars);
    this.node.setAttribute(
      'aria-label',
      `Outline of the opponent's code: ${count} line${count === 1 ? '' : 's'}, ${chars} characters`
    );
    // Line numbers take as many cells as the largest one.
    this._rows.style.setProperty('--jp-DuelShape-digits', String(Math.max(2, String(count).length)));
    this._rows.style.setProperty('--jp-DuelShape-width', String(longest));

    const rows = this._rows.children;
    for (let i = 0; i < count; i++) {
      const [indent, length] = this._lines[i];
      let row = rows[i] as HTMLElement | undefined;
      if (!row) {
        row = newRow(i + 1);
        this._rows.append(row);
      }
      if (row.dataset.indent !== String(indent) || row.dataset.length !== String(length)) {
        row.dataset.indent = String(indent);
        row.dataset.length = String(length);
        const bar = row.lastElementChild as HTMLElement;
        bar.style.setProperty('--jp-DuelShape-indent', String(indent));
        bar.style.setProperty('--jp-DuelShape-length', String(length));
        bar.hidden = length === 0;
        row.title = length === 0 ? `Line ${i + 1}: empty` : `Line ${i + 1}: indent ${indent}, ${length} characters`;
      }
    }
    while (rows.length > count) {
      rows[rows.length - 1].remove();
    }
  }

  private _lines: [number, number][] = [];
  private readonly _stats: HTMLDivElement;
  private readonly _rows: HTMLDivElement;
}

function newRow(number: number): HTMLElement {
  return h(
    'div',
    { class: 'jp-DuelShape-line', testid: 'duel-shape-line', 'data-line': number },
    h('span', { class: 'jp-DuelShape-number', 'aria-hidden': 'true' }, String(number)),
    h('span', { class: 'jp-DuelShape-bar' })
  );
}
