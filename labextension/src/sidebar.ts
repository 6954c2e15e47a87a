/**
 * The left-sidebar **Duel** panel: who you are, your rating, and the matchmaking controls.
 *
 * It only reads `IDuelClient` state and calls its actions; it re-renders its dynamic parts on `stateChanged`
 * and ticks the queue wait time locally every second.
 */
import type { CommandRegistry } from '@lumino/commands';
import type { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { ChallengePanel } from './challenges';
import { CommandIDs } from './commands';
import { formatDuration, h } from './dom';
import { confirmForfeit } from './forfeit';
import { duelIcon } from './icons';
import { BOT_SPEEDS, POOLS, type BotSpeed, type MirrorMode, type Pool } from './protocol';
import { NEWCOMER_GAMES, type IDuelClient } from './tokens';
import { TournamentPanel } from './tournament';

export class DuelSidebar extends Widget {
  constructor(options: DuelSidebar.IOptions) {
    super();
    this._client = options.client;
    this._commands = options.commands;
    this.id = 'jupyter-duel-sidebar';
    this.addClass('jp-DuelSidebar');
    this.title.icon = duelIcon;
    this.title.caption = 'Duel';

    this._connection = h('span', { class: 'jp-DuelBadge', testid: 'duel-connection', 'data-state': 'disconnected' });
    this._problem = h('div', { class: 'jp-DuelSidebar-problem' });
    this._nameInput = h('input', {
      class: 'jp-mod-styled jp-DuelSidebar-nameInput',
      type: 'text',
      maxlength: 32,
      placeholder: 'Display name',
      'aria-label': 'Display name',
      testid: 'duel-name-input'
    });
    this._nameHint = h('div', { class: 'jp-DuelSidebar-hint' });
    this._nameErrorTitle = h('div', { class: 'jp-DuelNameError-title' });
    this._nameErrorDetail = h('div', { class: 'jp-DuelNameError-detail' });
    this._nameError = h(
      'div',
      { class: 'jp-DuelNameError', testid: 'duel-name-error', role: 'alert' },
      this._nameErrorTitle,
      this._nameErrorDetail
    );
    this._nameError.hidden = true;
    this._me = h('span', { class: 'jp-DuelSidebar-me', testid: 'duel-me' });
    this._guestTag = h('span', { class: 'jp-DuelTag' }, 'guest');
    this._rating = h('span', { class: 'jp-DuelSidebar-ratingValue', testid: 'duel-rating' }, '–');
    this._provisional = h(
      'span',
      {
        class: 'jp-DuelTag jp-mod-provisional',
        testid: 'duel-provisional',
        title: 'Your rating is still settling: it moves faster for your first games'
      },
      'provisional'
    );
    this._provisional.hidden = true;
    this._record = h('div', { class: 'jp-DuelSidebar-record' });
    this._poolSelect = h('select', { class: 'jp-mod-styled', 'aria-label': 'Challenge pool', testid: 'duel-pool' });
    this._poolHint = h('div', { class: 'jp-DuelSidebar-hint', testid: 'duel-pool-hint' });
    this._poolHint.hidden = true;
    for (const pool of POOLS) {
      this._poolSelect.append(h('option', { value: pool }, pool === 'any' ? 'Any difficulty' : capitalize(pool)));
    }
    this._rankedBox = h('input', { type: 'checkbox', testid: 'duel-ranked' });
    this._find = h(
      'button',
      { class: 'jp-mod-styled jp-mod-accept jp-DuelButton', testid: 'duel-find' },
      'Find opponent'
    );
    this._cancel = h('button', { class: 'jp-mod-styled jp-mod-reject jp-DuelButton', testid: 'duel-cancel' }, 'Cancel');
    this._queueStatus = h('div', { class: 'jp-DuelSidebar-queue', testid: 'duel-queue-status' });
    this._queueNote = h('div', { class: 'jp-DuelSidebar-hint', testid: 'duel-queue-note' });
    this._queueNote.hidden = true;
    this._window = h('div', { class: 'jp-DuelSidebar-hint', testid: 'duel-queue-window' });
    this._window.hidden = true;
    this._botSpeed = h('select', { class: 'jp-mod-styled', 'aria-label': 'Bot speed', testid: 'duel-bot-speed' });
    for (const speed of BOT_SPEEDS) {
      this._botSpeed.append(h('option', { value: speed }, capitalize(speed)));
    }
    this._botSpeed.value = 'normal';
    const playBot = h(
      'button',
      {
        class: 'jp-mod-styled jp-DuelButton jp-DuelOutlineButton',
        testid: 'duel-play-bot',
        title: 'Unrated practice battle against a bot'
      },
      'Practice vs bot'
    );
    playBot.addEventListener('click', () => this._client.playBot(this._botSpeed.value as BotSpeed));
    // Speed on a row of its own and the button below: side by side they do not fit a narrow sidebar.
    this._botOffer = h(
      'div',
      { class: 'jp-DuelBotOffer', testid: 'duel-bot-offer' },
      h('div', { class: 'jp-DuelBotOffer-title' }, 'No opponent yet — practice against a bot'),
      h('div', { class: 'jp-DuelSidebar-hint' }, 'Practice battles are unrated. You leave the queue.'),
      h(
        'label',
        { class: 'jp-DuelBotOffer-speed' },
        h('span', { class: 'jp-DuelSidebar-label' }, 'Speed'),
        this._botSpeed
      ),
      playBot
    );
    this._botOffer.hidden = true;
    const history = h(
      'button',
      { class: 'jp-mod-styled jp-DuelButton', testid: 'duel-open-history', title: 'Your battles, rating chart and the leaderboard' },
      'History & leaderboard'
    );
    history.addEventListener('click', () => void this._commands.execute(CommandIDs.openHistory));
    this._classView = h(
      'button',
      {
        class: 'jp-mod-styled jp-DuelButton',
        testid: 'duel-open-class-view',
        title: 'Instructors: every running duel, the queue, pairing and results'
      },
      'Class view'
    );
    this._classView.addEventListener('click', () => void this._commands.execute(CommandIDs.openClassView));
    this._classView.hidden = true;
    this._instructorTag = h(
      'span',
      {
        class: 'jp-DuelTag jp-mod-subtle',
        testid: 'duel-instructor',
        title: 'You may open the class view: every running duel, spectating, pairing and results'
      },
      'instructor'
    );
    this._instructorTag.hidden = true;
    this._serviceNote = h('div', { class: 'jp-DuelSidebar-note', testid: 'duel-service-note', role: 'note' });
    this._serviceNote.hidden = true;
    this._battleBox = h('div', { class: 'jp-DuelSidebar-battle' });
    this._challenges = new ChallengePanel({ client: this._client });
    this._tournaments = new TournamentPanel({ client: this._client, commands: this._commands });

    this.node.append(
      h(
        'header',
        { class: 'jp-DuelSidebar-header' },
        h('div', { class: 'jp-DuelSidebar-titleBox' }, h('h2', { class: 'jp-DuelSidebar-title' }, 'Duel'), this._instructorTag),
        this._connection
      ),
      this._problem,
      this._serviceNote,
      h(
        'section',
        { class: 'jp-DuelCard' },
        h('label', { class: 'jp-DuelSidebar-label' }, 'Display name'),
        this._nameInput,
        this._nameError,
        this._nameHint,
        h(
          'div',
          { class: 'jp-DuelSidebar-profile' },
          h('div', { class: 'jp-DuelSidebar-who' }, this._me, this._guestTag),
          h(
            'div',
            { class: 'jp-DuelSidebar-rating', title: 'Rating' },
            this._rating,
            h('span', { class: 'jp-DuelSidebar-ratingUnit' }, 'rating'),
            this._provisional
          )
        ),
        this._record,
        h('div', { class: 'jp-DuelSidebar-buttons jp-mod-wrap' }, history, this._classView)
      ),
      h(
        'section',
        { class: 'jp-DuelCard' },
        h('label', { class: 'jp-DuelSidebar-label' }, 'Challenge pool'),
        this._poolSelect,
        this._poolHint,
        h('label', { class: 'jp-DuelSidebar-check' }, this._rankedBox, ' Ranked (changes ratings)'),
        h('div', { class: 'jp-DuelSidebar-buttons' }, this._find, this._cancel),
        this._queueStatus,
        this._queueNote,
        this._window,
        this._botOffer
      ),
      this._battleBox,
      this._tournaments.node,
      this._challenges.node
    );

    this._nameInput.addEventListener('keydown', event => {
      if (event.key === 'Enter') {
        this._applyName();
      } else if (event.key === 'Escape') {
        this._nameInput.value = this._displayedName();
        this._nameInput.blur();
      }
    });
    this._nameInput.addEventListener('blur', () => this._applyName());
    this._poolSelect.addEventListener('change', () => {
      this._client.pool = this._poolSelect.value as Pool;
    });
    this._rankedBox.addEventListener('change', () => {
      this._client.ranked = this._rankedBox.checked;
    });
    this._find.addEventListener('click', () => this._client.findOpponent());
    this._cancel.addEventListener('click', () => this._client.cancelSearch());

    this._client.stateChanged.connect(this._render, this);
    this._client.tournamentsChanged.connect(this._renderTournamentLine, this);
    this._timer = window.setInterval(() => this._renderQueue(), 250); // re-rendered often so whole seconds flip on time
    this._render();
  }

  dispose(): void {
    window.clearInterval(this._timer);
    this._client.stateChanged.disconnect(this._render, this);
    this._client.tournamentsChanged.disconnect(this._renderTournamentLine, this);
    this._challenges.dispose();
    this._tournaments.dispose();
    super.dispose();
  }

  /** The challenge card lives in this node, outside the widget tree: tell it when it shows and hides. */
  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._challenges.setHidden(false);
  }

  protected onBeforeHide(msg: Message): void {
    super.onBeforeHide(msg);
    this._challenges.setHidden(true);
  }

  /** The "Tournaments" card. */
  get tournaments(): TournamentPanel {
    return this._tournaments;
  }

  /** Bring the "Challenge a player" card into view and focus its player list. */
  focusChallenge(): void {
    this._challenges.node.scrollIntoView({ block: 'nearest' });
    void this._challenges.refresh();
    this._challenges.node.querySelector('select')?.focus();
  }

  /** Apply the typed name (Enter or blur). Empty means "play as my Jupyter user". */
  private _applyName(): void {
    const typed = this._nameInput.value.trim();
    const current = this._displayedName();
    if (typed === current || this._nameInput.disabled) {
      this._nameInput.value = current;
      return;
    }
    const user = this._client.session?.user ?? '';
    this._client.setName(typed === user ? '' : typed);
    this._render();
  }

  /** The name shown: the registered one (without the guest prefix), else the one asked for, else the Jupyter user. */
  private _displayedName(): string {
    const client = this._client;
    return client.profile?.display_name ?? (client.requestedName || client.session?.user || '');
  }

  /** A guest name the service refused, said next to the name field. */
  private _renderNameError(): void {
    const error = this._client.nameError;
    this._nameError.hidden = error === null;
    if (error === null) {
      delete this._nameError.dataset.code;
      return;
    }
    this._nameError.dataset.code = error.code;
    const title = NAME_ERROR_TEXT[error.code] ?? 'This name cannot be used';
    this._nameErrorTitle.textContent = `“${error.name}”: ${title}.`;
    this._nameErrorDetail.textContent =
      error.code === 'name_taken'
        ? 'Another browser registered this guest name first. Choose another name; meanwhile you play as your Jupyter user.'
        : error.code === 'name_confusable'
          ? `${capitalize(error.message)}. Choose a name that reads differently; meanwhile you play as your Jupyter user.`
          : `${capitalize(error.message)}.`;
  }

  private _render(): void {
    const client = this._client;
    const state = client.connectionState;
    this._connection.dataset.state = state;
    this._connection.textContent = STATE_LABELS[state];
    this._problem.textContent = state !== 'connected' && client.problem ? client.problem : '';
    this._problem.hidden = !this._problem.textContent;

    const name = this._displayedName();
    if (document.activeElement !== this._nameInput) {
      this._nameInput.value = name;
    }
    const busy = client.queue !== null || (client.battle !== null && !client.battle.complete);
    const guestsAllowed = client.session?.guests_allowed ?? true;
    this._nameInput.disabled = busy || !guestsAllowed;
    this._nameHint.textContent =
      client.session?.mode === 'hub'
      ? 'You play as your hub user here: guest names are not offered on a hub.'
      : !guestsAllowed
      ? 'This server does not allow guest names: you play as your Jupyter user.'
      : busy
        ? 'The name can change once you are out of the queue or battle.'
        : 'Press Enter to apply. A name other than your Jupyter user plays as a guest; this browser keeps it.';
    this._renderNameError();

    const profile = client.profile;
    this._me.textContent = name || '…';
    this._me.title = name; // a long name is cut with an ellipsis: the tooltip has it whole
    this._guestTag.hidden = !(profile?.guest ?? false);
    const instructor = state === 'connected' && client.instructor;
    this._instructorTag.hidden = !instructor;
    this._classView.hidden = !instructor;
    const note = client.serviceNote;
    this._serviceNote.hidden = !note;
    if (note) {
      const login = client.hubLoginUrl;
      this._serviceNote.replaceChildren(
        note,
        ...(login
          ? [' ', h('a', { href: login, target: '_blank', rel: 'noopener', class: 'jp-DuelLink' }, 'Sign in to the hub’s duel service')]
          : [])
      );
    }
    this._rating.textContent = profile ? String(Math.round(profile.rating)) : '–';
    this._provisional.hidden = !(profile?.provisional ?? false);
    this._record.replaceChildren(
      ...(profile
        ? [
            stat('W', profile.wins, 'jp-mod-win'),
            stat('L', profile.losses, 'jp-mod-loss'),
            stat('D', profile.draws, 'jp-mod-draw'),
            stat('games', profile.games, '')
          ]
        : [])
    );

    this._poolSelect.value = client.pool;
    const newcomer =
      client.preferences.defaultPool === 'auto' &&
      client.pool === 'easy' &&
      profile !== null &&
      profile.games < NEWCOMER_GAMES &&
      !client.poolChosen;
    this._poolHint.hidden = !newcomer;
    this._poolHint.textContent = newcomer
      ? `Easy challenges for your first ${NEWCOMER_GAMES} games; pick another pool any time.`
      : '';
    this._rankedBox.checked = client.ranked;
    const connected = state === 'connected';
    this._poolSelect.disabled = busy;
    this._rankedBox.disabled = busy;
    this._find.disabled = !connected || busy;
    this._cancel.disabled = !connected || client.queue === null;
    this._renderQueue();
    this._renderBattle();
  }

  private _renderQueue(): void {
    const client = this._client;
    const queue = client.queue;
    let text: string;
    let state: string;
    if (queue) {
      const waited = queue.waited_s + (Date.now() - queue.receivedAt) / 1000;
      const players = queue.size === 1 ? '1 player' : `${queue.size} players`;
      const kind = `${queue.ranked ? 'Ranked' : 'Casual'} · ${MIRROR_QUEUE_TEXT[queue.mirror] ?? queue.mirror}`;
      text = `Searching ${queue.pool === 'any' ? 'any pool' : queue.pool} · ${kind} · #${queue.position} of ${players} · ${formatDuration(waited)}`;
      state = 'waiting';
    } else if (client.battle && !client.battle.complete) {
      text = 'Matched — duel in progress.';
      state = 'matched';
    } else {
      text = 'Not searching.';
      state = 'idle';
    }
    this._queueStatus.dataset.state = state;
    this._queueStatus.textContent = text;
    if (queue) {
      this._queueStatus.dataset.ranked = String(queue.ranked);
      this._queueStatus.dataset.mirror = queue.mirror;
      this._queueStatus.title = MIRROR_QUEUE_TITLE[queue.mirror] ?? '';
    } else {
      delete this._queueStatus.dataset.ranked;
      delete this._queueStatus.dataset.mirror;
      this._queueStatus.title = '';
    }
    // Asked for ranked, queued casual: this server does not rate guests.
    const demoted = queue !== null && !queue.ranked && client.ranked && (client.profile?.guest ?? false);
    this._queueNote.hidden = !demoted;
    this._queueNote.textContent = demoted
      ? 'Guests play casual duels on this server: ratings are kept for signed-in players.'
      : '';

    // The rating window grows with waiting; the bot is offered once the service says so.
    const gap = queue && typeof queue.window === 'number' ? queue.window : null;
    this._window.hidden = gap === null;
    this._window.textContent = gap === null ? '' : `Accepting opponents within ±${Math.round(gap)} rating`;
    if (gap !== null) {
      this._window.dataset.window = String(Math.round(gap));
    }
    this._botOffer.hidden = !(queue?.bot_available ?? false);
  }

  /** The battle card's tournament line, once the tournament's name is known. */
  private _renderTournamentLine(): void {
    const line = this._battleBox.querySelector('[data-testid="duel-battle-tournament"]');
    const id = this._client.battle?.match.tournament_id;
    if (line && id) {
      line.textContent = tournamentLine(this._client, id);
    }
  }

  private _renderBattle(): void {
    const client = this._client;
    const battle = client.battle;
    const elsewhere = client.elsewhere;
    const children: Node[] = [];
    if (battle && !battle.complete && !battle.elsewhere) {
      const show = h('button', { class: 'jp-mod-styled jp-DuelButton' }, 'Show duel');
      show.addEventListener('click', () => void this._commands.execute(CommandIDs.showDuel));
      children.push(
        h(
          'div',
          { class: 'jp-DuelCard jp-mod-active' },
          h(
            'div',
            {},
            'Duel vs ',
            h('strong', { class: 'jp-DuelName', title: battle.match.opponent.display_name }, battle.match.opponent.display_name),
            battle.match.opponent.guest ? h('span', { class: 'jp-DuelTag jp-DuelSidebar-tag' }, 'guest') : null,
            battle.practice ? h('span', { class: 'jp-DuelTag jp-mod-bot' }, 'bot') : null
          ),
          battle.practice ? h('div', { class: 'jp-DuelSidebar-hint' }, 'Practice, unrated') : null,
          battle.match.tournament_id
            ? h('div', { class: 'jp-DuelSidebar-hint', testid: 'duel-battle-tournament' }, tournamentLine(client, battle.match.tournament_id))
            : null,
          h('div', { class: 'jp-DuelSidebar-hint' }, battle.match.challenge.title),
          show
        )
      );
    } else if (elsewhere) {
      // The duel is played in another tab, or in none (that tab was closed): it can be played here.
      const here = h(
        'button',
        { class: 'jp-mod-styled jp-mod-accept jp-DuelButton', testid: 'duel-play-here' },
        elsewhere.open ? 'Play here' : 'Resume here'
      );
      here.addEventListener('click', () => {
        if (client.takeOver()) {
          void this._commands.execute(CommandIDs.showDuel);
        }
      });
      const forfeit = h(
        'button',
        { class: 'jp-mod-styled jp-mod-warn jp-DuelButton', testid: 'duel-forfeit-elsewhere' },
        'Forfeit…'
      );
      forfeit.addEventListener('click', () => void confirmForfeit(client, elsewhere.battleId));
      children.push(
        h(
          'div',
          {
            class: 'jp-DuelCard jp-mod-active',
            testid: 'duel-elsewhere',
            'data-open': String(elsewhere.open),
            role: 'status'
          },
          h(
            'div',
            {},
            elsewhere.open
              ? 'Your duel is open in another tab.'
              : 'Your duel is waiting: no tab shows it, and your opponent sees you as away.'
          ),
          h('div', { class: 'jp-DuelSidebar-hint' }, 'Play it here: your code is kept.'),
          h('div', { class: 'jp-DuelCard-actions' }, here, forfeit)
        )
      );
    }
    this._battleBox.replaceChildren(...children);
  }

  private readonly _client: IDuelClient;
  private readonly _commands: CommandRegistry;
  private readonly _timer: number;
  private readonly _connection: HTMLSpanElement;
  private readonly _problem: HTMLDivElement;
  private readonly _nameInput: HTMLInputElement;
  private readonly _nameHint: HTMLDivElement;
  private readonly _nameError: HTMLDivElement;
  private readonly _nameErrorTitle: HTMLDivElement;
  private readonly _nameErrorDetail: HTMLDivElement;
  private readonly _queueNote: HTMLDivElement;
  private readonly _me: HTMLSpanElement;
  private readonly _guestTag: HTMLSpanElement;
  private readonly _rating: HTMLSpanElement;
  private readonly _provisional: HTMLSpanElement;
  private readonly _window: HTMLDivElement;
  private readonly _botOffer: HTMLDivElement;
  private readonly _botSpeed: HTMLSelectElement;
  private readonly _record: HTMLDivElement;
  private readonly _poolSelect: HTMLSelectElement;
  private readonly _poolHint: HTMLDivElement;
  private readonly _rankedBox: HTMLInputElement;
  private readonly _find: HTMLButtonElement;
  private readonly _cancel: HTMLButtonElement;
  private readonly _queueStatus: HTMLDivElement;
  private readonly _battleBox: HTMLDivElement;
  private readonly _classView: HTMLButtonElement;
  private readonly _instructorTag: HTMLSpanElement;
  private readonly _serviceNote: HTMLDivElement;
  private readonly _challenges: ChallengePanel;
  private readonly _tournaments: TournamentPanel;
}

export namespace DuelSidebar {
  export interface IOptions {
    client: IDuelClient;
    commands: CommandRegistry;
  }
}

function stat(label: string, value: number, cls: string): HTMLElement {
  return h(
    'span',
    { class: `jp-DuelSidebar-stat ${cls}` },
    h('strong', {}, String(value)),
    ' ',
    label
  );
}

/** "Tournament: NAME" for the battle card of a tournament game. */
function tournamentLine(client: IDuelClient, id: string): string {
  const name = client.tournament(id)?.name ?? client.tournaments.find(t => t.id === id)?.name;
  return name ? `Tournament: ${name}` : 'Tournament game';
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** What a refused guest name is told, by error code. */
const NAME_ERROR_TEXT: Record<string, string> = {
  name_taken: 'This guest name is used in another browser',
  name_confusable: 'Looks like another player’s name',
  invalid_name: 'Not a valid name',
  guests_disabled: 'This server does not allow guest names'
};

/** The queue's mirror mode, as the queue status says it. */
const MIRROR_QUEUE_TEXT: Record<MirrorMode, string> = {
  live: 'live mirror',
  delayed: 'delayed mirror',
  shape: 'outline only',
  off: 'code hidden'
};

const MIRROR_QUEUE_TITLE: Record<MirrorMode, string> = {
  live: 'You and your opponent see each other’s code as it is typed.',
  delayed: 'You and your opponent see each other’s code some seconds late.',
  shape: 'You and your opponent see only the outline of each other’s code (line indentation and length), no text.',
  off: 'Neither player sees the other’s code until the duel ends.'
};

/** Only the registered state says "connected" (so a text check cannot mistake "disconnected" for it). */
const STATE_LABELS: Record<string, string> = {
  connected: 'connected',
  connecting: 'connecting…',
  disconnected: 'offline'
};
