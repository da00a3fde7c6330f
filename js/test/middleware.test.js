// creditpoolMiddleware inside the official SDK (@anthropic-ai/sdk, the
// version pinned in devDependencies), against the real simulator: the pool's
// ledger equals the simulator's usage log request by request, a refusal never
// reaches the simulator and throws the typed error, a retried call reserves
// once, an abandoned stream is settled by the core's rules while the caller's
// events are the SDK's own, and other endpoints pass through untouched.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { Pool, PoolExhaustedError, nanos as nanoMoney, SdkUnsupportedError, UnknownModelError, creditpoolMiddleware, withPool, checkSdk, cost, minSdkVersion } from 'creditpool';
import { startSim } from './helpers/sim.js';

const MODEL = 'claude-haiku-4-5';
const USD = 1_000_000_000n;

let sim;
before(async () => {
  sim = await startSim();
});
after(() => sim.stop());

/** A pool store that applies every operation to a Pool and records it. */
function recorder(pool, { async = false } = {}) {
  const ops = [];
  return {
    ops,
    kinds: () => ops.map((o) => o.op),
    apply(op) {
      ops.push(op);
      const r = pool.apply(op);
      return async ? Promise.resolve(r) : r;
    },
  };
}

function setup({ limit = nanoMoney(10n * USD), async = false, ...options } = {}) {
  const ledger = [];
  const pool = new Pool({ limit }, { onLedger: (entry) => ledger.push(entry) });
  const store = recorder(pool, { async });
  const client = new Anthropic({ apiKey: 'sk-sim', baseURL: sim.url, middleware: [creditpoolMiddleware(store, { agent: 'researcher', ...options })] });
  return { pool, store, client, ledger };
}

const nanos = (m) => BigInt(typeof m === 'object' && m !== null ? m.nanos : m);

/** Every request the simulator billed has one settle with its request id and exactly its price. */
async function assertLedgerMatchesUsageLog(pool, ledger) {
  const log = await sim.usage();
  const settles = ledger.filter((e) => e.kind === 'settle');
  assert.deepEqual(
    settles.map((e) => e.request_id),
    log.map((u) => u.request_id),
  );
  settles.forEach((e, i) => {
    assert.ok(!e.estimated);
    assert.equal(e.agent, 'researcher');
    assert.equal(nanos(e.cost), nanos(cost(log[i].model, log[i].billed).total));
  });
  assert.equal(nanos(pool.usage.reserved), 0n);
}

test('create settles from the usage and adds the selector', async () => {
  await sim.reset();
  const { pool, store, client, ledger } = setup();
  const msg = await client.messages.create({ model: MODEL, max_tokens: 200, messages: [{ role: 'user', content: 'Hello there' }] });
  assert.equal(msg.stop_reason, 'end_turn');
  assert.deepEqual(store.kinds(), ['reserve', 'settle']);
  const log = await sim.usage();
  assert.equal(log[0].credit_pool, 'programmatic');
  assert.equal(log[0].usage.output_tokens, msg.usage.output_tokens);
  await assertLedgerMatchesUsageLog(pool, ledger);
  assert.ok(nanos(store.ops[0].amount) >= nanos(store.ops[1].cost));
});

test('the selector can be off or custom', async () => {
  await sim.reset();
  const off = setup({ poolSelector: false });
  await off.client.messages.create({ model: MODEL, max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] });
  const custom = setup({ poolSelector: { field: 'credit_pool', value: 'team-a' } });
  await custom.client.messages.create({ model: MODEL, max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] });
  assert.deepEqual(
    (await sim.usage()).map((u) => u.credit_pool ?? null),
    [null, 'team-a'],
  );
});

async function events(client, prompt, stopAfter = Infinity) {
  const seen = [];
  const stream = client.messages.stream({ model: MODEL, max_tokens: 300, messages: [{ role: 'user', content: prompt }] });
  for await (const event of stream) {
    seen.push(`${event.type}:${event.delta?.text ?? ''}`);
    if (seen.length >= stopAfter) break;
  }
  return seen;
}

test('a stream settles from a copy, with an async store; the caller sees the SDK events', async () => {
  const prompt = 'Tell me a short story about a lighthouse';
  await sim.reset();
  const expected = await events(new Anthropic({ apiKey: 'sk-sim', baseURL: sim.url }), prompt);
  await sim.reset();
  const { pool, store, client, ledger } = setup({ async: true });
  const got = await events(client, prompt);
  assert.deepEqual(got, expected);
  assert.ok(got.length > 4);
  assert.deepEqual(store.kinds(), ['reserve', 'settle']);
  await assertLedgerMatchesUsageLog(pool, ledger);
});

test('an abandoned stream is settled at its worst case, flagged estimated', async () => {
  const prompt = 'Tell me a long story about a lighthouse keeper';
  const step = { text: 'The keeper climbed the stairs every night and lit the lamp for the ships at sea.', event_delay_ms: 20 };
  await sim.reset({ steps: [step, step] });
  const expected = await events(new Anthropic({ apiKey: 'sk-sim', baseURL: sim.url }), prompt, 3);
  const { pool, store, client, ledger } = setup();
  const got = await events(client, prompt, 3);
  assert.deepEqual(got, expected);
  // The settle follows the SDK's abort of the body.
  for (let i = 0; i < 100 && ledger.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(store.kinds(), ['reserve', 'settle']);
  assert.equal(ledger.length, 1);
  assert.equal(ledger[0].estimated, true);
  assert.equal(nanos(ledger[0].cost), nanos(store.ops[0].amount));
  assert.equal(nanos(pool.usage.reserved), 0n);
});

test('a 529 then a success reserves once and settles once', async () => {
  await sim.reset({ steps: [{ error: { status: 529, headers: { 'retry-after-ms': '10' } } }] });
  const { pool, store, client, ledger } = setup();
  const msg = await client.messages.create({ model: MODEL, max_tokens: 100, messages: [{ role: 'user', content: 'Hi' }] });
  assert.equal(msg.stop_reason, 'end_turn');
  assert.deepEqual(store.kinds(), ['reserve', 'settle']);
  await assertLedgerMatchesUsageLog(pool, ledger);
});

test('a 429 on every attempt releases the hold once the SDK gives up', async () => {
  const error = { error: { status: 429, headers: { 'retry-after-ms': '10' } } };
  await sim.reset({ steps: [error, error, error] });
  const { pool, store, client } = setup();
  await assert.rejects(client.messages.create({ model: MODEL, max_tokens: 100, messages: [{ role: 'user', content: 'Hi' }] }), Anthropic.RateLimitError);
  assert.deepEqual(store.kinds(), ['reserve', 'release']);
  assert.equal(nanos(pool.usage.reserved), 0n);
  assert.deepEqual(await sim.usage(), []);
});

test('a refused request never reaches the simulator and throws the typed refusal as it is', async () => {
  await sim.reset();
  const { pool, store, client, ledger } = setup({ limit: nanoMoney(1000n) });
  const err = await client.messages.create({ model: MODEL, max_tokens: 100, messages: [{ role: 'user', content: 'Hi' }] }).catch((e) => e);
  assert.ok(err instanceof PoolExhaustedError, String(err));
  assert.ok(!(err instanceof Anthropic.APIError));
  assert.equal(err.code, 'pool_exhausted');
  // messages.create({stream: true}) throws it as it is; the SDK's
  // messages.stream() helper wraps every error that is not its own in an
  // AnthropicError whose `cause` is the original.
  await assert.rejects(client.messages.create({ model: MODEL, max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'Hi' }] }), PoolExhaustedError);
  const wrapped = await events(client, 'Hi').catch((e) => e);
  assert.ok(wrapped.cause instanceof PoolExhaustedError, String(wrapped));
  assert.deepEqual(store.kinds(), ['reserve', 'reserve', 'reserve']);
  assert.deepEqual(await sim.usage(), []);
  assert.deepEqual(ledger, []);
  assert.equal(nanos(pool.usage.reserved), 0n);
});

test('countTokens passes through untouched', async () => {
  await sim.reset();
  const { store, client } = setup();
  const counted = await client.messages.countTokens({ model: MODEL, messages: [{ role: 'user', content: 'Count me' }] });
  assert.ok(counted.input_tokens > 0);
  assert.deepEqual(store.ops, []);
});

test('a body the core cannot price is a typed error before anything is sent', async () => {
  await sim.reset();
  const { store, client } = setup();
  await assert.rejects(client.messages.create({ model: 'claude-imaginary-9', max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] }), UnknownModelError);
  assert.deepEqual(store.ops, []);
  assert.deepEqual(await sim.usage(), []);
});

test('withPool adds the middleware to a client; an SDK without the hook is a typed error naming the minimum', async () => {
  await sim.reset();
  const ledger = [];
  const pool = new Pool({ limit: nanoMoney(10n * USD) }, { onLedger: (e) => ledger.push(e) });
  const base = new Anthropic({ apiKey: 'sk-sim', baseURL: sim.url });
  const client = withPool(base, pool, { agent: 'researcher' });
  await client.messages.create({ model: MODEL, max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] });
  await base.messages.create({ model: MODEL, max_tokens: 50, messages: [{ role: 'user', content: 'Not metered' }] });
  assert.equal((await sim.usage()).length, 2);
  assert.equal(ledger.length, 1);
  assert.equal(checkSdk(base), base);
  const old = { messages: {} }; // a client of an SDK without middleware
  assert.throws(() => withPool(old, pool), (e) => e instanceof SdkUnsupportedError && e.code === 'sdk_unsupported' && e.minimum === minSdkVersion() && minSdkVersion() === '1.17.0');
});

test('options are read strictly', () => {
  const pool = new Pool({ limit: nanoMoney(USD) });
  assert.throws(() => creditpoolMiddleware(pool, { agent: 'a', nonsense: 1 }), /nonsense/);
  assert.throws(() => creditpoolMiddleware({}, { agent: 'a' }), /pool store/);
  assert.throws(() => creditpoolMiddleware(pool, { poolSelector: { field: 'model', value: 'x' } }), (e) => e.code === 'selector_collision');
});
