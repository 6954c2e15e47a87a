/**
 * The main-area **Duel history** widget (`duel:open-history`): the player's battles, their rating over time
 * (`chart.ts`) and the leaderboard, all from the service's REST API (`rest.ts`).
 *
 * Refreshed when shown, after every `battle_complete` and when the player's identity changes.
 *
 * Each battle row also carries its fair-play signals (the final codes' similarity, large pastes): flags for a
 * person to look at, never verdicts, so they are shown as neutral chips with a tooltip saying what they measure.
 */
import type { CommandRegistry } from '@lumino/commands';
import { Widget } from '@lumino/widgets';
import type { Message } from '@lumino/messaging';

import { RatingChart, type IRatingPoint } from './chart';
import { CommandIDs } from './commands';
import { formatDelta, formatDuration, h } from './dom';
import { duelIcon } from './icons';
import {
  displayName,
  isGuestHandle,
  type IHistoryEntry,
  type IPasteSignal,
  type IUserProfile,
  type MirrorMode
} from './protocol';
import { fetchHistory, fetchLeaderboard } from './rest';
import type { IDuelClient } from './tokens';

const LEADERBOARD_SIZE = 20;

/** From this similarity of the two final codes on, the row shows a "similar" chip. */
export const SIMILARITY_FLAG = 0.8;

const MIRROR_TEXT: Record<MirrorMode, string> = {
  live: 'live',
  delayed: 'delayed',
  shape: 'outline',
  off: 'hidden'
};

const MIRROR_TITLE: Record<MirrorMode, string> = {
  live: 'Each player saw the other’s code as it was typed',
  delayed: 'Each player saw the other’s code some seconds late',
  shape: 'Each player saw only the outline of the other’s code, no text',
  off: 'Neither player saw the other’s code until the end'
};

const RESULT_TEXT: Record<string, string> = {
  win: 'W',
  loss: 'L',
  draw: 'D',
  aborted: 'aborted',
  running: 'running'
};

export class DuelHistory extends Widget {
  constructor(options: DuelHistory.IOptions) {
    super();
    this._client = options.client;
    this._openReview = options.openReview ?? null;
    this._commands = options.commands ?? null;
    this.id = 'jupyter-duel-history';
    this.addClass('jp-DuelHistory');
    this.title.label = 'Duel history';
    this.title.caption = 'Your duels, rating and the leaderboard';
    this.title.icon = duelIcon;
    this.title.closable = true;

    this._who = h('span', { class: 'jp-DuelHistory-who' });
    this._rating = h('span', { class: 'jp-DuelHistory-rating' });
    this._provisional = h(
      'span',
      { class: 'jp-DuelTag jp-mod-provisional', title: 'Rating still settling: it moves faster for a few games' },
      'provisional'
    );
    this._provisional.hidden = true;
    this._status = h('span', { class: 'jp-DuelSidebar-hint', testid: 'duel-history-status' });
    const refresh = h('button', { class: 'jp-mod-styled jp-DuelButton', testid: 'duel-history-refresh' }, 'Refresh');
    refresh.addEventListener('click', () => void this.refresh());

    this._chart = new RatingChart();
    this._rows = h('tbody', {});
    this._emptyRows = h('p', { class: 'jp-DuelSidebar-hint' }, 'No duel yet.');
    this._leaders = h('tbody', {});

    this.node.append(
      h(
        'header',
        { class: 'jp-DuelHistory-header' },
        h('h1', { class: 'jp-DuelHistory-title' }, 'Duel history'),
        h('div', { class: 'jp-DuelHistory-profile' }, this._who, this._rating, this._provisional),
        h('div', { class: 'jp-DuelHistory-actions' }, this._status, refresh)
      ),
      h(
        'div',
        { class: 'jp-DuelHistory-body' },
        h(
          'section',
          { class: 'jp-DuelHistory-section jp-mod-chart' },
          h('h2', { class: 'jp-DuelView-sectionTitle' }, 'Rating'),
          this._chart.node
        ),
        h(
          'section',
          { class: 'jp-DuelHistory-section jp-mod-leaderboard' },
          h('h2', { class: 'jp-DuelView-sectionTitle' }, `Leaderboard (top ${LEADERBOARD_SIZE})`),
          // Fixed columns: a long name is cut with an ellipsis (whole in its tooltip), never pushing the numbers out.
          h(
            'table',
            { class: 'jp-DuelTable jp-mod-leaderboard', testid: 'duel-leaderboard' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', { class: 'jp-DuelTable-rank' }, '#'),
                h('th', { class: 'jp-DuelTable-playerHead' }, 'Player'),
                h('th', { class: 'jp-mod-num jp-DuelTable-rating' }, 'Rating'),
                h('th', { class: 'jp-mod-num jp-DuelTable-record', testid: 'duel-leaderboard-record' }, 'W/L/D')
              )
            ),
            this._leaders
          )
        ),
        h(
          'section',
          { class: 'jp-DuelHistory-section jp-mod-battles' },
          h('h2', { class: 'jp-DuelView-sectionTitle' }, 'Battles'),
          h(
            'table',
            { class: 'jp-DuelTable', testid: 'duel-history' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', {}, 'Date'),
                h('th', {}, 'Opponent'),
                h('th', {}, 'Challenge'),
                h('th', {}, 'Result'),
                h('th', { class: 'jp-mod-num' }, 'Rating'),
                h('th', { class: 'jp-mod-num' }, 'Duration'),
                h('th', { title: 'What each player saw of the other’s code during the battle' }, 'Mirror'),
                h(
                  'th',
                  { title: 'Signals for a person to review (similar final codes, large pastes); not verdicts' },
                  'Review flags'
                ),
                h('th', { title: 'Both codes, every submission and a replay of the typing' }, 'Replay'),
                this._commands ? h('th', {}, 'Notebook') : null
              )
            ),
            this._rows
          ),
          this._emptyRows
        )
      )
    );

    this._client.battleComplete.connect(this._onBattleComplete, this);
    this._client.stateChanged.connect(this._onStateChanged, this);
  }

  /** Re-read the theme colours (called on `IThemeManager.themeChanged`). */
  refreshTheme(): void {
    this._chart.refreshTheme();
    // The new theme's stylesheet may still be applying: redraw once more a moment later.
    window.setTimeout(() => {
      if (!this.isDisposed) {
        this._chart.refreshTheme();
      }
    }, 300);
  }

  /** Fetch the history and the leaderboard again. */
  async refresh(): Promise<void> {
    const client = this._client;
    const session = client.session;
    const me = client.profile?.name ?? null;
    if (!session || !me) {
      this._status.textContent = 'Not connected.';
      return;
    }
    const generation = ++this._generation;
    this._status.textContent = 'Loading…';
    this.node.dataset.loading = 'true';
    try {
      const [battles, leaders] = await Promise.all([fetchHistory(session, me), fetchLeaderboard(session)]);
      if (generation !== this._generation || this.isDisposed) {
        return;
      }
      this._renderProfile(leaders.find(p => p.name === me) ?? client.profile);
      this._renderBattles(battles, me);
      this._renderLeaders(leaders, me);
      this._chart.update(ratingPoints(battles));
      this._status.textContent = `Updated ${new Date().toLocaleTimeString()}`;
      this._loadedFor = me;
    } catch (reason) {
      if (generation === this._generation) {
        this._status.textContent = `Cannot load the history: ${reason instanceof Error ? reason.message : String(reason)}`;
      }
    } finally {
      if (generation === this._generation) {
        delete this.node.dataset.loading;
      }
    }
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    window.clearTimeout(this._pending);
    this._client.battleComplete.disconnect(this._onBattleComplete, this);
    this._client.stateChanged.disconnect(this._onStateChanged, this);
    this._chart.dispose();
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this.refresh();
  }

  private _onBattleComplete(): void {
    // The service records the battle as it sends `battle_complete`; refresh at once and once more shortly after.
    void this.refresh();
    window.clearTimeout(this._pending);
    this._pending = window.setTimeout(() => void this.refresh(), 1500);
  }

  private _onStateChanged(): void {
    const me = this._client.profile?.name ?? null;
    if (me && me !== this._loadedFor && this.isVisible) {
      this._loadedFor = me;
      void this.refresh();
    }
  }

  /** "Export": a finished battle saved as a notebook in the player's files (nothing for a running one). */
  private _exportButton(entry: IHistoryEntry): HTMLElement | null {
    const commands = this._commands;
    if (!commands || entry.result === 'running') {
      return null;
    }
    const label = `Export the duel against ${opponentName(entry)} as a notebook`;
    const button = h(
      'button',
      {
        class: 'jp-mod-styled jp-DuelButton jp-DuelOutlineButton',
        testid: 'duel-history-export',
        title: label,
        'aria-label': label
      },
      'Export'
    );
    button.addEventListener('click', () => {
      button.disabled = true;
      void commands
        .execute(CommandIDs.exportDuel, { battleId: entry.battle_id })
        .finally(() => (button.disabled = false));
    });
    return button;
  }

  private _renderProfile(profile: IUserProfile | null): void {
    this._who.textContent = profile?.display_name ?? displayName(profile?.name);
    this._who.title = this._who.textContent;
    this._rating.textContent = profile ? `${Math.round(profile.rating)}` : '–';
    this._provisional.hidden = !profile?.provisional;
  }

  private _renderBattles(battles: IHistoryEntry[], me: string): void {
    this._emptyRows.hidden = battles.length > 0;
    this._rows.replaceChildren(
      ...battles.map(b => {
        const before = b.rating_before;
        const after = b.rating_after;
        const delta = before !== null && after !== null ? after - before : null;
        const rating =
          before === null
            ? '–'
            : after === null || b.result === 'running'
              ? `${Math.round(before)}`
              : `${Math.round(before)} → ${Math.round(after)}`;
        return h(
          'tr',
          {
            class: `jp-DuelHistory-row jp-mod-${b.result}`,
            testid: 'duel-history-row',
            'data-result': b.result,
            'data-battle-id': b.battle_id,
            'data-ranked': String(b.ranked),
            'data-mirror': b.mirror ?? undefined,
            title: b.reason ? `Ended by ${b.reason.replace('_', ' ')}` : ''
          },
          h('td', {}, formatDate(b.ended_at ?? b.started_at)),
          h(
            'td',
            { 'data-opponent': b.opponent ?? undefined },
            nameSpan(opponentName(b)),
            isGuestHandle(b.opponent) ? h('span', { class: 'jp-DuelTag jp-mod-subtle' }, 'guest') : null
          ),
          h('td', {}, b.challenge_title || b.challenge_id),
          h(
            'td',
            {},
            h('span', { class: `jp-DuelResultBadge jp-mod-${b.result}` }, RESULT_TEXT[b.result] ?? b.result),
            b.ranked ? null : h('span', { class: 'jp-DuelSidebar-hint' }, ' casual')
          ),
          h(
            'td',
            { class: 'jp-mod-num' },
            rating,
            delta !== null && b.result !== 'running'
              ? h(
                  'span',
                  { class: `jp-DuelDelta ${delta > 0 ? 'jp-mod-up' : delta < 0 ? 'jp-mod-down' : ''}` },
                  ` (${formatDelta(delta)})`
                )
              : null
          ),
          h('td', { class: 'jp-mod-num' }, b.duration_s === null ? '–' : formatDuration(b.duration_s)),
          h(
            'td',
            { class: 'jp-DuelHistory-mirror', title: b.mirror ? MIRROR_TITLE[b.mirror] ?? '' : '' },
            b.mirror ? MIRROR_TEXT[b.mirror] ?? b.mirror : '–'
          ),
          h('td', { class: 'jp-DuelHistory-signals' }, ...signalChips(b, me)),
          h('td', {}, this._reviewButton(b)),
          this._commands ? h('td', {}, this._exportButton(b)) : null
        );
      })
    );
    this.node.dataset.player = me;
  }

  /** "Review" for a finished battle (none while it runs: the service keeps the record from its end). */
  private _reviewButton(b: IHistoryEntry): HTMLElement | null {
    const openReview = this._openReview;
    if (!openReview || b.result === 'running') {
      return null;
    }
    const button = h(
      'button',
      {
        class: 'jp-mod-styled jp-DuelButton jp-DuelHistory-review',
        testid: 'duel-history-review',
        'aria-label': `Review the duel against ${opponentName(b)}, ${formatDate(b.ended_at ?? b.started_at)}`
      },
      'Review'
    );
    button.addEventListener('click', () => openReview(b.battle_id));
    return button;
  }

  private _renderLeaders(all: IUserProfile[], me: string): void {
    // Players who never finished a rated battle (e.g. a Jupyter user who only opened the page) are noise here.
    const players = all.filter(p => p.games > 0 || p.name === me);
    const top = players.slice(0, LEADERBOARD_SIZE);
    const rows = top.map((p, i) => leaderRow(p, i + 1, p.name === me));
    const myIndex = players.findIndex(p => p.name === me);
    if (myIndex >= LEADERBOARD_SIZE) {
      rows.push(h('tr', { class: 'jp-DuelTable-gap' }, h('td', { colspan: 4 }, '…')));
      rows.push(leaderRow(players[myIndex], myIndex + 1, true));
    }
    this._leaders.replaceChildren(...rows);
  }

  private readonly _client: IDuelClient;
  private readonly _openReview: ((battleId: string) => void) | null;
  private readonly _commands: CommandRegistry | null;
  private readonly _who: HTMLSpanElement;
  private readonly _rating: HTMLSpanElement;
  private readonly _provisional: HTMLSpanElement;
  private readonly _status: HTMLSpanElement;
  private readonly _chart: RatingChart;
  private readonly _rows: HTMLTableSectionElement;
  private readonly _emptyRows: HTMLParagraphElement;
  private readonly _leaders: HTMLTableSectionElement;
  private _generation = 0;
  private _loadedFor: string | null = null;
  private _pending = 0;
}

export namespace DuelHistory {
  export interface IOptions {
    client: IDuelClient;
    /** Open a finished battle's review (the rows get no "Review" button without it). */
    openReview?: (battleId: string) => void;
    /** The app's commands: with them each finished battle's row has an "Export" (to a notebook) button. */
    commands?: CommandRegistry;
  }
}

/**
 * Rating over time from the history (newest first): the rating before the oldest rated battle, then the rating
 * after each rated battle that finished. Casual, aborted-unrated and running battles do not move the rating.
 */
export function ratingPoints(battles: IHistoryEntry[]): IRatingPoint[] {
  const rated = battles
    .filter(b => b.ranked && b.result !== 'running' && b.rating_before !== null && b.rating_after !== null)
    .slice()
    .reverse();
  if (rated.length === 0) {
    return [];
  }
  const points: IRatingPoint[] = [{ time: rated[0].started_at, rating: rated[0].rating_before!, label: 'start' }];
  for (const b of rated) {
    points.push({
      time: b.ended_at ?? b.started_at,
      rating: b.rating_after!,
      label: `${b.result} vs ${opponentName(b)}`
    });
  }
  return points;
}

/** The opponent's name as people read it. */
function opponentName(b: IHistoryEntry): string {
  return b.opponent_display_name || displayName(b.opponent) || '?';
}

/**
 * The review flags of one battle: "similar N%" when the final codes are alike, and per player the count of large
 * pastes, each with a tooltip saying what was measured. None when there is no signal.
 */
function signalChips(b: IHistoryEntry, me: string): HTMLElement[] {
  const chips: HTMLElement[] = [];
  if (typeof b.similarity === 'number' && b.similarity >= SIMILARITY_FLAG) {
    const percent = Math.round(b.similarity * 100);
    chips.push(
      h(
        'span',
        {
          class: 'jp-DuelSignal jp-mod-similar',
          testid: 'duel-signal-similar',
          'data-similarity': String(b.similarity),
          title:
            `The two final codes are ${percent}% alike once names, strings, numbers, comments and layout are set ` +
            'aside (the starter code does not count). Short or standard solutions are often alike: a flag to ' +
            'review, not proof of copying.'
        },
        `similar ${percent}%`
      )
    );
  }
  const byPlayer = new Map<string, IPasteSignal[]>();
  for (const paste of b.pastes ?? []) {
    const player = paste.player ?? '';
    byPlayer.set(player, [...(byPlayer.get(player) ?? []), paste]);
  }
  // The viewing player's own pastes first, then the opponent's.
  const players = [...byPlayer.keys()].sort((x, y) => Number(y === me) - Number(x === me));
  for (const player of players) {
    const pastes = byPlayer.get(player)!;
    const who = player === me ? 'You' : player === b.opponent ? opponentName(b) : displayName(player) || '?';
    const list = pastes.map(p => `• ${p.chars} characters at ${formatDuration(p.at_s)}`).join('\n');
    chips.push(
      h(
        'span',
        {
          class: 'jp-DuelSignal jp-mod-pastes',
          testid: 'duel-signal-pastes',
          'data-player': player,
          'data-count': String(pastes.length),
          title:
            `Large insertions in one edit by ${who === 'You' ? 'you' : who} (time into the duel):\n${list}\n` +
            'Pasting one’s own code is common: a flag to review, not proof of anything.'
        },
        `${who}: ${pastes.length} paste${pastes.length === 1 ? '' : 's'}`
      )
    );
  }
  return chips;
}

function leaderRow(p: IUserProfile, rank: number, me: boolean): HTMLTableRowElement {
  return h(
    'tr',
    {
      class: me ? 'jp-mod-me' : '',
      'data-me': me ? 'true' : undefined,
      'data-name': p.name,
      'data-display-name': p.display_name ?? displayName(p.name)
    },
    h('td', {}, String(rank)),
    h(
      'td',
      { class: 'jp-DuelTable-player' },
      nameSpan(p.display_name ?? displayName(p.name)),
      p.guest ? h('span', { class: 'jp-DuelTag jp-mod-subtle' }, 'guest') : null,
      p.provisional ? h('span', { class: 'jp-DuelTag jp-mod-provisional', title: 'Rating still settling' }, 'provisional') : null
    ),
    h('td', { class: 'jp-mod-num' }, String(Math.round(p.rating))),
    h('td', { class: 'jp-mod-num' }, `${p.wins}/${p.losses}/${p.draws}`)
  );
}

/** A player's name in a table cell: cut with an ellipsis when long, whole in the tooltip. */
function nameSpan(name: string): HTMLElement {
  return h('span', { class: 'jp-DuelTable-name', title: name }, name);
}

function formatDate(epochS: number): string {
  const d = new Date(epochS * 1000);
  return `${d.toLocaleDateString()} ${d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`;
}
