#!/usr/bin/env node
/**
 * Mirror-latency load generator for jupyter-duel (driven by benchmarks/mirror_latency.py).
 *
 * Opens N Socket.IO connections (websocket transport) to a running service, registers each as a guest, pairs them
 * into casual battles, then has every client send a small `sync_code` delta every interval. Each delta carries the
 * send time and the sender's index/seq; the opponent's client parses it from `opponent_code` and records the
 * sender->receiver latency. Sender and receiver live in this one process, so both use the same monotonic clock.
 *
 * With --floor 1 the same clients speak the floor relay's bare WebSocket protocol (benchmarks/floor_relay.py)
 * instead of Socket.IO: the same pairing, the same payloads, the same measurement.
 *
 * Protocol on stdout (one line each, everything else goes to stderr):
 *   PHASE ready <clients>        all clients registered and paired, warm-up starting
 *   PHASE measure-start          the measured window begins
 *   PHASE measure-end            the measured window ends (then up to --drain-ms to collect stragglers)
 *   RESULT {json}                the summary (always printed, also after a failure; see "fatal")
 * Exit status: 0 when the run completed, 1 on a setup failure (connect/register/match), 2 on bad arguments.
 * Every wait has a deadline; nothing here loops forever.
 */
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';

// ------------------------------------------------------------------ arguments

const DEFAULTS = {
  url: '',
  path: '/socket.io/',
  clients: 200,
  duration: 30,
  'interval-ms': 300,
  'warmup-s': 3,
  'drain-ms': 3000,
  'connect-concurrency': 50,
  'setup-timeout-s': 120,
  'run-id': '',
  'max-text': 3000,
  floor: 0
};

function parseArgs(argv) {
  const opts = { ...DEFAULTS };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    if (!arg.startsWith('--')) {
      usage(`unexpected argument ${arg}`);
    }
    arg = arg.slice(2);
    let value;
    const eq = arg.indexOf('=');
    if (eq >= 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    } else {
      value = argv[++i];
    }
    if (!(arg in DEFAULTS) || value === undefined) {
      usage(`unknown option or missing value: --${arg}`);
    }
    opts[arg] = typeof DEFAULTS[arg] === 'number' ? Number(value) : value;
    if (typeof DEFAULTS[arg] === 'number' && !Number.isFinite(opts[arg])) {
      usage(`--${arg} needs a number`);
    }
  }
  if (!opts.url) {
    usage('--url is required');
  }
  if (opts.clients < 2 || opts.clients % 2 !== 0) {
    usage('--clients must be an even number >= 2');
  }
  if (opts.duration <= 0 || opts['interval-ms'] < 1) {
    usage('--duration and --interval-ms must be positive');
  }
  if (!opts['run-id']) {
    opts['run-id'] = randomBytes(3).toString('hex');
  }
  if (!/^[A-Za-z0-9_.-]{1,12}$/.test(opts['run-id'])) {
    usage('--run-id: 1-12 letters, digits, dots, dashes or underscores');
  }
  return opts;
}

function usage(message) {
  process.stderr.write(
    `mirror.mjs: ${message}\n` +
      'usage: node mirror.mjs --url http://127.0.0.1:PORT/ [--clients 200] [--duration 30] [--interval-ms 300]\n' +
      '       [--warmup-s 3] [--drain-ms 3000] [--path /socket.io/] [--run-id ID] [--connect-concurrency 50]\n'
  );
  process.exit(2);
}

const opts = parseArgs(process.argv.slice(2));
const URLS = opts.url.split(',');
const N = opts.clients;
const INTERVAL = opts['interval-ms'];

const log = (...parts) => process.stderr.write(`[loadgen ${(performance.now() / 1000).toFixed(1)}s] ${parts.join(' ')}\n`);
const say = line => process.stdout.write(line + '\n');
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

// ------------------------------------------------------------------ state

/** Measured window in performance.now() milliseconds; a message counts when it was *sent* inside it. */
let windowStart = Infinity;
let windowEnd = Infinity;
let sending = false;

const latencies = []; // ms, messages sent inside the window
const perSecond = new Map(); // second index in window -> [latencies]
const errorsByCode = {};
let errorEvents = 0;
let errorsInWindow = 0;
let disconnects = 0;
let unexpectedTexts = 0; // opponent_code we could not parse
let duplicates = 0;
let moves = 0; // clients that moved to the worker running their battle
let outOfOrder = 0;
let fatal = null;

class Client {
  constructor(index) {
    this.index = index;
    this.name = `bench-${opts['run-id']}-${index}`;
    // With several workers (--url a,b,...), the two clients of a pair share one: battles then run where both are.
    this.url = URLS[(index >> 1) % URLS.length];
    this.socket = null;
    this.battleId = null;
    this.opponent = null; // opponent's name from match_found
    this.seq = 0;
    this.text = '';
    this.lines = []; // line lengths, to drop the oldest when the text gets long
    this.timer = null;
    this.sentInWindow = 0;
    this.sentTotal = 0;
    this.receivedInWindow = 0; // of this client's messages, received by its opponent
    this.lastSeqSeen = 0; // highest seq received from the opponent
    this.waiters = new Map(); // event -> [resolve]
    this.needsFullText = false;
  }

  waitFor(event, timeoutMs) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`${this.name}: no ${event} within ${timeoutMs} ms`));
      }, timeoutMs);
      const list = this.waiters.get(event) || [];
      list.push(msg => {
        clearTimeout(timer);
        resolve(msg);
      });
      this.waiters.set(event, list);
    });
  }

  fire(event, msg) {
    const list = this.waiters.get(event);
    if (list && list.length) {
      this.waiters.delete(event);
      for (const resolve of list) {
        resolve(msg);
      }
    }
  }

  /** Send one protocol event (Socket.IO, or its floor-relay equivalent). */
  emit(event, payload) {
    if (!opts.floor) {
      this.socket.emit(event, payload);
    } else if (event === 'register_user') {
      this.fire('registered', { user: { name: this.name } }); // the floor has no accounts
    } else if (event === 'join_queue') {
      this.socket.send(JSON.stringify({ t: 'hello', name: this.name }));
    } else if (event === 'sync_code') {
      this.socket.send(JSON.stringify({ t: 'sync', ...payload }));
    }
  }

  get open() {
    return opts.floor ? this.socket.readyState === WebSocket.OPEN : this.socket.connected;
  }

  connectFloor(timeoutMs) {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(opts.url, { perMessageDeflate: false, handshakeTimeout: timeoutMs });
      this.socket = socket;
      socket.once('open', resolve);
      socket.once('error', err => reject(new Error(`${this.name}: connect failed: ${err.message}`)));
      socket.on('close', () => {
        if (!shuttingDown) {
          disconnects++;
        }
      });
      socket.on('message', raw => {
        const msg = JSON.parse(raw);
        if (msg.t === 'code') {
          onOpponentCode(this, msg);
        } else if (msg.t === 'waiting') {
          this.fire('queue_update', { status: 'waiting' });
        } else if (msg.t === 'paired') {
          this.fire('queue_update', { status: 'matched' });
          this.fire('match_found', { battle_id: msg.room, opponent: { name: msg.opponent } });
        }
      });
    });
  }

  connect(timeoutMs) {
    if (opts.floor) {
      return this.connectFloor(timeoutMs);
    }
    return new Promise((resolve, reject) => {
      const socket = io(this.url, {
        path: opts.path,
        transports: ['websocket'],
        forceNew: true,
        reconnection: false, // a reconnect gets a new sid and loses the registration: count it instead
        timeout: timeoutMs
      });
      this.socket = socket;
      socket.once('connect', resolve);
      socket.once('connect_error', err => reject(new Error(`${this.name}: connect failed: ${err.message}`)));
      socket.on('disconnect', reason => {
        if (!shuttingDown) {
          disconnects++;
          if (disconnects <= 5) {
            log(`${this.name} disconnected: ${reason}`);
          } else if (disconnects === 6) {
            log('more disconnects: see the count in the result');
          }
        }
      });
      socket.on('error', msg => {
        errorEvents++;
        const code = (msg && msg.code) || 'unknown';
        errorsByCode[code] = (errorsByCode[code] || 0) + 1;
        if (performance.now() >= windowStart && performance.now() < windowEnd) {
          errorsInWindow++;
        }
        if (code === 'out_of_sync') {
          this.needsFullText = true;
        }
        if (errorEvents <= 10) {
          log(`${this.name} error event: ${JSON.stringify(msg)}`);
        }
        this.fire('error', msg);
      });
      for (const event of ['registered', 'queue_update', 'match_found', 'battle_state']) {
        socket.on(event, msg => this.fire(event, msg));
      }
      socket.on('opponent_code', msg => onOpponentCode(this, msg));
    });
  }

  /** Connect to the worker at ``url``, register and resume the battle there; then close the old connection. */
  async moveTo(url, resumeToken) {
    moves++;
    const old = this.socket;
    this.url = url;
    await this.connect(remaining());
    const displayName = this.name.replace(/^guest:/, '');
    const registered = this.waitFor('registered', remaining());
    this.emit('register_user', { display_name: displayName, guest_key: this.guestKey });
    await registered;
    const state = this.waitFor('battle_state', remaining());
    this.emit('resume', { resume_token: resumeToken });
    await state;
    old.removeAllListeners('disconnect');
    old.disconnect();
  }

  async register(timeoutMs) {
    const registered = this.waitFor('registered', timeoutMs);
    this.emit('register_user', { display_name: this.name });
    const msg = await registered;
    // A guest's handle is "guest:" + the name chosen; the display name is the name itself.
    if (!msg || !msg.user || (msg.user.display_name ?? msg.user.name) !== this.name) {
      throw new Error(`${this.name}: registered as ${JSON.stringify(msg && msg.user)}`);
    }
    this.guestKey = msg.guest_key; // the key this "browser" keeps for its guest name
    this.name = msg.user.name; // the handle (a guest's is "guest:<name>"), which match_found names
  }

  /** The next line of "code": send time, sender and seq, padded to ~60 bytes. */
  line(seq) {
    const stamp = (performance.timeOrigin + performance.now()).toFixed(3);
    const head = `x = ${stamp}  # c${this.index} s${seq} `;
    return head + '.'.repeat(Math.max(0, 59 - head.length)) + '\n';
  }

  sendOne() {
    if (!sending || !this.battleId || !this.open) {
      return;
    }
    const now = performance.now();
    const seq = ++this.seq;
    const line = this.line(seq);
    let payload;
    if (seq === 1 || this.needsFullText) {
      this.text = '# mirror-latency benchmark\n' + line;
      this.lines = [27, line.length];
      this.needsFullText = false;
      payload = { battle_id: this.battleId, seq, text: this.text };
    } else {
      const delta = [];
      let kept = this.text.length;
      if (this.text.length > opts['max-text'] && this.lines.length > 1) {
        const first = this.lines.shift();
        delta.push({ delete: first });
        kept -= first;
      }
      delta.push({ retain: kept }, { insert: line });
      this.text = this.text.slice(this.text.length - kept) + line;
      this.lines.push(line.length);
      payload = { battle_id: this.battleId, seq, delta };
    }
    this.emit('sync_code', payload);
    this.sentTotal++;
    if (now >= windowStart && now < windowEnd) {
      this.sentInWindow++;
    }
  }

  start(offsetMs) {
    this.timer = setTimeout(() => {
      this.sendOne();
      this.timer = setInterval(() => this.sendOne(), INTERVAL);
    }, offsetMs);
  }

  stop() {
    clearTimeout(this.timer);
    clearInterval(this.timer);
    this.timer = null;
  }
}

const STAMP = /^x = (\d+\.\d+)  # c(\d+) s(\d+) /;

function onOpponentCode(receiver, msg) {
  const now = performance.timeOrigin + performance.now();
  let inserted = null;
  if (typeof msg.text === 'string') {
    const lines = msg.text.split('\n');
    inserted = lines[lines.length - 2] ?? null;
  } else if (Array.isArray(msg.delta)) {
    for (const op of msg.delta) {
      if (typeof op.insert === 'string') {
        inserted = op.insert;
      }
    }
  }
  const m = inserted === null ? null : STAMP.exec(inserted);
  if (!m) {
    unexpectedTexts++;
    return;
  }
  const sentAt = Number(m[1]);
  const sender = clients[Number(m[2])];
  const seq = Number(m[3]);
  if (!sender || msg.seq !== seq) {
    unexpectedTexts++;
    return;
  }
  if (seq === receiver.lastSeqSeen) {
    duplicates++;
    return;
  }
  if (seq < receiver.lastSeqSeen) {
    outOfOrder++;
  }
  receiver.lastSeqSeen = Math.max(receiver.lastSeqSeen, seq);
  const sentPerf = sentAt - performance.timeOrigin;
  if (sentPerf >= windowStart && sentPerf < windowEnd) {
    const ms = now - sentAt;
    latencies.push(ms);
    sender.receivedInWindow++;
    const second = Math.floor((sentPerf - windowStart) / 1000);
    let bucket = perSecond.get(second);
    if (!bucket) {
      bucket = [];
      perSecond.set(second, bucket);
    }
    bucket.push(ms);
  }
}

// ------------------------------------------------------------------ run

const clients = Array.from({ length: N }, (_, i) => new Client(i));
let shuttingDown = false;
const setupDeadline = performance.now() + opts['setup-timeout-s'] * 1000;
const remaining = () => Math.max(1000, setupDeadline - performance.now());

async function inBatches(items, size, fn) {
  for (let i = 0; i < items.length; i += size) {
    if (performance.now() > setupDeadline) {
      throw new Error(`setup took longer than ${opts['setup-timeout-s']} s`);
    }
    await Promise.all(items.slice(i, i + size).map(fn));
  }
}

async function pair(a, b) {
  // The matchmaker is first come, first served: with nobody else waiting, b's join pairs it with a.
  const aWaiting = a.waitFor('queue_update', remaining());
  const aMatch = a.waitFor('match_found', remaining());
  const bMatch = b.waitFor('match_found', remaining());
  a.emit('join_queue', { pool: 'any', ranked: false });
  const update = await aWaiting;
  if (update.status !== 'waiting' && update.status !== 'matched') {
    throw new Error(`${a.name}: queue_update ${JSON.stringify(update)}`);
  }
  b.emit('join_queue', { pool: 'any', ranked: false });
  const [ma, mb] = await Promise.all([aMatch, bMatch]);
  for (const [c, m] of [
    [a, ma],
    [b, mb]
  ]) {
    c.battleId = m.battle_id;
    c.opponent = m.opponent.name;
    if (m.worker_url && m.worker_url.replace(/\/$/, '') !== c.url.replace(/\/$/, '')) {
      await c.moveTo(m.worker_url, m.resume_token); // the battle runs on another worker: play it there
    }
  }
  if (ma.battle_id !== mb.battle_id || a.opponent !== b.name || b.opponent !== a.name) {
    throw new Error(`${a.name} and ${b.name} were not paired together (${a.opponent}, ${b.opponent})`);
  }
}

function percentile(sorted, p) {
  if (!sorted.length) {
    return null;
  }
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

const round = (x, d = 2) => (x === null || x === undefined ? null : Number(x.toFixed(d)));

function summary(setupMs, loopDelay) {
  const sorted = Float64Array.from(latencies).sort();
  const sent = clients.reduce((s, c) => s + c.sentInWindow, 0);
  const received = clients.reduce((s, c) => s + c.receivedInWindow, 0);
  const seconds = [...perSecond.keys()].sort((x, y) => x - y);
  return {
    clients: N,
    paired: clients.filter(c => c.battleId).length,
    interval_ms: INTERVAL,
    duration_s: opts.duration,
    warmup_s: opts['warmup-s'],
    setup_s: round(setupMs / 1000, 1),
    sent,
    received,
    lost: Math.max(0, sent - received),
    msgs_per_s: round(received / opts.duration, 1),
    latency_ms: {
      p50: round(percentile(sorted, 50)),
      p90: round(percentile(sorted, 90)),
      p99: round(percentile(sorted, 99)),
      p999: round(percentile(sorted, 99.9)),
      max: round(sorted.length ? sorted[sorted.length - 1] : null),
      mean: round(sorted.length ? sorted.reduce((s, x) => s + x, 0) / sorted.length : null)
    },
    over_100ms: sorted.filter(x => x > 100).length,
    per_second: seconds.map(s => {
      const b = Float64Array.from(perSecond.get(s)).sort();
      return { t: s, n: b.length, p50: round(percentile(b, 50), 1), p99: round(percentile(b, 99), 1), max: round(b[b.length - 1], 1) };
    }),
    errors: errorEvents,
    errors_in_window: errorsInWindow,
    errors_by_code: errorsByCode,
    disconnects,
    unparsed: unexpectedTexts,
    duplicates,
    out_of_order: outOfOrder,
    moved: moves,
    loadgen_event_loop_delay_ms: loopDelay,
    fatal
  };
}

async function main() {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const t0 = performance.now();
  let setupMs = 0;
  let loopDelay = null;
  try {
    log(`connecting ${N} clients to ${opts.url} (run id ${opts['run-id']})`);
    await inBatches(clients, opts['connect-concurrency'], c => c.connect(Math.min(20000, remaining())));
    log('connected; registering');
    await inBatches(clients, opts['connect-concurrency'], c => c.register(remaining()));
    log('registered; pairing');
    const pairs = [];
    for (let i = 0; i < N; i += 2) {
      pairs.push([clients[i], clients[i + 1]]);
    }
    for (const [a, b] of pairs) {
      if (performance.now() > setupDeadline) {
        throw new Error(`setup took longer than ${opts['setup-timeout-s']} s`);
      }
      await pair(a, b);
    }
    setupMs = performance.now() - t0;
    log(`${N / 2} battles started in ${(setupMs / 1000).toFixed(1)} s; warming up ${opts['warmup-s']} s`);
    say(`PHASE ready ${N}`);

    // Spread the first sends evenly over one interval so the load is smooth.
    sending = true;
    const startAt = performance.now();
    clients.forEach((c, i) => c.start((i * INTERVAL) / N));
    windowStart = startAt + INTERVAL + opts['warmup-s'] * 1000;
    windowEnd = windowStart + opts.duration * 1000;
    await sleep(windowStart - performance.now());
    loop.reset();
    say('PHASE measure-start');
    await sleep(windowEnd - performance.now());
    say('PHASE measure-end');
    loopDelay = {
      p50: round(loop.percentile(50) / 1e6),
      p99: round(loop.percentile(99) / 1e6),
      max: round(loop.max / 1e6)
    };
    sending = false;
    for (const c of clients) {
      c.stop();
    }
    // Collect what is still in flight, but not forever.
    const drainUntil = performance.now() + opts['drain-ms'];
    const sentNow = () => clients.reduce((s, c) => s + c.sentInWindow, 0);
    const receivedNow = () => clients.reduce((s, c) => s + c.receivedInWindow, 0);
    while (performance.now() < drainUntil && receivedNow() < sentNow()) {
      await sleep(50);
    }
  } catch (err) {
    fatal = String(err && err.message ? err.message : err);
    log(`FAILED: ${fatal}`);
  } finally {
    sending = false;
    shuttingDown = true;
    loop.disable();
    for (const c of clients) {
      c.stop();
      if (c.socket) {
        if (opts.floor) {
          c.socket.terminate();
        } else {
          c.socket.disconnect();
        }
      }
    }
  }
  say('RESULT ' + JSON.stringify(summary(setupMs || performance.now() - t0, loopDelay)));
  // Sockets are closed; leave promptly even if some handle lingers.
  setTimeout(() => process.exit(fatal ? 1 : 0), 200).unref();
  process.exitCode = fatal ? 1 : 0;
}

process.on('SIGINT', () => {
  log('interrupted');
  process.exit(130);
});
process.on('SIGTERM', () => process.exit(143));

main();
