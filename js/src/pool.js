// The credit pool: the core's Pool (every rule) plus what only the host can
// do: the clock, alert callbacks, webhook delivery through fetch, and in Node
// a JSON Lines ledger file appended to per entry.
import { argumentError, optionsError } from './fail.js';
import { runtime } from './runtime.js';
import { drive, webhookMachine } from './player.js';
import { call, glue } from './wasm.js';

const POOL_OPTIONS = new Set(['now', 'onAlert', 'onLedger', 'webhooks', 'onWebhookError', 'ledgerFile', 'fetch']);
const RAW = new WeakMap();
const RESTORE = Symbol('restore');

/** The clock of a creditpool Pool (`() => ms`), or undefined for another pool store. */
export function poolClock(pool) {
  return RAW.get(pool)?.now;
}

/**
 * A copy of a JSON value with its `bigint`s as numbers (the core reads
 * amounts in JSON as integers); a bigint beyond 2^53 cannot cross as JSON.
 */
export function plainJson(value) {
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
 * HMAC-SHA256 signature the core made), `onWebhookError(error, alert, url)`,
 * `ledgerFile` (Node: every ledger entry is appended to it as one JSON line),
 * `fetch` (default the global one).
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
  #fetch;
  #deliveries = new Set();
  /** Alerts fired so far, oldest first. */
  alerts = [];

  constructor(config, options = {}) {
    this.#setup(options);
    this.#raw = config?.[RESTORE] !== undefined ? config[RESTORE] : call(() => new glue.RawPool(plainJson(config), this.#now()));
    RAW.set(this, { raw: this.#raw, drain: () => this.#drain(), now: () => this.#now() });
    this.#drain();
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
    this.#ledgerFile = options.ledgerFile ?? null;
    this.#fetch = options.fetch ?? ((...args) => globalThis.fetch(...args));
    if (options.onAlert) this.#alertListeners.push(options.onAlert);
    if (options.onLedger) this.#ledgerListeners.push(options.onLedger);
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

  /** Delivers what the core queued: alerts to callbacks and webhooks, ledger entries to the file. */
  #drain() {
    const secrets = this.#webhooks.map((w) => w.secret);
    for (let a = call(() => this.#raw.pollAlert(secrets)); a !== null; a = call(() => this.#raw.pollAlert(secrets))) {
      const alert = { kind: a.kind, percent: a.percent, payload: a.payload, body: a.body };
      this.alerts.push(alert);
      this.#webhooks.forEach((w, i) => this.#deliver(w.url, a.body, a.deliveries[i], alert));
      for (const fn of this.#alertListeners) fn(alert);
    }
    for (let e = call(() => this.#raw.pollLedger()); e !== null; e = call(() => this.#raw.pollLedger())) {
      if (this.#ledgerFile !== null) runtime.appendFile(this.#ledgerFile, e.line);
      for (const fn of this.#ledgerListeners) fn(e.entry, e.line);
    }
  }

  #deliver(url, body, headers, alert) {
    // Each delivery is the core's webhook call (its retries, its timeout),
    // played by the package's attempt player through this pool's fetch; it
    // starts at once (so that deliveries start in alert order) and runs in
    // the background (see flush()).
    const p = (async () => {
      let m = null;
      try {
        m = webhookMachine(call(() => glue.MessagesCall.webhook({ body, headers }, null)), url, this.#fetch);
        await drive(m, { now: () => Date.now() });
        m.takeResult();
      } catch (e) {
        if (this.#onWebhookError) this.#onWebhookError(e, alert, url);
      } finally {
        m?.raw.free();
        this.#deliveries.delete(p);
      }
    })();
    this.#deliveries.add(p);
  }

  /** Resolves once every webhook delivery started so far has finished. */
  async flush() {
    while (this.#deliveries.size > 0) await Promise.all([...this.#deliveries]);
  }

  /** Reserves `amount` for `agent`: `{id, amount, expiresAtMs}`; throws a PoolRefusedError. */
  reserve(agent, amount, { leaseMs } = {}) {
    return this.#op((now) => this.#raw.reserve(agent, amount, now, leaseMs ?? null));
  }

  /** Posts the actual cost of reservation `id` (with the core's AttributionInput JSON, optional). */
  settle(id, cost, attribution = null) {
    return this.#op((now) => this.#raw.settle(id, cost, plainJson(attribution), now));
  }

  /** Voids reservation `id` (the request failed). */
  release(id) {
    return this.#op((now) => this.#raw.release(id, now));
  }

  /** Expires due leases and rolls the cycle over: `{expired, rolledOver}`. */
  tick() {
    return this.#op((now) => this.#raw.tick(now));
  }

  /** Changes the limit (nano-USD). */
  setLimit(limit) {
    this.#op((now) => this.#raw.setLimit(limit, now));
  }

  /** Sets an agent's policy (the core's AgentPolicy JSON: `cap`, `weight`, rate limits). */
  setAgentPolicy(agent, policy) {
    this.#op((now) => this.#raw.setAgentPolicy(agent, plainJson(policy), now));
  }

  /**
   * One operation as the core's PoolOp JSON (`reserve`, `settle`, `release`,
   * `extend`, `set_limit`, `set_agent`, `tick`, `report`); the core's
   * OpResult JSON. This is the `PoolStore` interface an Agent drives.
   */
  apply(op) {
    return this.#op(() => this.#raw.apply(plainJson(op)));
  }

  /** The report for the current cycle (the core's Report JSON, amounts in nano-USD). */
  report() {
    return this.#op((now) => this.#raw.report(now));
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
