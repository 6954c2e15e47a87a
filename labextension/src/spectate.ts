/**
 * The spectate view (instructors): one main-area widget per battle, following it at full fidelity.
 *
 * Opening it sends `spectate {watch: true}`; the service answers `spectate_state` (both codes with their `seq`,
 * the submissions so far, the clock), then relays every edit of either player as `spectator_code`, whatever
 * the battle's mirror mode, every `test_result` and `submission_result` (as the opponent sees them), and the
 * `battle_complete`. Both codes sit side by side in read-only editors, patched like the duel view's mirror
 * (`OpponentMirror`); a missed edit asks for the whole state again. Closing the view stops spectating.
 *
 * While visible it also follows the room, for what only the room tells: connection state, pastes, similarity.
 */
import { CodeEditor, CodeEditorWrapper, type IEditorServices } from '@jupyterlab/codeeditor';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import type { Message } from '@lumino/messaging';
import { Panel, PanelLayout, Widget } from '@lumino/widgets';

import { askAbort } from './abort';
import { formatDuration, h, labelEditor } from './dom';
import { duelIcon } from './icons';
import { OpponentMirror } from './mirror';
import type {
  IBattleComplete,
  IPlayerInfo,
  IRoomBattle,
  IRoomState,
  ISpectateState,
  ISpectatorCode,
  ISubmissionResult,
  ITestResult,
  MirrorMode
} from './protocol';
import type { IDuelClient } from './tokens';

const PYTHON_MIME = 'text/x-python';

/** What the players themselves see of each other's code, per mirror mode (the spectator sees everything). */
const PLAYERS_SEE: Record<MirrorMode, string> = {
  live: 'players see each other live',
  delayed: 'players see each other delayed',
  shape: 'players see outlines only',
  off: 'players see nothing of each other'
};

export const REASON_TEXT: Record<IBattleComplete['reason'], string> = {
  solved: 'a submission passed every test',
  forfeit: 'a player forfeited',
  time_limit: 'the time ran out',
  disconnect: 'a player did not come back in time',
  aborted: 'the duel was aborted'
};

/** One judged run of one player, with its tests as they stream in. */
interface IRun {
  id: number;
  tests: ITestResult[];
  total: number;
  result: ISubmissionResult | null;
}

/** One player's half of the view. */
class PlayerPane {
  constructor(
    readonly info: IPlayerInfo,
    editorServices: IEditorServices
  ) {
    this.model = new CodeEditor.Model({ mimeType: PYTHON_MIME });
    this.mirror = new OpponentMirror(this.model, '');
    this.editor = new CodeEditorWrapper({
      factory: editorServices.factoryService.newInlineEditor,
      model: this.model,
      editorOptions: { config: { readOnly: true, lineNumbers: true, lineWrap: false } }
    });
    this.editor.addClass('jp-DuelView-editor');
    this.editor.addClass('jp-mod-readOnly');
    this.editor.node.dataset.testid = 'duel-spectate-code';
    labelEditor(this.editor.node, `${info.display_name}’s code (read-only)`);

    this.connection = h('span', { class: 'jp-DuelPresence', 'data-connected': 'true', title: 'Connected' });
    this.stats = h('span', { class: 'jp-DuelView-playerMeta', testid: 'duel-spectate-stats' });
    this.flags = h('span', { class: 'jp-DuelFlags' });
    this.runs = h('div', { class: 'jp-DuelSpectate-runs', testid: 'duel-spectate-runs' });
    this.runs.append(h('span', { class: 'jp-DuelSidebar-hint' }, 'No submission yet.'));

    this.panel = new Panel();
    this.panel.addClass('jp-DuelView-column');
    this.panel.addClass('jp-DuelSpectate-player');
    this.panel.node.dataset.testid = 'duel-spectate-player';
    this.panel.node.dataset.player = info.name;
    this.panel.addWidget(
      new Widget({
        node: h(
          'div',
          { class: 'jp-DuelView-columnHeader' },
          this.connection,
          h('span', { class: 'jp-DuelView-player', testid: 'duel-spectate-name' }, info.display_name),
          info.guest ? h('span', { class: 'jp-DuelTag', testid: 'duel-spectate-guest' }, 'guest') : null,
          info.bot ? h('span', { class: 'jp-DuelTag jp-mod-bot' }, 'bot') : null,
          h('span', { class: 'jp-DuelView-playerMeta' }, `rating ${Math.round(info.rating)}`),
          h('span', { class: 'jp-DuelView-headerEnd' }, this.flags, this.stats)
        )
      })
    );
    this.panel.addWidget(this.editor);
    this.panel.addWidget(
      new Widget({
        node: h(
          'div',
          { class: 'jp-DuelView-resultsBox' },
          h('div', { class: 'jp-DuelView-resultsHeader' }, h('span', { class: 'jp-DuelView-resultsLabel' }, 'Runs')),
          this.runs
        )
      })
    );
  }

  /** Every run so far from `spectate_state` (no test details: those only stream). */
  resetRuns(results: ISubmissionResult[]): void {
    this._runs.clear();
    for (const result of results) {
      if (result.player === this.info.name) {
        this._runs.set(result.submission_id, { id: result.submission_id, tests: [], total: result.total, result });
      }
    }
    this.renderRuns();
  }

  addTest(msg: ITestResult): void {
    const run = this._run(msg.submission_id);
    run.tests[msg.index] = msg;
    run.total = msg.total;
    this.renderRuns();
  }

  addResult(msg: ISubmissionResult): void {
    const run = this._run(msg.submission_id);
    run.result = msg;
    run.total = msg.total;
    this.renderRuns();
  }

  /** Judged submissions (sample runs do not count), and the most tests one of them passed. */
  get summary(): { submissions: number; best: number } {
    let submissions = 0;
    let best = 0;
    for (const run of this._runs.values()) {
      if (run.result && !run.result.samples_only) {
        submissions += 1;
        best = Math.max(best, run.result.passed);
      }
    }
    return { submissions, best };
  }

  renderRuns(): void {
    const runs = [...this._runs.values()].sort((a, b) => b.id - a.id);
    if (runs.length === 0) {
      return;
    }
    this.runs.replaceChildren(
      ...runs.map(run => {
        const result = run.result;
        const pills = h('div', { class: 'jp-DuelPills' });
        for (let i = 0; i < run.tests.length || (i < run.total && !result); i++) {
          const test = run.tests[i];
          const state = test ? (test.passed ? 'passed' : 'failed') : 'pending';
          pills.append(
            h(
              'span',
              {
                class: `jp-DuelPill jp-mod-${state}`,
                testid: 'duel-spectate-pill',
                'data-state': state,
                title: test ? `${test.kind === 'sample' ? 'Sample' : 'Hidden'} test ${i + 1}: ${test.verdict}, ${test.time_ms.toFixed(0)} ms` : `Test ${i + 1}: running`
              },
              test ? (test.passed ? '✓' : '✗') : '·'
            )
          );
        }
        return h(
          'div',
          {
            class: 'jp-DuelSpectate-run',
            testid: 'duel-spectate-run',
            'data-submission': run.id,
            'data-verdict': result?.verdict,
            'data-passed': result ? result.passed : run.tests.filter(t => t?.passed).length,
            'data-total': run.total,
            'data-done': String(result !== null)
          },
          h(
            'div',
            { class: 'jp-DuelSpectate-runLine' },
            h('span', { class: 'jp-DuelSpectate-runName' }, `${result?.samples_only ? 'Sample run' : 'Submission'} #${run.id}`),
            result
              ? h(
                  'span',
                  { class: `jp-DuelVerdictBadge jp-mod-${result.verdict === 'AC' ? 'ok' : 'bad'}` },
                  result.verdict
                )
              : h('span', { class: 'jp-DuelSidebar-hint' }, 'judging…'),
            h(
              'span',
              { class: 'jp-DuelSpectate-runScore' },
              `${result ? result.passed : run.tests.filter(t => t?.passed).length}/${run.total}`
            )
          ),
          run.tests.length || !result ? pills : null
        );
      })
    );
  }

  dispose(): void {
    this.model.dispose();
  }

  private _run(id: number): IRun {
    let run = this._runs.get(id);
    if (!run) {
      run = { id, tests: [], total: 0, result: null };
      this._runs.set(id, run);
    }
    return run;
  }

  readonly model: CodeEditor.Model;
  readonly mirror: OpponentMirror;
  readonly editor: CodeEditorWrapper;
  readonly panel: Panel;
  readonly connection: HTMLSpanElement;
  readonly stats: HTMLSpanElement;
  readonly flags: HTMLSpanElement;
  readonly runs: HTMLDivElement;
  private _runs = new Map<number, IRun>();
}

export class SpectateView extends Widget {
  constructor(options: SpectateView.IOptions) {
    super();
    this._client = options.client;
    this._editorServices = options.editorServices;
    this._rendermime = options.rendermime;
    this._battleId = options.battleId;
    this.id = `jupyter-duel-spectate-${options.battleId}`;
    this.addClass('jp-DuelView');
    this.addClass('jp-DuelSpectate');
    this.node.dataset.testid = 'duel-spectate-view';
    this.node.dataset.battleId = options.battleId;
    this.node.dataset.state = 'loading';
    this.title.label = options.label ? `Spectate: ${options.label}` : 'Spectate duel';
    this.title.caption = 'Following a duel live (read-only)';
    this.title.icon = duelIcon;
    this.title.closable = true;

    const layout = new PanelLayout();
    this.layout = layout;

    this._titleText = h('h1', { class: 'jp-DuelView-title' }, options.label ?? 'Duel');
    this._meta = h('div', { class: 'jp-DuelView-meta' });
    this._clock = h('div', { class: 'jp-DuelClock', testid: 'duel-spectate-clock', title: 'Time left' }, '–');
    this._live = h('span', { class: 'jp-DuelLive', testid: 'duel-spectate-status' }, 'Connecting…');
    const abort = h(
      'button',
      { class: 'jp-mod-styled jp-mod-warn jp-DuelButton', testid: 'duel-spectate-abort', title: 'End this duel, unrated' },
      'Abort…'
    );
    abort.addEventListener('click', () => void askAbort(this._client, this._battleId, `${this._describe()}.`));
    this._abort = abort;
    layout.addWidget(
      new Widget({
        node: h(
          'header',
          { class: 'jp-DuelView-header' },
          h('div', { class: 'jp-DuelView-titleBlock' }, this._titleText, this._meta),
          this._live,
          this._clock,
          h('div', { class: 'jp-DuelView-actions' }, abort)
        )
      })
    );

    this._outcome = new Widget({ node: h('div', { class: 'jp-DuelOutcome', testid: 'duel-spectate-outcome' }) });
    this._outcome.hide();
    layout.addWidget(this._outcome);

    this._problem = h('details', { class: 'jp-DuelSpectate-problem' });
    this._problem.hidden = true;
    layout.addWidget(new Widget({ node: this._problem }));

    this._message = h('div', { class: 'jp-DuelSpectate-message', testid: 'duel-spectate-message' }, 'Waiting for the duel…');
    this._body = new Panel();
    this._body.addClass('jp-DuelSpectate-body');
    this._body.node.append(this._message);
    layout.addWidget(this._body);

    const client = this._client;
    client.spectateState.connect(this._onState, this);
    client.spectatorCode.connect(this._onCode, this);
    client.spectatorTestResult.connect(this._onTest, this);
    client.spectatorSubmissionResult.connect(this._onResult, this);
    client.spectatorComplete.connect(this._onComplete, this);
    client.roomState.connect(this._onRoom, this);
    this._timer = window.setInterval(() => this._renderClock(), 250);
    void this._start();
  }

  get battleId(): string {
    return this._battleId;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    window.clearInterval(this._timer);
    const client = this._client;
    client.spectateState.disconnect(this._onState, this);
    client.spectatorCode.disconnect(this._onCode, this);
    client.spectatorTestResult.disconnect(this._onTest, this);
    client.spectatorSubmissionResult.disconnect(this._onResult, this);
    client.spectatorComplete.disconnect(this._onComplete, this);
    client.roomState.disconnect(this._onRoom, this);
    void client.spectate(this._battleId, false);
    this._setWatchingRoom(false);
    super.dispose();
    this._statement?.dispose();
    for (const pane of this._panes) {
      pane.dispose();
    }
  }

  /** Closing the tab ends the view (and what it follows). */
  protected onCloseRequest(msg: Message): void {
    super.onCloseRequest(msg);
    this.dispose();
  }

  protected onAfterShow(): void {
    this._setWatchingRoom(!this._over);
  }

  protected onBeforeHide(): void {
    this._setWatchingRoom(false);
  }

  protected onAfterAttach(): void {
    if (this.isVisible) {
      this._setWatchingRoom(!this._over);
    }
  }

  protected onBeforeDetach(): void {
    this._setWatchingRoom(false);
  }

  private _setWatchingRoom(watch: boolean): void {
    if (watch !== this._watchingRoom) {
      this._watchingRoom = watch;
      this._client.watchRoom(watch);
    }
  }

  private async _start(): Promise<void> {
    const ack = await this._client.spectate(this._battleId, true);
    if (!ack.ok && !this.isDisposed && !this._state) {
      this.node.dataset.state = 'failed';
      this._live.textContent = 'Not available';
      this._message.textContent =
        ack.error?.code === 'battle_over' || ack.error?.code === 'unknown_battle'
          ? 'This duel is over: there is nothing left to follow.'
          : `Cannot follow this duel: ${ack.error?.message ?? 'refused'}`;
      this._abort.hidden = true;
    }
  }

  private _describe(): string {
    const names = this._panes.map(p => p.info.display_name).join(' vs ');
    const title = this._state?.challenge.title;
    return names ? `${names}${title ? ` on “${title}”` : ''}` : 'This duel';
  }

  // ---------------------------------------------------------------- events

  private _onState(_: IDuelClient, msg: ISpectateState): void {
    if (msg.battle_id !== this._battleId) {
      return;
    }
    const first = this._state === null;
    this._state = msg;
    const now = Date.now();
    this._startsAt = now + (msg.started_at - msg.server_time) * 1000;
    this._deadline = now + (msg.deadline - msg.server_time) * 1000;
    if (first) {
      this._build(msg);
    }
    msg.players.forEach((player, i) => {
      const pane = this._panes.find(p => p.info.name === player.name);
      const code = msg.codes.find(c => c.name === player.name)?.code ?? '';
      if (pane && !this._over) {
        pane.mirror.reset(code, msg.seqs[i] ?? 0);
        pane.resetRuns(msg.results);
      }
    });
    if (!this._over) {
      this.node.dataset.state = 'live';
      this._live.textContent = 'Live';
    }
    this._renderStats();
    this._renderClock();
  }

  private _onCode(_: IDuelClient, msg: ISpectatorCode): void {
    if (msg.battle_id !== this._battleId || !this._state || this._over) {
      return;
    }
    const pane = this._panes.find(p => p.info.name === msg.player);
    if (!pane) {
      return;
    }
    pane.mirror.apply(msg);
    if (pane.mirror.stale && Date.now() - this._lastResync > 3000) {
      // An edit was missed: the whole state again.
      this._lastResync = Date.now();
      void this._client.request('spectate', { battle_id: this._battleId, watch: true });
    }
  }

  private _onTest(_: IDuelClient, msg: ITestResult): void {
    if (msg.battle_id === this._battleId) {
      this._panes.find(p => p.info.name === msg.player)?.addTest(msg);
      this._renderStats();
    }
  }

  private _onResult(_: IDuelClient, msg: ISubmissionResult): void {
    if (msg.battle_id === this._battleId) {
      this._panes.find(p => p.info.name === msg.player)?.addResult(msg);
      this._renderStats();
    }
  }

  private _onRoom(_: IDuelClient, room: IRoomState): void {
    const battle = room.battles.find(b => b.battle_id === this._battleId) ?? null;
    this._room = battle;
    this._renderStats();
  }

  private _onComplete(_: IDuelClient, msg: IBattleComplete): void {
    if (msg.battle_id !== this._battleId || this._over) {
      return;
    }
    this._over = true;
    this._endedAt = Date.now();
    this._setWatchingRoom(false);
    this.node.dataset.state = 'over';
    this._live.textContent = 'Finished';
    this._abort.hidden = true;
    for (const pane of this._panes) {
      const final = msg.codes.find(c => c.name === pane.info.name);
      if (final) {
        pane.mirror.reset(final.code, Number.MAX_SAFE_INTEGER);
      }
    }
    const winner = this._panes.find(p => p.info.name === msg.winner)?.info.display_name ?? null;
    const node = this._outcome.node;
    node.dataset.reason = msg.reason;
    node.dataset.winner = msg.winner ?? '';
    node.className = `jp-DuelOutcome jp-mod-${msg.reason === 'aborted' ? 'aborted' : winner ? 'won' : 'draw'}`;
    const title = msg.reason === 'aborted' ? 'Aborted' : winner ? `${winner} won` : 'Draw';
    const reason =
      msg.reason === 'aborted' && msg.note
        ? `Aborted by the instructor: ${msg.note}`
        : `The duel ended because ${REASON_TEXT[msg.reason] ?? msg.reason}.`;
    const ratings = msg.ratings
      .map(r => {
        const who = this._panes.find(p => p.info.name === r.name)?.info.display_name ?? r.name;
        return `${who} ${Math.round(r.before)} → ${Math.round(r.after)}`;
      })
      .join(' · ');
    node.replaceChildren(
      h(
        'div',
        { class: 'jp-DuelOutcome-main' },
        h('div', { class: 'jp-DuelOutcome-title' }, title),
        h('div', { class: 'jp-DuelOutcome-reason', testid: 'duel-spectate-reason' }, reason)
      ),
      h(
        'div',
        { class: 'jp-DuelOutcome-ratings' },
        msg.ranked ? h('div', {}, ratings) : h('div', { class: 'jp-DuelSidebar-hint' }, 'Unrated: ratings unchanged.')
      )
    );
    this._outcome.show();
    this._renderClock();
  }

  // ---------------------------------------------------------------- rendering

  private _build(msg: ISpectateState): void {
    const challenge = msg.challenge;
    this.title.label = `Spectate: ${msg.players.map(p => p.display_name).join(' vs ')}`;
    this.title.caption = `${challenge.title} (${challenge.difficulty}), followed live`;
    this._titleText.textContent = challenge.title;
    this._meta.replaceChildren(
      h('span', { class: `jp-DuelDifficulty jp-mod-${challenge.difficulty}` }, challenge.difficulty),
      h('span', { class: 'jp-DuelTag' }, msg.ranked ? 'ranked' : 'casual'),
      h(
        'span',
        { class: 'jp-DuelTag jp-mod-subtle', title: 'You see both codes in full, whatever the players see of each other' },
        PLAYERS_SEE[msg.mirror] ?? msg.mirror
      ),
      h('span', { class: 'jp-DuelTag jp-DuelSpectatorTag' }, 'spectating')
    );

    // The problem, folded: the codes matter most.
    const statement = this._rendermime.createRenderer('text/markdown');
    void statement.renderModel(
      this._rendermime.createModel({ data: { 'text/markdown': challenge.statement }, trusted: false })
    );
    statement.addClass('jp-DuelView-statement');
    this._problem.replaceChildren(
      h('summary', {}, 'Problem statement and samples'),
      statement.node,
      h('pre', { class: 'jp-DuelCode' }, challenge.signature),
      h(
        'table',
        { class: 'jp-DuelSamples' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Call'), h('th', {}, 'Expected'))),
        h(
          'tbody',
          {},
          ...challenge.samples.map(s => h('tr', {}, h('td', {}, h('code', {}, s.call)), h('td', {}, h('code', {}, s.expected))))
        )
      )
    );
    this._problem.hidden = false;
    this._statement = statement;

    this._message.remove();
    for (const player of msg.players) {
      const pane = new PlayerPane(player, this._editorServices);
      this._panes.push(pane);
      this._body.addWidget(pane.panel);
    }
  }

  private _renderStats(): void {
    const total = this._room?.total_tests ?? (this._state ? this._state.challenge.samples.length + this._state.challenge.hidden_count : 0);
    for (const pane of this._panes) {
      const room = this._room?.players.find(p => p.name === pane.info.name);
      const own = pane.summary;
      const submissions = Math.max(own.submissions, room?.submissions ?? 0);
      const best = Math.max(own.best, room?.best_passed ?? 0);
      pane.stats.textContent = `${submissions} submission${submissions === 1 ? '' : 's'} · best ${best}/${total}`;
      pane.stats.dataset.best = String(best);
      pane.stats.dataset.submissions = String(submissions);
      const connected = this._over || (room?.connected ?? true);
      pane.connection.dataset.connected = String(connected);
      pane.connection.title = connected ? 'Connected' : 'Disconnected';
      const flags: HTMLElement[] = [];
      if (room && room.pastes > 0) {
        flags.push(pastesChip(room.pastes));
      }
      pane.flags.replaceChildren(...flags);
    }
    const similarity = this._room?.similarity ?? null;
    const existing = this._meta.querySelector('.jp-DuelSimilar');
    existing?.remove();
    if (similarity !== null && similarity >= SIMILARITY_FLAG && !this._over) {
      this._meta.append(similarChip(similarity));
    }
  }

  private _renderClock(): void {
    if (!this._state) {
      return;
    }
    // Once over, the clock stays where it stopped.
    const now = this._over ? this._endedAt : Date.now();
    const counting = now < this._startsAt;
    const left = (this._deadline - (counting ? this._startsAt : now)) / 1000;
    this._clock.title = this._over ? 'Time left when the duel ended' : 'Time left';
    this._clock.textContent = counting ? `starts in ${Math.ceil((this._startsAt - now) / 1000)}` : formatDuration(left);
    this._clock.dataset.state = this._over || left <= 0 ? 'over' : counting ? 'waiting' : left <= 60 ? 'low' : 'running';
    this._clock.dataset.left = String(Math.max(0, Math.round(left)));
  }

  private readonly _client: IDuelClient;
  private readonly _editorServices: IEditorServices;
  private readonly _rendermime: IRenderMimeRegistry;
  private readonly _battleId: string;
  private readonly _titleText: HTMLHeadingElement;
  private readonly _meta: HTMLDivElement;
  private readonly _clock: HTMLDivElement;
  private readonly _live: HTMLSpanElement;
  private readonly _abort: HTMLButtonElement;
  private readonly _outcome: Widget;
  private readonly _problem: HTMLDetailsElement;
  private readonly _message: HTMLDivElement;
  private readonly _body: Panel;
  private readonly _timer: number;
  private _statement: Widget | null = null;
  private _panes: PlayerPane[] = [];
  private _state: ISpectateState | null = null;
  private _room: IRoomBattle | null = null;
  private _startsAt = 0;
  private _deadline = 0;
  private _over = false;
  private _endedAt = 0;
  private _watchingRoom = false;
  private _lastResync = 0;
}

export namespace SpectateView {
  export interface IOptions {
    battleId: string;
    client: IDuelClient;
    editorServices: IEditorServices;
    rendermime: IRenderMimeRegistry;
    /** What to call the battle until its state arrives (e.g. "Alice vs Bob"). */
    label?: string;
  }
}

/** From this similarity of the two codes on, a "similar" chip flags the duel (for a person to look at). */
export const SIMILARITY_FLAG = 0.8;

export function similarChip(similarity: number): HTMLElement {
  const percent = Math.round(similarity * 100);
  return h(
    'span',
    {
      class: 'jp-DuelSignal jp-mod-similar jp-DuelSimilar',
      testid: 'duel-room-similar',
      'data-similarity': similarity.toFixed(3),
      title:
        'The two codes are this similar now (token similarity). A flag for a person to look at, not proof: short ' +
        'problems have few good solutions.'
    },
    `similar ${percent}%`
  );
}

export function pastesChip(count: number): HTMLElement {
  return h(
    'span',
    {
      class: 'jp-DuelSignal',
      testid: 'duel-room-pastes',
      'data-count': count,
      title: `${count} large insertion${count === 1 ? '' : 's'} in one edit (a paste, or a generated block): a flag to look at, not proof`
    },
    `${count} paste${count === 1 ? '' : 's'}`
  );
}
