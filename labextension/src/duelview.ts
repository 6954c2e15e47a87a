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
 * In a narrow view (under 900 px) the problem goes above the editors and can be folded away. The player's
 * preferences may show less of the opponent's code than the mode allows: only its outline, or no opponent pane
 * until the end.
 *
 * The results panel shows the latest run, numbered from 1 in each battle: an error that stopped everything (CE,
 * REFUSED) once above the rows, tests not run after one that ended the run as "skipped". Code over the service's
 * size limit is flagged as soon as it is typed, is neither mirrored nor judged, and the panel says the results
 * shown are not this code's.
 *
 * Before `started_at` a countdown covers the body and the editor is read-only; Run/Submit wait for the start.
 * After a resume (`battle_state`) the view is rebuilt or refreshed from the service's state (`restore`).
 *
 * The view owns the battle's display state (results, verdicts); `IDuelClient` owns the connection. Editors are
 * JupyterLab's own (`IEditorServices`), so themes, fonts and Python highlighting match the rest of the app.
 */
import { CodeEditor, CodeEditorWrapper, type IEditorServices } from '@jupyterlab/codeeditor';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import type { CommandRegistry } from '@lumino/commands';
import { Panel, PanelLayout, Widget } from '@lumino/widgets';

import { offerCard, offerStatusText } from './challenges';
import { CommandIDs } from './commands';
import { formatDelta, formatDuration, h, labelEditor } from './dom';
import { confirmForfeit } from './forfeit';
import { QuickMessages } from './quickmessages';
import type { ReactionName } from './protocol';
import { duelIcon } from './icons';
import { OpponentMirror } from './mirror';
import {
  codeShape,
  outcomeFor,
  type IBattleComplete,
  type IChallengeView,
  type ICustomResult,
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

/**
 * The service's largest solution by default (`DuelService.max_code_bytes`, in bytes of UTF-8). A `code_too_large`
 * refusal that names another limit replaces it for the battle.
 */
const MAX_CODE_BYTES = 51_200;

const OUTCOME_TEXT: Record<Outcome, string> = {
  won: 'You won!',
  lost: 'You lost',
  draw: 'Draw',
  aborted: 'Aborted'
};

/** Why an abort without an instructor's note happened: the service aborts when both players stayed away. */
const ABORTED_BY_ABSENCE = 'The duel was aborted: both players left and neither came back within the grace time.';

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
  REFUSED: 'Refused',
  LOST: 'Lost in a service restart (not counted)'
};

export class DuelView extends Widget {
  constructor(options: DuelView.IOptions) {
    super();
    const { battle, client, editorServices, rendermime } = options;
    this._battle = battle;
    this._client = client;
    this._commands = options.commands ?? null;
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
    this._maxBytes = match.max_code_bytes ?? MAX_CODE_BYTES;
    this.title.icon = duelIcon;
    this.title.closable = false; // a running battle must not lose its editor; closable again when over

    const layout = new PanelLayout();
    this.layout = layout;

    // ---------------------------------------------------------- header
    this._clock = h('div', { class: 'jp-DuelClock', testid: 'duel-clock', title: 'Time left' });
    // A tournament game says which tournament (its name arrives with the tournament's view).
    this._tournamentTag = match.tournament_id
      ? h('span', { class: 'jp-DuelTag jp-mod-tournament', testid: 'duel-tournament-tag', 'data-id': match.tournament_id }, 'Tournament')
      : null;
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
              this._tournamentTag,
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

    // ---------------------------------------------------------- played in another tab (taken over)
    this._elsewhereText = h('span', { class: 'jp-DuelAway-text' });
    const playHere = h('button', { class: 'jp-mod-styled jp-mod-accept', testid: 'duel-view-play-here' }, 'Play here');
    playHere.addEventListener('click', () => this._client.takeOver());
    this._elsewhere = h(
      'div',
      { class: 'jp-DuelAway jp-DuelElsewhere', testid: 'duel-view-elsewhere', role: 'status' },
      h('span', { class: 'jp-DuelAway-icon', 'aria-hidden': 'true' }, '⇄'),
      this._elsewhereText,
      playHere
    );
    this._elsewhere.hidden = true;
    layout.addWidget(nodeWidget(h('div', { class: 'jp-DuelView-banners' }, this._away, this._elsewhere)));

    // ---------------------------------------------------------- outcome banner (filled at battle_complete)
    this._outcome = nodeWidget(h('div', { class: 'jp-DuelOutcome' }));
    this._outcome.hide();
    layout.addWidget(this._outcome);

    // ---------------------------------------------------------- problem column
    const problem = new Panel();
    problem.addClass('jp-DuelView-column');
    problem.addClass('jp-DuelView-problem');
    // A scrolling region: focusable, so the keyboard can scroll the statement.
    problem.node.tabIndex = 0;
    problem.node.setAttribute('role', 'region');
    problem.node.setAttribute('aria-label', 'Problem statement');
    this._problem = problem;
    // Shown only when the columns are stacked (narrow view): the statement then folds away for the editors.
    this._problemToggle = h(
      'button',
      {
        class: 'jp-mod-styled jp-DuelButton jp-DuelView-problemToggle',
        testid: 'duel-statement-toggle',
        'aria-expanded': 'true',
        title: 'Fold or unfold the problem statement'
      },
      'Hide statement'
    );
    this._problemToggle.addEventListener('click', () => this._toggleStatement());
    problem.addWidget(
      nodeWidget(
        h(
          'div',
          { class: 'jp-DuelView-problemBar' },
          h('span', { class: 'jp-DuelView-resultsLabel' }, 'Problem'),
          this._problemToggle
        )
      )
    );
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
          ),
          this._notebookButton()
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
          h(
            'span',
            { class: 'jp-DuelView-playerMeta', title: match.you.display_name },
            `${match.you.display_name} · ${Math.round(match.you.rating)}`
          )
        )
      )
    );
    this._sizeWarning = h('div', { class: 'jp-DuelSizeWarning', testid: 'duel-code-too-large', role: 'alert' });
    this._sizeWarning.hidden = true;
    mine.addWidget(nodeWidget(this._sizeWarning));
    this._editorModel = new CodeEditor.Model({ mimeType: PYTHON_MIME });
    this._editorModel.sharedModel.setSource(challenge.starter_code);
    this._editor = new CodeEditorWrapper({
      factory: editorServices.factoryService.newInlineEditor,
      model: this._editorModel,
      editorOptions: { config: { lineNumbers: true, lineWrap: false, tabSize: 4, indentUnit: '4' } }
    });
    this._editor.addClass('jp-DuelView-editor');
    this._editor.node.dataset.testid = 'duel-editor';
    labelEditor(this._editor.node, 'Your solution');
    mine.addWidget(this._editor);
    this._verdict = h('span', { class: 'jp-DuelVerdict', testid: 'duel-verdict' }, '–');
    this._verdictLabel = h('span', { class: 'jp-DuelView-resultsLabel', testid: 'duel-run-label' }, 'No run yet');
    this._message = h('pre', { class: 'jp-DuelView-message' });
    this._message.hidden = true;
    this._message.dataset.testid = 'duel-run-message';
    this._results = h('div', { class: 'jp-DuelResults', testid: 'duel-results' });
    this._staleNote = h(
      'div',
      { class: 'jp-DuelSidebar-hint jp-DuelView-staleNote', testid: 'duel-results-stale' },
      'These results are from your last run, before your code went over the size limit.'
    );
    this._staleNote.hidden = true;
    this._resultsBox = h(
      'div',
      { class: 'jp-DuelView-resultsBox', testid: 'duel-results-box', tabindex: 0, role: 'region', 'aria-label': 'Your results' },
      h('div', { class: 'jp-DuelView-resultsHeader' }, this._verdictLabel, this._verdict),
      this._staleNote,
      this._message,
      this._results
    );
    this._resultsBox.append(this._buildCustomInput(challenge));
    mine.addWidget(nodeWidget(this._resultsBox));

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
          h('span', { class: 'jp-DuelView-player', title: opponentName }, opponentName),
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
      labelEditor(mirrorEditor.node, `${opponentName}’s code (read-only)`);
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
    if (!match.opponent.bot) {
      this._quick = new QuickMessages({
        client,
        battleId: match.battle_id,
        you: match.you.name,
        opponentName,
        toggleMute: () => void options.commands?.execute(CommandIDs.toggleQuickMessages)
      });
      theirs.addWidget(nodeWidget(this._quick.node));
    }

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
        h('div', { class: 'jp-DuelCountdown-label jp-DuelCountdown-names' }, `${match.you.display_name} vs ${opponentName}`),
        this._countdownNumber,
        h('div', { class: 'jp-DuelCountdown-label' }, 'Get ready — the duel starts when the countdown ends')
      )
    );
    body.node.append(this._countdown);

    // ---------------------------------------------------------- wiring
    this._editorModel.sharedModel.changed.connect(this._onEditorChanged, this);
    this._mirror?.changed.connect((sender: OpponentMirror) => {
      this._staleTag.hidden = !sender.stale || this.isOver;
      if (this._textOutline && this._textOutline.isVisible) {
        this._updateTextOutline();
      }
      // A missed delta: the service's `battle_state` carries the opponent's whole code (as far as shown).
      if (sender.stale && !this.isOver && Date.now() - this._lastRefresh > 3000) {
        this._lastRefresh = Date.now();
        this._client.refreshBattle();
      }
    });
    client.opponentCode.connect(this._onOpponentCode, this);
    client.opponentShape.connect(this._onOpponentShape, this);
    client.testResult.connect(this._onTestResult, this);
    client.customResult.connect(this._onCustomResult, this);
    client.errorReceived.connect(this._onCustomError, this);
    client.submissionResult.connect(this._onSubmissionResult, this);
    client.battleComplete.connect(this._onBattleComplete, this);
    client.errorReceived.connect(this._onError, this);
    client.opponentStatus.connect(this._onOpponentStatus, this);
    client.battleRestored.connect(this._onRestored, this);
    client.challengeOffer.connect(this._renderRematch, this);
    client.stateChanged.connect(this._renderRematch, this);
    client.stateChanged.connect(this._applyPreferences, this);
    client.stateChanged.connect(this._renderElsewhere, this);
    client.tournamentsChanged.connect(this._renderTournament, this);
    this._renderTournament();
    // Shortcuts are caught in the capture phase: CodeMirror consumes Ctrl+Enter before JupyterLab's keymap sees it.
    this.node.addEventListener('keydown', this._onKeydown, true);
    this._clockTimer = window.setInterval(() => this._renderClock(), 250);
    this._renderClock();
    this._applyPreferences();
    this._checkCodeSize();
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

  /** The duel's challenge (public view: statement and samples). */
  get challenge(): IChallengeView {
    return this._battle.match.challenge;
  }

  /**
   * Replace the editor's whole text with `text` (e.g. a notebook cell), through the editor's model so that the
   * change is mirrored and synced like typing. False (nothing changed) when the editor is read-only: before the
   * start or after the end.
   */
  replaceCode(text: string): boolean {
    if (this.isOver || this.isCountingDown) {
      return false;
    }
    const shared = this._editorModel.sharedModel;
    shared.updateSource(0, shared.getSource().length, text);
    return true;
  }

  /** True until the countdown ends (`started_at`). */
  get isCountingDown(): boolean {
    return Date.now() < this._battle.startsAt;
  }

  /** The duel's tab is the one in front in the main area. */
  get isCurrent(): boolean {
    return this.isVisible;
  }

  /** The code is over the service's size limit: it cannot be run or submitted. */
  get isCodeTooLarge(): boolean {
    return this._tooLarge;
  }

  runSamples(): void {
    if (this.isOver || this._judging || this.isCountingDown || this._checkCodeSize()) {
      return;
    }
    if (this._client.runSamples(this.code)) {
      this._setJudging('run_samples');
    }
  }

  submit(): void {
    if (this.isOver || this._judging || this.isCountingDown || this._checkCodeSize()) {
      return;
    }
    if (this._client.submit(this.code)) {
      this._setJudging('submit_code');
    }
  }

  /** Say a quick message to the opponent (not in a practice duel). */
  async say(reaction: ReactionName): Promise<void> {
    await this._quick?.send(reaction);
  }

  async forfeit(): Promise<void> {
    if (this.isOver) {
      return;
    }
    await confirmForfeit(this._client, this.battleId, {
      name: this._battle.match.opponent.display_name,
      ranked: this._battle.match.ranked
    });
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
    this._quick?.dispose();
    this.node.removeEventListener('keydown', this._onKeydown, true);
    this._client.opponentCode.disconnect(this._onOpponentCode, this);
    this._client.opponentShape.disconnect(this._onOpponentShape, this);
    this._client.testResult.disconnect(this._onTestResult, this);
    this._client.customResult.disconnect(this._onCustomResult, this);
    this._client.errorReceived.disconnect(this._onCustomError, this);
    this._client.submissionResult.disconnect(this._onSubmissionResult, this);
    this._client.battleComplete.disconnect(this._onBattleComplete, this);
    this._client.errorReceived.disconnect(this._onError, this);
    this._client.opponentStatus.disconnect(this._onOpponentStatus, this);
    this._client.battleRestored.disconnect(this._onRestored, this);
    this._client.challengeOffer.disconnect(this._renderRematch, this);
    this._client.stateChanged.disconnect(this._renderRematch, this);
    this._client.stateChanged.disconnect(this._applyPreferences, this);
    this._client.stateChanged.disconnect(this._renderElsewhere, this);
    this._client.tournamentsChanged.disconnect(this._renderTournament, this);
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
    // Code over the limit is flagged at once and not sent (the service would refuse it): it is sent again,
    // as the edits since the last accepted text, once it is back under the limit.
    const tooLarge = this._checkCodeSize();
    if (!this.isOver && !tooLarge) {
      this._client.updateCode(this.code);
    }
  }

  /**
   * Compare the code's size with the limit and show the result next to the editor; returns whether it is over.
   * UTF-8 takes 1 to 3 bytes per UTF-16 unit, so most texts are decided from their length alone.
   */
  private _checkCodeSize(): boolean {
    const code = this.code;
    const limit = this._maxBytes;
    const bytes = code.length * 3 <= limit ? -1 : utf8Length(code);
    const over = bytes > limit;
    if (over) {
      this._sizeWarning.dataset.bytes = String(bytes);
      this._sizeWarning.dataset.limit = String(limit);
      this._sizeWarning.textContent =
        `Your code is ${formatBytes(bytes)}, over the ${formatBytes(limit)} limit: ` +
        'shorten it to run or submit it (your opponent sees your last code under the limit).';
    }
    if (over !== this._tooLarge) {
      this._tooLarge = over;
      this._sizeWarning.hidden = !over;
      this._editor.toggleClass('jp-mod-tooLarge', over);
      this.node.dataset.codeTooLarge = String(over);
      this._renderResultsHeader();
      this._updateButtons();
    }
    return over;
  }

  /** Fold or unfold the statement (only offered when the columns are stacked). */
  private _toggleStatement(): void {
    const collapsed = !this._problem.hasClass('jp-mod-collapsed');
    this._problem.toggleClass('jp-mod-collapsed', collapsed);
    this._problemToggle.textContent = collapsed ? 'Show statement' : 'Hide statement';
    this._problemToggle.setAttribute('aria-expanded', String(!collapsed));
  }

  /** Apply the player's preferences: what the opponent's pane shows. */
  private _applyPreferences(): void {
    const display = this._client.preferences.mirrorDisplay;
    const over = this.isOver;
    this.node.dataset.opponentPane = display;
    // Hidden: no opponent pane while the duel runs (it comes back with the final codes at the end).
    const hidden = display === 'hidden' && !over;
    this.toggleClass('jp-mod-opponentHidden', hidden);
    if (hidden) {
      this._theirs.hide();
    } else {
      this._theirs.show();
    }
    // Outline: a text mirror (live, delayed) shows only the outline of the opponent's lines.
    if (!this._mirror || this._revealedModel) {
      return;
    }
    if (display === 'outline') {
      if (!this._textOutline) {
        const outline = new ShapeView();
        outline.addClass('jp-DuelView-mirror');
        outline.node.dataset.testid = 'duel-mirror-outline';
        this._theirs.insertWidget(this._theirs.widgets.indexOf(this._mirrorWidget) + 1, outline);
        this._textOutline = outline;
      }
      this._updateTextOutline();
      this._mirrorWidget.hide();
      this._textOutline.show();
    } else {
      this._textOutline?.hide();
      this._mirrorWidget.show();
    }
  }

  private _updateTextOutline(): void {
    const text = this._mirror?.model.sharedModel.getSource() ?? '';
    this._textOutline?.setShape(codeShape(text), Array.from(text).length);
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

    // Own results: the latest run's rows, the verdict of the last finished run. Runs are numbered from 1 in
    // each battle, in the order they were made.
    this._ownSubmission = -1;
    this._run = null;
    this._results.replaceChildren();
    this._message.hidden = true;
    this._runLabels.clear();
    this._runCounts = { samples: 0, submissions: 0 };
    for (const done of [...state.your_submissions].sort((a, b) => a.submission_id - b.submission_id)) {
      this._runLabel(done.submission_id, done.samples_only);
    }
    this._renderResultsHeader();
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
    this._applyPreferences();
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
    labelEditor(editor.node, `${this._battle.match.opponent.display_name}’s final code (read-only)`);
    const note = nodeWidget(
      h(
        'div',
        { class: 'jp-DuelRevealedNote', role: 'note' },
        `${opponent.display_name}'s final code, revealed now that the duel is over.`
      )
    );
    const at = this._theirs.widgets.indexOf(this._textOutline ?? this._mirrorWidget);
    this._mirrorWidget.hide();
    this._textOutline?.hide();
    this._staleTag.hidden = true;
    this._theirs.insertWidget(at + 1, note);
    this._theirs.insertWidget(at + 2, editor);
    this._revealedTag.hidden = false;
    this.node.dataset.revealed = 'true';
  }

  /** A refused run or submission must not leave the buttons stuck in "Judging…". One refused because it came
   * too soon after the previous one (`cooldown`) is sent again, with the code as it is then, once allowed. */
  private _onError(_: IDuelClient, msg: IErrorEvent): void {
    if (msg.code === 'code_too_large' && !this.isOver) {
      // The service's limit is another one than assumed: take it from its message.
      const named = /limit is (\d+)|over (\d+) bytes/.exec(msg.message ?? '');
      const limit = named ? Number(named[1] ?? named[2]) : NaN;
      if (Number.isFinite(limit) && limit > 0) {
        this._maxBytes = limit;
      }
      this._checkCodeSize();
    }
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
    this._startRun(msg.submission_id, msg.samples_only);
    if (this._run?.id === msg.submission_id) {
      this._run.summary = msg;
    }
    // CE and REFUSED: nothing ran, so the error is the same for every test and is said here, once.
    this._message.textContent = msg.message ?? '';
    this._message.hidden = !msg.message;
    this._message.dataset.verdict = msg.verdict;
    this._renderResultsHeader();
  }

  /** "Sample run #2", "Submission #1": numbered from 1 in this battle, each kind on its own. */
  private _runLabel(submissionId: number, samplesOnly: boolean): string {
    let label = this._runLabels.get(submissionId);
    if (label === undefined) {
      label = samplesOnly
        ? `Sample run #${++this._runCounts.samples}`
        : `Submission #${++this._runCounts.submissions}`;
      this._runLabels.set(submissionId, label);
    }
    return label;
  }

  /** The results header: the current run and its verdict, or why there is none. */
  private _renderResultsHeader(): void {
    const run = this._run;
    const stale = this._tooLarge && run !== null;
    this._resultsBox.dataset.stale = String(stale);
    this._staleNote.hidden = !stale;
    const verdict = this._verdict;
    if (this._tooLarge) {
      // Whatever ran before, it is not this code: no verdict is shown as if it were.
      this._verdictLabel.textContent = 'Not judged: code over the size limit';
      verdict.textContent = 'too large';
      verdict.dataset.state = 'too-large';
      verdict.title = 'Shorten your code to run or submit it';
      delete verdict.dataset.verdict;
      return;
    }
    if (!run) {
      this._verdictLabel.textContent = 'No run yet';
      verdict.textContent = '–';
      verdict.dataset.state = 'none';
      verdict.title = '';
      delete verdict.dataset.verdict;
      return;
    }
    const summary = run.summary;
    if (!summary) {
      this._verdictLabel.textContent = `${run.label}…`;
      verdict.textContent = '…';
      verdict.dataset.state = 'running';
      verdict.title = 'Being judged';
      delete verdict.dataset.verdict;
      return;
    }
    this._verdictLabel.textContent = run.label;
    verdict.textContent = `${summary.verdict} ${summary.passed}/${summary.total}`;
    verdict.dataset.state = 'done';
    verdict.dataset.verdict = summary.verdict;
    verdict.title = VERDICT_TITLES[summary.verdict] ?? summary.verdict;
  }

  /** Each run replaces the list: the rows always describe the latest run. */
  private _startRun(submissionId: number, samplesOnly: boolean): void {
    if (submissionId === this._ownSubmission) {
      return;
    }
    this._ownSubmission = submissionId;
    this._run = { id: submissionId, label: this._runLabel(submissionId, samplesOnly), summary: null };
    this._results.replaceChildren();
    this._message.hidden = true;
    this._message.textContent = '';
    delete this._message.dataset.verdict;
    this._renderResultsHeader();
  }

  /**
   * A test that was not run: after a test that ended the run (a time limit, a crash), the judge reports the
   * remaining tests with the same verdict and no time. A real result always has a measured time.
   */
  /** The service says so (`test_result.skipped`): an earlier test ended the run before this one ran. */
  private _isSkipped(msg: ITestResult): boolean {
    return msg.skipped === true && msg.verdict !== 'CE' && msg.verdict !== 'REFUSED';
  }

  private _addOwnResult(msg: ITestResult): void {
    this._startRun(msg.submission_id, this._judging === 'run_samples');
    const name = `${msg.kind === 'sample' ? 'Sample' : 'Hidden'} ${msg.index + 1}/${msg.total}`;
    // Nothing ran (CE, REFUSED): one error for the whole run, shown once above the rows.
    const notRun = msg.verdict === 'CE' || msg.verdict === 'REFUSED';
    if (notRun) {
      const error = msg.detail?.error;
      if (error && this._message.hidden) {
        this._message.textContent = error;
        this._message.dataset.verdict = msg.verdict;
        this._message.hidden = false;
      }
    }
    if (notRun || this._isSkipped(msg)) {
      const skipped = !notRun;
      const row = h(
        'div',
        {
          class: `jp-DuelResult jp-mod-failed ${skipped ? 'jp-mod-skipped' : 'jp-mod-notRun'}`,
          testid: 'duel-test-row',
          'data-passed': 'false',
          'data-verdict': msg.verdict,
          'data-kind': msg.kind,
          'data-index': msg.index,
          'data-skipped': skipped ? 'true' : undefined
        },
        h(
          'div',
          { class: 'jp-DuelResult-line' },
          h('span', { class: 'jp-DuelResult-mark', 'aria-label': skipped ? 'skipped' : 'failed' }, skipped ? '–' : '✗'),
          h('span', { class: 'jp-DuelResult-name' }, name),
          skipped
            ? h(
                'span',
                {
                  class: 'jp-DuelResult-skipped',
                  testid: 'duel-test-skipped',
                  title: 'Not run: an earlier test ended the run'
                },
                'skipped'
              )
            : verdictBadge(msg.verdict),
          skipped ? null : h('span', { class: 'jp-DuelResult-time' }, 'not run')
        )
      );
      this._insertRow(row, msg.index);
      return;
    }
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
        h('span', { class: 'jp-DuelResult-name' }, name),
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
            detail.error ? h('dd', {}, h('pre', { class: 'jp-DuelCode jp-mod-error' }, detail.error)) : null,
            ...outputBlock(detail.output, `Output of ${name}`)
          )
        : null
    );
    this._insertRow(row, msg.index);
  }

  /** Run the editor's code on the arguments typed in the custom input field (result: `_onCustomResult`). */
  async runCustom(): Promise<void> {
    if (this.isOver || this.isCountingDown || this._customPending || this._checkCodeSize()) {
      return;
    }
    this._customPending = true;
    this._customRunButton.disabled = true;
    this._customOutcome.replaceChildren(h('span', { class: 'jp-DuelSidebar-hint' }, 'Running…'));
    const ack = await this._client.runCustom(this.code, this._customArgs.value);
    if (!ack.ok) {
      this._customPending = false;
      this._customRunButton.disabled = this.isOver;
      this._customOutcome.replaceChildren(
        h(
          'div',
          { class: 'jp-DuelCustom-refused', testid: 'duel-custom-error', 'data-code': ack.error?.code ?? '' },
          ack.error?.message ?? 'The run was refused.'
        )
      );
    }
  }

  /** The custom input section: a collapsible form under the results, and the latest custom run's answer. */
  private _buildCustomInput(challenge: IChallengeView): HTMLElement {
    const fieldId = `jp-duel-custom-args-${this._battle.match.battle_id}`;
    const first = challenge.samples[0]?.call ?? '';
    const prefix = `${challenge.function}(`;
    this._customArgs = h('input', {
      id: fieldId,
      type: 'text',
      class: 'jp-mod-styled jp-DuelCustom-args',
      testid: 'duel-custom-args',
      spellcheck: 'false',
      autocomplete: 'off',
      placeholder: 'e.g. [2, 7, 11], 9'
    });
    this._customArgs.value = first.startsWith(prefix) && first.endsWith(')') ? first.slice(prefix.length, -1) : '';
    this._customArgs.addEventListener('keydown', (event: KeyboardEvent) => {
      if (event.key === 'Enter' && !event.ctrlKey && !event.metaKey) {
        event.preventDefault();
        void this.runCustom();
      }
    });
    this._customRunButton = h(
      'button',
      { class: 'jp-mod-styled jp-mod-accept jp-DuelButton', testid: 'duel-custom-run', type: 'button' },
      'Run'
    );
    this._customRunButton.addEventListener('click', () => void this.runCustom());
    this._customOutcome = h('div', {
      class: 'jp-DuelCustom-outcome',
      testid: 'duel-custom-result',
      role: 'status',
      'aria-live': 'polite'
    });
    return h(
      'details',
      { class: 'jp-DuelCustom', testid: 'duel-custom' },
      h('summary', { class: 'jp-DuelView-resultsLabel', testid: 'duel-custom-toggle' }, 'Custom input'),
      h(
        'div',
        { class: 'jp-DuelCustom-form' },
        h('label', { for: fieldId, class: 'jp-DuelCustom-label' }, `Arguments of ${challenge.function}(…)`),
        h('div', { class: 'jp-DuelCustom-row' }, this._customArgs, this._customRunButton)
      ),
      h(
        'div',
        { class: 'jp-DuelSidebar-hint' },
        'Python literals, as inside the call. Nothing is compared and nothing counts; prints are shown.'
      ),
      this._customOutcome
    );
  }

  /** A custom run that failed after it was accepted (the judge itself failed): say so where its answer goes. */
  private _onCustomError(_: IDuelClient, msg: IErrorEvent): void {
    if (msg.event !== 'run_custom' || !this._customPending) {
      return;
    }
    this._customPending = false;
    this._customRunButton.disabled = this.isOver;
    this._customOutcome.replaceChildren(
      h('div', { class: 'jp-DuelCustom-refused', testid: 'duel-custom-error', 'data-code': msg.code }, msg.message)
    );
  }

  private _onCustomResult(_: IDuelClient, msg: ICustomResult): void {
    this._customPending = false;
    this._customRunButton.disabled = this.isOver;
    const ok = msg.verdict === 'OK';
    this._customOutcome.replaceChildren(
      h(
        'div',
        { class: `jp-DuelResult ${ok ? 'jp-mod-passed' : 'jp-mod-failed'}`, testid: 'duel-custom-row', 'data-verdict': msg.verdict },
        h(
          'div',
          { class: 'jp-DuelResult-line' },
          h('span', { class: 'jp-DuelResult-name', title: msg.call }, msg.call),
          h(
            'span',
            { class: `jp-DuelVerdictBadge jp-mod-${ok ? 'ok' : 'bad'}`, title: ok ? 'Returned' : VERDICT_TITLES[msg.verdict] ?? msg.verdict },
            msg.verdict
          ),
          h('span', { class: 'jp-DuelResult-time' }, `${msg.time_ms.toFixed(msg.time_ms < 10 ? 1 : 0)} ms`)
        ),
        h(
          'dl',
          { class: 'jp-DuelResult-detail' },
          msg.value !== null ? h('dt', {}, 'returned') : null,
          msg.value !== null ? h('dd', {}, h('code', { testid: 'duel-custom-value' }, msg.value)) : null,
          msg.error ? h('dt', {}, 'error') : null,
          msg.error ? h('dd', {}, h('pre', { class: 'jp-DuelCode jp-mod-error', testid: 'duel-custom-traceback' }, msg.error)) : null,
          ...outputBlock(msg.output, 'Output of the custom run')
        )
      )
    );
  }

  /** Results may finish out of order: keep rows sorted by index. */
  private _insertRow(row: HTMLElement, index: number): void {
    const after = Array.from(this._results.children).find(child => Number((child as HTMLElement).dataset.index) > index);
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
  /** Taken over by another tab: frozen, with the way back. */
  /** "Tournament: NAME" in the header of a tournament game; once it is over, what comes next. */
  private _renderTournament(): void {
    const tag = this._tournamentTag;
    const id = this._battle.match.tournament_id;
    if (!tag || !id) {
      return;
    }
    const view = this._client.tournament(id);
    const note =
      view?.status === 'finished'
        ? 'The tournament is over: the final standings are in the Duel panel.'
        : view && view.format !== 'arena'
          ? 'The result counts in the tournament; the next round starts when every game of this one is over.'
          : 'The result counts in the tournament; your next game comes by itself.';
    if (this._tournamentNote.textContent !== note) {
      this._tournamentNote.textContent = note;
    }
    const name = view?.name ?? this._client.tournaments.find(t => t.id === id)?.name ?? null;
    const text = name ? `Tournament: ${name}` : 'Tournament';
    if (tag.textContent !== text) {
      tag.textContent = text;
      tag.title = name ? `A game of the tournament ${name}: its result counts in the standings` : 'A tournament game';
    }
  }

  private _renderElsewhere(): void {
    const elsewhere = this.isOver ? null : this._battle.elsewhere;
    const shown = !this._elsewhere.hidden;
    this._elsewhere.hidden = elsewhere === null;
    this.node.dataset.elsewhere = elsewhere === null ? 'false' : 'true';
    if (elsewhere) {
      this._elsewhereText.textContent = elsewhere.open
        ? 'This duel continues in another tab. Your code there is kept.'
        : 'No tab shows this duel now: your opponent sees you as away.';
    }
    if (shown !== (elsewhere !== null)) {
      this._updateButtons();
    }
  }

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
    // A tournament brings the next game by itself: the way on is its standings, not the queue or a rematch.
    const tournament = match.tournament_id ?? null;
    const again = tournament
      ? h('button', { class: 'jp-mod-styled jp-mod-accept jp-DuelButton', testid: 'duel-outcome-tournament' }, 'Tournament standings')
      : h('button', { class: 'jp-mod-styled jp-mod-accept jp-DuelButton' }, 'Find another opponent');
    again.addEventListener('click', () => {
      if (tournament) {
        void this._commands?.execute(CommandIDs.openTournaments);
      } else {
        this._client.findOpponent();
      }
    });
    const reason =
      msg.reason === 'aborted'
        ? msg.note
          ? `Aborted by the instructor: ${msg.note}`
          : ABORTED_BY_ABSENCE
        : `The duel ended because ${REASON_TEXT[msg.reason]}.`;
    node.dataset.ranked = String(match.ranked);
    node.dataset.rated = String(msg.ranked);
    this._completedAt = Date.now();
    const canRematch = !match.opponent.bot && !match.you.bot && !tournament;
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
        tournament ? this._tournamentNote : null,
        this._rematchBox
      ),
      h(
        'div',
        { class: 'jp-DuelOutcome-ratings' },
        ratingLine('You', mine.before, mine.after),
        theirs ? ratingLine(match.opponent.display_name, theirs.before, theirs.after) : null,
        msg.ranked
          ? null
          : h(
              'div',
              { class: 'jp-DuelSidebar-hint', testid: 'duel-outcome-rating-note' },
              unratedText(this._battle.practice, match.ranked, msg.reason)
            )
      ),
      h('div', { class: 'jp-DuelOutcome-actions' }, this._rematchButton, this._exportButton(), again)
    );
    this._outcome.show();
    this._renderRematch();
  }

  /** "Open in a notebook": the duel's scratch notebook (when the view was given the app's commands). */
  private _notebookButton(): HTMLElement | null {
    const commands = this._commands;
    if (!commands) {
      return null;
    }
    const button = h(
      'button',
      {
        class: 'jp-mod-styled jp-DuelButton jp-DuelOutlineButton jp-DuelView-notebookButton',
        testid: 'duel-open-notebook',
        title: 'Open a scratch notebook with the statement, your code and the samples, in your own Python kernel'
      },
      'Open in a notebook'
    );
    button.addEventListener('click', () => {
      void commands.execute(CommandIDs.openScratchNotebook, { battleId: this.battleId });
    });
    return button;
  }

  /** "Export": the finished duel saved as a notebook in the player's file tree. */
  private _exportButton(): HTMLElement | null {
    const commands = this._commands;
    if (!commands) {
      return null;
    }
    const button = h(
      'button',
      {
        class: 'jp-mod-styled jp-DuelButton jp-DuelOutlineButton',
        testid: 'duel-export',
        title: 'Save this duel (statement, both solutions, results, ratings) as a notebook in your files'
      },
      'Export to notebook'
    );
    button.addEventListener('click', () => {
      button.disabled = true;
      void commands
        .execute(CommandIDs.exportDuel, { battleId: this.battleId })
        .finally(() => (button.disabled = false));
    });
    return button;
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
    const over = this.isOver || this._battle.elsewhere !== null;
    const waiting = this.isCountingDown;
    const retrying = this._retryAt > Date.now();
    const tooLarge = this._tooLarge;
    this._runButton.disabled = over || waiting || retrying || tooLarge || this._judging !== null;
    this._submitButton.disabled = over || waiting || retrying || tooLarge || this._judging !== null;
    this._forfeitButton.disabled = this.isOver; // accepted from any tab
    this._editor.editor.setOption('readOnly', over || waiting);
  }

  private _completedAt = 0;
  private readonly _problem: Panel;
  private readonly _problemToggle: HTMLButtonElement;
  private readonly _sizeWarning: HTMLDivElement;
  private readonly _resultsBox: HTMLDivElement;
  private readonly _staleNote: HTMLDivElement;
  /** Live and delayed modes, when the player prefers outlines: the outline of the mirrored text. */
  private _textOutline: ShapeView | null = null;
  private _maxBytes: number;
  private _tooLarge = false;
  /** The run the results panel shows (null: none yet). */
  private _run: { id: number; label: string; summary: ISubmissionResult | null } | null = null;
  private readonly _runLabels = new Map<number, string>();
  private _runCounts = { samples: 0, submissions: 0 };
  private _rematchButton: HTMLButtonElement | null = null;
  private readonly _tournamentTag: HTMLSpanElement | null;
  private readonly _tournamentNote = h('div', { class: 'jp-DuelSidebar-hint', testid: 'duel-outcome-tournament-note' });
  private _rematchBox: HTMLDivElement | null = null;
  private _rematchKey: string | null = null;
  private _rematchError: string | null = null;
  private _rematchShownError: string | null = null;
  /** When a run or submission refused for coming too soon is sent again (0: none pending). */
  private _retryAt = 0;
  private _retryTimer = 0;
  private readonly _battle: IBattle;
  private readonly _client: IDuelClient;
  private readonly _commands: CommandRegistry | null;
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
  private _quick: QuickMessages | null = null;
  private readonly _elsewhere: HTMLDivElement;
  private readonly _elsewhereText: HTMLSpanElement;
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
  private _customArgs!: HTMLInputElement;
  private _customRunButton!: HTMLButtonElement;
  private _customOutcome!: HTMLDivElement;
  private _customPending = false;
}

export namespace DuelView {
  export interface IOptions {
    battle: IBattle;
    client: IDuelClient;
    editorServices: IEditorServices;
    rendermime: IRenderMimeRegistry;
    /** Restore from this `battle_state` right away (it arrived before the view existed). */
    restore?: IBattleRestore | null;
    /** The app's commands: the quick messages' mute switch runs one; with them the view also offers "Open in a
     * notebook" and, once over, "Export to notebook". */
    commands?: CommandRegistry;
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

/** The `output` rows of a result's details: what the code printed, in a labelled, scrollable, capped block. */
function outputBlock(output: string | null, label: string): HTMLElement[] {
  if (output === null) {
    return [];
  }
  return [
    h('dt', {}, 'output'),
    h(
      'dd',
      {},
      output === ''
        ? h('span', { class: 'jp-DuelOutput-empty', testid: 'duel-output' }, 'nothing printed')
        : h('pre', { class: 'jp-DuelCode jp-DuelOutput', testid: 'duel-output', tabindex: 0, role: 'region', 'aria-label': label }, output)
    )
  ];
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
    h('span', { class: 'jp-DuelOutcome-who', title: who }, who),
    ` ${Math.round(before)} → ${Math.round(after)} `,
    h(
      'span',
      { class: `jp-DuelDelta ${delta > 0 ? 'jp-mod-up' : delta < 0 ? 'jp-mod-down' : ''}` },
      `(${formatDelta(delta)})`
    )
  );
}

/** What the outcome says when ratings did not change. */
function unratedText(practice: boolean, ranked: boolean, reason: IBattleComplete['reason']): string {
  if (practice) {
    return 'Practice duel: ratings unchanged.';
  }
  if (!ranked) {
    return 'Casual duel: ratings unchanged.';
  }
  if (reason === 'aborted') {
    return 'Ranked duel, aborted: ratings unchanged.';
  }
  if (reason === 'forfeit' || reason === 'disconnect') {
    return 'Ranked duel, not rated: it ended before anybody submitted, or these two players’ rated duels for today are used up.';
  }
  return 'Ranked duel, not rated: these two players’ rated duels for today are used up.';
}

/** The size of `text` in bytes of UTF-8 (a lone surrogate counts 3, as the service counts it). */
function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) {
      bytes += 1;
    } else if (unit < 0x800) {
      bytes += 2;
    } else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else {
        bytes += 3;
      }
    } else {
      bytes += 3;
    }
  }
  return bytes;
}

/** `51,200 bytes` */
function formatBytes(bytes: number): string {
  return `${bytes.toLocaleString('en-US')} bytes`;
}
