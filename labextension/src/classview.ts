/**
 * The class view (instructors): the whole room at a glance, live, and the controls to run a class.
 *
 * While the view is shown it follows the room (`watch_room`): the service sends `room_state` at once and after
 * every change. It shows every running duel (players with guest marks and connection state, challenge and
 * difficulty, a clock, tests passed per player, fair-play flags, Spectate and Abort), the queue, the online
 * players, and the class controls: the pack or challenge new battles use (`class_settings`), pairing two
 * players (`pair_players`), and the results as CSV (`GET {api_url}class/results.csv`).
 *
 * Battle cards are keyed by battle id and updated in place, so a button is never replaced under the pointer.
 */
import type { CommandRegistry } from '@lumino/commands';
import type { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { askAbort } from './abort';
import { CommandIDs } from './commands';
import { formatDuration, h } from './dom';
import { duelIcon } from './icons';
import {
  displayName,
  isGuestHandle,
  type IChallengeSummary,
  type IRoomBattle,
  type IRoomPlayer,
  type IRoomState,
  type MirrorMode
} from './protocol';
import { fetchChallenges, fetchClassResults } from './rest';
import { pastesChip, SIMILARITY_FLAG, similarChip } from './spectate';
import type { IAck, IDuelClient } from './tokens';

const MIRROR_TEXT: Record<MirrorMode, string> = {
  live: 'live mirror',
  delayed: 'delayed mirror',
  shape: 'outline only',
  off: 'code hidden'
};

/** One running duel's card, updated in place at every `room_state`. */
class BattleCard {
  constructor(
    battle: IRoomBattle,
    private readonly _view: ClassView
  ) {
    this.battleId = battle.battle_id;
    this._title = h('span', { class: 'jp-DuelRoomBattle-title', testid: 'duel-room-challenge' });
    this._meta = h('span', { class: 'jp-DuelRoomBattle-meta' });
    this._clock = h('span', { class: 'jp-DuelRoomBattle-clock', testid: 'duel-room-clock', title: 'Time left' });
    this._players = h('div', { class: 'jp-DuelRoomBattle-players' });
    this._flags = h('div', { class: 'jp-DuelFlags' });
    const spectate = h(
      'button',
      { class: 'jp-mod-styled jp-mod-accept jp-DuelButton', testid: 'duel-room-spectate', title: 'Follow both codes live' },
      'Spectate'
    );
    spectate.addEventListener('click', () => this._view.spectate(this.battleId, this._label()));
    const abort = h(
      'button',
      { class: 'jp-mod-styled jp-mod-warn jp-DuelButton', testid: 'duel-room-abort', title: 'End this duel, unrated, with a reason' },
      'Abort…'
    );
    abort.addEventListener('click', () => void askAbort(this._view.client, this.battleId, `${this._label()}.`));
    this.node = h(
      'article',
      { class: 'jp-DuelRoomBattle', testid: 'duel-room-battle', 'data-battle-id': battle.battle_id },
      h('header', { class: 'jp-DuelRoomBattle-header' }, h('div', { class: 'jp-DuelRoomBattle-heading' }, this._title, this._meta), this._clock),
      this._players,
      h('footer', { class: 'jp-DuelRoomBattle-footer' }, this._flags, h('span', { class: 'jp-DuelRoomBattle-actions' }, spectate, abort))
    );
    this.update(battle, 0);
  }

  update(battle: IRoomBattle, offsetMs: number): void {
    this._battle = battle;
    this._offsetMs = offsetMs;
    this.node.dataset.ranked = String(battle.ranked);
    this.node.dataset.challenge = battle.challenge_id;
    this._title.textContent = battle.challenge_title;
    this._title.title = battle.challenge_id;
    const difficulty = ['easy', 'medium', 'hard'].includes(battle.difficulty) ? battle.difficulty : 'medium';
    this._meta.replaceChildren(
      h('span', { class: `jp-DuelDifficulty jp-mod-${difficulty}` }, battle.difficulty),
      h('span', { class: 'jp-DuelTag' }, battle.ranked ? 'ranked' : 'casual'),
      h('span', { class: 'jp-DuelTag jp-mod-subtle' }, MIRROR_TEXT[battle.mirror] ?? battle.mirror)
    );
    this._players.replaceChildren(...battle.players.map(p => playerRow(p, battle.total_tests)));
    const flags: HTMLElement[] = [];
    if (battle.similarity !== null && battle.similarity >= SIMILARITY_FLAG) {
      flags.push(similarChip(battle.similarity));
    }
    this.node.dataset.flagged = String(flags.length > 0 || battle.players.some(p => p.pastes > 0));
    this._flags.replaceChildren(...flags);
    this.tick();
  }

  /** The clock, counting to the deadline (or the start, during the countdown). */
  tick(): void {
    const battle = this._battle;
    if (!battle) {
      return;
    }
    const now = Date.now();
    const startsAt = battle.started_at * 1000 + this._offsetMs;
    const deadline = battle.deadline * 1000 + this._offsetMs;
    const counting = now < startsAt;
    const left = (deadline - (counting ? startsAt : now)) / 1000;
    this._clock.textContent = counting ? `starts in ${Math.ceil((startsAt - now) / 1000)}` : formatDuration(left);
    this._clock.dataset.state = left <= 0 ? 'over' : counting ? 'waiting' : left <= 60 ? 'low' : 'running';
    this._clock.dataset.left = String(Math.max(0, Math.round(left)));
  }

  private _label(): string {
    const battle = this._battle;
    return battle ? `${battle.players.map(p => p.display_name).join(' vs ')} on “${battle.challenge_title}”` : 'This duel';
  }

  readonly battleId: string;
  readonly node: HTMLElement;
  private readonly _title: HTMLSpanElement;
  private readonly _meta: HTMLSpanElement;
  private readonly _clock: HTMLSpanElement;
  private readonly _players: HTMLDivElement;
  private readonly _flags: HTMLDivElement;
  private _battle: IRoomBattle | null = null;
  private _offsetMs = 0;
}

/** One player of a duel card: presence, name, guest mark, a bar of tests passed, submissions and pastes. */
function playerRow(player: IRoomPlayer, total: number): HTMLElement {
  const ratio = total > 0 ? Math.min(1, player.best_passed / total) : 0;
  const bar = h(
    'span',
    {
      class: 'jp-DuelBar',
      testid: 'duel-room-bar',
      role: 'meter',
      'aria-valuemin': 0,
      'aria-valuemax': total,
      'aria-valuenow': player.best_passed,
      'aria-label': `${player.display_name}: ${player.best_passed} of ${total} tests passed`,
      title: `Best submission: ${player.best_passed} of ${total} tests passed`
    },
    h('span', { class: `jp-DuelBar-fill${ratio >= 1 ? ' jp-mod-full' : ''}`, style: `width: ${(ratio * 100).toFixed(1)}%` }),
    h('span', { class: 'jp-DuelBar-label' }, `${player.best_passed}/${total}`)
  );
  return h(
    'div',
    {
      class: 'jp-DuelRoomPlayer',
      testid: 'duel-room-player',
      'data-player': player.name,
      'data-connected': String(player.connected),
      'data-best': player.best_passed,
      'data-total': total,
      'data-submissions': player.submissions
    },
    h('span', {
      class: 'jp-DuelPresence',
      'data-connected': String(player.connected),
      title: player.connected ? 'Connected' : 'Disconnected'
    }),
    h(
      'span',
      { class: 'jp-DuelRoomPlayer-name' },
      h('span', { class: 'jp-DuelRoomPlayer-display', testid: 'duel-room-player-name' }, player.display_name),
      player.guest ? h('span', { class: 'jp-DuelTag', testid: 'duel-room-guest' }, 'guest') : null,
      player.connected ? null : h('span', { class: 'jp-DuelTag jp-mod-away' }, 'away')
    ),
    bar,
    h(
      'span',
      { class: 'jp-DuelRoomPlayer-subs', title: 'Judged submissions' },
      `${player.submissions} sub${player.submissions === 1 ? '' : 's'}`
    ),
    player.pastes > 0 ? pastesChip(player.pastes) : null
  );
}

export class ClassView extends Widget {
  constructor(options: ClassView.IOptions) {
    super();
    this.client = options.client;
    this._commands = options.commands;
    this.id = 'jupyter-duel-class-view';
    this.addClass('jp-DuelClass');
    this.node.dataset.testid = 'duel-class-view';
    this.title.label = 'Class view';
    this.title.caption = 'Every running duel, the queue and the class controls';
    this.title.icon = duelIcon;
    this.title.closable = true;

    // ---------------------------------------------------------- header
    this._status = h('span', { class: 'jp-DuelLive', testid: 'duel-class-status' }, 'Connecting…');
    this._counts = h('span', { class: 'jp-DuelSidebar-hint', testid: 'duel-class-counts' });
    this._exportAll = h('input', { type: 'checkbox', testid: 'duel-class-export-all' });
    this._export = h(
      'button',
      { class: 'jp-mod-styled jp-DuelButton', testid: 'duel-class-export', title: 'Download the finished duels as CSV' },
      'Export CSV'
    );
    this._export.addEventListener('click', () => void this._download());

    // ---------------------------------------------------------- sections
    this._battles = h('div', { class: 'jp-DuelRoomBattles', testid: 'duel-room-battles' });
    this._noBattles = h('p', { class: 'jp-DuelSidebar-hint', testid: 'duel-room-no-battles' }, 'No duel is running.');
    this._queue = h('tbody', {});
    this._noQueue = h('p', { class: 'jp-DuelSidebar-hint' }, 'Nobody is waiting.');
    this._online = h('div', { class: 'jp-DuelRoomOnline', testid: 'duel-room-online-list' });

    // ---------------------------------------------------------- class settings
    this._pack = h('select', { class: 'jp-mod-styled', 'aria-label': 'Challenge pack', testid: 'duel-class-pack' });
    this._challenge = h('select', { class: 'jp-mod-styled', 'aria-label': 'Challenge', testid: 'duel-class-challenge' });
    this._pack.addEventListener('change', () => {
      this._settingsDirty = true;
      if (this._pack.value) {
        this._challenge.value = '';
      }
    });
    this._challenge.addEventListener('change', () => {
      this._settingsDirty = true;
      if (this._challenge.value) {
        this._pack.value = '';
      }
    });
    const apply = h('button', { class: 'jp-mod-styled jp-mod-accept jp-DuelButton', testid: 'duel-class-apply' }, 'Apply');
    apply.addEventListener('click', () => void this._applySettings());
    const reset = h(
      'button',
      { class: 'jp-mod-styled jp-DuelButton', testid: 'duel-class-reset', title: 'Back to normal matchmaking' },
      'Reset'
    );
    reset.addEventListener('click', () => {
      this._pack.value = '';
      this._challenge.value = '';
      void this._applySettings();
    });
    this._current = h('div', { class: 'jp-DuelClass-current', testid: 'duel-class-current' });
    this._settingsStatus = h('div', { class: 'jp-DuelClass-result', testid: 'duel-class-settings-status', role: 'status' });

    // ---------------------------------------------------------- pairing
    this._first = h('select', { class: 'jp-mod-styled', 'aria-label': 'First player', testid: 'duel-pair-first' });
    this._second = h('select', { class: 'jp-mod-styled', 'aria-label': 'Second player', testid: 'duel-pair-second' });
    this._pairRanked = h('input', { type: 'checkbox', testid: 'duel-pair-ranked' });
    this._pair = h('button', { class: 'jp-mod-styled jp-mod-accept jp-DuelButton', testid: 'duel-pair-send' }, 'Pair');
    this._pair.addEventListener('click', () => void this._pairPlayers());
    this._first.addEventListener('change', () => this._updatePairButton());
    this._second.addEventListener('change', () => this._updatePairButton());
    this._pairStatus = h('div', { class: 'jp-DuelClass-result', testid: 'duel-pair-status', role: 'status' });

    this._notInstructor = h(
      'div',
      { class: 'jp-DuelClass-denied', testid: 'duel-class-denied' },
      'The class view is for instructors. Sign in as an instructor to see the room.'
    );

    this.node.append(
      h(
        'header',
        { class: 'jp-DuelClass-header' },
        h('h1', { class: 'jp-DuelHistory-title' }, 'Class view'),
        this._status,
        this._counts,
        h(
          'div',
          { class: 'jp-DuelClass-export' },
          h('label', { class: 'jp-DuelSidebar-check', title: 'Every battle the service has kept, not only this session’s' }, this._exportAll, ' all battles'),
          this._export
        )
      ),
      this._notInstructor,
      h(
        'div',
        { class: 'jp-DuelClass-body' },
        h(
          'div',
          { class: 'jp-DuelClass-main' },
          h(
            'section',
            { class: 'jp-DuelClass-section' },
            h('h2', { class: 'jp-DuelView-sectionTitle' }, 'Running duels'),
            this._noBattles,
            this._battles
          ),
          h(
            'section',
            { class: 'jp-DuelClass-section' },
            h('h2', { class: 'jp-DuelView-sectionTitle' }, 'Queue'),
            this._noQueue,
            h(
              'table',
              { class: 'jp-DuelTable', testid: 'duel-room-queue' },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  h('th', {}, 'Player'),
                  h('th', {}, 'Pool'),
                  h('th', {}, 'Kind'),
                  h('th', { class: 'jp-mod-num' }, 'Rating'),
                  h('th', { class: 'jp-mod-num' }, 'Waiting')
                )
              ),
              this._queue
            )
          )
        ),
        h(
          'aside',
          { class: 'jp-DuelClass-aside' },
          h(
            'section',
            { class: 'jp-DuelCard jp-DuelClass-controls', testid: 'duel-class-settings' },
            h('h2', { class: 'jp-DuelView-sectionTitle' }, 'New battles use'),
            h('label', { class: 'jp-DuelSidebar-label' }, 'Pack'),
            this._pack,
            h('label', { class: 'jp-DuelSidebar-label' }, 'or one challenge'),
            this._challenge,
            h('div', { class: 'jp-DuelSidebar-buttons' }, apply, reset),
            this._current,
            this._settingsStatus
          ),
          h(
            'section',
            { class: 'jp-DuelCard jp-DuelClass-controls', testid: 'duel-class-pair' },
            h('h2', { class: 'jp-DuelView-sectionTitle' }, 'Pair two players'),
            this._first,
            h('div', { class: 'jp-DuelClass-vs' }, 'vs'),
            this._second,
            h('label', { class: 'jp-DuelSidebar-check' }, this._pairRanked, ' Ranked (changes ratings)'),
            h('div', { class: 'jp-DuelSidebar-buttons' }, this._pair),
            this._pairStatus
          ),
          h(
            'section',
            { class: 'jp-DuelCard jp-DuelClass-controls' },
            h('h2', { class: 'jp-DuelView-sectionTitle' }, 'Online'),
            this._online
          )
        )
      )
    );

    this.client.stateChanged.connect(this._onClientState, this);
    this.client.roomState.connect(this._onRoom, this);
    this._timer = window.setInterval(() => this._tick(), 500);
    this._renderSettingsOptions();
    this._updatePairButton();
    this._onClientState();
  }

  readonly client: IDuelClient;

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    window.clearInterval(this._timer);
    this._setWatching(false);
    this.client.stateChanged.disconnect(this._onClientState, this);
    this.client.roomState.disconnect(this._onRoom, this);
    super.dispose();
  }

  /** Open (or show) the spectate view of a battle. */
  spectate(battleId: string, label: string): void {
    void this._commands.execute(CommandIDs.spectate, { battleId, label });
  }

  // ---------------------------------------------------------------- lifecycle: watch only while shown

  /** Closing the tab ends the view (and what it follows). */
  protected onCloseRequest(msg: Message): void {
    super.onCloseRequest(msg);
    this.dispose();
  }

  protected onAfterShow(): void {
    this._syncWatching();
  }

  protected onBeforeHide(): void {
    this._setWatching(false);
  }

  protected onAfterAttach(): void {
    this._syncWatching();
  }

  protected onBeforeDetach(): void {
    this._setWatching(false);
  }

  private _syncWatching(): void {
    this._setWatching(this.isAttached && this.isVisible && this.client.instructor);
    if (this._watching && !this._challengesLoaded) {
      void this._loadChallenges();
    }
  }

  private _setWatching(watch: boolean): void {
    if (watch === this._watching) {
      return;
    }
    this._watching = watch;
    this.client.watchRoom(watch);
    this._renderStatus();
  }

  private _onClientState(): void {
    const instructor = this.client.instructor;
    this._notInstructor.hidden = instructor || this.client.connectionState !== 'connected';
    this.node.dataset.instructor = String(instructor);
    if (this.isAttached && this.isVisible) {
      this._syncWatching();
    }
    this._renderStatus();
  }

  // ---------------------------------------------------------------- room

  private _onRoom(_: IDuelClient, room: IRoomState): void {
    const first = this._room === null;
    this._room = room;
    this._receivedAt = Date.now();
    this._offsetMs = this._receivedAt - room.server_time * 1000;
    this._renderBattles();
    this._renderQueue();
    this._renderOnline();
    this._renderSettingsOptions();
    if (first || !this._settingsDirty) {
      this._pack.value = room.pack ?? '';
      this._challenge.value = room.challenge_id ?? '';
    }
    this._renderCurrent();
    this._renderStatus();
  }

  private _renderStatus(): void {
    const client = this.client;
    let text: string;
    let state: string;
    if (client.connectionState !== 'connected') {
      text = 'Offline — reconnecting…';
      state = 'offline';
    } else if (!client.instructor) {
      text = 'Instructors only';
      state = 'denied';
    } else if (!this._watching) {
      text = 'Paused (hidden)';
      state = 'paused';
    } else if (!this._room) {
      text = 'Loading…';
      state = 'loading';
    } else {
      text = 'Live';
      state = 'live';
    }
    this._status.textContent = text;
    this._status.dataset.state = state;
    const room = this._room;
    this._counts.textContent = room
      ? `${plural(room.battles.length, 'duel')} · ${plural(room.queue.length, 'waiting', 'waiting')} · ${room.online.length} online`
      : '';
  }

  private _renderBattles(): void {
    const battles = this._room?.battles ?? [];
    const seen = new Set<string>();
    let previous: HTMLElement | null = null;
    for (const battle of battles) {
      seen.add(battle.battle_id);
      let card = this._cards.get(battle.battle_id);
      if (card) {
        card.update(battle, this._offsetMs);
      } else {
        card = new BattleCard(battle, this);
        card.update(battle, this._offsetMs);
        this._cards.set(battle.battle_id, card);
      }
      // Keep the service's order without moving nodes that are already in place.
      const expected: ChildNode | null = previous ? previous.nextSibling : this._battles.firstChild;
      if (expected !== card.node) {
        this._battles.insertBefore(card.node, expected);
      }
      previous = card.node;
    }
    for (const [id, card] of this._cards) {
      if (!seen.has(id)) {
        card.node.remove();
        this._cards.delete(id);
      }
    }
    this._noBattles.hidden = battles.length > 0;
  }

  private _renderQueue(): void {
    const queue = this._room?.queue ?? [];
    this._noQueue.hidden = queue.length > 0;
    this._queue.parentElement!.hidden = queue.length === 0;
    this._queue.replaceChildren(
      ...queue.map(w =>
        h(
          'tr',
          { testid: 'duel-room-waiting', 'data-player': w.name, 'data-pool': w.pool, 'data-ranked': String(w.ranked) },
          h(
            'td',
            {},
            h('span', { class: 'jp-DuelRoomPlayer-display' }, w.display_name),
            isGuestHandle(w.name) ? h('span', { class: 'jp-DuelTag jp-DuelSidebar-tag' }, 'guest') : null
          ),
          h('td', {}, w.pool === 'any' ? 'any' : w.pool),
          h('td', {}, w.ranked ? 'ranked' : 'casual'),
          h('td', { class: 'jp-mod-num' }, String(Math.round(w.rating))),
          h('td', { class: 'jp-mod-num', 'data-waited': w.waited_s }, formatDuration(w.waited_s))
        )
      )
    );
  }

  private _renderOnline(): void {
    const room = this._room;
    if (!room) {
      return;
    }
    const fighting = new Set(room.battles.flatMap(b => b.players.map(p => p.name)));
    const waiting = new Set(room.queue.map(w => w.name));
    const names = [...room.online].sort((a, b) => displayName(a).localeCompare(displayName(b)));
    const me = this.client.profile?.name;
    this._online.replaceChildren(
      ...(names.length
        ? names.map(name => {
            const state = fighting.has(name) ? 'battle' : waiting.has(name) ? 'waiting' : 'idle';
            return h(
              'span',
              {
                class: `jp-DuelRoomOnline-player jp-mod-${state}`,
                testid: 'duel-room-online',
                'data-player': name,
                'data-state': state,
                title: state === 'battle' ? 'In a duel' : state === 'waiting' ? 'Waiting in the queue' : 'Online, free'
              },
              h('span', { class: 'jp-DuelPresence', 'data-connected': 'true' }),
              displayName(name),
              isGuestHandle(name) ? h('span', { class: 'jp-DuelRoomOnline-guest' }, 'guest') : null,
              name === me ? h('span', { class: 'jp-DuelRoomOnline-guest' }, 'you') : null
            );
          })
        : [h('span', { class: 'jp-DuelSidebar-hint' }, 'Nobody is online.')])
    );

    // The players who can be paired: online and not in a duel.
    const free = names.filter(n => !fighting.has(n));
    const key = free.join('\n');
    if (key !== this._pairKey) {
      this._pairKey = key;
      for (const select of [this._first, this._second]) {
        const previous = select.value;
        select.replaceChildren(
          h('option', { value: '' }, free.length ? 'Choose a player…' : 'No free player'),
          ...free.map(n =>
            h(
              'option',
              { value: n },
              `${displayName(n)}${isGuestHandle(n) ? ' (guest)' : ''}${waiting.has(n) ? ' — waiting' : ''}${n === me ? ' — you' : ''}`
            )
          )
        );
        select.value = free.includes(previous) ? previous : '';
      }
    }
    this._updatePairButton();
  }

  private _renderSettingsOptions(): void {
    const packs = this._room?.packs ?? [];
    const packKey = packs.join('\n');
    if (packKey !== this._packKey || this._pack.options.length === 0) {
      this._packKey = packKey;
      const value = this._pack.value;
      this._pack.replaceChildren(
        h('option', { value: '' }, 'Any pack'),
        ...packs.map(p => h('option', { value: p }, p))
      );
      this._pack.value = packs.includes(value) ? value : '';
    }
    if (this._challenge.options.length === 0 || this._challengesRendered !== this._challenges) {
      this._challengesRendered = this._challenges;
      const value = this._challenge.value;
      const groups = (['easy', 'medium', 'hard'] as const).map(difficulty => {
        const group = h('optgroup', { label: difficulty });
        for (const c of this._challenges.filter(c => c.difficulty === difficulty)) {
          group.append(h('option', { value: c.id }, c.title));
        }
        return group;
      });
      this._challenge.replaceChildren(
        h('option', { value: '' }, this._challengesError ?? 'Any challenge'),
        ...groups.filter(g => g.children.length > 0)
      );
      this._challenge.value = this._challenges.some(c => c.id === value) ? value : '';
    }
  }

  private _renderCurrent(): void {
    const room = this._room;
    if (!room) {
      this._current.textContent = '';
      return;
    }
    const challenge = room.challenge_id ? this._challenges.find(c => c.id === room.challenge_id) : null;
    const parts: string[] = [];
    if (room.challenge_id) {
      parts.push(`challenge “${challenge?.title ?? room.challenge_id}”`);
    }
    if (room.pack) {
      parts.push(`pack “${room.pack}”`);
    }
    this._current.textContent = parts.length ? `Now: every new battle uses ${parts.join(', ')}.` : 'Now: normal matchmaking.';
    this._current.dataset.pack = room.pack ?? '';
    this._current.dataset.challenge = room.challenge_id ?? '';
  }

  private _tick(): void {
    for (const card of this._cards.values()) {
      card.tick();
    }
    const elapsed = (Date.now() - this._receivedAt) / 1000;
    for (const cell of this._queue.querySelectorAll<HTMLElement>('td[data-waited]')) {
      cell.textContent = formatDuration(Number(cell.dataset.waited) + elapsed);
    }
  }

  // ---------------------------------------------------------------- actions

  private async _loadChallenges(): Promise<void> {
    const session = this.client.session;
    if (!session) {
      return;
    }
    this._challengesLoaded = true;
    try {
      this._challenges = await fetchChallenges(session);
      this._challengesError = null;
    } catch (reason) {
      this._challengesLoaded = false;
      this._challengesError = `Challenges unavailable (${reason instanceof Error ? reason.message : String(reason)})`;
    }
    this._renderSettingsOptions();
    this._renderCurrent();
  }

  private async _applySettings(): Promise<void> {
    const pack = this._pack.value || null;
    const challenge = this._challenge.value || null;
    showResult(this._settingsStatus, null, 'Applying…');
    const ack = await this.client.classSettings(pack, challenge);
    if (ack.ok) {
      this._settingsDirty = false;
    }
    showResult(
      this._settingsStatus,
      ack,
      challenge || pack ? 'Applied: the next battles use it.' : 'Back to normal matchmaking.'
    );
  }

  private _updatePairButton(): void {
    const first = this._first.value;
    const second = this._second.value;
    this._pair.disabled = !first || !second || first === second || this.client.connectionState !== 'connected';
  }

  private async _pairPlayers(): Promise<void> {
    const first = this._first.value;
    const second = this._second.value;
    if (!first || !second || first === second) {
      return;
    }
    this._pair.disabled = true;
    showResult(this._pairStatus, null, 'Pairing…');
    const ack = await this.client.pairPlayers(first, second, this._pairRanked.checked);
    showResult(this._pairStatus, ack, `${displayName(first)} and ${displayName(second)} are paired: their duel starts.`);
    if (ack.ok) {
      this._first.value = '';
      this._second.value = '';
    }
    this._updatePairButton();
  }

  private async _download(): Promise<void> {
    const session = this.client.session;
    if (!session) {
      return;
    }
    this._export.disabled = true;
    try {
      const blob = await fetchClassResults(session, this._exportAll.checked);
      const url = URL.createObjectURL(blob);
      const stamp = new Date().toISOString().slice(0, 16).replace(/[-:]/g, '').replace('T', '-');
      const link = h('a', { href: url, download: `duel-results-${stamp}.csv`, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (reason) {
      showResult(this._settingsStatus, {
        ok: false,
        error: { code: 'export', message: `Export failed: ${reason instanceof Error ? reason.message : String(reason)}` }
      }, '');
    } finally {
      this._export.disabled = false;
    }
  }

  private readonly _commands: CommandRegistry;
  private readonly _timer: number;
  private readonly _status: HTMLSpanElement;
  private readonly _counts: HTMLSpanElement;
  private readonly _export: HTMLButtonElement;
  private readonly _exportAll: HTMLInputElement;
  private readonly _battles: HTMLDivElement;
  private readonly _noBattles: HTMLParagraphElement;
  private readonly _queue: HTMLTableSectionElement;
  private readonly _noQueue: HTMLParagraphElement;
  private readonly _online: HTMLDivElement;
  private readonly _pack: HTMLSelectElement;
  private readonly _challenge: HTMLSelectElement;
  private readonly _current: HTMLDivElement;
  private readonly _settingsStatus: HTMLDivElement;
  private readonly _first: HTMLSelectElement;
  private readonly _second: HTMLSelectElement;
  private readonly _pairRanked: HTMLInputElement;
  private readonly _pair: HTMLButtonElement;
  private readonly _pairStatus: HTMLDivElement;
  private readonly _notInstructor: HTMLDivElement;
  private _cards = new Map<string, BattleCard>();
  private _room: IRoomState | null = null;
  private _receivedAt = 0;
  private _offsetMs = 0;
  private _watching = false;
  private _settingsDirty = false;
  private _challenges: IChallengeSummary[] = [];
  private _challengesRendered: IChallengeSummary[] | null = null;
  private _challengesLoaded = false;
  private _challengesError: string | null = null;
  private _packKey = '';
  private _pairKey: string | null = null;
}

export namespace ClassView {
  export interface IOptions {
    client: IDuelClient;
    commands: CommandRegistry;
  }
}

function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

/** The outcome of an action, next to its button: the service's refusal, or what happened. */
function showResult(node: HTMLElement, ack: IAck | null, success: string): void {
  if (ack === null) {
    node.dataset.state = 'pending';
    node.textContent = success;
    return;
  }
  node.dataset.state = ack.ok ? 'ok' : 'error';
  node.dataset.code = ack.ok ? '' : (ack.error?.code ?? '');
  node.textContent = ack.ok ? success : (ack.error?.message ?? 'Refused.');
}
