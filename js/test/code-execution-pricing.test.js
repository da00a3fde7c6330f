// Code execution container time through creditpoolMiddleware (the rule is
// the core's: crates/creditpool-core/src/pricing/container.rs):
// `containerMinutes` reaches the core, a value out of range is a typed error
// when the middleware is made, and a container-billed request is reserved
// with its container time (a free one without).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { Pool, InvalidOptionsError, creditpoolMiddleware, usd } from 'creditpool';
import { startSim } from './helpers/sim.js';

const MODEL = 'claude-haiku-4-5';
const CODE_EXECUTION = { type: 'code_execution_20250825', name: 'code_execution' };
// $0.05 per container-hour = 50,000,000 nano-USD; N minutes: ceil(N x 50,000,000 / 60).
const FIVE_MINUTES = 4_166_667;
const AN_HOUR = 50_000_000;

let sim;
before(async () => {
  sim = await startSim();
});
after(() => sim.stop());

function recorder() {
  const pool = new Pool({ limit: usd(10) });
  const ops = [];
  return { pool, ops, apply: (op) => (ops.push(op), pool.apply(op)) };
}

/** The amount the middleware reserved for one call with these tools. */
async function reserved(tools, options = {}) {
  const store = recorder();
  const client = new Anthropic({ apiKey: 'sk-sim', baseURL: sim.url, maxRetries: 0, middleware: [creditpoolMiddleware(store, { agent: 'researcher', ...options })] });
  try {
    await client.messages.create({ model: MODEL, max_tokens: 100, tools, messages: [{ role: 'user', content: 'Sum 1..10 in Python' }] });
  } catch (e) {
    if (!(e instanceof Anthropic.APIError)) throw e; // the simulator may not run server tools; the hold is released
  }
  assert.equal(store.ops[0].op, 'reserve');
  assert.equal(BigInt(store.pool.usage.reserved.nanos), 0n);
  return Number(store.ops[0].amount);
}

test('containerMinutes out of range is a typed error when the middleware is made', async () => {
  await sim.reset();
  for (const minutes of [4, 0, 43_201]) {
    const store = recorder();
    assert.throws(
      () => creditpoolMiddleware(store, { agent: 'researcher', containerMinutes: minutes }),
      (e) => e instanceof InvalidOptionsError && e.code === 'invalid_container_minutes' && e.message.includes(`container_minutes = ${minutes}`),
    );
    assert.deepEqual(store.ops, []);
  }
  assert.deepEqual(await sim.usage(), []);
});

test('a container-billed request reserves its container minutes', async () => {
  const byDefault = await reserved([CODE_EXECUTION]);
  const anHour = await reserved([CODE_EXECUTION], { containerMinutes: 60 });
  // The same body: only the container time differs.
  assert.equal(anHour - byDefault, AN_HOUR - FIVE_MINUTES);
});

test('beside web_search_20260209 code execution reserves no container time; beside web_search_20250305 it does', async () => {
  const search = { type: 'web_search_20260209', name: 'web_search', max_uses: 1 };
  assert.equal(await reserved([CODE_EXECUTION, search]), await reserved([CODE_EXECUTION, search], { containerMinutes: 60 }));
  const old = { type: 'web_search_20250305', name: 'web_search', max_uses: 1 };
  assert.equal((await reserved([CODE_EXECUTION, old], { containerMinutes: 60 })) - (await reserved([CODE_EXECUTION, old])), AN_HOUR - FIVE_MINUTES);
});
