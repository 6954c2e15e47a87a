/**
 * Tournaments for players: the Duel panel's "Tournaments" card and the palette commands to join and leave.
 *
 * The card lists the open and running tournaments (and the finished ones the player was in), each with a
 * one-click Join. Once joined it shows the player's tournament: the standings with their row highlighted, the
 * current state (playing whom, waiting for an opponent, a bye, paused), the time left (arena) or the round
 * (Swiss, round robin), their games, Pause / Resume (arena) and Leave (asked first). A game is an ordinary
 * battle: it arrives as a `match_found` carrying the tournament's id and opens the duel view like any other.
 *
 * Everything is read from `IDuelClient` (`tournaments`, `tournament(id)`, `tournamentsChanged`); the rules the
 * views reflect are docs/tournaments.md's.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import { Dialog, InputDialog, Notification, showDialog, type ICommandPalette } from '@jupyterlab/apputils';
import type { CommandRegistry } from '@lumino/commands';
import { Widget } from '@lumino/widgets';

import { CommandIDs, PALETTE_CATEGORY } from './commands';
import { formatDuration, h } from './dom';
import type {
  ITournamentPairing,
  ITournamentSummary,
  ITournamentView,
  TournamentFormat,
  TournamentStatus
} from './protocol';
import type { IAck, IDuelClient } from './tokens';

export const FORMAT_TEXT: Record<TournamentFormat, string> = {
  arena: 'Arena',
  swiss: 'Swiss',
  round_robin: 'Round robin'
};

const STATUS_TEXT: Record<TournamentStatus, string> = {
  open: 'open',
  running: 'running',
  paused: 'paused',
  finished: 'finished'
};

/** How a finished game ended, as the game list says it. */
const REASON_TEXT: Record<string, string> = {
  solved: 'solved',
  time_limit: 'time limit',
  forfeit: 'forfeit',
  disconnect: 'opponent away',
  aborted: 'aborted',
  no_show: 'no-show',
  withdrawn: 'withdrawal'
};

/** A number of points: `1`, `½`, `2½`. */
export function formatPoints(points: number): string {
  const whole = Math.floor(points);
  const half = Math.abs(points - whole - 0.5) < 1e-9;
  if (half) {
    return whole === 0 ? '½' : `${whole}½`;
  }
  return Number.isInteger(points) ? String(points) : points.toFixed(1);
}

/** `1 point`, `½ point`, `2 points`. */
export function pointsText(points: number): string {
  return `${formatPoints(points)} ${points === 1 || points === 0.5 ? 'point' : 'points'}`;
}

/** `1 round`, `3 rounds`. */
function roundsText(rounds: number): string {
  return rounds === 1 ? '1 round' : `${rounds} rounds`;
}

/**
 * The player may enter `summary` now (as far as this browser can tell: the service decides), `view` being the
 * tournament as last read when this tab has it. docs/tournaments.md: anyone before the start; then an arena
 * takes late joiners and players back after leaving, a Swiss takes newcomers while rounds remain, a round robin
 * nobody (its schedule is fixed).
 */
export function joinable(summary: ITournamentSummary, me: string | null = null, view: ITournamentView | null = null): boolean {
  if (summary.status === 'finished') {
    return false;
  }
  if (summary.status === 'open' || summary.format === 'arena') {
    return true;
  }
  if (summary.format === 'round_robin') {
    return false;
  }
  const entered = !!me && !!view && view.entrants.some(e => e.name === me);
  return !entered && (summary.rounds === null || summary.round < summary.rounds);
}

/** The player is in `view` and has not withdrawn. */
function activeIn(view: ITournamentView | null, me: string | null): boolean {
  return !!view && !!me && view.entrants.some(e => e.name === me && e.status !== 'withdrawn');
}

/** The player's game of the current round, if any (pending or playing, or their bye). */
function currentPairing(view: ITournamentView, me: string): ITournamentPairing | null {
  const mine = view.pairings.filter(p => p.first === me || p.second === me);
  return (
    mine.find(p => p.status === 'playing' || p.status === 'pending') ??
    (view.format !== 'arena' ? (mine.find(p => p.status === 'bye' && p.round === view.round) ?? null) : null)
  );
}

/** The other player of a game, from `me`'s side (null for a bye). */
function opponentOf(game: ITournamentPairing, me: string): string | null {
  return game.first === me ? game.second : game.first;
}

/** `me`'s result of a finished game. */
function resultOf(game: ITournamentPairing, me: string): { result: 'won' | 'lost' | 'draw' | 'bye'; points: number } {
  const points = (game.first === me ? game.points_first : game.points_second) ?? 0;
  if (game.status === 'bye' || game.second === null) {
    return { result: 'bye', points };
  }
  if (game.winner === null) {
    return { result: 'draw', points };
  }
  return { result: game.winner === me ? 'won' : 'lost', points };
}

const RESULT_TEXT = { won: 'Won', lost: 'Lost', draw: 'Draw', bye: 'Bye' };
/** The history's result badges (the same colours for the same results). */
const RESULT_BADGE = { won: 'jp-mod-win', lost: 'jp-mod-loss', draw: 'jp-mod-draw', bye: 'jp-mod-running' };

/** The name to show for a handle in `view`. */
function nameIn(view: ITournamentView, handle: string | null): string {
  if (!handle) {
    return '';
  }
  const known = view.entrants.find(e => e.name === handle) ?? view.standings.find(s => s.name === handle);
  return known?.display_name ?? handle.replace(/^guest:/, '');
}

/** "Arena · rated · 4 players" */
function describe(summary: ITournamentSummary): string {
  const players = summary.players === 1 ? '1 player' : `${summary.players} players`;
  return `${FORMAT_TEXT[summary.format] ?? summary.format} · ${summary.rated ? 'rated' : 'casual'} · ${players}`;
}

/** Ask, then withdraw from `view`. Resolves to the ack, or null when the player kept playing. */
export async function confirmLeave(client: IDuelClient, view: ITournamentSummary): Promise<IAck | null> {
  const body =
    view.status === 'open'
      ? 'You are no longer entered; you may join again until it starts.'
      : view.format === 'arena'
        ? 'You get no new games (you may join again while it runs). A game you are playing now goes on to its end; ' +
          'your points stay in the standings.'
        : 'You get no new games and cannot come back into this tournament. A game you are playing now goes on to its ' +
          'end; your points stay in the standings.';
  const answer = await showDialog({
    title: `Leave ${view.name}?`,
    body,
    buttons: [Dialog.cancelButton({ label: 'Stay' }), Dialog.warnButton({ label: 'Leave' })]
  });
  if (!answer.button.accept) {
    return null;
  }
  return client.leaveTournament(view.id);
}

/**
 * The Duel panel's "Tournaments" card: the list (with Join), or one tournament as this player sees it.
 */
export class TournamentPanel extends Widget {
  constructor(options: TournamentPanel.IOptions) {
    super({ node: document.createElement('section') });
    this._client = options.client;
    this._commands = options.commands;
    this.addClass('jp-DuelCard');
    this.addClass('jp-DuelTournaments');
    this.node.dataset.testid = 'duel-tournaments';
    this.node.setAttribute('aria-labelledby', 'jp-DuelTournaments-heading');

    const refresh = h(
      'button',
      {
        class: 'jp-mod-styled jp-DuelButton jp-DuelIconButton',
        testid: 'duel-tournaments-refresh',
        title: 'Refresh the list of tournaments',
        'aria-label': 'Refresh tournaments'
      },
      '↻'
    );
    refresh.addEventListener('click', () => void this.refresh());
    this._error = h('div', { class: 'jp-DuelOffer-error', testid: 'duel-tournament-error', role: 'alert' });
    this._error.hidden = true;
    this._body = h('div', { class: 'jp-DuelTournaments-body' });
    this.node.append(
      h(
        'div',
        { class: 'jp-DuelTournaments-head' },
        h('h3', { class: 'jp-DuelSidebar-label jp-DuelTournaments-heading', id: 'jp-DuelTournaments-heading' }, 'Tournaments'),
        refresh
      ),
      this._error,
      this._body
    );

    this._client.tournamentsChanged.connect(this._render, this);
    this._client.stateChanged.connect(this._render, this);
    this._timer = window.setInterval(() => this._tick(), 1000);
    this._render();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    window.clearInterval(this._timer);
    this._client.tournamentsChanged.disconnect(this._render, this);
    this._client.stateChanged.disconnect(this._render, this);
    super.dispose();
  }

  /** The tournament shown (null: the list). */
  get selected(): string | null {
    return this._selectedId();
  }

  /** Show one tournament (null: the list) and bring the card into view. */
  showTournament(tournamentId: string | null): void {
    this._selected = tournamentId;
    this._browsing = tournamentId === null;
    this._render();
    this.node.scrollIntoView({ block: 'nearest' });
  }

  /** Ask the service for the list again (and the shown tournament's view). */
  async refresh(): Promise<void> {
    const ack = await this._client.listTournaments();
    this._showError(ack.ok ? null : (ack.error?.message ?? 'The tournaments cannot be listed.'));
    const id = this._selectedId();
    if (id) {
      await this._client.refreshTournament(id);
    }
  }

  /** Join `id` and show it. */
  async join(id: string): Promise<boolean> {
    this._showError(null);
    const ack = await this._client.joinTournament(id);
    if (!ack.ok) {
      this._showError(ack.error?.message ?? 'The tournament refused the entry.', ack.error?.code);
      return false;
    }
    this.showTournament(id);
    return true;
  }

  /**
   * The tournament to show: the one chosen, else (unless the player went back to the list) the newest one they
   * are playing in.
   */
  private _selectedId(): string | null {
    if (this._selected) {
      return this._selected;
    }
    if (this._browsing) {
      return null;
    }
    const me = this._client.profile?.name ?? null;
    const playing = this._client.myTournaments.find(v => v.status !== 'finished' && activeIn(v, me));
    if (playing) {
      // Kept once shown: when it finishes, its final standings stay on screen until the player goes back.
      this._selected = playing.id;
    }
    return playing?.id ?? null;
  }

  private _showError(message: string | null, code?: string): void {
    this._error.hidden = message === null;
    this._error.textContent = message ?? '';
    this._error.dataset.code = code ?? '';
  }

  private _render(): void {
    if (this.isDisposed) {
      return;
    }
    const client = this._client;
    const id = this._selectedId();
    const view = id ? client.tournament(id) : null;
    const summary = id ? (view ?? client.tournaments.find(t => t.id === id) ?? null) : null;
    const battle = client.battle;
    // Rebuilt only when something shown changed: a button under the pointer must not be replaced by its twin.
    const key = JSON.stringify([
      client.connectionState,
      client.profile?.name ?? null,
      id,
      summary ? [summary.version, summary.status] : null,
      view ? view.version : null,
      id ? null : client.tournaments.map(t => [t.id, t.version, t.status, t.players]),
      id ? null : client.myTournaments.map(v => [v.id, v.version]),
      battle ? [battle.match.battle_id, battle.complete !== null, battle.elsewhere !== null] : null,
      this._pending
    ]);
    if (key === this._key) {
      return;
    }
    this._key = key;
    if (id && summary) {
      this._body.replaceChildren(this._renderTournament(summary, view));
    } else {
      this._body.replaceChildren(this._renderList());
    }
    this._tick();
  }

  // ---------------------------------------------------------------- the list

  private _renderList(): HTMLElement {
    const client = this._client;
    const me = client.profile?.name ?? null;
    const mine = new Map(client.myTournaments.map(v => [v.id, v]));
    const shown = client.tournaments.filter(t => t.status !== 'finished' || mine.has(t.id));
    const list = h('ul', { class: 'jp-DuelTournaments-list', testid: 'duel-tournaments-list', 'aria-label': 'Tournaments' });
    for (const t of shown) {
      const entered = activeIn(mine.get(t.id) ?? null, me);
      const row = h('li', {
        class: `jp-DuelTournaments-item jp-mod-${t.status}`,
        testid: 'duel-tournament-row',
        'data-id': t.id,
        'data-status': t.status,
        'data-format': t.format,
        'data-joined': String(entered)
      });
      const action = entered || !joinable(t, me, mine.get(t.id) ?? null) ? this._viewButton(t) : this._joinButton(t);
      row.append(
        h(
          'div',
          { class: 'jp-DuelTournaments-itemMain' },
          h('div', { class: 'jp-DuelTournaments-name', title: t.name }, t.name),
          h(
            'div',
            { class: 'jp-DuelSidebar-hint' },
            `${describe(t)} · `,
            h('span', { class: `jp-DuelTournaments-status jp-mod-${t.status}`, testid: 'duel-tournament-row-status' }, STATUS_TEXT[t.status]),
            entered ? ' · you are in' : ''
          )
        ),
        action
      );
      list.append(row);
    }
    const empty = h(
      'div',
      { class: 'jp-DuelSidebar-hint', testid: 'duel-tournaments-empty' },
      client.connectionState === 'connected' ? 'No tournament is open right now.' : 'Tournaments show once connected.'
    );
    return shown.length ? list : empty;
  }

  private _joinButton(t: ITournamentSummary, label = 'Join'): HTMLButtonElement {
    const button = h(
      'button',
      {
        class: 'jp-mod-styled jp-mod-accept jp-DuelButton',
        testid: 'duel-tournament-join',
        'data-id': t.id,
        'aria-label': `${label} ${t.name}`,
        title: t.status === 'open' ? 'Enter before it starts' : 'Join while it runs'
      },
      label
    );
    button.disabled = this._client.connectionState !== 'connected' || this._pending === t.id;
    button.addEventListener('click', () => {
      this._pending = t.id;
      this._render();
      void this.join(t.id).finally(() => {
        this._pending = null;
        this._render();
      });
    });
    return button;
  }

  private _viewButton(t: ITournamentSummary): HTMLButtonElement {
    const button = h(
      'button',
      {
        class: 'jp-mod-styled jp-DuelButton jp-DuelOutlineButton',
        testid: 'duel-tournament-open',
        'data-id': t.id,
        'aria-label': `View ${t.name}`
      },
      'View'
    );
    button.addEventListener('click', () => {
      this.showTournament(t.id);
      void this._client.refreshTournament(t.id);
    });
    return button;
  }

  // ---------------------------------------------------------------- one tournament

  private _renderTournament(summary: ITournamentSummary, view: ITournamentView | null): HTMLElement {
    const client = this._client;
    const me = client.profile?.name ?? null;
    const back = h(
      'button',
      { class: 'jp-mod-styled jp-DuelButton jp-DuelTournaments-back', testid: 'duel-tournament-back' },
      '← All tournaments'
    );
    back.addEventListener('click', () => this.showTournament(null));
    this._timeNode = h('div', { class: 'jp-DuelTournaments-time', testid: 'duel-tournament-time', role: 'timer' });
    const root = h(
      'div',
      {
        class: 'jp-DuelTournament',
        testid: 'duel-tournament',
        'data-id': summary.id,
        'data-status': summary.status,
        'data-format': summary.format
      },
      back,
      h('div', { class: 'jp-DuelTournament-name', title: summary.name, testid: 'duel-tournament-name' }, summary.name),
      h('div', { class: 'jp-DuelSidebar-hint' }, `${describe(summary)} · ${STATUS_TEXT[summary.status]}`),
      this._timeNode
    );
    if (!view) {
      root.append(h('div', { class: 'jp-DuelSidebar-hint' }, 'Loading the standings…'));
      return root;
    }
    const entrant = me ? view.entrants.find(e => e.name === me) : undefined;
    root.append(this._renderStatus(view, me));
    if (entrant && entrant.status !== 'withdrawn') {
      root.append(this._renderActions(view, entrant.status));
    } else if (joinable(view, me, view)) {
      // Not in it, or back after leaving (an arena): one click, as from the list.
      root.append(h('div', { class: 'jp-DuelSidebar-buttons' }, this._joinButton(view, entrant ? 'Join again' : 'Join')));
    }
    root.append(this._renderStandings(view, me));
    if (me && entrant) {
      root.append(this._renderGames(view, me));
    }
    return root;
  }

  /** One line: where the player stands right now. */
  private _renderStatus(view: ITournamentView, me: string | null): HTMLElement {
    const entrant = me ? view.entrants.find(e => e.name === me) : undefined;
    const node = h('div', { class: 'jp-DuelTournament-status', testid: 'duel-tournament-status', role: 'status' });
    let state: string;
    const parts: (Node | string)[] = [];
    const game = me && entrant ? currentPairing(view, me) : null;
    if (!entrant || !me) {
      state = 'spectator';
      parts.push('You are not in this tournament.');
    } else if (view.status === 'finished') {
      state = 'finished';
      const row = view.standings.find(s => s.name === me);
      parts.push(row ? `Finished: you placed #${row.rank} with ${pointsText(row.score)}.` : 'Finished.');
    } else if (game && game.status !== 'bye') {
      state = 'playing';
      const battle = this._client.battle;
      parts.push('Playing ', h('strong', { class: 'jp-DuelName' }, nameIn(view, opponentOf(game, me))));
      if (entrant.status === 'withdrawn') {
        parts.push(' — your last game here: you left.');
      } else if (view.ending) {
        parts.push(' — the tournament is ending: this is your last game.');
      }
      if (battle && !battle.complete && battle.match.battle_id === game.battle_id) {
        const show = h('button', { class: 'jp-mod-styled jp-DuelButton', testid: 'duel-tournament-show-duel' }, 'Show duel');
        show.addEventListener('click', () => void this._commands.execute(CommandIDs.showDuel));
        parts.push(' ', show);
      }
    } else if (entrant.status === 'withdrawn') {
      state = 'withdrawn';
      parts.push('You left this tournament: no new games.');
    } else if (view.ending) {
      state = 'ending';
      parts.push('The tournament is ending: no new games; it is over when the last game ends.');
    } else if (view.status === 'open') {
      state = 'open';
      parts.push('You are in. Games start when the instructor starts the tournament.');
    } else if (view.status === 'paused') {
      state = 'tournament-paused';
      parts.push('The tournament is paused: no new games for now.');
    } else if (game && game.status === 'bye') {
      state = 'bye';
      parts.push(`A bye this round (${pointsText(game.points_first ?? 0)}): no opponent for you.`);
    } else if (entrant.status === 'paused') {
      state = 'paused';
      parts.push('Paused: you get no new opponent until you resume.');
    } else if (view.format === 'arena') {
      state = 'waiting';
      parts.push('Waiting for an opponent… a game starts as soon as another player is free.');
    } else {
      state = 'waiting';
      parts.push('Waiting for the next round: it starts when every game of this one is over.');
    }
    node.dataset.state = state;
    node.className = `jp-DuelTournament-status jp-mod-${state}`;
    node.append(...parts);
    return node;
  }

  private _renderActions(view: ITournamentView, status: string): HTMLElement {
    const box = h('div', { class: 'jp-DuelSidebar-buttons jp-mod-wrap' });
    if (view.status === 'finished' || status === 'withdrawn') {
      return box;
    }
    if (view.format === 'arena') {
      const paused = status === 'paused';
      const pause = h(
        'button',
        {
          class: 'jp-mod-styled jp-DuelButton jp-DuelOutlineButton',
          testid: 'duel-tournament-pause',
          'aria-pressed': String(paused),
          title: paused ? 'Get opponents again' : 'No new opponent until you resume (a game you play goes on)'
        },
        paused ? 'Resume' : 'Pause'
      );
      pause.addEventListener('click', () => {
        pause.disabled = true;
        void this._client.pauseTournament(view.id, !paused).then(ack => {
          pause.disabled = false;
          this._showError(ack.ok ? null : (ack.error?.message ?? 'The pause was refused.'), ack.error?.code);
        });
      });
      box.append(pause);
    }
    const leave = h('button', { class: 'jp-mod-styled jp-mod-warn jp-DuelButton', testid: 'duel-tournament-leave' }, 'Leave…');
    leave.addEventListener('click', () => {
      void confirmLeave(this._client, view).then(ack => {
        if (ack) {
          this._showError(ack.ok ? null : (ack.error?.message ?? 'Leaving was refused.'), ack.error?.code);
        }
      });
    });
    box.append(leave);
    return box;
  }

  private _renderStandings(view: ITournamentView, me: string | null): HTMLElement {
    const arena = view.format === 'arena';
    const table = h(
      'table',
      { class: 'jp-DuelTable jp-DuelTournament-standings', testid: 'duel-tournament-standings' },
      h('caption', { class: 'jp-DuelSidebar-label' }, 'Standings'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { class: 'jp-mod-num jp-DuelTournament-rank', scope: 'col', title: 'Rank' }, '#'),
          h('th', { scope: 'col' }, 'Player'),
          h('th', { class: 'jp-mod-num jp-DuelTournament-score', scope: 'col', title: 'Points' }, 'Pts'),
          h('th', { class: 'jp-mod-num jp-DuelTournament-record', scope: 'col', title: 'Wins–draws–losses' }, 'W–D–L')
        )
      )
    );
    const body = h('tbody', {});
    for (const row of view.standings) {
      const mine = row.name === me;
      const tr = h('tr', {
        class: mine ? 'jp-mod-me' : '',
        testid: 'duel-standing-row',
        'data-name': row.name,
        'data-rank': String(row.rank),
        'data-score': String(row.score),
        'data-me': String(mine),
        'data-withdrawn': String(row.withdrawn),
        'aria-current': mine ? 'true' : undefined
      });
      tr.append(
        h('td', { class: 'jp-mod-num' }, String(row.rank)),
        h(
          'td',
          { class: 'jp-DuelTable-player' },
          h(
            'div',
            { class: 'jp-DuelTournament-player' },
            // A player who left: struck through (a convention of tournament tables), said in words to a reader.
            h(
              'span',
              {
                class: `jp-DuelTable-name${row.withdrawn ? ' jp-mod-withdrawn' : ''}`,
                title: `${row.display_name}${mine ? ' (you)' : ''}${row.withdrawn ? ': left the tournament' : ''}`
              },
              row.display_name
            ),
            // The row is highlighted; this says it to a screen reader too.
            mine ? h('span', { class: 'jp-DuelVisuallyHidden' }, ' (you)') : null,
            arena && row.on_fire
              ? h(
                  'span',
                  {
                    class: 'jp-DuelTournament-fire',
                    testid: 'duel-standing-fire',
                    title: 'On fire: two wins in a row, games score double',
                    role: 'img',
                    'aria-label': 'on fire'
                  },
                  '🔥'
                )
              : null,
            row.withdrawn ? h('span', { class: 'jp-DuelVisuallyHidden' }, ' (left)') : null
          )
        ),
        h('td', { class: 'jp-mod-num', testid: 'duel-standing-score' }, formatPoints(row.score)),
        h('td', { class: 'jp-mod-num' }, `${row.wins}–${row.draws}–${row.losses}`)
      );
      body.append(tr);
    }
    if (!view.standings.length) {
      body.append(h('tr', {}, h('td', { colspan: 4, class: 'jp-DuelTable-gap' }, 'Nobody has joined yet.')));
    }
    table.append(body);
    return h('div', { class: 'jp-DuelTournament-tableBox' }, table);
  }

  private _renderGames(view: ITournamentView, me: string): HTMLElement {
    const games = view.games.filter(g => g.first === me || g.second === me).reverse();
    const list = h('ol', { class: 'jp-DuelTournament-games', testid: 'duel-tournament-games', 'aria-label': 'Your games' });
    for (const game of games) {
      const { result, points } = resultOf(game, me);
      const opponent = opponentOf(game, me);
      const reason = game.reason ? (REASON_TEXT[game.reason] ?? game.reason.replace(/_/g, ' ')) : '';
      list.append(
        h(
          'li',
          { class: `jp-DuelTournament-game jp-mod-${result}`, testid: 'duel-tournament-game', 'data-result': result, 'data-battle': game.battle_id ?? '' },
          h('span', { class: `jp-DuelResultBadge ${RESULT_BADGE[result]}` }, RESULT_TEXT[result]),
          h(
            'span',
            { class: 'jp-DuelTournament-gameText' },
            view.format === 'arena' ? '' : `R${game.round} · `,
            opponent ? `vs ${nameIn(view, opponent)}` : 'no opponent',
            reason ? ` · ${reason}` : ''
          ),
          h('span', { class: 'jp-DuelTournament-points', title: 'Points' }, `+${formatPoints(points)}`)
        )
      );
    }
    return h(
      'div',
      { class: 'jp-DuelTournament-gamesBox' },
      h('div', { class: 'jp-DuelSidebar-label' }, 'Your games'),
      games.length ? list : h('div', { class: 'jp-DuelSidebar-hint', testid: 'duel-tournament-no-games' }, 'No game finished yet.')
    );
  }

  /** The time left (arena) or the round (Swiss, round robin), refreshed every second. */
  private _tick(): void {
    const node = this._timeNode;
    const id = this._selectedId();
    if (!node || !node.isConnected || !id) {
      return;
    }
    const t = this._client.tournament(id) ?? this._client.tournaments.find(x => x.id === id);
    if (!t) {
      return;
    }
    let text: string;
    if (t.format === 'arena') {
      const duration = 'duration_s' in t ? (t as ITournamentView).duration_s : null;
      if (t.status === 'open') {
        text = duration ? `Lasts ${formatDuration(duration)} once started` : 'Not started yet';
      } else if (t.status === 'finished') {
        text = 'Over';
      } else if (t.ends_at !== null) {
        const left = (t.ends_at * 1000 + this._client.clockOffsetMs - Date.now()) / 1000;
        node.dataset.left = String(Math.max(0, Math.round(left)));
        text = left > 0 ? `${formatDuration(left)} left` : 'Time is up: the last games finish';
      } else {
        text = '';
      }
    } else if (t.status === 'open') {
      text = t.rounds ? `${roundsText(t.rounds)}, not started yet` : 'Not started yet';
    } else {
      text = t.rounds ? `Round ${t.round} of ${t.rounds}` : `Round ${t.round}`;
      if (t.status === 'finished') {
        text = t.rounds ? `Over after ${roundsText(t.rounds)}` : 'Over';
      }
    }
    node.dataset.round = String(t.round);
    if (node.textContent !== text) {
      node.textContent = text;
    }
  }

  private readonly _client: IDuelClient;
  private readonly _commands: CommandRegistry;
  private readonly _body: HTMLDivElement;
  private readonly _error: HTMLDivElement;
  private readonly _timer: number;
  private _timeNode: HTMLDivElement | null = null;
  private _selected: string | null = null;
  /** The player went back to the list: no tournament is shown by itself. */
  private _browsing = false;
  /** A join on its way. */
  private _pending: string | null = null;
  private _key = '';
}

export namespace TournamentPanel {
  export interface IOptions {
    client: IDuelClient;
    commands: CommandRegistry;
  }
}

/**
 * The palette commands: show the tournaments, join one (from its id, or picked from a list), leave the one the
 * player is in (asked first). `showPanel` brings the Duel panel forward.
 */
export function addTournamentCommands(
  app: JupyterFrontEnd,
  client: IDuelClient,
  panel: TournamentPanel,
  showPanel: () => void,
  palette: ICommandPalette | null
): void {
  const me = (): string | null => client.profile?.name ?? null;
  const canJoin = (): ITournamentSummary[] => {
    const mine = new Map(client.myTournaments.map(v => [v.id, v]));
    return client.tournaments.filter(t => {
      const view = mine.get(t.id) ?? null;
      return !activeIn(view, me()) && joinable(t, me(), view);
    });
  };
  const inNow = (): ITournamentView[] =>
    client.myTournaments.filter(v => v.status !== 'finished' && activeIn(v, me()));
  client.tournamentsChanged.connect(() => app.commands.notifyCommandChanged());

  app.commands.addCommand(CommandIDs.openTournaments, {
    label: 'Show Tournaments',
    caption: 'The open and running tournaments, and the one you play in',
    execute: () => {
      showPanel();
      panel.showTournament(panel.selected);
      void panel.refresh();
    }
  });
  app.commands.addCommand(CommandIDs.joinTournament, {
    label: args => (typeof args.name === 'string' ? `Join Tournament ${args.name}` : 'Join a Tournament…'),
    caption: 'Enter an open or running tournament: its games come to you one after another',
    isEnabled: args =>
      client.connectionState === 'connected' && (typeof args.tournamentId === 'string' || canJoin().length > 0),
    execute: async args => {
      let id = typeof args.tournamentId === 'string' ? args.tournamentId : null;
      if (!id) {
        const choices = canJoin();
        const labels = choices.map(t => `${t.name} (${describe(t)}, ${STATUS_TEXT[t.status]})`);
        const answer = await InputDialog.getItem({ title: 'Join a tournament', items: labels });
        if (!answer.button.accept || answer.value === null) {
          return;
        }
        id = choices[labels.indexOf(answer.value)]?.id ?? null;
      }
      if (!id) {
        return;
      }
      showPanel();
      if (!(await panel.join(id))) {
        Notification.error('Duel: the tournament refused the entry (the Duel panel says why).', { autoClose: 6000 });
      }
    }
  });
  app.commands.addCommand(CommandIDs.leaveTournament, {
    label: () => {
      const now = inNow();
      return now.length === 1 ? `Leave Tournament ${now[0].name}…` : 'Leave Tournament…';
    },
    caption: 'Withdraw from the tournament you play in (asked first; a running game goes on)',
    isEnabled: () => client.connectionState === 'connected' && inNow().length > 0,
    execute: async () => {
      const now = inNow();
      const shown = now.find(v => v.id === panel.selected) ?? now[0];
      if (!shown) {
        return;
      }
      const ack = await confirmLeave(client, shown);
      if (ack && !ack.ok) {
        Notification.error(`Duel: ${ack.error?.message ?? 'leaving was refused'}`, { autoClose: 6000 });
      }
    }
  });
  for (const command of [CommandIDs.openTournaments, CommandIDs.joinTournament, CommandIDs.leaveTournament]) {
    palette?.addItem({ command, category: PALETTE_CATEGORY });
  }
}
