// The credit pool: the core's Pool (every rule) plus what only the host can
// do: the clock, alert callbacks, webhook delivery through fetch, and in Node
// a JSON Lines ledger file appended to per entry.
import { AbortError, PoolSnapshotError, PoolStoreError, WebhookTimeoutError } from './errors.js';
import { argumentError, optionsError } from './fail.js';
import { runtime } from './runtime.js';
import { drive, webhookMachine } from './player.js';
import { call, glue } from './wasm.js';
import { Money, amountNanos, poolConfigNanos } from './money.js';
import { PoolReport } from './activity.js';

const POOL_OPTIONS = new Set(['now', 'onAlert', 'onLedger', 'webhooks', 'onWebhookError', 'onError', 'webhookConcurrency', 'ledgerFile', 'fetch']);

/**
 * What may be shown of a webhook URL: its origin (scheme://host[:port]). The
 * rest (a Slack webhook's path, a token in the query) is the secret.
 */
export function webhookOrigin(url) {
  return glue.urlOrigin(String(url));
}

/** A deadline option: a number of ms, `{timeoutMs}`, or nothing (no deadline). */
function deadlineOf(options) {
  const ms = typeof options === 'number' ? options : options?.timeoutMs;
  if (ms === undefined || ms === null) return null;
  if (typeof ms !== 'number' || !(ms >= 0)) throw argumentError('the deadline must be a non-negative number of milliseconds');
  return ms;
}
const RAW = new WeakMap();
const RESTORE = Symbol('restore');

/** The Pool writing each ledger file in this process (by absolute path): its claim. */
const LEDGER_WRITERS = new Map();

/** The clock of a creditpool Pool (`() => ms`), or undefined for another pool store. */
export function poolClock(pool) {
  return RAW.get(pool)?.now;
}

/**
 * A copy of a JSON value with its `bigint`s as numbers (the core reads
 * amounts in JSON as integers); a bigint beyond 2^53 cannot cross as JSON.
 */
export function plainJson(value) {
  if (value instanceof Money) return plainJson(value.nanos);
  if (typeof value === 'bigint') {
    if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw argumentError(`amount ${value} is out of range (0 to 2^53 - 1 nano-USD)`);
    }
    return Number(value);
  }
  if (Array.isArray(value)) return value.map(plainJson);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainJson(v)]));
  }
  return value;
}

function configError(kind, message) {
  return optionsError(kind, message);
}

function checkOptions(options) {
  for (const key of Object.keys(options)) {
    if (!POOL_OPTIONS.has(key)) throw configError('invalid_options', `unknown pool option ${JSON.stringify(key)}`);
  }
  const webhooks = options.webhooks ?? [];
  if (!Array.isArray(webhooks) || webhooks.some((w) => !w || typeof w.url !== 'string' || typeof w.secret !== 'string')) {
    throw configError('invalid_options', 'webhooks must be an array of {url, secret} (strings)');
  }
  // The core's rule: a non-empty secret, an http(s) URL with a host.
  for (const w of webhooks) call(() => glue.checkWebhookEndpoint(w.url, w.secret));
  for (const name of ['onAlert', 'onLedger', 'onWebhookError', 'onError', 'now', 'fetch']) {
    if (options[name] !== undefined && typeof options[name] !== 'function') throw configError('invalid_options', `${name} must be a function`);
  }
  const n = options.webhookConcurrency;
  if (n !== undefined && !(Number.isInteger(n) && n >= 1)) throw configError('invalid_options', 'webhookConcurrency must be a positive integer');
  if (options.ledgerFile !== undefined) {
    if (typeof options.ledgerFile !== 'string') throw configError('invalid_options', 'ledgerFile must be a path');
    if (typeof runtime.appendFile !== 'function') {
      throw configError('ledger_file_unsupported', 'ledgerFile needs Node (a file system); in a browser use onLedger');
    }
  }
  return webhooks;
}

/**
 * A credit pool: a limit per billing cycle that agents share.
 *
 * `config` is the core's PoolConfig JSON (`{limit, ...}`, amounts in integer
 * nano-USD; see docs/JS.md). Options: `now` (a clock, `() => ms`; default
 * `Date.now`), `onAlert(alert)`, `onLedger(entry, line)` (`line` is the JSON Lines text, newline included), `webhooks: [{url,
 * secret}]` (each alert is POSTed to each, with the body, headers and
 * HMAC-SHA256 signature the core made; at most `webhookConcurrency`, default
 * 4, at once, the rest queued in order), `onWebhookError(error, alert, origin,
 * index)` (`origin` is the webhook URL's scheme://host[:port], never its
 * path), `ledgerFile` (Node: every ledger entry is appended to it as one JSON
 * line), `onError(error, {source})` (a callback that threw or a ledger-file
 * append that failed, after the operation's result was kept; default a
 * `console.warn` that shows no secret), `fetch` (default the global one).
 *
 * Amounts go in as `bigint` (or a safe integer) nano-USD and come out as
 * `{nanos: bigint, usd: string}`. A refusal throws a PoolRefusedError
 * subclass (`PoolExhaustedError`, `PoolRateLimitedError` with `retryAtMs`, ...).
 *
 * A Pool is a `PoolStore` (what an Agent applies its pool operations to):
 * `apply(op)` takes the core's `PoolOp` JSON and returns its `OpResult` JSON,
 * delivering the alerts, ledger entries and webhooks each operation causes.
 */
export class Pool {
  #raw;
  #now;
  #alertListeners = [];
  #ledgerListeners = [];
  #webhooks;
  #onWebhookError;
  #ledgerFile;
  /** This pool's claim on its ledger file, and the last seq the file held. */
  #ledgerClaim = null;
  #ledgerThrough = 0;
  #fetch;
  #deliveries = new Set();
  #queue = [];
  /** The core's alert outbox (RawOutbox): when an alert leaves the pool, and at most MAX_QUEUED_DELIVERIES deliveries out. */
  #outbox;
  /** Each webhook's id in the outbox (`RawOutbox.webhookId(url)`), in `#webhooks` order. */
  #hookIds = [];
  #active = 0;
  #concurrency;
  #onError;
  #closed = false;
  #stop = new AbortController();
  /** Alerts fired so far, oldest first. */
  alerts = [];

  constructor(config, options = {}) {
    this.#setup(options);
    this.#raw = config?.[RESTORE] !== undefined ? config[RESTORE] : call(() => new glue.RawPool(plainJson(poolConfigNanos(config)), this.#now()));
    if (this.#ledgerFile !== null) this.#claimLedger();
    this.#outbox = call(() => new glue.RawOutbox());
    for (const w of this.#webhooks) {
      const id = call(() => glue.RawOutbox.webhookId(w.url));
      this.#hookIds.push(id);
      call(() => this.#outbox.addWebhook(id));
    }
    RAW.set(this, { raw: this.#raw, drain: () => this.#drain(), now: () => this.#now() });
    this.#drain();
  }

  /**
   * A pool shared through Redis (Node, with ioredis): `await
   * Pool.connect(url, {name, config})` is `RedisPool.connect` (see
   * redis.js and docs/REDIS.md). Browsers have no Redis: it rejects there
   * with an InvalidOptionsError (`kind` `redis_unsupported`).
   */
  static async connect(url, options) {
    const { RedisPool } = await import('./redis.js');
    return RedisPool.connect(url, options);
  }

  /** A pool restored from `snapshot()` text, with fresh options. */
  static restore(snapshot, options = {}) {
    if (typeof snapshot !== 'string') throw argumentError('snapshot must be a string');
    const raw = call(() => glue.RawPool.restore(snapshot));
    const pool = new Pool({ [RESTORE]: raw }, options);
    return pool;
  }

  #setup(options) {
    this.#webhooks = checkOptions(options);
    this.#now = options.now ?? (() => Date.now());
    this.#onWebhookError = options.onWebhookError ?? null;
    this.#onError = options.onError ?? null;
    this.#concurrency = options.webhookConcurrency ?? call(() => glue.webhookConcurrency());
    this.#ledgerFile = options.ledgerFile ?? null;
    this.#fetch = options.fetch ?? ((...args) => globalThis.fetch(...args));
    if (options.onAlert) this.#alertListeners.push(options.onAlert);
    if (options.onLedger) this.#ledgerListeners.push(options.onLedger);
  }

  /**
   * One ledger file, one writer: two pools appending to the same file would
   * write the same sequence numbers. Another live process's lock or another
   * open Pool of this process refuses with a PoolStoreError; a file that does
   * not continue this pool's ledger (a fresh pool on a used file) with the
   * core's PoolSnapshotError (`check_ledger`, as Python's pool directory).
   */
  #claimLedger() {
    const file = this.#ledgerFile;
    let key;
    try {
      key = runtime.lockFile ? runtime.lockFile(file) : file;
    } catch (e) {
      if (e?.code !== 'ELOCKED') throw e;
      throw new PoolStoreError(
        `ledgerFile ${file} is written by process ${e.pid} (lock file ${file}.lock): two pools must not share one ledger file, ` +
          'they would write the same sequence numbers; give each pool its own file',
        { code: 'file_io', path: file, pid: e.pid },
      );
    }
    const held = LEDGER_WRITERS.get(key);
    if (held !== undefined && !held.closed) {
      throw new PoolStoreError(
        `ledgerFile ${file} is written by another Pool of this process: two pools must not share one ledger file, ` +
          'they would write the same sequence numbers; give each pool its own file (or close() the other first)',
        { code: 'file_io', path: file },
      );
    }
    const text = runtime.readFile ? runtime.readFile(file) : null;
    if (text) {
      try {
        this.#ledgerThrough = Number(call(() => glue.checkLedgerFile(this.#raw.snapshot(), text)));
      } catch (e) {
        throw new PoolSnapshotError(
          `ledgerFile ${file} does not continue this pool's ledger (${e.message}): a new pool needs a new or empty file, a restored pool the file its ledger was written to`,
          { code: e.code ?? 'invalid_snapshot', type: e.type ?? 'invalid_snapshot', path: file, cause: e },
        );
      }
    }
    this.#ledgerClaim = { closed: false, key };
    LEDGER_WRITERS.set(key, this.#ledgerClaim);
  }

  /** Registers an alert callback: `fn({kind, percent, payload, body})` (`body` is the webhook body's exact text). */
  onAlert(fn) {
    this.#alertListeners.push(fn);
    return this;
  }

  /** Registers a ledger callback: `fn(entry, line)`. */
  onLedger(fn) {
    this.#ledgerListeners.push(fn);
    return this;
  }

  #op(fn) {
    try {
      return call(() => fn(this.#now()));
    } finally {
      this.#drain();
    }
  }

  /**
   * Delivers what the core queued: alerts to callbacks and webhooks, ledger
   * entries to the file. The operation that queued them has already changed
   * the pool, so nothing here may replace its result: a callback that throws
   * or an append that fails goes to `onError` (#report), and the rest are
   * still delivered.
   */
  #drain() {
    const secrets = this.#webhooks.map((w) => w.secret);
    // The core's outbox hands alerts out (to callbacks and webhooks) while
    // fewer than MAX_QUEUED_DELIVERIES deliveries are out; later alerts wait
    // in the pool until some end. An alert leaves the pool once every
    // webhook delivered it or gave up.
    const taken = call(() => this.#outbox.take(this.#raw, secrets, this.#now()));
    for (const a of taken) {
      const alert = { kind: a.kind, percent: a.percent, payload: a.payload, body: a.body };
      this.alerts.push(alert);
      this.#webhooks.forEach((w, i) => {
        if (!a.webhooks.includes(this.#hookIds[i]) || this.#hookIds.indexOf(this.#hookIds[i]) !== i) return;
        if (this.#closed) call(() => this.#outbox.dropped());
        else this.#deliver(w, i, a.body, a.deliveries[i], alert, a.key);
      });
      for (const fn of this.#alertListeners) this.#guard('onAlert', () => fn(alert));
    }
    // Alerts that owe no delivery (no webhook) leave the pool at once.
    if (taken.length > 0) call(() => this.#outbox.ack(this.#raw));
    for (let e = call(() => this.#raw.pollLedger()); e !== null; e = call(() => this.#raw.pollLedger())) {
      if (this.#ledgerFile !== null && e.entry.seq <= this.#ledgerThrough) {
        // Already in the file (a restored pool's entries the file held).
      } else if (this.#ledgerFile !== null && this.#ledgerClaim !== null && LEDGER_WRITERS.get(this.#ledgerClaim.key) !== this.#ledgerClaim) {
        const error = new PoolStoreError(`ledger entry ${e.entry.seq} was not appended: after close(), another Pool now writes ${this.#ledgerFile}`, {
          code: 'file_io',
          path: this.#ledgerFile,
          entry: e.entry,
        });
        this.#report(error, { source: 'ledgerFile', entry: e.entry });
      } else if (this.#ledgerFile !== null) {
        try {
          runtime.appendFile(this.#ledgerFile, e.line);
        } catch (cause) {
          const why = cause && typeof cause === 'object' && typeof cause.code === 'string' ? ` (${cause.code})` : '';
          const error = new PoolStoreError(`the ledger entry could not be appended to the ledger file${why}`, { code: 'file_io', cause, path: this.#ledgerFile, entry: e.entry });
          this.#report(error, { source: 'ledgerFile', entry: e.entry });
        }
      }
      for (const fn of this.#ledgerListeners) this.#guard('onLedger', () => fn(e.entry, e.line));
    }
  }

  /** Runs a host callback; what it throws is reported, never thrown on. */
  #guard(source, fn) {
    try {
      fn();
    } catch (error) {
      this.#report(error, { source });
    }
  }

  /** Hands a failure after the fact to `onError`, else to console.warn (with no secret). */
  #report(error, info) {
    if (this.#onError) {
      try {
        this.#onError(error, info);
        return;
      } catch (e) {
        error = e;
        info = { source: 'onError' };
      }
    }
    const what = error && typeof error === 'object' ? `${error.name ?? 'Error'}: ${error.message ?? ''}` : String(error);
    globalThis.console?.warn?.(`creditpool: ${info.source} failed after the pool operation completed: ${this.#scrub(what)}`);
  }

  /** `text` with every webhook URL cut to its origin and every webhook secret masked. */
  #scrub(text) {
    let out = String(text);
    for (const w of this.#webhooks) {
      if (w.url) out = out.split(w.url).join(webhookOrigin(w.url));
      if (w.secret) out = out.split(w.secret).join('****');
    }
    return out;
  }

  #deliver(webhook, index, body, headers, alert, key) {
    const { url, secret } = webhook;
    // Each delivery is the core's webhook call (its retries, its timeout),
    // played by the package's attempt player through this pool's fetch. At
    // most `webhookConcurrency` run at once; the rest wait in alert order
    // (see flush() and close()).
    let done;
    const p = new Promise((resolve) => {
      done = resolve;
    });
    this.#deliveries.add(p);
    this.#queue.push({
      p,
      done,
      run: async () => {
        let m = null;
        // Delivered or given up (an outcome), or cut short by close() (none:
        // the alert stays pending in the pool).
        let outcome = true;
        try {
          // The core signs every attempt afresh with that attempt's time (the pool's clock).
          m = webhookMachine(call(() => glue.MessagesCall.webhook({ body, headers }, null, secret)), url, this.#fetch);
          await drive(m, { now: () => this.#now(), signal: this.#stop.signal });
          m.takeResult();
        } catch (e) {
          // A delivery cut short by close() is reported by close() itself.
          if (e instanceof AbortError && this.#stop.signal.aborted) outcome = false;
          else if (this.#onWebhookError) {
            const origin = webhookOrigin(url);
            this.#guard('onWebhookError', () => this.#onWebhookError(e, alert, origin, index));
          }
        } finally {
          m?.raw.free();
          this.#ended(key, this.#hookIds[index], outcome);
        }
      },
    });
    this.#pump();
  }

  /**
   * A delivery ended: with an outcome, the outbox records it and the alerts
   * every webhook is done with leave the pool, and the alerts that waited
   * for room are handed out; without one (closed), its alert stays pending.
   */
  #ended(key, hookId, outcome) {
    try {
      if (outcome) {
        call(() => this.#outbox.finished(key, hookId));
        call(() => this.#outbox.ack(this.#raw));
        this.#drain();
      } else {
        call(() => this.#outbox.dropped());
      }
    } catch (error) {
      this.#report(error, { source: 'webhook' });
    }
  }

  /** Starts queued deliveries while fewer than `webhookConcurrency` run. */
  #pump() {
    while (this.#active < this.#concurrency && this.#queue.length > 0) {
      const job = this.#queue.shift();
      this.#active += 1;
      job.run().finally(() => {
        this.#active -= 1;
        this.#deliveries.delete(job.p);
        job.done();
        this.#pump();
      });
    }
  }

  /** Waits for every delivery under way or queued; with a deadline, rejects with a WebhookTimeoutError when it passes. */
  async #settled(ms, what) {
    const all = (async () => {
      while (this.#deliveries.size > 0) await Promise.all([...this.#deliveries]);
    })();
    if (ms === null) return all;
    let id;
    const late = new Promise((_, reject) => {
      id = setTimeout(() => {
        const pending = this.#deliveries.size;
        reject(new WebhookTimeoutError(`${what}: ${pending} webhook deliver${pending === 1 ? 'y' : 'ies'} still pending after ${ms} ms`, { pending, timeoutMs: ms }));
      }, ms);
    });
    try {
      await Promise.race([all, late]);
    } finally {
      clearTimeout(id);
    }
  }

  /**
   * Resolves once every webhook delivery started or queued so far has
   * finished. `flush(ms)` (or `flush({timeoutMs})`) rejects with a
   * WebhookTimeoutError (`pending`, `timeoutMs`) if they have not finished
   * after `ms`; the deliveries go on.
   */
  async flush(options) {
    const ms = deadlineOf(options);
    await this.#settled(ms, 'flush');
  }

  /**
   * Stops webhook delivery: later alerts are not posted (callbacks still run),
   * and the deliveries under way or queued are waited for. `close(ms)` (or
   * `close({timeoutMs})`): after `ms`, those still pending are abandoned (the
   * requests aborted, the queue dropped) and it rejects with a
   * WebhookTimeoutError. The pool's books stay usable.
   */
  async close(options) {
    const ms = deadlineOf(options);
    this.#closed = true;
    // Another Pool may now take the ledger file over.
    if (this.#ledgerClaim !== null) this.#ledgerClaim.closed = true;
    try {
      await this.#settled(ms, 'close');
    } catch (e) {
      const dropped = this.#queue.splice(0);
      for (const job of dropped) {
        this.#deliveries.delete(job.p);
        call(() => this.#outbox.dropped());
        job.done();
      }
      this.#stop.abort();
      throw e;
    }
  }

  /** Reserves `amount` for `agent`: `{id, amount, expiresAtMs}`; throws a PoolRefusedError. */
  reserve(agent, amount, { leaseMs } = {}) {
    const n = amountNanos(amount, 'amount');
    return this.#op((now) => this.#raw.reserve(agent, n, now, leaseMs ?? null));
  }

  /** Posts the actual cost of reservation `id` (with the core's AttributionInput JSON, optional). */
  settle(id, cost, attribution = null) {
    const n = amountNanos(cost, 'cost');
    return this.#op((now) => this.#raw.settle(id, n, plainJson(attribution), now));
  }

  /** Voids reservation `id` (the request failed). */
  release(id) {
    return this.#op((now) => this.#raw.release(id, now));
  }

  /** Expires due leases and rolls the cycle over: `{expired, rolledOver}`. */
  tick() {
    return this.#op((now) => this.#raw.tick(now));
  }

  /**
   * Accepts the clock however far ahead of the latest time the pool saw, then
   * ticks: `{expired, rolledOver}`. The explicit resume after a
   * `ClockJumpError` (a pool idle longer than its `max_clock_jump_ms`, a
   * snapshot restored after a long pause), once the clock is known right.
   */
  advanceClock() {
    return this.#op((now) => this.#raw.advanceClock(now));
  }

  /** Changes the limit (nano-USD). */
  setLimit(limit) {
    const n = amountNanos(limit, 'limit');
    this.#op((now) => this.#raw.setLimit(n, now));
  }

  /** Sets an agent's policy (the core's AgentPolicy JSON: `cap`, `weight`, rate limits). */
  setAgentPolicy(agent, policy) {
    const checked = policy !== null && typeof policy === 'object' ? poolConfigNanos({ agents: { [agent]: policy } }).agents[agent] : policy;
    this.#op((now) => this.#raw.setAgentPolicy(agent, plainJson(checked), now));
  }

  /**
   * One operation as the core's PoolOp JSON (`reserve`, `settle`, `release`,
   * `extend`, `set_limit`, `set_agent`, `tick`, `advance_clock`, `report`); the core's
   * OpResult JSON. This is the `PoolStore` interface an Agent drives.
   */
  apply(op) {
    return this.#op(() => this.#raw.apply(plainJson(op)));
  }

  /**
   * The report for the current cycle: a `PoolReport` (the core's Report,
   * every amount a `Money`; `toJSON()` gives the core's JSON). Its `chart()`
   * is that report's activity dashboard, drawn by the core with this
   * pool's alert thresholds: a Vega-Lite v5 specification.
   */
  report() {
    const raw = this.#raw;
    const report = this.#op((now) => raw.report(now));
    return new PoolReport(report, (json) => call(() => raw.reportChart(json)));
  }

  /**
   * The pool's activity dashboard now (the core's `Activity::from_pool`: its
   * report with its own thresholds) as one Vega-Lite v5 specification, a
   * plain JSON object; draw it with `renderActivity` or any Vega tooling.
   */
  chart() {
    return this.#op((now) => this.#raw.chart(now));
  }

  /** `{limit, settled, reserved, overrun}` as money. */
  get usage() {
    return call(() => this.#raw.usage());
  }

  /** When the pool next has something to do without input (Unix ms). */
  get nextDeadlineMs() {
    return call(() => this.#raw.nextDeadlineMs());
  }

  /** The pool's state as versioned JSON text, for `Pool.restore`. */
  snapshot() {
    return call(() => this.#raw.snapshot());
  }
}
