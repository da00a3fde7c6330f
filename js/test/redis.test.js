// RedisPool (ioredis) against a real redis-server that this file starts on
// 127.0.0.1 with a free port (test/helpers/redis.js): every pool_scenario
// vector in the given-clock mode, as crates/creditpool/tests/redis_vectors.rs
// and python/tests/test_redis.py run them (with the same expected difference:
// fair_share is refused at connect); joining and the typed configuration
// conflict; a reserve whose answer was lost, resent with its idempotency key;
// a killed connection; a flushed script in both script modes; alerts through
// the outbox's consumer group; an Agent against creditpool-sim, unchanged.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  Agent,
  Client,
  InvalidOptionsError,
  Pool,
  PoolConfigError,
  PoolError,
  PoolStoreError,
  RedisConfigConflictError,
  RedisPool,
  Tool,
  nanos,
  usd,
} from 'creditpool';
import Redis from 'ioredis';
import { runtime } from '../src/runtime.js';
import { moneyConfig } from './helpers/money-vectors.js';
import { glue } from '../src/wasm.js';
import { jsonDiff, loadKind } from './helpers/vectors.js';
import { freePort, startRedis } from './helpers/redis.js';
import { startSim } from './helpers/sim.js';

const USD = 1_000_000_000;
const EXPECTED_DIFFERENCES = {
  fair_share:
    'a configuration with fair_share is refused at connect (fair_share_unsupported_on_redis): a fair-share check would scan every agent inside the atomic script on each reserve',
};
let server;
let names = 0;
const unique = (prefix) => `${prefix}-${process.pid}-${(names += 1)}`;

before(async () => {
  server = await startRedis();
});
after(() => server.stop());

async function report(pool) {
  const r = await pool.apply({ op: 'report', now_ms: 0 });
  assert.equal(r.result, 'report', JSON.stringify(r));
  return r;
}

// ----- the vectors -----

const POOL_CASES = loadKind('pool_scenario');

/** Runs a pool_scenario case on Redis as the Rust and Python runners do: alerts and ledger read from the streams after each op. */
async function redisRun(input, withLedger) {
  const created = input.created_at_ms ?? 0;
  let pool;
  // The vectors are the core's JSON (integer nano-USD): their amounts become Money.
  try {
    pool = await RedisPool.connect(server.url, { name: unique('vec'), config: moneyConfig(input.config), clock: 'given', createdAtMs: created });
  } catch (e) {
    if (!(e instanceof PoolError) || e instanceof PoolStoreError) throw e;
    const { type, name: _n, message: _m, code: _c, ...fields } = e.toJSON();
    return { error: { error: type, ...fields } };
  }
  const secret = input.webhook_secret;
  const results = [];
  const events = [];
  const ledger = [];
  let afterAlert = '-';
  let afterEntry = '-';
  try {
    for (const [i, op] of input.ops.entries()) {
      results.push(await pool.applyKeyed(op, null));
      const signing = typeof secret === 'string' ? { secrets: [secret], nowMs: input.webhook_delivered_at_ms ?? created } : {};
      for (const [id, alert] of await pool.alerts(afterAlert, 10_000, signing)) {
        afterAlert = id;
        const ev = { after_op: i, payload: alert.payload };
        if (typeof secret === 'string') {
          const headers = Object.fromEntries(alert.deliveries[0]);
          ev.body = alert.body;
          ev.timestamp = Number(headers['x-creditpool-timestamp']);
          ev.signature = headers['x-creditpool-signature'];
        }
        events.push(ev);
      }
      for (const [id, entry] of await pool.ledger(afterEntry)) {
        afterEntry = id;
        ledger.push(entry);
      }
    }
  } finally {
    await pool.close();
  }
  const out = { results, events };
  if (withLedger) out.ledger = ledger;
  return out;
}

test('every pool_scenario vector runs on the Redis store', async () => {
  assert.ok(POOL_CASES.length >= 25);
  assert.ok(POOL_CASES.filter((c) => c.input.config.fair_share === undefined).length >= 20);
  const failures = [];
  for (const c of POOL_CASES) {
    const id = `${c.file}#${c.name}`;
    if (c.input.config.fair_share !== undefined) {
      // The one expected difference: refused at connect, with its typed error.
      const connecting = RedisPool.connect(server.url, { name: unique('fs'), config: moneyConfig(c.input.config), clock: 'given' });
      await assert.rejects(connecting, (e) => {
        assert.ok(e instanceof PoolConfigError, `${id}: ${e}`);
        assert.equal(e.code, 'fair_share_unsupported_on_redis');
        return true;
      });
      assert.ok(EXPECTED_DIFFERENCES.fair_share);
      continue;
    }
    const withLedger = c.expected !== null && typeof c.expected === 'object' && 'ledger' in c.expected;
    const d = jsonDiff('', await redisRun(c.input, withLedger), c.expected);
    if (d) failures.push(`${id}: ${d}`);
  }
  assert.deepEqual(failures, []);
});

// ----- joining -----

test('joining reads the stored configuration; a conflict is typed; an update is explicit', async () => {
  const name = unique('join');
  const config = { limit: usd(5), agents: { a: { cap: { kind: 'absolute', amount: usd(1) } } } };
  const first = await RedisPool.connect(server.url, { name, config });
  const same = await RedisPool.connect(server.url, { name, config });
  assert.equal(same.config.limit, 5 * USD);
  const joined = await RedisPool.join(server.url, { name });
  assert.deepEqual(joined.config, first.config);
  await assert.rejects(RedisPool.connect(server.url, { name, config: { limit: usd(7) } }), (e) => {
    assert.ok(e instanceof RedisConfigConflictError && e instanceof PoolError, String(e));
    assert.equal(e.code, 'redis_config_conflict');
    assert.equal(e.stored.limit, 5 * USD);
    assert.equal(e.given.limit, 7 * USD);
    return true;
  });
  // Nothing changed; an explicit update replaces it.
  const limitNow = async () => {
    const p = await RedisPool.join(server.url, { name });
    await p.close();
    return p.config.limit;
  };
  assert.equal(await limitNow(), 5 * USD);
  await (await RedisPool.connect(server.url, { name, config: { limit: nanos(7n * BigInt(USD)) }, update: true })).close();
  assert.equal(await limitNow(), 7 * USD);
  await assert.rejects(RedisPool.join(server.url, { name: unique('nothing-here') }), (e) => e instanceof PoolStoreError && e.code === 'redis_pool_missing');
  await assert.rejects(RedisPool.connect(server.url, { name: 'bad{name}', config: { limit: usd(1) } }), PoolConfigError);
  await assert.rejects(RedisPool.connect(server.url, { name: 'x' }), InvalidOptionsError);
  await assert.rejects(RedisPool.connect(server.url, { name: 'x', config: { limit: usd(1) }, nope: 1 }), InvalidOptionsError);
  for (const p of [first, same, joined]) await p.close();
});

test('Pool.connect is the one-line spelling; two pool objects share one limit', async () => {
  const name = unique('shared');
  const a = await Pool.connect(server.url, { name, config: { limit: usd(3) } });
  assert.ok(a instanceof RedisPool);
  assert.ok(['function', 'eval'].includes(a.scriptMode));
  const b = await RedisPool.join(server.url, { name });
  const r1 = await a.apply({ op: 'reserve', agent: 'x', amount: 2 * USD, now_ms: 0 });
  assert.equal(r1.result, 'reserved', JSON.stringify(r1));
  const r2 = await b.apply({ op: 'reserve', agent: 'y', amount: 2 * USD, now_ms: 0 });
  assert.equal(r2.result, 'refused');
  assert.equal(r2.reason, 'pool_exhausted');
  const s = await b.apply({ op: 'settle', id: r1.id, cost: USD, now_ms: 0 });
  assert.equal(s.result, 'settled', JSON.stringify(s));
  const rep = await report(a);
  assert.equal(rep.settled, USD);
  assert.equal(rep.reserved, 0);
  assert.deepEqual((await a.ledger()).map(([, e]) => e.kind), ['settle']);
  await a.close();
  await b.close();
});

test('the ledger stream is trimmed through an archived entry; a malformed ID is typed', async () => {
  const pool = await RedisPool.connect(server.url, { name: unique('trim'), config: { limit: usd(10) } });
  for (let i = 0; i < 4; i++) {
    const r = await pool.apply({ op: 'reserve', agent: 'a', amount: USD, now_ms: 0 });
    assert.equal((await pool.apply({ op: 'settle', id: r.id, cost: USD / 2, now_ms: 0 })).result, 'settled');
  }
  const entries = await pool.ledger();
  const archived = entries[1][0];
  assert.equal(await pool.trimLedger(archived), 2);
  assert.deepEqual((await pool.ledger()).map(([, e]) => e.seq), [3, 4]);
  assert.equal(await pool.trimLedger(archived), 0);
  assert.equal((await report(pool)).settled, 2 * USD);
  await assert.rejects(pool.trimLedger('last week'), (e) => e instanceof InvalidOptionsError && e.code === 'redis_invalid_stream_id');
  await pool.close();
});

// ----- faults -----

test('a reserve whose answer was lost is resent with its key and reserves once', async () => {
  const pool = await RedisPool.connect(server.url, { name: unique('lost'), config: { limit: usd(10) } });
  const client = pool.client;
  const realCall = client.call.bind(client);
  let lost = 0;
  client.call = async (name, ...args) => {
    const reply = await realCall(name, ...args); // the server ran it...
    if (lost === 0 && (name === 'FCALL' || name === 'EVALSHA')) {
      lost += 1;
      throw new Error('Connection is closed.'); // ...the answer never came
    }
    return reply;
  };
  const r = await pool.apply({ op: 'reserve', agent: 'a', amount: 4 * USD, now_ms: 0 });
  assert.equal(lost, 1);
  assert.equal(r.result, 'reserved', JSON.stringify(r));
  assert.equal((await report(pool)).reserved, 4 * USD); // once, not twice
  // The same key again answers the same reservation; a new key reserves anew.
  const key = pool.nextKey();
  const again1 = await pool.applyKeyed({ op: 'reserve', agent: 'a', amount: USD, now_ms: 0 }, key);
  const again2 = await pool.applyKeyed({ op: 'reserve', agent: 'a', amount: USD, now_ms: 0 }, key);
  assert.deepEqual(again1, again2);
  assert.notEqual(again1.id, r.id);
  assert.equal((await report(pool)).reserved, 5 * USD);
  client.call = realCall;
  await pool.close();
});

test('a killed connection is resent on a new one', async () => {
  const pool = await RedisPool.connect(server.url, { name: unique('killed'), config: { limit: usd(10) } });
  const r = await pool.apply({ op: 'reserve', agent: 'a', amount: USD, now_ms: 0 });
  const admin = new Redis(server.url);
  const own = await pool.client.call('CLIENT', 'ID');
  await admin.call('CLIENT', 'KILL', 'ID', String(own));
  const s = await pool.apply({ op: 'settle', id: r.id, cost: USD / 2, now_ms: 0 });
  assert.equal(s.result, 'settled', JSON.stringify(s));
  assert.notEqual(await pool.client.call('CLIENT', 'ID'), own);
  assert.equal((await report(pool)).settled, USD / 2);
  admin.disconnect();
  await pool.close();
});

for (const mode of ['function', 'eval']) {
  test(`a flushed script is reloaded (${mode})`, async () => {
    const pool = await RedisPool.connect(server.url, { name: unique('flush'), config: { limit: usd(10) }, scriptMode: mode });
    assert.equal(pool.scriptMode, mode);
    await pool.client.call('FUNCTION', 'FLUSH');
    await pool.client.call('SCRIPT', 'FLUSH');
    const r = await pool.apply({ op: 'reserve', agent: 'a', amount: USD, now_ms: 0 });
    assert.equal(r.result, 'reserved', JSON.stringify(r));
    await pool.close();
  });
}

test('an unreachable server is a PoolStoreError', async () => {
  const port = await freePort();
  await assert.rejects(RedisPool.connect(`redis://127.0.0.1:${port}/0`, { name: 'x', config: { limit: usd(1) }, redisOptions: { retryStrategy: () => null } }), (e) => {
    assert.ok(e instanceof PoolStoreError, String(e));
    assert.equal(e.code, 'pool_store');
    return true;
  });
});

test('browsers have no Redis: a typed error, before any import of ioredis', async () => {
  const was = runtime.browser;
  runtime.browser = true;
  try {
    await assert.rejects(Pool.connect(server.url, { name: 'x', config: { limit: usd(1) } }), (e) => {
      assert.ok(e instanceof InvalidOptionsError, String(e));
      assert.equal(e.kind, 'redis_unsupported');
      assert.match(e.message, /browsers have no Redis/);
      return true;
    });
  } finally {
    runtime.browser = was;
  }
});

test('a reply nested deeper than any pool reply, or of an unknown type, is a typed error (bounded work)', () => {
  const ops = new glue.RawRedisOps('depth', 'server');
  let deep = 1;
  for (let i = 0; i < 100_000; i += 1) deep = [deep];
  for (const reply of [deep, { not: 'a reply' }]) {
    assert.throws(() => ops.decode(reply), (e) => {
      assert.ok(e instanceof PoolStoreError, String(e));
      assert.equal(e.code, 'redis_reply');
      return true;
    });
  }
  ops.free();
});

// ----- alerts -----

test('alerts go through the outbox consumer group: once, and claimed from a dead worker', async () => {
  const pool = await RedisPool.connect(server.url, { name: unique('alerts'), config: { limit: usd(1), alerts: { thresholds_pct: [50] } } });
  const r = await pool.apply({ op: 'reserve', agent: 'a', amount: USD, now_ms: 0 });
  await pool.apply({ op: 'settle', id: r.id, cost: (3 * USD) / 4, now_ms: 0 });
  const first = await pool.nextAlerts('worker-1');
  assert.deepEqual(first.map(([, a]) => a.percent), [50]);
  assert.equal(first[0][1].kind, 'threshold');
  assert.match(first[0][1].idempotencyKey, /:threshold:50$/);
  // Unacknowledged, it is not handed to another consumer before the idle time...
  assert.deepEqual(await pool.nextAlerts('worker-2'), []);
  // ...and a dead worker's alert is claimed by another after it (idle 0 here).
  const delivered = [];
  assert.equal(await pool.deliverAlerts('worker-2', async (a) => delivered.push(a.idempotencyKey), { minIdleMs: 0 }), 1);
  assert.deepEqual(delivered, [first[0][1].idempotencyKey]);
  assert.deepEqual(await pool.nextAlerts('worker-3', { minIdleMs: 0 }), []);
  await pool.close();
});

// ----- an agent -----

test('an Agent runs on a RedisPool unchanged; another connection sees the same totals', async () => {
  const sim = await startSim();
  try {
    await sim.reset({ steps: [{ tool_use: [{ name: 'search_database', input: { query: 'mugs' } }] }, { error: { status: 529 } }, { text: 'One mug, $12.50.' }] });
    const search = new Tool({
      name: 'search_database',
      description: 'Query the product inventory database.',
      inputSchema: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] },
      run: async ({ query }) => `3 products match ${query}`,
    });
    const pool = await Pool.connect(server.url, { name: unique('agent'), config: { limit: usd(1) } });
    const client = new Client({ apiKey: 'sk-sim', baseURL: sim.url, retry: { initial_backoff_ms: 5 } });
    const outcome = await new Agent({ client, pool, agentId: 'researcher', model: 'claude-haiku-4-5', tools: [search], maxTokens: 300 }).run('Find mugs');
    assert.equal(outcome.status, 'completed', JSON.stringify(outcome.error ?? null));
    const rep = await report(pool);
    const total = outcome.total_cost.nanos;
    assert.ok(total > 0n);
    assert.equal(BigInt(rep.settled), total);
    assert.equal(rep.reserved, 0);
    const kinds = (await pool.ledger()).map(([, e]) => e.kind);
    assert.equal(kinds.filter((k) => k === 'settle').length, 2, kinds.join());
    assert.equal(kinds.filter((k) => k === 'release').length, 1, kinds.join());
    const other = await RedisPool.join(server.url, { name: pool.name });
    const again = await report(other);
    assert.deepEqual([again.settled, again.reserved], [rep.settled, 0]);
    await other.close();
    await pool.close();
  } finally {
    await sim.stop();
  }
});
