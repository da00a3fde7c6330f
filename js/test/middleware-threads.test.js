// The official SDK's tool runner (@anthropic-ai/sdk 1.17:
// client.beta.messages.toolRunner) sends its turns on a message thread: a
// create with the whole conversation, then continues with only the new
// messages. Through creditpoolMiddleware against the simulator (which speaks
// threads): the ledger equals the simulator's usage log request by request;
// each continue is reserved at the thread's bound (computed here by hand from
// the bytes sent and the responses, far below the context window, never below
// what the simulator billed); an expired thread answers 404, the middleware
// releases, the SDK replays with a new create, and the books stay exact;
// unknownThread: 'refuse' throws the typed error before anything is sent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { betaTool } from '@anthropic-ai/sdk/helpers/beta/json-schema';
import { Pool, UnknownThreadError, creditpoolMiddleware, cost, usd } from 'creditpool';
import { ThreadBook } from 'creditpool/core';
import { startSim } from './helpers/sim.js';

const MODEL = 'claude-haiku-4-5';
const MAX_TOKENS = 300;
// Claude Haiku 4.5: $1 / $5 per MTok; a 200,000-token context window, whose
// unknown-thread bound is at the 1-hour cache-write rate ($2 / MTok).
const IN = 1000n;
const OUT = 5000n;
const WRITE_1H = 2000n;
const WINDOW = 200_000n;
const TTL_MS = 300_000;
// An unknown thread's create may have had tools: the default 10 web searches
// and 5 minutes of code-execution container time are added to its hold.
const UNKNOWN_TOOLS = 10n * 10_000_000n + 4_166_667n;
const UNKNOWN = WINDOW * WRITE_1H + BigInt(MAX_TOKENS) * OUT + UNKNOWN_TOOLS;

let sim;
before(async () => {
  sim = await startSim();
});
after(() => sim.stop());

const nanos = (m) => BigInt(typeof m === 'object' && m !== null ? m.nanos : m);
const bytes = (s) => BigInt(Buffer.byteLength(s, 'utf8'));

async function post(path, body) {
  const r = await fetch(`${sim.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
  assert.ok(r.ok, await r.clone().text());
  return r.json();
}

function scenario(toolTurns) {
  const steps = [];
  for (let i = 0; i < toolTurns; i++) steps.push({ tool_use: { name: 'get_weather', input: { city: `City ${i}` } } });
  steps.push({ text: 'All done: the weather is fine everywhere.' });
  return { steps };
}

function recorder(pool) {
  const ops = [];
  return {
    ops,
    kinds: () => ops.map((o) => o.op),
    // The operations on the books of money (the thread book's left out).
    moneyKinds: () => ops.map((o) => o.op).filter((k) => !k.startsWith('thread_')),
    reserves: () => ops.filter((o) => o.op === 'reserve').map((o) => nanos(o.amount)),
    apply(op) {
      ops.push(op);
      return pool.apply(op);
    },
  };
}

/** A middleware ahead of creditpool's that records the body the SDK built for each Messages request. */
function spy(bodies) {
  return async (request, next, ctx) => {
    if (String(request.url).includes('/v1/messages') && !String(request.url).includes('count_tokens')) {
      bodies.push(typeof request.body === 'string' ? request.body : JSON.stringify(ctx?.options?.body ?? null));
    }
    return next(request);
  };
}

/** The bytes of the body the middleware sends: the SDK's, with the selector (compact JSON). */
const sentLen = (body) => bytes(JSON.stringify({ ...JSON.parse(body), credit_pool: 'programmatic' }));
const contentLen = (message) => bytes(JSON.stringify(message.content));

/** The thread's input bound after a response: the core's rule (meter.rs). */
function threadAfter(bound, usage, content) {
  const billedIn = BigInt(usage.input_tokens) + BigInt(usage.cache_creation_input_tokens ?? 0) + BigInt(usage.cache_read_input_tokens ?? 0);
  return (bound > billedIn ? bound : billedIn) + BigInt(usage.output_tokens) + content;
}

async function assertLedgerMatchesUsageLog(pool, ledger) {
  const log = await sim.usage();
  const settles = ledger.filter((e) => e.kind === 'settle');
  assert.deepEqual(
    settles.map((e) => e.request_id),
    log.map((u) => u.request_id),
  );
  settles.forEach((e, i) => {
    assert.ok(!e.estimated);
    assert.equal(nanos(e.cost), nanos(cost(log[i].model, log[i].billed).total));
  });
  assert.equal(nanos(pool.usage.reserved), 0n);
}

function setup(options = {}, clock = undefined) {
  const ledger = [];
  const pool = new Pool({ limit: usd(10) }, { onLedger: (entry) => ledger.push(entry) });
  const store = recorder(pool);
  const bodies = [];
  const mwOptions = { agent: 'researcher', ...options };
  if (clock !== undefined) mwOptions.clock = clock;
  const client = new Anthropic({ apiKey: 'sk-sim', baseURL: sim.url, middleware: [spy(bodies), creditpoolMiddleware(store, mwOptions)] });
  return { pool, store, client, ledger, bodies };
}

async function run(client, calls, onCall) {
  const getWeather = betaTool({
    name: 'get_weather',
    description: 'Get the current weather in a city.',
    inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    run: async ({ city }) => {
      calls.push(city);
      if (onCall) await onCall(calls.length);
      return `${city}: 21 degrees and sunny`;
    },
  });
  const runner = client.beta.messages.toolRunner({
    model: MODEL,
    max_tokens: MAX_TOKENS,
    tools: [getWeather],
    messages: [{ role: 'user', content: 'What is the weather in three cities?' }],
  });
  const messages = [];
  for await (const message of runner) messages.push(message);
  return messages;
}

test('a tool run on a thread reserves each continue at the thread bound', async () => {
  await sim.reset(scenario(3));
  const { pool, store, client, ledger, bodies } = setup();
  const calls = [];
  const messages = await run(client, calls);
  assert.deepEqual(calls, ['City 0', 'City 1', 'City 2']);
  assert.deepEqual(
    messages.map((m) => m.stop_reason),
    ['tool_use', 'tool_use', 'tool_use', 'end_turn'],
  );
  const log = await sim.usage();
  assert.deepEqual(
    log.map((u) => u.thread),
    ['create', 'continue', 'continue', 'continue'],
  );
  for (const b of bodies.slice(1)) {
    const body = JSON.parse(b);
    assert.equal(body.system, undefined);
    assert.equal(body.tools, undefined);
  }
  // The book of threads is the pool's: each continue looks its thread up
  // before it reserves; each response on the thread is recorded after its settle.
  assert.deepEqual(store.kinds(), [
    'reserve', 'settle', 'thread_record',
    ...Array(3).fill(['thread_lookup', 'reserve', 'settle', 'thread_record']).flat(),
  ]);
  const ids = messages.slice(0, 3).map((m) => m.id);
  assert.deepEqual(store.ops.filter((o) => o.op === 'thread_lookup').map((o) => o.message_id), ids);
  assert.deepEqual(store.ops.filter((o) => o.op === 'thread_record').slice(0, 3).map((o) => o.message_id), ids);
  await assertLedgerMatchesUsageLog(pool, ledger);

  const reserves = store.reserves();
  const mt = BigInt(MAX_TOKENS) * OUT;
  let bound = (reserves[0] - mt) / IN;
  assert.equal(bound * IN + mt, reserves[0]);
  assert.ok(bound >= sentLen(bodies[0]));
  for (let k = 1; k < 4; k++) {
    bound = threadAfter(bound, log[k - 1].billed, contentLen(messages[k - 1])) + sentLen(bodies[k]);
    assert.equal(reserves[k], bound * IN + mt, `continue ${k}`);
    assert.ok(reserves[k] < UNKNOWN / 100n);
    assert.ok(reserves[k] >= nanos(cost(log[k].model, log[k].billed).total));
    assert.ok(log[k].billed.input_tokens > log[k].body_bytes / 4);
  }
});

test('an expired thread answers 404; the SDK replays with a create and the books stay exact', async () => {
  await sim.reset(scenario(3));
  let offset = 0;
  const clock = () => Date.now() + offset;
  const { pool, store, client, ledger, bodies } = setup({}, clock);
  const calls = [];
  const messages = await run(client, calls, async (n) => {
    if (n === 2) {
      offset += TTL_MS + 1;
      await post('/_sim/clock', { advance_ms: TTL_MS + 1 });
    }
  });
  assert.deepEqual(calls, ['City 0', 'City 1', 'City 2']);
  assert.equal(messages.at(-1).stop_reason, 'end_turn');
  const log = await sim.usage();
  assert.deepEqual(
    log.map((u) => u.thread),
    ['create', 'continue', 'create', 'continue'],
  );
  assert.deepEqual(
    bodies.map((b) => JSON.parse(b).thread?.type),
    ['create', 'continue', 'continue', 'create', 'continue'],
  );
  assert.deepEqual(store.moneyKinds(), ['reserve', 'settle', 'reserve', 'settle', 'reserve', 'release', 'reserve', 'settle', 'reserve', 'settle']);
  await assertLedgerMatchesUsageLog(pool, ledger);
  const reserves = store.reserves();
  const mt = BigInt(MAX_TOKENS) * OUT;
  // The book expired the thread too (same clock): the context-window bound, released on the 404.
  assert.equal(reserves[2], UNKNOWN);
  const replayBound = (reserves[3] - mt) / IN;
  const thread = threadAfter(replayBound, log[2].billed, contentLen(messages[2]));
  assert.equal(reserves[4], (thread + sentLen(bodies[4])) * IN + mt);
  assert.ok(reserves[4] >= nanos(cost(log[3].model, log[3].billed).total));
});

test("unknownThread: 'refuse' throws UnknownThreadError before anything is sent", async () => {
  await sim.reset();
  const { store, client } = setup({ unknownThread: 'refuse' });
  const params = {
    model: MODEL,
    max_tokens: 50,
    messages: [{ role: 'user', content: 'hi' }],
    thread: { type: 'continue', previous_message_id: 'msg_from_another_process' },
    betas: ['message-threads-2026-08-12'],
  };
  await assert.rejects(client.beta.messages.create(params), (e) => {
    assert.ok(e instanceof UnknownThreadError, String(e));
    assert.equal(e.code, 'unknown_thread');
    assert.equal(e.previousMessageId, 'msg_from_another_process');
    assert.equal(e.expired, false);
    return true;
  });
  assert.deepEqual(await sim.usage(), []);
  // Only the lookup in the pool's book of threads: nothing reserved.
  assert.deepEqual(store.kinds(), ['thread_lookup']);
  // The default: reserved at the whole context window, released on the 404.
  const other = setup();
  await assert.rejects(other.client.beta.messages.create(params), (e) => e instanceof Anthropic.NotFoundError);
  assert.deepEqual(other.store.kinds(), ['thread_lookup', 'reserve', 'release']);
  assert.deepEqual(other.store.reserves(), [WINDOW * WRITE_1H + 50n * OUT + UNKNOWN_TOOLS]);
});

test('an in-process ThreadBook keeps the threads out of the pool store, with the same tight bounds', async () => {
  await sim.reset(scenario(2));
  const viaPool = setup();
  const pooled = await run(viaPool.client, []);
  await sim.reset(scenario(2));
  const local = setup({ threads: new ThreadBook() });
  const messages = await run(local.client, []);
  assert.equal(messages.length, pooled.length);
  assert.deepEqual(local.store.kinds(), ['reserve', 'settle', 'reserve', 'settle', 'reserve', 'settle']);
  assert.deepEqual(local.store.reserves(), viaPool.store.reserves());
  assert.ok(local.store.reserves()[1] < UNKNOWN / 100n);
  assert.throws(() => creditpoolMiddleware(local.pool, { threads: 'pool' }), (e) => e.code === 'invalid_options');
});
