/** The instructor's "Abort this duel" dialog: a reason both players will read, then `abort_battle`. */
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { h } from './dom';
import type { IDuelClient } from './tokens';

/** The service's limit on a reason's length. */
const REASON_MAX = 200;

class ReasonBody extends Widget implements Dialog.IBodyWidget<string> {
  constructor(what: string) {
    super();
    this.addClass('jp-DuelAbortDialog');
    this._input = h('input', {
      class: 'jp-mod-styled',
      type: 'text',
      maxlength: REASON_MAX,
      placeholder: 'e.g. Wrong pairing, please wait for the next round',
      'aria-label': 'Reason',
      testid: 'duel-abort-reason'
    });
    this.node.append(
      h('p', {}, what),
      h('p', { class: 'jp-DuelSidebar-hint' }, 'The duel ends without rating changes. Both players read your reason.'),
      h('label', { class: 'jp-DuelSidebar-label' }, 'Reason'),
      this._input
    );
  }

  getValue(): string {
    return this._input.value.trim();
  }

  private readonly _input: HTMLInputElement;
}

/** Ask for a reason and abort the battle; false when cancelled or refused (the refusal is shown). */
export async function askAbort(client: IDuelClient, battleId: string, what: string): Promise<boolean> {
  const result = await showDialog<string>({
    title: 'Abort this duel?',
    body: new ReasonBody(what),
    focusNodeSelector: 'input',
    buttons: [Dialog.cancelButton({ label: 'Keep it running' }), Dialog.warnButton({ label: 'Abort duel' })]
  });
  if (!result.button.accept) {
    return false;
  }
  const reason = (result.value ?? '').trim().slice(0, REASON_MAX);
  if (!reason) {
    Notification.warning('The duel was not aborted: give a reason, both players read it.', { autoClose: 5000 });
    return false;
  }
  const ack = await client.abortBattle(battleId, reason);
  if (!ack.ok) {
    Notification.error(`Duel: ${ack.error?.message ?? 'the abort was refused'}`, { autoClose: 6000 });
    return false;
  }
  return true;
}
