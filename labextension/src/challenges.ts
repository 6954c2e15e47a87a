/**
 * Challenges between players: the sidebar's "Challenge a player" card, the offer cards (incoming offers with
 * Accept / Decline, the status of the player's own offers) and the rematch box of a finished duel.
 *
 * An offer (`challenge_offer`) reaches both players at every change of its status: `offered`, then `accepted`
 * (a `match_found` follows), `declined`, `expired` or `cancelled`. `IDuelClient.offers` keeps the latest status
 * of each, so every view here renders from it.
 */
import { Widget } from '@lumino/widgets';

import { formatDuration, h } from './dom';
import type { IChallengeOffer, IOnlinePlayer, IPlayerInfo } from './protocol';
import { fetchOnlinePlayers } from './rest';
import type { IAck, IDuelClient, IOfferState } from './tokens';

/** How often the list of online players refreshes while the card is visible and idle (ms). */
const ONLINE_REFRESH_MS = 15_000;

/** The settled statuses, as the challenger reads them. */
const OUTGOING_TEXT: Record<string, (who: string) => string> = {
  accepted: who => `${who} accepted — the duel starts.`,
  declined: who => `${who} declined.`,
  expired: who => `${who} did not answer in time.`,
  cancelled: who => `The challenge to ${who} was cancelled (a player left or started another duel).`
};

/** The settled statuses, as the challenged player reads them. */
const INCOMING_TEXT: Record<string, (who: string) => string> = {
  accepted: who => `You accepted ${who}’s challenge.`,
  declined: who => `You declined ${who}’s challenge.`,
  expired: who => `${who}’s challenge expired.`,
  cancelled: who => `${who}’s challenge was cancelled.`
};

/** What kind of duel an offer is for: `any pool · casual`. */
export function offerKind(offer: IChallengeOffer): string {
  return `${offer.pool === 'any' ? 'any difficulty' : offer.pool} · ${offer.ranked ? 'ranked' : 'casual'}`;
}

/** The other player of an offer, from this player's side. */
export function counterpart(state: IOfferState): IPlayerInfo {
  return state.incoming ? state.offer.challenger : state.offer.challenged;
}

/** The sentence an incoming open offer is announced with. */
export function offerHeadline(state: IOfferState): string {
  const who = counterpart(state).display_name;
  return state.rematch ? `${who} offers a rematch` : `${who} challenges you to a duel`;
}

/** The line saying where an offer stands (for either side). */
export function offerStatusText(state: IOfferState): string {
  const who = counterpart(state).display_name;
  const offer = state.offer;
  if (offer.status === 'offered') {
    const left = Math.max(0, Math.ceil((state.expiresAt - Date.now()) / 1000));
    return state.incoming
      ? `${offerHeadline(state)} (${offerKind(offer)}) · ${formatDuration(left)} left`
      : `${state.rematch ? 'Rematch offered to' : 'Challenge sent to'} ${who} (${offerKind(offer)}) · waiting for an answer, ${formatDuration(left)} left`;
  }
  return (state.incoming ? INCOMING_TEXT : OUTGOING_TEXT)[offer.status]?.(who) ?? offer.status;
}

/**
 * One offer: its status, and for an incoming open offer the Accept / Decline buttons. `testid` prefixes the
 * test ids (`duel-offer`, `duel-rematch-offer`...).
 */
export function offerCard(client: IDuelClient, state: IOfferState, testid: string): HTMLElement {
  const offer = state.offer;
  const open = offer.status === 'offered';
  const status = h('div', { class: 'jp-DuelOffer-text', testid: `${testid}-text` }, offerStatusText(state));
  const card = h('div', {
    class: `jp-DuelOffer jp-mod-${offer.status} ${state.incoming ? 'jp-mod-incoming' : 'jp-mod-outgoing'}`,
    testid,
    'data-offer-id': offer.offer_id,
    'data-status': offer.status,
    'data-direction': state.incoming ? 'incoming' : 'outgoing',
    'data-from': offer.challenger.name,
    'data-to': offer.challenged.name,
    role: state.incoming && open ? 'alert' : 'status'
  });
  card.append(status);
  if (state.incoming && open) {
    const error = h('div', { class: 'jp-DuelOffer-error', testid: `${testid}-error` });
    error.hidden = true;
    const answer = (accept: boolean) => {
      accept_.disabled = decline.disabled = true;
      void client.answerChallenge(offer.offer_id, accept).then(ack => {
        if (!ack.ok) {
          accept_.disabled = decline.disabled = false;
          error.textContent = ack.error?.message ?? 'The answer was refused.';
          error.hidden = false;
        }
      });
    };
    const accept_ = h('button', { class: 'jp-mod-styled jp-mod-accept jp-DuelButton', testid: `${testid}-accept` }, 'Accept');
    const decline = h('button', { class: 'jp-mod-styled jp-DuelButton', testid: `${testid}-decline` }, 'Decline');
    accept_.addEventListener('click', () => answer(true));
    decline.addEventListener('click', () => answer(false));
    card.append(h('div', { class: 'jp-DuelOffer-buttons' }, accept_, decline), error);
  }
  return card;
}

/**
 * The sidebar's "Challenge a player" card: pick an online player and offer them a duel (with the pool and
 * ranked choice of the matchmaking card); below, every open offer and the recently settled ones.
 */
export class ChallengePanel extends Widget {
  constructor(options: { client: IDuelClient }) {
    super({ node: document.createElement('section') });
    this._client = options.client;
    this.addClass('jp-DuelCard');
    this.addClass('jp-DuelChallenge');
    this.node.dataset.testid = 'duel-challenge-panel';

    this._select = h('select', { class: 'jp-mod-styled', 'aria-label': 'Player to challenge', testid: 'duel-challenge-select' });
    const refresh = h(
      'button',
      { class: 'jp-mod-styled jp-DuelButton jp-DuelIconButton', testid: 'duel-online-refresh', title: 'Refresh the list of online players', 'aria-label': 'Refresh' },
      '↻'
    );
    refresh.addEventListener('click', () => void this.refresh());
    this._send = h('button', { class: 'jp-mod-styled jp-mod-accept jp-DuelButton', testid: 'duel-challenge-send' }, 'Challenge');
    this._send.addEventListener('click', () => void this._challenge());
    this._select.addEventListener('change', () => this._updateButton());
    this._note = h('div', { class: 'jp-DuelSidebar-hint', testid: 'duel-challenge-note' });
    this._error = h('div', { class: 'jp-DuelOffer-error', testid: 'duel-challenge-error', role: 'alert' });
    this._error.hidden = true;
    this._offers = h('div', { class: 'jp-DuelOffers', testid: 'duel-offers' });

    this.node.append(
      h('label', { class: 'jp-DuelSidebar-label' }, 'Challenge a player'),
      h('div', { class: 'jp-DuelChallenge-pick' }, this._select, refresh),
      h('div', { class: 'jp-DuelSidebar-buttons' }, this._send),
      this._note,
      this._error,
      this._offers
    );

    this._client.stateChanged.connect(this._onState, this);
    this._client.challengeOffer.connect(this._onOffer, this);
    this._timer = window.setInterval(() => this._tick(), 1000);
    this._onState();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    window.clearInterval(this._timer);
    this._client.stateChanged.disconnect(this._onState, this);
    this._client.challengeOffer.disconnect(this._onOffer, this);
    super.dispose();
  }

  /** The sidebar holding the card was hidden or shown: the list refreshes only while it shows. */
  setHidden(hidden: boolean): void {
    this._hidden = hidden;
    if (!hidden && Date.now() - this._lastRefresh > 2000) {
      void this.refresh();
    }
  }

  /** Ask the service who is online now. */
  async refresh(): Promise<void> {
    const session = this._client.session;
    if (!session || this._client.connectionState !== 'connected') {
      return;
    }
    this._lastRefresh = Date.now();
    try {
      this._players = await fetchOnlinePlayers(session);
      this._listError = null;
    } catch (reason) {
      this._listError = `Cannot list online players: ${reason instanceof Error ? reason.message : String(reason)}`;
    }
    this._renderPlayers();
  }

  private _onState(): void {
    const client = this._client;
    const me = client.profile?.name ?? null;
    if (client.connectionState === 'connected' && me !== this._me) {
      this._me = me;
      void this.refresh();
    }
    this._renderOffers();
    this._updateButton();
  }

  private _onOffer(_: IDuelClient, state: IOfferState): void {
    if (state.offer.status !== 'offered') {
      // Someone just became free or busy.
      void this.refresh();
    }
  }

  private _tick(): void {
    const open = this._client.offers.some(o => o.offer.status === 'offered');
    if (open) {
      this._renderOffers();
    }
    const shown = !this._hidden && this.node.isConnected;
    if (shown && Date.now() - this._lastRefresh > ONLINE_REFRESH_MS && !this._inBattle()) {
      void this.refresh();
    }
  }

  private _inBattle(): boolean {
    const battle = this._client.battle;
    return battle !== null && battle.complete === null;
  }

  private _renderPlayers(): void {
    const me = this._client.profile?.name;
    const previous = this._select.value;
    const others = this._players.filter(p => p.name !== me);
    others.sort((a, b) => Number(a.busy) - Number(b.busy) || a.display_name.localeCompare(b.display_name));
    const options: HTMLOptionElement[] = [
      h('option', { value: '' }, others.length ? 'Choose a player…' : 'Nobody else is online')
    ];
    for (const p of others) {
      const label = `${p.display_name}${p.guest ? ' (guest)' : ''}${p.busy ? ' — in a duel' : ''}`;
      options.push(h('option', { value: p.name, disabled: p.busy, 'data-guest': String(p.guest) }, label));
    }
    this._select.replaceChildren(...options);
    this._select.value = others.some(p => p.name === previous && !p.busy) ? previous : '';
    this._note.textContent =
      this._listError ?? `${others.length} other player${others.length === 1 ? '' : 's'} online. The duel uses your pool and ranked choice above.`;
    this._note.dataset.count = String(others.length);
    this._updateButton();
  }

  private _renderOffers(): void {
    const client = this._client;
    // Keep the nodes when nothing changed (buttons being clicked must not be replaced under the pointer).
    const key = client.offers.map(o => `${o.offer.offer_id}:${o.offer.status}`).join('|');
    if (key === this._offersKey) {
      // Only the remaining time changes.
      const texts = this._offers.querySelectorAll('[data-testid="duel-offer-text"]');
      client.offers.forEach((state, i) => {
        if (texts[i]) {
          texts[i].textContent = offerStatusText(state);
        }
      });
      return;
    }
    this._offersKey = key;
    this._offers.replaceChildren(...client.offers.map(state => offerCard(client, state, 'duel-offer')));
  }

  private _updateButton(): void {
    const client = this._client;
    const pending = client.offers.some(o => !o.incoming && o.offer.status === 'offered');
    this._send.disabled =
      client.connectionState !== 'connected' || !this._select.value || this._inBattle() || client.queue !== null || pending;
    this._select.disabled = this._inBattle();
  }

  private async _challenge(): Promise<void> {
    const name = this._select.value;
    if (!name) {
      return;
    }
    this._send.disabled = true;
    this._error.hidden = true;
    const ack: IAck = await this._client.challengePlayer(name);
    if (!ack.ok) {
      this._error.textContent = ack.error?.message ?? 'The challenge was refused.';
      this._error.dataset.code = ack.error?.code ?? '';
      this._error.hidden = false;
      void this.refresh();
    }
    this._updateButton();
  }

  private readonly _client: IDuelClient;
  private readonly _select: HTMLSelectElement;
  private readonly _send: HTMLButtonElement;
  private readonly _note: HTMLDivElement;
  private readonly _error: HTMLDivElement;
  private readonly _offers: HTMLDivElement;
  private readonly _timer: number;
  private _players: IOnlinePlayer[] = [];
  private _listError: string | null = null;
  private _lastRefresh = 0;
  private _me: string | null = null;
  private _offersKey = '';
  private _hidden = false;
}
