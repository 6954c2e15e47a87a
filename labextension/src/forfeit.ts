/** Forfeiting a running duel, always after the player confirms it. */
import { Dialog, showDialog } from '@jupyterlab/apputils';

import type { IDuelClient } from './tokens';

/**
 * Ask, then forfeit `battleId`. `opponent` and `ranked` say what the loss costs when this tab knows the battle
 * (a duel played in another tab is described in general terms). Resolves to whether the forfeit was sent.
 */
export async function confirmForfeit(
  client: IDuelClient,
  battleId: string,
  opponent?: { name: string; ranked: boolean }
): Promise<boolean> {
  const body = opponent
    ? `${opponent.name} wins${opponent.ranked ? ' and ratings change' : ''}.`
    : 'Your opponent wins the duel you are playing in another tab.';
  const answer = await showDialog({
    title: 'Forfeit this duel?',
    body,
    buttons: [Dialog.cancelButton({ label: 'Keep playing' }), Dialog.warnButton({ label: 'Forfeit' })]
  });
  return answer.button.accept && client.forfeit(battleId);
}
