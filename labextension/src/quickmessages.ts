/**
 * Quick messages: canned reactions between the two players of a duel (`react` / `reaction` in
 * docs/protocol.md), no free text. The strip sits under the opponent's pane: one button per message, the latest
 * message said (announced politely to screen readers), and a mute switch that the preferences keep.
 */
import { h } from './dom';
import type { IReaction, ReactionName } from './protocol';
import type { IDuelClient } from './tokens';

/** Every quick message, in the order they are offered. */
export const QUICK_MESSAGES: ReadonlyArray<{ id: ReactionName; label: string }> = [
  { id: 'good_luck', label: 'Good luck!' },
  { id: 'have_fun', label: 'Have fun!' },
  { id: 'nice_one', label: 'Nice one!' },
  { id: 'oops', label: 'Oops' },
  { id: 'well_played', label: 'Well played' },
  { id: 'thanks', label: 'Thanks!' }
];

/** How long a message stays shown (ms). */
const SHOWN_MS = 8000;

export class QuickMessages {
  constructor(options: QuickMessages.IOptions) {
    this._options = options;
    const buttons = QUICK_MESSAGES.map(({ id, label }) => {
      const button = h(
        'button',
        { class: 'jp-mod-styled jp-DuelQuick-message', testid: `duel-quick-${id}`, title: `Say “${label}”` },
        label
      );
      button.addEventListener('click', () => void this.send(id));
      return button;
    });
    this._buttons = h('div', { class: 'jp-DuelQuick-buttons', role: 'group', 'aria-label': 'Quick messages' }, ...buttons);
    this._said = h('div', { class: 'jp-DuelQuick-said', testid: 'duel-quick-said', role: 'status', 'aria-live': 'polite' });
    this._mute = h('button', { class: 'jp-mod-styled jp-DuelQuick-mute', testid: 'duel-quick-mute' });
    this._mute.addEventListener('click', () => options.toggleMute());
    this.node = h(
      'div',
      { class: 'jp-DuelQuick', testid: 'duel-quick' },
      h('div', { class: 'jp-DuelQuick-row' }, this._said, this._mute),
      this._buttons
    );
    options.client.reactionReceived.connect(this._onReaction, this);
    options.client.stateChanged.connect(this.render, this);
    this.render();
  }

  readonly node: HTMLDivElement;

  /** Send a quick message; a refusal (too soon, the duel long over) is said in place. */
  async send(reaction: ReactionName): Promise<void> {
    const ack = await this._options.client.request('react', { battle_id: this._options.battleId, reaction });
    if (!ack.ok) {
      this._show(ack.error?.code === 'cooldown' ? 'Wait a moment before the next message.' : ack.error?.message ?? '', 'note');
    }
  }

  render(): void {
    const muted = !this._options.client.preferences.quickMessages;
    this.node.dataset.muted = String(muted);
    this._buttons.hidden = muted;
    this._mute.textContent = muted ? 'Unmute messages' : 'Mute';
    this._mute.setAttribute('aria-pressed', String(muted));
    this._mute.title = muted ? 'Show quick messages again' : 'Hide quick messages in duels';
    if (muted && this._said.dataset.kind === 'opponent') {
      this._show('', 'none');
    }
  }

  dispose(): void {
    window.clearTimeout(this._timer);
    this._options.client.reactionReceived.disconnect(this._onReaction, this);
    this._options.client.stateChanged.disconnect(this.render, this);
  }

  private _onReaction(_: IDuelClient, msg: IReaction): void {
    if (msg.battle_id !== this._options.battleId) {
      return;
    }
    const label = QUICK_MESSAGES.find(m => m.id === msg.reaction)?.label ?? msg.reaction;
    const mine = msg.player === this._options.you;
    if (!mine && !this._options.client.preferences.quickMessages) {
      return; // muted: the opponent's messages are not shown
    }
    this._show(`${mine ? 'You' : this._options.opponentName}: ${label}`, mine ? 'you' : 'opponent');
    this._said.dataset.reaction = msg.reaction;
  }

  private _show(text: string, kind: 'you' | 'opponent' | 'note' | 'none'): void {
    this._said.textContent = text;
    this._said.dataset.kind = kind;
    window.clearTimeout(this._timer);
    if (text) {
      this._timer = window.setTimeout(() => this._show('', 'none'), SHOWN_MS);
    }
  }

  private readonly _options: QuickMessages.IOptions;
  private readonly _buttons: HTMLDivElement;
  private readonly _said: HTMLDivElement;
  private readonly _mute: HTMLButtonElement;
  private _timer = 0;
}

export namespace QuickMessages {
  export interface IOptions {
    client: IDuelClient;
    battleId: string;
    /** This player's handle, and how the opponent is called. */
    you: string;
    opponentName: string;
    /** Mute or unmute quick messages (kept in the preferences). */
    toggleMute: () => void;
  }
}
