#!/usr/bin/env node
/**
 * Reconnect-storm load generator for jupyter-duel (driven by benchmarks/reconnect_storm.py).
 *
 * Opens N Socket.IO connections (websocket), registers each as a guest and pairs them into casual battles (pairs
 * of clients share a worker when --url lists several). Every client sends --edits full-text edits and keeps the
 * last one the service acknowledged. Then every connection is dropped at once: with --drop sockets this script
 * closes them all; with --drop restart it waits for the service (restarted by the driver) to drop them. Each
 * client then reconnects (retrying until the service answers), registers again with its guest key, goes to the
 * worker registered names when it is another, and resumes its battle with its resume token. A resume counts as
 * whole when battle_state gives back the client's last acknowledged code and seq, and the opponent's.
 *
 * Protocol: stdout lines "PHASE ready <clients>", "PHASE dropped", "RESULT {json}"; the driver answers "drop" on
 * stdin when it is ready for the drop (for --drop restart: it then stops and starts the service).
 */
import { io } from 'socket.io-client';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';

const opts = { url: '', path: '/socket.io/', clients: 1000, edits: 5, drop: 'sockets', 'setup-timeout-s': 300,
  'resume-timeout-s': 60, 'connect-concurrency': 50 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const key = argv[i].replace(/^--/, '');
  if (!(key in opts) || argv[i + 1] === undefined) {
    process.stderr.write(`storm.mjs: unknown option or missing value: ${argv[i]}\n`);
    process.exit(2);
  }
  opts[key] = typeof opts[key] === 'number' ? Number(argv[i + 1]) : argv[i + 1];
}
const URLS = opts.url.split(',');
const RUN = randomBytes(3).toString('hex');
const log = (...parts) => process.stderr.write(`[storm ${(performance.now() / 1000).toFixed(1)}s] ${parts.join(' ')}\n`);
const say = line => process.stdout.write(line + '\n');
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));
const same = (a, b) => a.replace(/\/$/, '') === b.replace(/\/$/, '');

class Client {
  constructor(index) {
    this.index = index;
    this.display = `storm-${RUN}-${index}`;
    this.url = URLS[(index >> 1) % URLS.length];
    this.waiters = new Map();
    this.socket = null;
    this.guestKey = null;
    this.battleId = null;
    this.token = null;
    this.seq = 0;
    this.text = '';
    this.opponent = null; // the other Client
    this.resumedAt = null;
    this.lost = 0;
  }

  waitFor(event, ms) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.display}: no ${event} within ${ms} ms`)), ms);
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
    if (list) {
      this.waiters.delete(event);
      list.forEach(resolve => resolve(msg));
    }
  }

  connect(ms) {
    return new Promise((resolve, reject) => {
      const socket = io(this.url, { path: opts.path, transports: ['websocket'], forceNew: true, reconnection: false,
        timeout: ms });
      this.socket = socket;
      socket.once('connect', resolve);
      socket.once('connect_error', err => reject(err));
      for (const event of ['registered', 'queue_update', 'match_found', 'battle_state', 'error']) {
        socket.on(event, msg => this.fire(event, msg));
      }
    });
  }

  async register(ms) {
    const registered = this.waitFor('registered', ms);
    this.socket.emit('register_user', { display_name: this.display, ...(this.guestKey ? { guest_key: this.guestKey } : {}) });
    const msg = await registered;
    this.guestKey = msg.guest_key || this.guestKey;
    return msg;
  }

  async edit() {
    const seq = this.seq + 1;
    const text = `# storm ${this.index}\n` + 'x = 1\n'.repeat(seq);
    const ack = await this.socket.timeout(20000).emitWithAck('sync_code', { battle_id: this.battleId, seq, text });
    if (!ack || !ack.ok) {
      throw new Error(`${this.display}: sync_code refused: ${JSON.stringify(ack)}`);
    }
    this.seq = seq;
    this.text = text;
  }

  /** Back after the drop: connect (until the service answers), register, go where the battle runs, resume. */
  async comeBack(deadline) {
    for (;;) {
      if (performance.now() > deadline) {
        throw new Error(`${this.display}: not resumed in time`);
      }
      try {
        await this.connect(5000);
        const registered = await this.register(10000);
        if (registered.worker_url && !same(registered.worker_url, this.url)) {
          this.socket.disconnect();
          this.url = registered.worker_url;
          continue;
        }
        const state = this.waitFor('battle_state', 10000);
        const failed = this.waitFor('error', 10000);
        this.socket.emit('resume', { resume_token: this.token });
        const got = await Promise.race([state, failed.then(e => ({ error: e }))]);
        if (got.error) {
          if (got.error.code === 'wrong_worker') {
            this.socket.disconnect();
            continue; // registered names the battle's worker on the next round
          }
          throw new Error(`${this.display}: resume refused: ${JSON.stringify(got.error)}`);
        }
        this.resumedAt = performance.now();
        // Whatever was acknowledged before the drop must be there: this client's code and its opponent's.
        // (Counted in edits: those missing, or 1 for a text that is not the one acknowledged at that seq.)
        const missing = (seq, text, gotSeq, gotText) => (gotSeq < seq ? seq - gotSeq : gotText === text ? 0 : 1);
        this.lost += missing(this.seq, this.text, got.your_seq, got.your_code);
        this.lost += missing(this.opponent.seq, this.opponent.text, got.opponent_seq, got.opponent_code);
        return;
      } catch (err) {
        if (this.socket) {
          this.socket.disconnect();
        }
        if (String(err.message || err).includes('refused:')) {
          throw err;
        }
        await sleep(100 + Math.random() * 200);
      }
    }
  }
}

async function inBatches(items, size, fn) {
  for (let i = 0; i < items.length; i += size) {
    await Promise.all(items.slice(i, i + size).map(fn));
  }
}

async function main() {
  const clients = Array.from({ length: opts.clients }, (_, i) => new Client(i));
  const result = { clients: opts.clients, drop: opts.drop, workers: URLS.length };
  try {
    await inBatches(clients, opts['connect-concurrency'], c => c.connect(20000));
    await inBatches(clients, opts['connect-concurrency'], c => c.register(60000));
    log('registered; pairing');
    const t0 = performance.now();
    for (let i = 0; i < clients.length; i += 2) {
      const [a, b] = [clients[i], clients[i + 1]];
      const aWaiting = a.waitFor('queue_update', 30000);
      const ma = a.waitFor('match_found', 30000);
      const mb = b.waitFor('match_found', 30000);
      a.socket.emit('join_queue', { pool: 'any', ranked: false });
      await aWaiting;
      b.socket.emit('join_queue', { pool: 'any', ranked: false });
      const found = await Promise.all([ma, mb]);
      for (const [c, m, other] of [[a, found[0], b], [b, found[1], a]]) {
        c.battleId = m.battle_id;
        c.token = m.resume_token;
        c.opponent = other;
        if (m.worker_url && !same(m.worker_url, c.url)) {
          throw new Error(`${c.display}: paired on another worker (${m.worker_url})`);
        }
      }
    }
    result.setup_s = Number(((performance.now() - t0) / 1000).toFixed(1));
    log(`${clients.length / 2} battles; typing`);
    for (let k = 0; k < opts.edits; k++) {
      await inBatches(clients, 200, c => c.edit());
    }
    say(`PHASE ready ${clients.length}`);
    const rl = createInterface({ input: process.stdin });
    await new Promise(resolve => rl.once('line', resolve));
    let droppedAt;
    if (opts.drop === 'sockets') {
      droppedAt = performance.now();
      clients.forEach(c => c.socket.disconnect());
    } else {
      // The driver stops the service now: every connection drops.
      await Promise.all(clients.map(c => (c.socket.connected ? new Promise(r => c.socket.once('disconnect', r)) : null)));
      droppedAt = performance.now();
    }
    say('PHASE dropped');
    const deadline = droppedAt + opts['resume-timeout-s'] * 1000;
    const errors = [];
    await Promise.all(clients.map(c => c.comeBack(deadline).catch(err => errors.push(String(err.message || err)))));
    const resumed = clients.filter(c => c.resumedAt !== null);
    const times = resumed.map(c => c.resumedAt - droppedAt).sort((x, y) => x - y);
    result.resumed = resumed.length;
    result.not_resumed = clients.length - resumed.length;
    result.lost = clients.reduce((s, c) => s + c.lost, 0);
    result.all_resumed_s = resumed.length === clients.length ? Number((times[times.length - 1] / 1000).toFixed(2)) : null;
    result.p50_resumed_s = times.length ? Number((times[Math.floor(times.length / 2)] / 1000).toFixed(2)) : null;
    result.errors = errors.slice(0, 5);
  } catch (err) {
    result.fatal = String(err.message || err);
  }
  say('RESULT ' + JSON.stringify(result));
  clients.forEach(c => c.socket && c.socket.disconnect());
  process.exit(0);
}

main();
