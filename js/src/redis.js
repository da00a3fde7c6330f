// RedisPool: a credit pool shared by processes, machines and languages
// through Redis, with ioredis (an optional peer dependency: `npm install
// ioredis`). Node only: browsers have no Redis.
//
// Everything but the sending lives in the core (`creditpool_core::redis`,
// reached through the wasm module's RawRedisOps): the keys, the Lua script,
// each operation's command and the decoding of its reply. This file connects
// with ioredis, sends what the core builds, reloads the script when the
// server lost it (NOSCRIPT, a flushed function library) and resends a command
// whose connection failed, up to the core's `sendAttempts` (every operation
// is idempotent: a reserve carries its idempotency key, kept across its
// resends). It decides nothing. See docs/REDIS.md.
import { MissingDependencyError, PoolStoreError } from './errors.js';
import { argumentError, optionsError } from './fail.js';
import { poolConfigNanos } from './money.js';
import { plainJson } from './pool.js';
import { runtime } from './runtime.js';
import { call, glue } from './wasm.js';

const CONNECT_OPTIONS = new Set(['name', 'config', 'update', 'clock', 'scriptMode', 'createdAtMs', 'client', 'redisOptions']);
const JOIN_OPTIONS = new Set(['name', 'clock', 'scriptMode', 'client', 'redisOptions']);

let constants = null;
/** The core's constants: `{sendAttempts, alertGroup, alertBatch, alertClaimIdleMs}`. */
function core() {
  constants ??= call(() => glue.redisConstants());
  return constants;
}

function storeError(message, cause) {
  return new PoolStoreError(message, { code: 'pool_store', type: 'pool_store', ...(cause === undefined ? {} : { cause }) });
}

/** The ioredis module: imported on first use (not a dependency of the package). */
async function ioredis() {
  if (runtime.browser) {
    throw optionsError(
      'redis_unsupported',
      'RedisPool needs Node (a TCP connection to Redis): browsers have no Redis. In a page use the in-memory Pool, or a PoolStore that calls your server',
    );
  }
  try {
    // A variable specifier, so that bundlers do not pull ioredis into builds.
    const name = 'ioredis';
    const mod = await import(/* @vite-ignore */ /* webpackIgnore: true */ name);
    return mod.default?.default ?? mod.default ?? mod.Redis ?? mod;
  } catch (cause) {
    throw new MissingDependencyError('RedisPool needs ioredis: npm install ioredis, or pass { client } (an ioredis client)', {
      type: 'missing_dependency',
      dependency: 'ioredis',
      cause,
    });
  }
}

function isReplyError(e) {
  // ioredis rejects with redis-errors' ReplyError for an error reply; any
  // other rejection is the connection's.
  return e !== null && typeof e === 'object' && (e.name === 'ReplyError' || e.constructor?.name === 'ReplyError');
}

function checkKeys(options, allowed, what) {
  if (options === null || typeof options !== 'object') throw argumentError(`${what} options must be an object`);
  for (const key of Object.keys(options)) {
    if (!allowed.has(key)) throw optionsError('invalid_options', `unknown ${what} option ${JSON.stringify(key)}`);
  }
  if (typeof options.name !== 'string') throw optionsError('invalid_options', `${what} needs the pool's name ({name: "fleet"})`);
}

/**
 * A pool that lives in Redis: a `PoolStore` that `Agent` takes as it takes a
 * `Pool` (`apply(op)` returns a promise of the core's `OpResult` JSON).
 *
 * `await RedisPool.connect(url, {name, config})` (or `Pool.connect`) creates
 * pool `name` with `config` (the core's PoolConfig JSON, as `new Pool`
 * takes), or joins it if it exists with the same one; a different one
 * rejects with a RedisConfigConflictError (`stored`, `given`) unless
 * `update: true` replaces it explicitly. `RedisPool.join(url, {name})` joins
 * with the stored configuration. `clock: "server"` (the default) makes the
 * Redis server's TIME the fleet's one clock; `"given"` replays each
 * operation's `now_ms` (tests). `scriptMode` is `"function"` (Redis 7
 * Functions, FCALL) or `"eval"` (EVALSHA); by default Functions where the
 * server has them. `client` is an ioredis client to use instead of `url`;
 * `redisOptions` are passed to `new Redis(url, ...)`.
 */
export class RedisPool {
  #client;
  #ops;
  #mode;
  #config;
  #clientId;
  #seq = 0;
  #own;

  /** Use `RedisPool.connect` or `RedisPool.join`. */
  constructor(token, client, ops, mode, own, clientId) {
    if (token !== PRIVATE) throw argumentError('use RedisPool.connect(url, {name, config}) or RedisPool.join(url, {name})');
    this.#client = client;
    this.#ops = ops;
    this.#mode = mode;
    this.#own = own;
    this.#clientId = clientId;
  }

  /** Creates pool `name` in the Redis at `url`, or joins it (see the class documentation). */
  static async connect(url = 'redis://127.0.0.1:6379/0', options = {}) {
    checkKeys(options, CONNECT_OPTIONS, 'RedisPool.connect()');
    if (options.config === undefined || options.config === null) {
      throw optionsError('invalid_options', 'RedisPool.connect() needs a config (RedisPool.join() takes the stored configuration)');
    }
    // Every amount checked by the core's one rule (Money, usd(), nanos()) and written as nano-USD.
    return RedisPool.#open(url, options, plainJson(poolConfigNanos(options.config)), options.update ? 'update' : 'join');
  }

  /** Joins the existing pool `name` with its stored configuration (PoolStoreError `redis_pool_missing` if there is none). */
  static async join(url = 'redis://127.0.0.1:6379/0', options = {}) {
    checkKeys(options, JOIN_OPTIONS, 'RedisPool.join()');
    return RedisPool.#open(url, options, null, 'read');
  }

  static async #open(url, options, config, join) {
    const clock = options.clock ?? 'server';
    const ops = call(() => new glue.RawRedisOps(options.name, clock));
    let initCall;
    try {
      initCall = call(() => ops.join(config, join, options.createdAtMs ?? 0)); // checks the configuration first
    } catch (e) {
      ops.free();
      throw e;
    }
    let client = options.client ?? null;
    let own = false;
    try {
      if (client === null) {
        const Redis = await ioredis();
        if (typeof url !== 'string') throw argumentError('url must be a redis:// URL');
        // No retries inside ioredis: the core's sendAttempts is the one policy.
        client = new Redis(url, {
          lazyConnect: true,
          maxRetriesPerRequest: 0,
          autoResendUnfulfilledCommands: false,
          ...(options.redisOptions ?? {}),
        });
        own = true;
        // Failures reach the caller through the commands (a PoolStoreError
        // after the core's sendAttempts); the client's own error events,
        // emitted while it reconnects, are not reported twice.
        client.on('error', () => {});
        try {
          await client.connect();
        } catch (e) {
          client.disconnect();
          throw storeError(`Redis unreachable: ${e?.message ?? e}`, e);
        }
      }
      let mode = options.scriptMode ?? null;
      if (mode === null) {
        // Functions where the server has them (loaded now), else EVALSHA.
        const r = await send(client, call(() => glue.redisLoadCommand('function')));
        if (r.connection) throw storeError(`Redis unreachable: ${r.message}`);
        mode = r.server && call(() => glue.redisIsFunctionsUnsupported(r.message)) ? 'eval' : 'function';
      } else if (mode !== 'function' && mode !== 'eval') {
        throw argumentError('scriptMode must be "function" or "eval"');
      }
      const idBytes = new Uint8Array(8);
      (await import('node:crypto')).webcrypto.getRandomValues(idBytes);
      const clientId = Array.from(idBytes, (b) => b.toString(16).padStart(2, '0')).join('');
      const pool = new RedisPool(PRIVATE, client, ops, mode, own, clientId);
      const reply = await pool.#call(initCall);
      pool.#config = call(() => ops.decodeJoin(reply, config));
      return pool;
    } catch (e) {
      if (own) client.disconnect();
      throw e;
    } finally {
      initCall.free();
    }
  }

  // ----- the PoolStore seam -----

  /**
   * Applies the core's PoolOp JSON with one script run; a promise of its
   * OpResult JSON. A reserve gets a fresh idempotency key, kept across the
   * resends of its command.
   */
  apply(op) {
    const key = op?.op === 'reserve' ? this.nextKey() : null;
    return this.applyKeyed(op, key);
  }

  /** Applies `op` with an explicit reserve idempotency key: a reserve repeated with the same key answers the reservation already made. */
  async applyKeyed(op, key = null) {
    const built = call(() => this.#ops.build(plainJson(op), key ?? undefined));
    if (built.call === undefined) return built.result;
    try {
      const reply = await this.#call(built.call);
      return call(() => this.#ops.decode(reply));
    } finally {
      built.call.free();
    }
  }

  /** A fresh reserve idempotency key for this pool object. */
  nextKey() {
    this.#seq += 1;
    return call(() => glue.redisIdempotencyKey(this.#clientId, this.#seq));
  }

  /**
   * Sends a script call: reloads the script when the server lost it,
   * resends when the connection failed (up to the core's sendAttempts).
   */
  async #call(scriptCall) {
    const attempts = core().sendAttempts;
    let last = '';
    let reloaded = false;
    for (let attempt = 1; attempt <= attempts; attempt += 1) {
      const r = await send(this.#client, call(() => scriptCall.command(this.#mode)));
      if (r.ok) return r.value;
      if (r.connection) {
        last = r.message;
        continue;
      }
      if (reloaded || !call(() => glue.redisIsReloadError(r.message))) throw storeError(`Redis error: ${r.message}`);
      reloaded = true;
      attempt -= 1;
      // EVAL runs the call and caches the script; a Functions library is loaded again.
      const again = await send(this.#client, this.#mode === 'eval' ? call(() => scriptCall.evalCommand()) : call(() => glue.redisLoadCommand('function')));
      if (again.ok && this.#mode === 'eval') return again.value;
      if (again.server) throw storeError(`Redis error: ${again.message}`);
      if (again.connection) last = again.message;
    }
    throw storeError(`Redis unreachable after ${attempts} attempts: ${last}`);
  }

  async #command(argv) {
    const r = await send(this.#client, argv);
    if (r.ok) return r.value;
    throw storeError(`Redis error: ${r.message}`);
  }

  // ----- inspection -----

  /** The pool's name in Redis (its keys' hash tag). */
  get name() {
    return call(() => this.#ops.name);
  }

  /** The pool's configuration (the core's PoolConfig JSON), as stored with it when this object joined. */
  get config() {
    return structuredClone(this.#config);
  }

  /** `"function"` (FCALL) or `"eval"` (EVALSHA). */
  get scriptMode() {
    return this.#mode;
  }

  /** The ioredis client. */
  get client() {
    return this.#client;
  }

  /** The report for the current cycle (the core's Report JSON, as `Pool.report` gives it). */
  async report() {
    return this.apply({ op: 'report', now_ms: Date.now() });
  }

  /** Ledger entries (the file ledger's JSON) after stream ID `after`, at most `count`: `[[id, entry], ...]`. */
  async ledger(after = '-', count = 10_000) {
    const reply = await this.#command(call(() => this.#ops.readLedger(after, count)));
    return call(() => this.#ops.decodeLedger(reply));
  }

  /**
   * Removes the ledger entries up to and including stream ID `through` (the
   * last one you have archived: the stream is the pool's record and grows by
   * one entry per settle, release and expiry); resolves to how many went. A
   * malformed ID rejects with an InvalidOptionsError
   * (`redis_invalid_stream_id`).
   */
  async trimLedger(through) {
    const cmd = call(() => this.#ops.trimLedger(String(through)));
    const reply = await this.#command(cmd);
    return call(() => this.#ops.decodeTrimmed(reply));
  }

  /**
   * Alerts in the outbox after stream ID `after` (inspection, no consumer
   * group): `[[id, alert], ...]`, each alert `{kind, percent, payload, body,
   * idempotencyKey, ...}`. With `secrets`, each alert also has
   * `deliveries`: for each secret, the headers of a webhook delivery signed
   * with it at `nowMs` (default now).
   */
  async alerts(after = '-', count = 10_000, { secrets = null, nowMs = Date.now() } = {}) {
    const reply = await this.#command(call(() => this.#ops.rangeAlerts(after, count)));
    return call(() => this.#ops.decodeAlerts(reply, secrets, nowMs));
  }

  /**
   * Alerts for `consumer` to deliver: those another consumer left
   * unacknowledged for `minIdleMs` (it died), then new ones: `[[id, alert],
   * ...]`. Deliver each, then `ack` it (at least once; receivers deduplicate
   * by the alert's `idempotencyKey`).
   */
  async nextAlerts(consumer, { group = core().alertGroup, minIdleMs = core().alertClaimIdleMs, count = core().alertBatch } = {}) {
    const created = await send(this.#client, call(() => this.#ops.createGroup(group)));
    if (!created.ok && !(created.server && created.message.startsWith('BUSYGROUP'))) throw storeError(`Redis error: ${created.message}`);
    const claimed = await this.#command(call(() => this.#ops.claimAlerts(group, consumer, minIdleMs, count)));
    const out = call(() => this.#ops.decodeAlerts(claimed, null, 0));
    if (out.length < count) {
      const fresh = await this.#command(call(() => this.#ops.readAlerts(group, consumer, count - out.length)));
      out.push(...call(() => this.#ops.decodeAlerts(fresh, null, 0)));
    }
    return out;
  }

  /** Acknowledges delivered alerts (their stream IDs). */
  async ack(ids, { group = core().alertGroup } = {}) {
    if (ids.length > 0) await this.#command(call(() => this.#ops.ack(group, ids)));
  }

  /**
   * One round of alert delivery for `consumer` of the core's group: takes up
   * to the core's batch (first those another consumer left unacknowledged
   * for the core's claim time, then new ones), awaits `deliver(alert)` for
   * each, and acknowledges those delivered. An alert whose delivery threw
   * stays pending and is retried after the idle time, by this consumer or
   * another. Resolves to how many were delivered; call it in a loop, from as
   * many workers as you like.
   */
  async deliverAlerts(consumer, deliver, options = {}) {
    if (typeof deliver !== 'function') throw argumentError('deliver must be a function');
    const batch = await this.nextAlerts(consumer, options);
    const done = [];
    for (const [id, alert] of batch) {
      try {
        await deliver(alert);
        done.push(id);
      } catch {
        // Left pending: claimed again after the idle time.
      }
    }
    await this.ack(done, options);
    return done.length;
  }

  /** Closes the connection (when this object opened it). */
  async close() {
    if (this.#own) {
      try {
        await this.#client.quit();
      } catch {
        this.#client.disconnect();
      }
    }
  }

  toString() {
    return `RedisPool(name=${JSON.stringify(this.name)}, scriptMode=${JSON.stringify(this.#mode)})`;
  }
}

const PRIVATE = Symbol('RedisPool');

/** Sends one command as the core built it: `{ok, value}`, `{server, message}` (an error reply) or `{connection, message}`. */
async function send(client, argv) {
  const [name, ...args] = argv.map((a) => (typeof a === 'string' ? a : Buffer.from(a)));
  try {
    return { ok: true, value: await client.call(name, ...args) };
  } catch (e) {
    const message = String(e?.message ?? e);
    return isReplyError(e) ? { server: true, message } : { connection: true, message };
  }
}
