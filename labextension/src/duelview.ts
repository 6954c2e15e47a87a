/**
 * The duel view: one main-area widget per battle.
 *
 * Layout: a header (challenge, clock, actions), an outcome banner once the battle is over, then three columns —
 * the problem (Markdown statement, signature, samples), the player's own CodeMirror editor with their test
 * results, and the opponent's pane with their progress. What that pane shows of the opponent's code depends on
 * the battle's mirror mode (a badge in its header says which): a read-only editor following their edits
 * (`live`, or `delayed` by some seconds), an outline of their lines without any text (`shape`), or nothing
 * (`off`). When the battle ends, their final code is revealed there in full, whatever the mode.
 *
 * Before `started_at` a countdown covers the body and the editor is read-only; Run/Submit wait for the start.
 * After a resume (`battle_state`) the view is rebuilt or refreshed from the service's state (`restore`).
 *
 * The view owns the battle's display state (results, verdicts); `IDuelClient` owns the connection. Editors are
 * JupyterLab's own (`IEditorServices`), so themes, fonts and Python highlighting match the rest of the app.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { CodeEditor, CodeEditorWrapper, type IEditorServices } from '@jupyterlab/codeeditor';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Panel, PanelLayout, Widget } from '@lumino/widgets';

import { offerCard, offerStatusText } from './challenges';
import { formatDelta, formatDuration, h } from './dom';
import { duelIcon } from './icons';
import { OpponentMirror } from './mirror';
import {
  codeShape,
  outcomeFor,
  type IBattleComplete,
  type IErrorEvent,
  type IMirrorInfo,
  type IOpponentCode,
  type IOpponentShape,
  type IOpponentStatus,
  type ISubmissionResult,
  type ITestResult,
  type Outcome
} from './protocol';
import { ShapeView } from './shape';
import type { IBattle, IBattleRestore, IDuelClient, IOfferState } from './tokens';

const PYTHON_MIME = 'text/x-python';

const OUTCOME_TEXT: Record<Outcome, string> = {
  won: 'You won!',
  lost: 'You lost',
  draw: 'Draw',
  aborted: 'Aborted'
};

const REASON_TEXT: Record<IBattleComplete['reason'], string> = {
  solved: 'a submission passed every test',
  forfeit: 'a player forfeited',
  time_limit: 'the time ran out',
  disconnect: 'a player did not come back in time',
  aborted: 'the battle was aborted'
};

const VERDICT_TITLES: Record<string, string> = {
  AC: 'Accepted',
  WA: 'Wrong answer',
  TLE: 'Time limit exceeded',
  MLE: 'Memory limit exceeded',
  RE: 'Runtime error',
  OLE: 'Output limit exceeded',
  CE: 'Compilation error',
  REFUSED: 'Refused'
};

export class DuelView extends Widget {
  constructor(options: DuelView.IOptions) {
    super();
    const { battle, client, editorServices, rendermime } = options;
    this._battle = battle;
    this._client = client;
    this._editorServices = editorServices;
    const match = battle.match;
    const challenge = match.challenge;
    const mirror: IMirrorInfo = match.mirror ?? { mode: 'live', delay_s: 0 };
    const opponentName = match.opponent.display_name;

    this.id = `jupyter-duel-view-${match.battle_id}`;
    this.addClass('jp-DuelView');
    this.node.dataset.testid = 'duel-view';
    this.node.dataset.mirror = mirror.mode;
    this.title.label = `Duel: ${challenge.title}`;
    this.title.caption = `${challenge.title} (${challenge.difficulty}) vs ${opponentName}`;
    this.title.icon = duelIcon;
    this.title.closable = false; // a running battle must not lose its editor; closable again when over

    const layout = new PanelLayout();
    this.layout = layout;

    // ---------------------------------------------------------- header
    this._clock = h('div', { class: 'jp-DuelClock', testid: 'duel-clock', title: 'Time left' });
    this._runButton = h(
      'button',
      { class: 'jp-mod-styled jp-DuelButton', testid: 'duel-run-samples', title: 'Run the sample tests (Ctrl+Enter)' },
      'Run samples'
    );
    this._submitButton = h(
      'button',
      {
        class: 'jp-mod-styled jp-mod-accept jp-DuelButton',
        testid: 'duel-submit',
        title: 'Judge against every test (Ctrl+Shift+Enter)'
      },
      'Submit'
    );
    this._forfeitButton = h(
      'button',
      { class: 'jp-mod-styled jp-mod-warn jp-DuelButton', testid: 'duel-forfeit', title: 'Give up this duel' },
      'Forfeit'
    );
    this._runButton.addEventListener('click', () => this.runSamples());
    this._submitButton.addEventListener('click', () => this.submit());
    this._forfeitButton.addEventListener('click', () => void this.forfeit());
    layout.addWidget(
      nodeWidget(
        h(
          'header',
          { class: 'jp-DuelView-header' },
          h(
            'div',
            { class: 'jp-DuelView-titleBlock' },
            h('h1', { class: 'jp-DuelView-title' }, challenge.title),
            h(
              'div',
              { class: 'jp-DuelView-meta' },
              h('span', { class: `jp-DuelDifficulty jp-mod-${challenge.difficulty}` }, challenge.difficulty),
              battle.practice
                ? h('span', { class: 'jp-DuelTag jp-mod-practice', testid: 'duel-practice' }, 'practice, unrated')
                : h('span', { class: 'jp-DuelTag' }, match.ranked ? 'ranked' : 'casual'),
              ...challenge.tags.map(tag => h('span', { class: 'jp-DuelTag jp-mod-subtle' }, tag))
            )
          ),
          this._clock,
          h('div', { class: 'jp-DuelView-actions' }, this._runButton, this._submitButton, this._forfeitButton)
        )
      )
    );

    // ---------------------------------------------------------- opponent-disconnected banner
    this._awayText = h('span', { class: 'jp-DuelAway-text' });
    this._away = h(
      'div',
      { class: 'jp-DuelAway', testid: 'duel-opponent-disconnected', role: 'status' },
      h('span', { class: 'jp-DuelAway-icon', 'aria-hidden': 'true' }, '⚠'),
      this._awayText
    );
    this._away.hidden = true;
    layout.addWidget(nodeWidget(h('div', { class: 'jp-DuelView-banners' }, this._away)));

    // ---------------------------------------------------------- outcome banner (filled at battle_complete)
    this._outcome = nodeWidget(h('div', { class: 'jp-DuelOutcome' }));
    this._outcome.hide();
    layout.addWidget(this._outcome);

    // ---------------------------------------------------------- problem column
    const problem = new Panel();
    problem.addClass('jp-DuelView-column');
    problem.addClass('jp-DuelView-problem');
    const statement = rendermime.createRenderer('text/markdown');
    statement.addClass('jp-DuelView-statement');
    statement.node.dataset.testid = 'duel-statement';
    void statement.renderModel(
      rendermime.createModel({ data: { 'text/markdown': challenge.statement }, trusted: false })
    );
    problem.addWidget(statement);
    problem.addWidget(
      nodeWidget(
        h(
          'div',
          { class: 'jp-DuelView-samples' },
          h('h3', { class: 'jp-DuelView-sectionTitle' }, 'Signature'),
          h('pre', { class: 'jp-DuelCode' }, challenge.signature),
          h('h3', { class: 'jp-DuelView-sectionTitle' }, 'Samples'),
          h(
            'table',
            { class: 'jp-DuelSamples' },
            h('thead', {}, h('tr', {}, h('th', {}, 'Call'), h('th', {}, 'Expected'))),
            h(
              'tbody',
              {},
              ...challenge.samples.map(sample =>
                h('tr', {}, h('td', {}, h('code', {}, sample.call)), h('td', {}, h('code', {}, sample.expected)))
              )
            )
          ),
          h(
            'p',
            { class: 'jp-DuelSidebar-hint' },
            `${challenge.hidden_count} hidden test${challenge.hidden_count === 1 ? '' : 's'} run on Submit.`
          )
        )
      )
    );

    // ---------------------------------------------------------- own editor column
    const mine = new Panel();
    mine.addClass('jp-DuelView-column');
    mine.addClass('jp-DuelView-mine');
    mine.addWidget(
      nodeWidget(
        h(
          'div',
          { class: 'jp-DuelView-columnHeader' },
          h('span', { class: 'jp-DuelView-player' }, 'You'),
          h('span', { class: 'jp-DuelView-playerMeta' }, `${match.you.display_name} · ${Math.round(match.you.rating)}`)
        )
      )
    );
    this._editorModel = new CodeEditor.Model({ mimeType: PYTHON_MIME });
    this._editorModel.sharedModel.setSource(challenge.starter_code);
    this._editor = new CodeEditorWrapper({
      factory: editorServices.factoryService.newInlineEditor,
      model: this._editorModel,
      editorOptions: { config: { lineNumbers: true, lineWrap: false, tabSize: 4, indentUnit: '4' } }
    });
    this._editor.addClass('jp-DuelView-editor');
    this._editor.node.dataset.testid = 'duel-editor';
    mine.addWidget(this._editor);
    this._verdict = h('span', { class: 'jp-DuelVerdict', testid: 'duel-verdict' }, '–');
    this._verdictLabel = h('span', { class: 'jp-DuelView-resultsLabel' }, 'No run yet');
    this._message = h('pre', { class: 'jp-DuelView-message' });
    this._message.hidden = true;
    this._results = h('div', { class: 'jp-DuelResults', testid: 'duel-results' });
    mine.addWidget(
      nodeWidget(
        h(
          'div',
          { class: 'jp-DuelView-resultsBox' },
          h('div', { class: 'jp-DuelView-resultsHeader' }, this._verdictLabel, this._verdict),
          this._message,
          this._results
        )
      )
    );

    // ---------------------------------------------------------- opponent column
    const theirs = new Panel();
    this._theirs = theirs;
    theirs.addClass('jp-DuelView-column');
    theirs.addClass('jp-DuelView-theirs');
    this._staleTag = h('span', { class: 'jp-DuelTag jp-mod-subtle', title: 'Waiting for the full text' }, 'resyncing…');
    this._staleTag.hidden = true;
    const badge = mirrorBadge(mirror, match.ranked);
    this._revealedTag = h(
      'span',
      {
        class: 'jp-DuelTag jp-DuelRevealedTag',
        testid: 'duel-revealed',
        title: `The duel is over: ${opponentName}'s final code, in full`
      },
      'Revealed'
    );
    this._revealedTag.hidden = true;
    theirs.addWidget(
      nodeWidget(
        h(
          'div',
          { class: 'jp-DuelView-columnHeader', testid: 'duel-opponent' },
          h('span', { class: 'jp-DuelView-player' }, opponentName),
          match.opponent.bot
            ? h('span', { class: 'jp-DuelTag jp-mod-bot', testid: 'duel-opponent-bot', title: 'Practice bot' }, 'bot')
            : null,
          match.opponent.guest ? h('span', { class: 'jp-DuelTag', testid: 'duel-opponent-guest' }, 'guest') : null,
          match.opponent.provisional && !match.opponent.bot
            ? h('span', { class: 'jp-DuelTag jp-mod-subtle', title: 'Rating still settling' }, 'provisional')
            : null,
          h('span', { class: 'jp-DuelView-playerMeta' }, `rating ${Math.round(match.opponent.rating)}`),
          this._staleTag,
          h(
            'span',
            { class: 'jp-DuelView-headerEnd' },
            h(
              'span',
              {
                class: 'jp-DuelMirrorMode',
                testid: 'duel-mirror-mode',
                'data-mode': mirror.mode,
                'data-delay': mirror.mode === 'delayed' ? formatSeconds(mirror.delay_s) : undefined,
                title: badge.title,
                'aria-label': `Mirror: ${badge.label}. ${badge.title}`
              },
              badge.label
            ),
            this._revealedTag
          )
        )
      )
    );
    if (mirror.mode === 'live' || mirror.mode === 'delayed') {
      const mirrorModel = new CodeEditor.Model({ mimeType: PYTHON_MIME });
      this._mirror = new OpponentMirror(mirrorModel, challenge.starter_code);
      const mirrorEditor = new CodeEditorWrapper({
        factory: editorServices.factoryService.newInlineEditor,
        model: mirrorModel,
        editorOptions: { config: { readOnly: true, lineNumbers: true, lineWrap: false } }
      });
      mirrorEditor.addClass('jp-DuelView-editor');
      mirrorEditor.addClass('jp-mod-readOnly');
      mirrorEditor.node.dataset.testid = 'duel-mirror';
      mirrorEditor.node.dataset.mode = mirror.mode;
      this._mirrorWidget = mirrorEditor;
    } else if (mirror.mode === 'shape') {
      // Until the first outline arrives: the starter code's, which is where every player starts.
      this._shape = new ShapeView();
      this._shape.setShape(codeShape(challenge.starter_code), Array.from(challenge.starter_code).length);
      this._mirrorWidget = this._shape;
    } else {
      this._mirrorWidget = nodeWidget(
        h(
          'div',
          { class: 'jp-DuelMirrorOff', testid: 'duel-mirror-off' },
          h('div', { class: 'jp-DuelMirrorOff-title' }, `${opponentName}'s code is hidden until the end`),
          h(
            'div',
            { class: 'jp-DuelSidebar-hint' },
            'Neither player sees the other’s code while the duel runs. Both codes are revealed when it ends.'
          )
        )
      );
    }
    this._mirrorWidget.addClass('jp-DuelView-mirror');
    theirs.addWidget(this._mirrorWidget);
    this._opponentProgress = h('div', { class: 'jp-DuelProgress', testid: 'duel-opponent-progress' });
    this._opponentStats = h('div', { class: 'jp-DuelSidebar-hint', testid: 'duel-opponent-stats' });
    theirs.addWidget(
      nodeWidget(
        h(
          'div',
          { class: 'jp-DuelView-resultsBox' },
          h('div', { class: 'jp-DuelView-resultsHeader' }, h('span', { class: 'jp-DuelView-resultsLabel' }, 'Their progress')),
          this._opponentStats,
          this._opponentProgress
        )
      )
    );
    this._renderOpponentProgress();

    const body = new Panel();
    body.addClass('jp-DuelView-body');
    body.addWidget(problem);
    body.addWidget(mine);
    body.addWidget(theirs);
    layout.addWidget(body);

    // ---------------------------------------------------------- countdown (until started_at)
    this._countdownNumber = h('div', { class: 'jp-DuelCountdown-number' });
    this._countdown = h(
      'div',
      { class: 'jp-DuelCountdown', testid: 'duel-countdown', role: 'timer', 'aria-live': 'polite' },
      h(
        'div',
        { class: 'jp-DuelCountdown-box' },
        h('div', { class: 'jp-DuelCountdown-label' }, `${match.you.display_name} vs ${opponentName}`),
        this._countdownNumber,
        h('div', { class: 'jp-DuelCountdown-label' }, 'Get ready — the duel starts when the countdown ends')
      )
    );
    body.node.append(this._countdown);

    // ---------------------------------------------------------- wiring
    this._editorModel.sharedModel.changed.connect(this._onEditorChanged, this);
    this._mirror?.changed.connect((sender: OpponentMirror) => {
      this._staleTag.hidden = !sender.stale || this.isOver;
      // A missed delta: the service's `battle_state` carries the opponent's whole code (as far as shown).
      if (sender.stale && !this.isOver && Date.now() - this._lastRefresh > 3000) {
        this._lastRefresh = Date.now();
        this._client.refreshBattle();
      }
    });
    client.opponentCode.connect(this._onOpponentCode, this);
    client.opponentShape.connect(this._onOpponentShape, this);
    client.testResult.connect(this._onTestResult, this);
    client.submissionResult.connect(this._onSubmissionResult, this);
    client.battleComplete.connect(this._onBattleComplete, this);
    client.errorReceived.connect(this._onError, this);
    client.opponentStatus.connect(this._onOpponentStatus, this);
    client.battleRestored.connect(this._onRestored, this);
    client.challengeOffer.connect(this._renderRematch, this);
    client.stateChanged.connect(this._renderRematch, this);
    // Shortcuts are caught in the capture phase: CodeMirror consumes Ctrl+Enter before JupyterLab's keymap sees it.
    this.node.addEventListener('keydown', this._onKeydown, true);
    this._clockTimer = window.setInterval(() => this._renderClock(), 250);
    this._renderClock();
    this._updateButtons();
    if (options.restore && options.restore.battle === battle) {
      this._onRestored(client, options.restore);
    }
  }

  get battleId(): string {
    return this._battle.match.battle_id;
  }

  get isOver(): boolean {
    return this._battle.complete !== null;
  }

  /** The player's current code. */
  get code(): string {
    return this._editorModel.sharedModel.getSource();
  }

  /** True until the countdown ends (`started_at`). */
  get isCountingDown(): boolean {
    return Date.now() < this._battle.startsAt;
  }

  runSamples(): void {
    if (this.isOver || this._judging || this.isCountingDown) {
      return;
    }
    if (this._client.runSamples(this.code)) {
      this._setJudging('run_samples');
    }
  }

  submit(): void {
    if (this.isOver || this._judging || this.isCountingDown) {
      return;
    }
    if (this._client.submit(this.code)) {
      this._setJudging('submit_code');
    }
  }

  async forfeit(): Promise<void> {
    if (this.isOver) {
      return;
    }
    const answer = await showDialog({
      title: 'Forfeit this duel?',
      body: `${this._battle.match.opponent.display_name} wins${this._battle.match.ranked ? ' and ratings change' : ''}.`,
      buttons: [Dialog.cancelButton({ label: 'Keep playing' }), Dialog.warnButton({ label: 'Forfeit' })]
    });
    if (answer.button.accept && !this.isOver) {
      this._client.forfeit(this.battleId);
    }
  }

  /** Focus the editor when the view is activated, so typing starts right away. */
  protected onActivateRequest(): void {
    this._editor.editor.focus();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    window.clearInterval(this._clockTimer);
    window.clearTimeout(this._retryTimer);
    this.node.removeEventListener('keydown', this._onKeydown, true);
    this._client.opponentCode.disconnect(this._onOpponentCode, this);
    this._client.opponentShape.disconnect(this._onOpponentShape, this);
    this._client.testResult.disconnect(this._onTestResult, this);
    this._client.submissionResult.disconnect(this._onSubmissionResult, this);
    this._client.battleComplete.disconnect(this._onBattleComplete, this);
    this._client.errorReceived.disconnect(this._onError, this);
    this._client.opponentStatus.disconnect(this._onOpponentStatus, this);
    this._client.battleRestored.disconnect(this._onRestored, this);
    this._client.challengeOffer.disconnect(this._renderRematch, this);
    this._client.stateChanged.disconnect(this._renderRematch, this);
    this._editorModel.sharedModel.changed.disconnect(this._onEditorChanged, this);
    super.dispose();
    this._editorModel.dispose();
    this._mirror?.model.dispose();
    this._revealedModel?.dispose();
  }

  // ---------------------------------------------------------------- events

  /** Ctrl/Cmd+Enter runs the samples, Ctrl/Cmd+Shift+Enter submits. */
  private _onKeydown = (event: KeyboardEvent): void => {
    if (event.key !== 'Enter' || !(event.ctrlKey || event.metaKey) || event.altKey) {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
    if (event.shiftKey) {
      this.submit();
    } else {
      this.runSamples();
    }
  };

  private _onEditorChanged(): void {
    if (!this.isOver) {
      this._client.updateCode(this.code);
    }
  }

  /** Refresh everything from a `battle_state` (the client already chose which code the editor keeps). */
  private _onRestored(_: IDuelClient, restore: IBattleRestore): void {
    if (restore.battle !== this._battle) {
      return;
    }
    const state = restore.state;
    if (this.code !== restore.code) {
      this._editorModel.sharedModel.setSource(restore.code);
    }
    this._mirror?.reset(state.opponent_code, state.opponent_seq);
    if (this._shape && state.opponent_shape) {
      this._shape.apply(state.opponent_shape);
    }

    // Own results: the latest run's rows, the verdict of the last finished run.
    this._ownSubmission = -1;
    this._results.replaceChildren();
    this._message.hidden = true;
    this._verdict.textContent = '–';
    delete this._verdict.dataset.verdict;
    this._verdictLabel.textContent = 'No run yet';
    const last = state.your_submissions[state.your_submissions.length - 1];
    const latestTests = state.your_tests.filter(t => t.player === state.you.name);
    if (latestTests.length > 0) {
      this._startRun(latestTests[0].submission_id, latestTests.every(t => t.kind === 'sample'));
      for (const test of latestTests) {
        this._addOwnResult(test);
      }
    }
    const finished = latestTests.length === 0 || (last !== undefined && last.submission_id >= latestTests[0].submission_id);
    if (last && finished) {
      this._showOwnSummary(last);
    }
    if (finished) {
      this._setJudging(null); // otherwise the run's remaining results are still on their way
    }

    this._opponentSubmissions = Math.max(this._opponentSubmissions, state.opponent_submissions);
    this._renderOpponentProgress();
    this._renderClock();
    this._updateButtons();
  }

  private _onOpponentStatus(_: IDuelClient, msg: IOpponentStatus): void {
    if (msg.battle_id !== this.battleId) {
      return;
    }
    this._opponentSubmissions = Math.max(this._opponentSubmissions, msg.submissions);
    this._renderOpponentProgress();
    this._renderAway();
  }

  private _onOpponentCode(_: IDuelClient, msg: IOpponentCode): void {
    if (msg.battle_id === this.battleId && !this.isOver) {
      this._mirror?.apply(msg);
    }
  }

  private _onOpponentShape(_: IDuelClient, msg: IOpponentShape): void {
    if (msg.battle_id === this.battleId && !this.isOver) {
      this._shape?.apply(msg);
    }
  }

  private _onTestResult(_: IDuelClient, msg: ITestResult): void {
    if (msg.battle_id !== this.battleId) {
      return;
    }
    if (msg.player === this._battle.match.you.name) {
      this._addOwnResult(msg);
    } else {
      if (msg.submission_id !== this._opponentSubmission) {
        this._opponentSubmission = msg.submission_id;
        this._opponentTests = [];
        this._opponentSummary = null;
      }
      this._opponentTests[msg.index] = msg;
      this._opponentTotal = msg.total;
      this._renderOpponentProgress();
    }
  }

  private _onSubmissionResult(_: IDuelClient, msg: ISubmissionResult): void {
    if (msg.battle_id !== this.battleId) {
      return;
    }
    if (msg.player === this._battle.match.you.name) {
      this._startRun(msg.submission_id, msg.samples_only);
      this._showOwnSummary(msg);
      this._setJudging(null);
    } else {
      if (msg.submission_id !== this._opponentSubmission) {
        this._opponentSubmission = msg.submission_id;
        this._opponentTests = [];
      }
      this._opponentSummary = msg;
      this._opponentSubmissions += 1;
      this._opponentTotal = msg.total;
      this._renderOpponentProgress();
    }
  }

  private _onBattleComplete(_: IDuelClient, msg: IBattleComplete): void {
    if (msg.battle_id !== this.battleId) {
      return;
    }
    this._setJudging(null);
    this.title.closable = true;
    this._renderClock();
    this._updateButtons();
    this._renderOutcome(msg);
    this._reveal(msg);
  }

  /** The battle is over: the opponent's final code replaces whatever the mirror mode showed. */
  private _reveal(msg: IBattleComplete): void {
    const opponent = this._battle.match.opponent;
    const final = msg.codes?.find(c => c.name === opponent.name);
    if (!final || this._revealedModel) {
      return;
    }
    const model = new CodeEditor.Model({ mimeType: PYTHON_MIME });
    model.sharedModel.setSource(final.code);
    this._revealedModel = model;
    const editor = new CodeEditorWrapper({
      factory: this._editorServices.factoryService.newInlineEditor,
      model,
      editorOptions: { config: { readOnly: true, lineNumbers: true, lineWrap: false } }
    });
    editor.addClass('jp-DuelView-editor');
    editor.addClass('jp-mod-readOnly');
    editor.addClass('jp-mod-revealed');
    editor.node.dataset.testid = 'duel-revealed-code';
    const note = nodeWidget(
      h(
        'div',
        { class: 'jp-DuelRevealedNote', role: 'note' },
        `${opponent.display_name}'s final code, revealed now that the duel is over.`
      )
    );
    const at = this._theirs.widgets.indexOf(this._mirrorWidget);
    this._mirrorWidget.hide();
    this._staleTag.hidden = true;
    this._theirs.insertWidget(at + 1, note);
    this._theirs.insertWidget(at + 2, editor);
    this._revealedTag.hidden = false;
    this.node.dataset.revealed = 'true';
  }

  /** A refused run or submission must not leave the buttons stuck in "Judging…". One refused because it came
   * too soon after the previous one (`cooldown`) is sent again, with the code as it is then, once allowed. */
  private _onError(_: IDuelClient, msg: IErrorEvent): void {
    if (!msg.event || msg.event !== this._judging) {
      return;
    }
    const event = this._judging;
    this._setJudging(null);
    if (msg.code === 'cooldown' && msg.retry_after_s && msg.retry_after_s < 60) {
      const button = event === 'submit_code' ? this._submitButton : this._runButton;
      this._retryAt = Date.now() + msg.retry_after_s * 1000;
      const tick = (): void => {
        const left = (this._retryAt - Date.now()) / 1000;
        if (this.isDisposed || this.isOver || this._retryAt === 0) {
          return;
        }
        if (left > 0) {
          button.textContent = `${event === 'submit_code' ? 'Submit' : 'Run'} in ${left.toFixed(1)} s`;
          button.disabled = true;
          this._retryTimer = window.setTimeout(tick, Math.min(250, left * 1000));
          return;
        }
        this._retryAt = 0;
        this._setJudging(null);
        if (event === 'submit_code') {
          this.submit();
        } else {
          this.runSamples();
        }
      };
      tick();
    }
  }

  // ---------------------------------------------------------------- rendering

  private _showOwnSummary(msg: ISubmissionResult): void {
    this._verdict.textContent = `${msg.verdict} ${msg.passed}/${msg.total}`;
    this._verdict.dataset.verdict = msg.verdict;
    this._verdict.title = VERDICT_TITLES[msg.verdict] ?? msg.verdict;
    this._verdictLabel.textContent = msg.samples_only
      ? `Sample run #${msg.submission_id}`
      : `Submission #${msg.submission_id}`;
    this._message.textContent = msg.message ?? '';
    this._message.hidden = !msg.message;
  }

  /** Each run replaces the list: the rows always describe the latest run. */
  private _startRun(submissionId: number, samplesOnly: boolean): void {
    if (submissionId === this._ownSubmission) {
      return;
    }
    this._ownSubmission = submissionId;
    this._results.replaceChildren();
    this._message.hidden = true;
    this._verdictLabel.textContent = samplesOnly ? `Sample run #${submissionId}…` : `Submission #${submissionId}…`;
  }

  private _addOwnResult(msg: ITestResult): void {
    this._startRun(msg.submission_id, this._judging === 'run_samples');
    const detail = msg.detail;
    const row = h(
      'div',
      {
        class: `jp-DuelResult ${msg.passed ? 'jp-mod-passed' : 'jp-mod-failed'}`,
        testid: 'duel-test-row',
        'data-passed': String(msg.passed),
        'data-verdict': msg.verdict,
        'data-kind': msg.kind,
        'data-index': msg.index
      },
      h(
        'div',
        { class: 'jp-DuelResult-line' },
        h('span', { class: 'jp-DuelResult-mark', 'aria-label': msg.passed ? 'passed' : 'failed' }, msg.passed ? '✓' : '✗'),
        h('span', { class: 'jp-DuelResult-name' }, `${msg.kind === 'sample' ? 'Sample' : 'Hidden'} ${msg.index + 1}/${msg.total}`),
        verdictBadge(msg.verdict),
        h('span', { class: 'jp-DuelResult-time' }, `${msg.time_ms.toFixed(msg.time_ms < 10 ? 1 : 0)} ms`)
      ),
      detail
        ? h(
            'dl',
            { class: 'jp-DuelResult-detail' },
            h('dt', {}, 'call'),
            h('dd', {}, h('code', {}, detail.call)),
            h('dt', {}, 'expected'),
            h('dd', {}, h('code', {}, detail.expected)),
            h('dt', {}, 'got'),
            h('dd', {}, h('code', {}, detail.got ?? '—')),
            detail.error ? h('dt', {}, 'error') : null,
            detail.error ? h('dd', {}, h('pre', { class: 'jp-DuelCode jp-mod-error' }, detail.error)) : null
          )
        : null
    );
    // Results may finish out of order: keep rows sorted by index.
    const after = Array.from(this._results.children).find(
      child => Number((child as HTMLElement).dataset.index) > msg.index
    );
    this._results.insertBefore(row, after ?? null);
  }

  private _renderOpponentProgress(): void {
    const total = this._opponentTotal;
    const children: Node[] = [];
    if (total === 0) {
      children.push(h('span', { class: 'jp-DuelSidebar-hint' }, 'No submission yet.'));
    } else {
      const pills = h('div', { class: 'jp-DuelPills' });
      for (let i = 0; i < total; i++) {
        const test = this._opponentTests[i];
        const state = test ? (test.passed ? 'passed' : 'failed') : 'pending';
        pills.append(
          h(
            'span',
            {
              class: `jp-DuelPill jp-mod-${state}`,
              title: test ? `Test ${i + 1}: ${test.verdict}` : `Test ${i + 1}: running`,
              'data-state': state
            },
            test ? (test.passed ? '✓' : '✗') : '·'
          )
        );
      }
      children.push(pills);
      const summary = this._opponentSummary;
      children.push(
        h(
          'div',
          { class: 'jp-DuelSidebar-hint' },
          summary
            ? `Submission ${this._opponentSubmissions}: `
            : 'Judging… ',
          summary ? verdictBadge(summary.verdict) : null,
          summary ? ` ${summary.passed}/${summary.total}` : null
        )
      );
    }
    this._opponentProgress.replaceChildren(...children);

    const opp = this._battle.opponent;
    const totalTests = this._battle.match.challenge.samples.length + this._battle.match.challenge.hidden_count;
    const submissions = Math.max(opp.submissions, this._opponentSubmissions);
    this._opponentStats.textContent =
      submissions === 0 && opp.bestPassed === 0
        ? ''
        : `${submissions} submission${submissions === 1 ? '' : 's'} · best ${opp.bestPassed}/${totalTests} tests`;
    this._opponentStats.hidden = !this._opponentStats.textContent;
  }

  /** The "opponent disconnected" banner, with the grace time ticking down. */
  private _renderAway(): void {
    const opp = this._battle.opponent;
    const show = !opp.connected && !this.isOver;
    this._away.hidden = !show;
    if (!show) {
      return;
    }
    const name = this._battle.match.opponent.display_name;
    if (opp.graceUntil === null) {
      this._awayText.textContent = `Opponent disconnected — waiting for ${name} to come back`;
      delete this._away.dataset.grace;
      return;
    }
    const left = Math.max(0, Math.ceil((opp.graceUntil - Date.now()) / 1000));
    this._away.dataset.grace = String(opp.graceS ?? left);
    this._away.dataset.left = String(left);
    this._awayText.textContent = `Opponent disconnected — they have ${left} s to come back`;
  }

  private _renderClock(): void {
    const battle = this._battle;
    const complete = battle.complete;
    const now = Date.now();
    const counting = !complete && now < battle.startsAt;
    // During the countdown the clock shows the whole time limit; it runs from `started_at` to `deadline`.
    const left = (battle.deadline - (counting ? battle.startsAt : now)) / 1000;
    this._clock.textContent = complete ? 'Finished' : formatDuration(left);
    this._clock.dataset.state = complete || left <= 0 ? 'over' : counting ? 'waiting' : left <= 60 ? 'low' : 'running';
    this._clock.dataset.left = String(Math.max(0, Math.round(left)));

    this._countdown.hidden = !counting;
    if (counting) {
      this._countdownNumber.textContent = String(Math.ceil((battle.startsAt - now) / 1000));
    }
    if (counting !== this._wasCountingDown) {
      this._wasCountingDown = counting;
      this._updateButtons();
      if (!counting && !complete && this.isVisible) {
        this._editor.editor.focus();
      }
    }
    this._renderAway();
    if (complete) {
      window.clearInterval(this._clockTimer);
    }
  }

  private _renderOutcome(msg: IBattleComplete): void {
    const match = this._battle.match;
    const me = match.you.name;
    const outcome = outcomeFor(me, msg);
    const mine = msg.ratings.find(r => r.name === me) ?? { name: me, before: match.you.rating, after: match.you.rating };
    const theirs = msg.ratings.find(r => r.name === match.opponent.name);
    const node = this._outcome.node;
    node.dataset.testid = 'duel-outcome';
    node.dataset.result = outcome;
    node.dataset.ratingBefore = String(Math.round(mine.before));
    node.dataset.ratingAfter = String(Math.round(mine.after));
    node.className = `jp-DuelOutcome jp-mod-${outcome}`;
    const again = h('button', { class: 'jp-mod-styled jp-mod-accept jp-DuelButton' }, 'Find another opponent');
    again.addEventListener('click', () => this._client.findOpponent());
    const reason =
      msg.reason === 'aborted' && msg.note
        ? `Aborted by the instructor: ${msg.note}`
        : `The duel ended because ${REASON_TEXT[msg.reason]}.`;
    this._completedAt = Date.now();
    const canRematch = !match.opponent.bot && !match.you.bot;
    if (canRematch) {
      this._rematchButton = h(
        'button',
        {
          class: 'jp-mod-styled jp-DuelButton jp-DuelOutlineButton',
          testid: 'duel-rematch',
          title: `Offer ${match.opponent.display_name} another duel`
        },
        'Rematch'
      );
      this._rematchButton.addEventListener('click', () => void this._offerRematch());
      this._rematchBox = h('div', { class: 'jp-DuelRematch', testid: 'duel-rematch-box' });
    }
    node.replaceChildren(
      h(
        'div',
        { class: 'jp-DuelOutcome-main' },
        h('div', { class: 'jp-DuelOutcome-title' }, OUTCOME_TEXT[outcome]),
        h('div', { class: 'jp-DuelOutcome-reason', testid: 'duel-outcome-reason' }, reason),
        this._rematchBox
      ),
      h(
        'div',
        { class: 'jp-DuelOutcome-ratings' },
        ratingLine('You', mine.before, mine.after),
        theirs ? ratingLine(match.opponent.display_name, theirs.before, theirs.after) : null,
        msg.ranked ? null : h('div', { class: 'jp-DuelSidebar-hint' }, 'Casual duel: ratings unchanged.')
      ),
      h('div', { class: 'jp-DuelOutcome-actions' }, this._rematchButton, again)
    );
    this._outcome.show();
    this._renderRematch();
  }

  /** Offer the opponent of this duel another one. */
  private async _offerRematch(): Promise<void> {
    const button = this._rematchButton;
    if (!button) {
      return;
    }
    button.disabled = true;
    this._rematchError = null;
    const match = this._battle.match;
    const ack = await this._client.challengePlayer(match.opponent.name, { ranked: match.ranked });
    if (!ack.ok) {
      this._rematchError = ack.error?.message ?? 'The rematch offer was refused.';
    }
    this._renderRematch();
  }

  /** The rematch box: the latest offer between the two players since this duel ended, with Accept / Decline. */
  private _renderRematch(): void {
    const box = this._rematchBox;
    const button = this._rematchButton;
    if (!box || !button || this.isDisposed) {
      return;
    }
    const client = this._client;
    const opponent = this._battle.match.opponent.name;
    const latest: IOfferState | undefined = client.offers.find(
      o =>
        o.receivedAt >= this._completedAt &&
        (o.incoming ? o.offer.challenger.name === opponent : o.offer.challenged.name === opponent)
    );
    const key = latest ? `${latest.offer.offer_id}:${latest.offer.status}` : '';
    const busy = client.queue !== null || (client.battle !== null && client.battle !== this._battle && !client.battle.complete);
    button.disabled = busy || latest?.offer.status === 'offered' || latest?.offer.status === 'accepted';
    if (key === this._rematchKey && this._rematchError === this._rematchShownError) {
      const text = box.querySelector('[data-testid="duel-rematch-offer-text"]');
      if (latest && text) {
        text.textContent = offerStatusText(latest);
      }
      return;
    }
    this._rematchKey = key;
    this._rematchShownError = this._rematchError;
    const children: HTMLElement[] = [];
    if (latest) {
      children.push(offerCard(client, latest, 'duel-rematch-offer'));
    }
    if (this._rematchError) {
      children.push(h('div', { class: 'jp-DuelOffer-error', testid: 'duel-rematch-error', role: 'alert' }, this._rematchError));
    }
    box.replaceChildren(...children);
  }

  private _setJudging(event: string | null): void {
    this._judging = event;
    this._runButton.textContent = event === 'run_samples' ? 'Running…' : 'Run samples';
    this._submitButton.textContent = event === 'submit_code' ? 'Judging…' : 'Submit';
    this._updateButtons();
  }

  private _updateButtons(): void {
    const over = this.isOver;
    const waiting = this.isCountingDown;
    const retrying = this._retryAt > Date.now();
    this._runButton.disabled = over || waiting || retrying || this._judging !== null;
    this._submitButton.disabled = over || waiting || retrying || this._judging !== null;
    this._forfeitButton.disabled = over;
    this._editor.editor.setOption('readOnly', over || waiting);
  }

  private _completedAt = 0;
  private _rematchButton: HTMLButtonElement | null = null;
  private _rematchBox: HTMLDivElement | null = null;
  private _rematchKey: string | null = null;
  private _rematchError: string | null = null;
  private _rematchShownError: string | null = null;
  /** When a run or submission refused for coming too soon is sent again (0: none pending). */
  private _retryAt = 0;
  private _retryTimer = 0;
  private readonly _battle: IBattle;
  private readonly _client: IDuelClient;
  private readonly _editorServices: IEditorServices;
  private readonly _editorModel: CodeEditor.Model;
  private readonly _editor: CodeEditorWrapper;
  private readonly _theirs: Panel;
  /** The opponent's code as the mirror mode shows it: an editor (live, delayed), an outline or a placeholder. */
  private readonly _mirrorWidget: Widget;
  /** Live and delayed modes: the text mirror. */
  private readonly _mirror: OpponentMirror | null = null;
  /** Shape mode: the outline. */
  private readonly _shape: ShapeView | null = null;
  private readonly _revealedTag: HTMLSpanElement;
  private _revealedModel: CodeEditor.Model | null = null;
  private readonly _clock: HTMLDivElement;
  private readonly _runButton: HTMLButtonElement;
  private readonly _submitButton: HTMLButtonElement;
  private readonly _forfeitButton: HTMLButtonElement;
  private readonly _outcome: Widget;
  private readonly _verdict: HTMLSpanElement;
  private readonly _verdictLabel: HTMLSpanElement;
  private readonly _message: HTMLPreElement;
  private readonly _results: HTMLDivElement;
  private readonly _opponentProgress: HTMLDivElement;
  private readonly _staleTag: HTMLSpanElement;
  private readonly _opponentStats: HTMLDivElement;
  private readonly _away: HTMLDivElement;
  private readonly _awayText: HTMLSpanElement;
  private readonly _countdown: HTMLDivElement;
  private readonly _countdownNumber: HTMLDivElement;
  private _wasCountingDown: boolean | null = null;
  private _lastRefresh = 0;
  private _clockTimer: number;
  /** The client event awaiting its `submission_result` (`run_samples` / `submit_code`), if any. */
  private _judging: string | null = null;
  private _ownSubmission = -1;
  private _opponentSubmission = -1;
  private _opponentSubmissions = 0;
  private _opponentTests: ITestResult[] = [];
  private _opponentTotal = 0;
  private _opponentSummary: ISubmissionResult | null = null;
}

export namespace DuelView {
  export interface IOptions {
    battle: IBattle;
    client: IDuelClient;
    editorServices: IEditorServices;
    rendermime: IRenderMimeRegistry;
    /** Restore from this `battle_state` right away (it arrived before the view existed). */
    restore?: IBattleRestore | null;
  }
}

/** Wrap plain DOM in a widget so it can sit in a Lumino layout next to the editors. */
function nodeWidget(node: HTMLElement): Widget {
  return new Widget({ node });
}

/** Seconds for a person: `30`, `2.5`. */
function formatSeconds(seconds: number): string {
  return Number.isInteger(seconds) ? String(seconds) : seconds.toFixed(1);
}

/** The mirror mode badge of the opponent's pane: a short label and a tooltip saying what each side sees. */
export function mirrorBadge(mirror: IMirrorInfo, ranked: boolean): { label: string; title: string } {
  const end = ' Both codes are revealed in full when the duel ends.';
  switch (mirror.mode) {
    case 'live':
      return { label: 'Live', title: 'You see their code as they type it, and they see yours.' + end };
    case 'delayed': {
      const delay = formatSeconds(mirror.delay_s);
      return {
        label: `Delayed · ${delay} s behind`,
        title: `You see their code ${delay} seconds after they type it, and they see yours as late.` + end
      };
    }
    case 'shape':
      return {
        label: ranked ? 'Outline only (ranked)' : 'Outline only',
        title:
          'You see the outline of their code (each line’s indentation and length) but none of its text; they see ' +
          'yours the same way.' +
          end
      };
    default:
      return { label: 'Hidden until the end', title: 'Neither player sees the other’s code while the duel runs.' + end };
  }
}

function verdictBadge(verdict: string): HTMLElement {
  return h(
    'span',
    { class: `jp-DuelVerdictBadge jp-mod-${verdict === 'AC' ? 'ok' : 'bad'}`, title: VERDICT_TITLES[verdict] ?? verdict },
    verdict
  );
}

function ratingLine(who: string, before: number, after: number): HTMLElement {
  const delta = after - before;
  return h(
    'div',
    { class: 'jp-DuelOutcome-rating' },
    h('span', { class: 'jp-DuelOutcome-who' }, who),
    ` ${Math.round(before)} → ${Math.round(after)} `,
    h(
      'span',
      { class: `jp-DuelDelta ${delta > 0 ? 'jp-mod-up' : delta < 0 ? 'jp-mod-down' : ''}` },
      `(${formatDelta(delta)})`
    )
  );
}
