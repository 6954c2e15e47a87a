/**
 * The main-area **duel review** (`jupyter-duel:open-review`): one finished battle from the service's review record
 * (`GET {api_url}battles/{id}`): both players with the result and rating change, both final codes, every
 * submission with its tests, and a replay of both players' typing on one timeline.
 *
 * The replay rebuilds each player's code from their timeline: every accepted `sync_code` as
 * `[t, seq, delta, text]`, where a message carries either the full `text` or a `delta` against the text before it
 * (positions in code points, `delta.ts`). The code at time t is the last full text with every later delta up to t
 * applied in order.
 *
 * Share links open the review in the reader's own JupyterLab: `{base}lab?duel-review=ID`, or under JupyterHub
 * `{hub_prefix}user-redirect/lab?duel-review=ID` (the hub sends each reader to their own server). The service
 * decides who may read it; a guest tab sends its identity token so that it is answered as that guest.
 */
import { Clipboard } from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { Widget } from '@lumino/widgets';

import { fetchSession } from './client';
import { applyDelta } from './delta';
import { formatDelta, h } from './dom';
import { duelIcon } from './icons';
import type { IBattleReview, IReviewSubmission, ISessionInfo, TimelineEdit } from './protocol';
import { ApiError, fetchReview } from './rest';
import type { IDuelClient } from './tokens';

/**
 * The identity a battle's review or export is read as: a guest tab of a shared Jupyter server is answered as its
 * guest (`X-Duel-Identity`, a fresh short-lived token); null elsewhere (the hub knows who asks, and the server's
 * own user may read every battle).
 */
export async function readerToken(session: ISessionInfo): Promise<string | null> {
  return session.mode === 'embedded' && session.guest ? (await fetchSession(session.name)).token : null;
}

/** The query parameter of a share link. */
export const REVIEW_PARAM = 'duel-review';

/** Replay speeds offered (times real time). */
export const REPLAY_SPEEDS = [1, 4, 16];

/** What the arrow keys move the replay by, in seconds (with Shift: `BIG_STEP_S`). */
const STEP_S = 1;
const BIG_STEP_S = 10;

const REFUSALS: Record<number, string> = {
  403: 'This duel’s review is only for its players and instructors.',
  404: 'No finished duel has this id.',
  401: 'Your duel identity could not be checked: reload the page and open the link again.'
};

const REASON_TEXT: Record<string, string> = {
  solved: 'solved every test first',
  forfeit: 'the opponent forfeited',
  time_limit: 'time ran out',
  disconnect: 'the opponent left and did not come back',
  aborted: 'aborted by an instructor'
};

const RESULT_TEXT: Record<string, string> = { win: 'Won', loss: 'Lost', draw: 'Draw', aborted: 'Aborted' };

/** The share link of a battle's review, for the reader's own JupyterLab. */
export function reviewLink(battleId: string): string {
  const query = `lab?${REVIEW_PARAM}=${encodeURIComponent(battleId)}`;
  const hubPrefix = PageConfig.getOption('hubPrefix');
  if (hubPrefix) {
    const prefix = hubPrefix.endsWith('/') ? hubPrefix : `${hubPrefix}/`;
    return new URL(`${prefix}user-redirect/${query}`, window.location.origin).href;
  }
  const base = new URL(PageConfig.getBaseUrl(), window.location.origin).href;
  return `${base.endsWith('/') ? base : `${base}/`}${query}`;
}

/** The battle id in a location's query string (`?duel-review=ID`), or in a pasted share link; null when none. */
export function reviewTarget(text: string): string | null {
  const trimmed = text.trim();
  if (!trimmed) {
    return null;
  }
  const query = trimmed.includes('?') ? trimmed.slice(trimmed.indexOf('?')) : null;
  if (query !== null) {
    const id = new URLSearchParams(query.split('#')[0]).get(REVIEW_PARAM);
    return id ? id : null;
  }
  return /^[\w-]{1,64}$/.test(trimmed) ? trimmed : null;
}

/** One player's code over time: the text after each accepted edit. */
export interface ICodeFrame {
  t: number;
  text: string;
}

/**
 * Rebuild one player's code after every edit of their timeline. An edit whose delta does not fit the text before
 * it (which the service never accepts) leaves the text as it was.
 */
export function codeFrames(timeline: TimelineEdit[]): ICodeFrame[] {
  const frames: ICodeFrame[] = [];
  let text = '';
  for (const [t, , delta, full] of timeline) {
    if (typeof full === 'string') {
      text = full;
    } else if (delta) {
      try {
        text = applyDelta(text, delta);
      } catch {
        // keep the text as it was
      }
    }
    frames.push({ t: Math.max(0, t), text });
  }
  return frames;
}

/** The index of the last frame at or before `t` (-1: before the first edit). */
export function frameAt(frames: ICodeFrame[], t: number): number {
  let lo = 0;
  let hi = frames.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (frames[mid].t <= t) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/** `mm:ss` for a number of seconds (minutes keep counting past 59). */
export function formatClock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

export class ReplayView extends Widget {
  constructor(options: ReplayView.IOptions) {
    super();
    this._client = options.client;
    this.battleId = options.battleId;
    this.id = `jupyter-duel-review-${options.battleId.replace(/[^\w-]/g, '_')}`;
    this.addClass('jp-DuelReview');
    this.node.dataset.testid = 'duel-review';
    this.node.dataset.battleId = options.battleId;
    this.title.label = 'Duel review';
    this.title.caption = `Review of duel ${options.battleId}`;
    this.title.icon = duelIcon;
    this.title.closable = true;

    const link = reviewLink(options.battleId);
    this._copy = h(
      'button',
      {
        class: 'jp-mod-styled jp-DuelButton',
        testid: 'duel-review-copy-link',
        'data-link': link,
        title: link,
        'aria-label': 'Copy a link to this review'
      },
      'Copy link'
    );
    this._copy.addEventListener('click', () => {
      Clipboard.copyToSystem(link);
      this._copyStatus.textContent = 'Link copied.';
    });
    this._copyStatus = h('span', { class: 'jp-DuelSidebar-hint', role: 'status', testid: 'duel-review-copy-status' });
    this._heading = h('h1', { class: 'jp-DuelReview-title', testid: 'duel-review-title' }, 'Duel review');
    this._message = h('p', { class: 'jp-DuelReview-message', role: 'status', testid: 'duel-review-message' }, 'Loading…');
    this._body = h('div', { class: 'jp-DuelReview-body' });
    this._body.hidden = true;

    this.node.append(
      h(
        'header',
        { class: 'jp-DuelReview-header' },
        this._heading,
        h('div', { class: 'jp-DuelReview-actions' }, this._copyStatus, this._copy)
      ),
      this._message,
      this._body
    );
    void this.load();
  }

  readonly battleId: string;

  /** The record shown (null until loaded, or when it was refused). */
  get review(): IBattleReview | null {
    return this._review;
  }

  /** Fetch the review once the client knows its session (a link opened at page load comes before the socket). */
  async load(): Promise<void> {
    const generation = ++this._generation;
    this._message.hidden = false;
    this._message.textContent = 'Connecting to the duel service…';
    delete this.node.dataset.state;
    this.node.dataset.loading = 'true';
    try {
      await this._connected();
      if (generation !== this._generation || this.isDisposed) {
        return;
      }
      this._message.textContent = 'Loading…';
      const session = this._client.session!;
      const review = await fetchReview(session, this.battleId, await readerToken(session));
      if (generation !== this._generation || this.isDisposed) {
        return;
      }
      this._show(review);
    } catch (reason) {
      if (generation !== this._generation || this.isDisposed) {
        return;
      }
      const status = reason instanceof ApiError ? reason.status : 0;
      this._message.textContent =
        REFUSALS[status] ??
        `Cannot load the review: ${reason instanceof Error ? reason.message : String(reason)}`;
      this._message.classList.add('jp-mod-error');
      this._copy.hidden = status === 403 || status === 404; // nothing to share
      this.node.dataset.state = status === 403 ? 'refused' : status === 404 ? 'unknown' : 'error';
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
    this._pause();
    this._generation++;
    super.dispose();
  }

  private _connected(): Promise<void> {
    const client = this._client;
    const ready = (): boolean => client.connectionState === 'connected' && client.session !== null;
    if (ready()) {
      return Promise.resolve();
    }
    return new Promise(resolve => {
      const check = (): void => {
        if (ready() || this.isDisposed) {
          client.stateChanged.disconnect(check);
          resolve();
        }
      };
      client.stateChanged.connect(check);
    });
  }

  // ---------------------------------------------------------------- rendering

  private _show(review: IBattleReview): void {
    this._review = review;
    this._frames = review.timelines.map(codeFrames);
    const lastEdit = Math.max(0, ...this._frames.map(f => (f.length ? f[f.length - 1].t : 0)));
    const lastSubmission = Math.max(0, ...review.submissions.map(s => s.at_s));
    this._duration = Math.max(1, review.duration_s ?? 0, lastEdit, lastSubmission);
    this._names = [0, 1].map(i => review.display_names[i] || review.players[i] || `Player ${i + 1}`);
    this.title.label = `Review: ${review.challenge_title}`;
    this._heading.textContent = `Review: ${review.challenge_title}`;
    this._heading.title = this._heading.textContent;
    this._message.hidden = true;
    this.node.dataset.state = 'loaded';
    this._body.replaceChildren(
      this._renderSummary(review),
      this._renderReplay(review),
      this._renderFinalCodes(review),
      this._renderSubmissions(review)
    );
    this._body.hidden = false;
    this._seek(0);
  }

  private _result(i: number): string {
    const review = this._review!;
    if (review.status === 'aborted') {
      return 'aborted';
    }
    if (!review.winner) {
      return 'draw';
    }
    return review.winner === review.players[i] ? 'win' : 'loss';
  }

  private _renderSummary(review: IBattleReview): HTMLElement {
    const players = [0, 1].map(i => {
      const result = this._result(i);
      const [before, after] = review.ratings[i] ?? [null, null];
      const delta = review.rating_deltas[i];
      const rated = review.ranked && delta !== null && delta !== undefined && before !== null;
      return h(
        'div',
        { class: 'jp-DuelReview-player', testid: 'duel-review-player', 'data-player': review.players[i] ?? '', 'data-result': result },
        h('span', { class: 'jp-DuelReview-name', title: this._names[i] }, this._names[i]),
        h('span', { class: `jp-DuelResultBadge jp-mod-${result}` }, RESULT_TEXT[result] ?? result),
        h(
          'span',
          { class: 'jp-DuelReview-rating', testid: 'duel-review-rating' },
          rated
            ? h(
                'span',
                {},
                `${Math.round(before!)} → ${Math.round(after ?? before!)} `,
                h(
                  'span',
                  { class: `jp-DuelDelta ${delta! > 0 ? 'jp-mod-up' : delta! < 0 ? 'jp-mod-down' : ''}` },
                  `(${formatDelta(delta!)})`
                )
              )
            : 'unrated'
        )
      );
    });
    const winnerName = review.winner ? this._names[review.players.indexOf(review.winner)] ?? review.winner : null;
    const why = review.reason ? REASON_TEXT[review.reason] ?? review.reason.replace('_', ' ') : '';
    let outcome: string;
    if (review.status === 'aborted') {
      outcome = `Aborted${review.note ? `: ${review.note}` : ''}.`;
    } else if (winnerName) {
      outcome = `${winnerName} won${why ? `: ${why}` : ''}.`;
    } else {
      outcome = `Draw${why ? `: ${why}` : ''}.`;
    }
    const meta = [
      review.ranked ? 'ranked' : 'casual',
      `${formatClock(this._duration)} long`,
      review.ended_at ? new Date(review.ended_at * 1000).toLocaleString() : ''
    ].filter(Boolean);
    return h(
      'section',
      { class: 'jp-DuelReview-section jp-DuelReview-summary', 'aria-label': 'Result' },
      h('div', { class: 'jp-DuelReview-players' }, ...players),
      h('p', { class: 'jp-DuelReview-outcome', testid: 'duel-review-outcome' }, outcome),
      h('p', { class: 'jp-DuelSidebar-hint' }, meta.join(' · '))
    );
  }

  private _renderReplay(review: IBattleReview): HTMLElement {
    this._play = h(
      'button',
      { class: 'jp-mod-styled jp-mod-accept jp-DuelButton', testid: 'duel-replay-play', 'aria-label': 'Play the replay' },
      'Play'
    );
    this._play.addEventListener('click', () => this._toggle());
    this._speed = h(
      'select',
      { class: 'jp-DuelReview-speed', testid: 'duel-replay-speed', 'aria-label': 'Replay speed' },
      ...REPLAY_SPEEDS.map(s => h('option', { value: String(s) }, `${s}×`))
    );
    this._speed.addEventListener('change', () => {
      this._rate = Number(this._speed.value) || 1;
    });
    this._time = h('span', { class: 'jp-DuelReview-time', testid: 'duel-replay-time', 'aria-live': 'off' });
    this._scrubber = h('input', {
      type: 'range',
      class: 'jp-DuelReview-scrubber',
      testid: 'duel-replay-scrubber',
      min: 0,
      max: Math.round(this._duration * 10),
      step: 1,
      value: 0,
      'aria-label': 'Replay time'
    });
    this._scrubber.addEventListener('input', () => {
      this._pause();
      this._seek(Number(this._scrubber.value) / 10);
    });
    const markers = h('div', { class: 'jp-DuelReview-markers', testid: 'duel-replay-markers' });
    for (const sub of review.submissions) {
      const who = Math.max(0, review.players.indexOf(sub.player));
      const label = `${this._names[who]} ${sub.samples_only ? 'ran the samples' : 'submitted'}: ${sub.verdict ?? '…'} ${
        sub.passed ?? 0
      }/${sub.total ?? 0} at ${formatClock(sub.at_s)}`;
      const marker = h('button', {
        class: `jp-DuelReview-marker jp-mod-player${who}${sub.samples_only ? ' jp-mod-run' : ''}${
          sub.verdict === 'AC' && !sub.samples_only ? ' jp-mod-ac' : ''
        }`,
        testid: 'duel-replay-marker',
        'data-at': String(sub.at_s),
        'data-player': sub.player ?? '',
        'data-samples-only': String(sub.samples_only),
        title: label,
        'aria-label': `${label}: show the replay there`
      });
      marker.style.left = `${Math.min(100, (100 * sub.at_s) / this._duration)}%`;
      marker.addEventListener('click', () => {
        this._pause();
        this._seek(sub.at_s);
      });
      markers.append(marker);
    }
    this._panes = [0, 1].map(i =>
      h('pre', {
        class: 'jp-DuelReview-code',
        testid: 'duel-replay-code',
        'data-player': review.players[i] ?? '',
        tabindex: 0,
        role: 'region',
        'aria-label': `${this._names[i]}’s code at this time`
      })
    );
    const section = h(
      'section',
      {
        class: 'jp-DuelReview-section jp-DuelReview-replay',
        testid: 'duel-replay',
        'aria-label': 'Replay: space plays or pauses, the arrow keys move one second (with Shift ten)'
      },
      h('h2', { class: 'jp-DuelView-sectionTitle' }, 'Replay'),
      h('div', { class: 'jp-DuelReview-controls' }, this._play, this._speed, this._time),
      h('div', { class: 'jp-DuelReview-timeline' }, markers, this._scrubber),
      h(
        'div',
        { class: 'jp-DuelReview-pair' },
        ...[0, 1].map(i =>
          h(
            'div',
            { class: 'jp-DuelReview-pane' },
            h('h3', { class: `jp-DuelReview-paneTitle jp-mod-player${i}`, title: this._names[i] }, this._names[i]),
            this._panes[i]
          )
        )
      )
    );
    section.addEventListener('keydown', event => this._onKey(event));
    return section;
  }

  private _renderFinalCodes(review: IBattleReview): HTMLElement {
    return h(
      'section',
      { class: 'jp-DuelReview-section', 'aria-label': 'Final codes' },
      h('h2', { class: 'jp-DuelView-sectionTitle' }, 'Final codes'),
      h(
        'div',
        { class: 'jp-DuelReview-pair' },
        ...[0, 1].map(i =>
          h(
            'div',
            { class: 'jp-DuelReview-pane' },
            h('h3', { class: `jp-DuelReview-paneTitle jp-mod-player${i}`, title: this._names[i] }, this._names[i]),
            h(
              'pre',
              {
                class: 'jp-DuelReview-code',
                testid: 'duel-review-final-code',
                'data-player': review.players[i] ?? '',
                tabindex: 0,
                'aria-label': `${this._names[i]}’s final code`
              },
              review.codes[i] ?? ''
            )
          )
        )
      )
    );
  }

  private _renderSubmissions(review: IBattleReview): HTMLElement {
    const list = h('ol', { class: 'jp-DuelReview-submissions', testid: 'duel-review-submissions' });
    review.submissions.forEach((sub, n) => list.append(this._submissionRow(review, sub, n)));
    return h(
      'section',
      { class: 'jp-DuelReview-section', 'aria-label': 'Submissions' },
      h('h2', { class: 'jp-DuelView-sectionTitle' }, `Submissions (${review.submissions.length})`),
      review.submissions.length ? list : h('p', { class: 'jp-DuelSidebar-hint' }, 'Nobody submitted.')
    );
  }

  private _submissionRow(review: IBattleReview, sub: IReviewSubmission, n: number): HTMLElement {
    const who = Math.max(0, review.players.indexOf(sub.player));
    const pills = h('div', { class: 'jp-DuelPills', id: `${this.id}-tests-${n}`, testid: 'duel-review-tests' });
    const counts = { sample: 0, hidden: 0 };
    for (const [kind, verdict, passed, timeMs] of sub.tests) {
      counts[kind] = (counts[kind] ?? 0) + 1;
      const state = passed ? 'passed' : 'failed';
      pills.append(
        h(
          'span',
          {
            class: `jp-DuelPill jp-mod-${state}`,
            'data-state': state,
            'data-kind': kind,
            title: `${kind === 'sample' ? 'Sample' : 'Hidden test'} ${counts[kind]}: ${verdict}, ${timeMs} ms`
          },
          passed ? '✓' : '✗'
        )
      );
    }
    pills.hidden = true;
    const toggle = h(
      'button',
      {
        class: 'jp-mod-styled jp-DuelButton jp-DuelReview-testsToggle',
        testid: 'duel-review-tests-toggle',
        'aria-expanded': 'false',
        'aria-controls': pills.id,
        'aria-label': `Tests of ${this._names[who]}’s ${sub.samples_only ? 'sample run' : 'submission'} at ${formatClock(sub.at_s)}`
      },
      'Tests'
    );
    toggle.disabled = sub.tests.length === 0;
    toggle.addEventListener('click', () => {
      pills.hidden = !pills.hidden;
      toggle.setAttribute('aria-expanded', String(!pills.hidden));
    });
    const verdict = sub.verdict ?? '…';
    return h(
      'li',
      {
        class: 'jp-DuelReview-submission',
        testid: 'duel-review-submission',
        'data-player': sub.player ?? '',
        'data-verdict': sub.verdict ?? '',
        'data-samples-only': String(sub.samples_only)
      },
      h(
        'div',
        { class: 'jp-DuelReview-submissionLine' },
        h('span', { class: 'jp-DuelReview-when' }, formatClock(sub.at_s)),
        h('span', { class: `jp-DuelReview-name jp-mod-player${who}`, title: this._names[who] }, this._names[who]),
        h('span', { class: 'jp-DuelReview-kind' }, sub.samples_only ? 'ran the samples' : 'submitted'),
        h('span', { class: 'jp-DuelVerdict', 'data-verdict': sub.verdict ?? undefined }, verdict),
        h('span', { class: 'jp-DuelReview-passed' }, `${sub.passed ?? 0}/${sub.total ?? 0} passed`),
        toggle
      ),
      pills
    );
  }

  // ---------------------------------------------------------------- playback

  private _onKey(event: KeyboardEvent): void {
    const target = event.target as HTMLElement;
    const tag = target.tagName;
    if (event.key === ' ' || event.key === 'Spacebar') {
      if (tag === 'BUTTON' || tag === 'SELECT') {
        return; // the control's own action
      }
      event.preventDefault();
      this._toggle();
    } else if (event.key === 'ArrowLeft' || event.key === 'ArrowRight') {
      if (tag === 'SELECT') {
        return;
      }
      event.preventDefault();
      const step = (event.shiftKey ? BIG_STEP_S : STEP_S) * (event.key === 'ArrowLeft' ? -1 : 1);
      this._pause();
      this._seek(this._t + step);
    } else if ((event.key === 'Home' || event.key === 'End') && tag !== 'SELECT') {
      event.preventDefault();
      this._pause();
      this._seek(event.key === 'Home' ? 0 : this._duration);
    }
  }

  private _toggle(): void {
    if (this._raf) {
      this._pause();
    } else {
      this._start();
    }
  }

  private _start(): void {
    if (this._t >= this._duration) {
      this._seek(0);
    }
    let last = performance.now();
    const tick = (now: number): void => {
      this._raf = 0;
      if (this.isDisposed) {
        return;
      }
      this._seek(this._t + ((now - last) / 1000) * this._rate);
      last = now;
      if (this._t >= this._duration) {
        this._pause();
        return;
      }
      this._raf = requestAnimationFrame(tick);
    };
    this._raf = requestAnimationFrame(tick);
    this._setPlaying(true);
  }

  private _pause(): void {
    if (this._raf) {
      cancelAnimationFrame(this._raf);
      this._raf = 0;
    }
    this._setPlaying(false);
  }

  private _setPlaying(playing: boolean): void {
    if (!this._play) {
      return;
    }
    this._play.textContent = playing ? 'Pause' : 'Play';
    this._play.setAttribute('aria-label', playing ? 'Pause the replay' : 'Play the replay');
    this._play.dataset.playing = String(playing);
  }

  /** Show both codes as they were `t` seconds into the battle. */
  private _seek(t: number): void {
    this._t = Math.min(this._duration, Math.max(0, t));
    const clock = `${formatClock(this._t)} / ${formatClock(this._duration)}`;
    this._time.textContent = clock;
    this._time.dataset.t = this._t.toFixed(1);
    this._scrubber.value = String(Math.round(this._t * 10));
    this._scrubber.setAttribute('aria-valuetext', clock);
    this._frames.forEach((frames, i) => {
      const index = frameAt(frames, this._t);
      if (this._shown[i] !== index) {
        this._shown[i] = index;
        this._panes[i].textContent = index < 0 ? '' : frames[index].text;
      }
    });
  }

  private readonly _client: IDuelClient;
  private readonly _copy: HTMLButtonElement;
  private readonly _copyStatus: HTMLSpanElement;
  private readonly _heading: HTMLHeadingElement;
  private readonly _message: HTMLParagraphElement;
  private readonly _body: HTMLDivElement;
  private _review: IBattleReview | null = null;
  private _frames: ICodeFrame[][] = [];
  private _names: string[] = [];
  private _panes: HTMLPreElement[] = [];
  private _shown: number[] = [-2, -2];
  private _play: HTMLButtonElement | null = null;
  private _speed!: HTMLSelectElement;
  private _time!: HTMLSpanElement;
  private _scrubber!: HTMLInputElement;
  private _duration = 1;
  private _t = 0;
  private _rate = 1;
  private _raf = 0;
  private _generation = 0;
}

export namespace ReplayView {
  export interface IOptions {
    battleId: string;
    client: IDuelClient;
  }
}
