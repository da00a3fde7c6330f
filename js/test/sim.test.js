// The client against creditpool-sim, the offline Messages API simulator:
// JSON and streams, scripted failures (errors, cut and failing streams) and
// seeded random faults, all retried by the core's call.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AuthenticationError, Client, Toolbox, tool } from 'creditpool';
import { startSim } from './helpers/sim.js';

const REQUEST = { model: 'claude-haiku-4-5', max_tokens: 200, messages: [{ role: 'user', content: 'Say hello.' }] };
const FAST = { retry: { initial_backoff_ms: 1, max_backoff_ms: 4 } };

let sim;
let keyed;
before(async () => {
  [sim, keyed] = await Promise.all([startSim(), startSim(['--keys', 'sk-sim-good'])]);
});
after(() => Promise.all([sim.stop(), keyed.stop()]));

const client = (options = {}) => new Client({ apiKey: 'sk-sim-test', baseURL: sim.url, ...FAST, ...options });

test('create and stream against the simulator', async () => {
  await sim.reset();
  const m = await client().messages.create(REQUEST);
  assert.match(m.id, /^msg_sim_/);
  assert.equal(m.stop_reason, 'end_turn');
  assert.ok(m.content[0].text.length > 0);
  const stream = client().messages.stream(REQUEST);
  const types = [];
  for await (const ev of stream) types.push(ev.type);
  assert.equal(types[0], 'message_start');
  assert.equal(types.at(-1), 'message_stop');
  const final = await stream.finalMessage();
  assert.match(stream.requestId, /^req_sim_/);
  const usage = await sim.usage();
  assert.equal(usage.length, 2);
  assert.ok(usage.every((u) => u.credit_pool === 'programmatic' && u.outcome === 'complete'));
  assert.equal(usage[1].usage.output_tokens, final.usage.output_tokens);
});

test('a 429 and a 529 are waited out', async () => {
  await sim.reset({ steps: [{ error: { status: 429, retry_after: 0 } }, { error: { status: 529, retry_after: 0 } }, { text: 'Third time lucky.' }] });
  const m = await client().messages.create(REQUEST);
  assert.equal(m.content[0].text, 'Third time lucky.');
});

test('a cut stream is retried and completes', async () => {
  await sim.reset({ steps: [{ cut_after_bytes: 300 }, { text: 'Whole this time.' }] });
  const stream = client().messages.stream(REQUEST);
  assert.equal(await stream.finalText(), 'Whole this time.');
  assert.equal(stream.attempts, 2);
  const usage = await sim.usage();
  assert.deepEqual(
    usage.map((u) => u.outcome),
    ['cut', 'complete'],
  );
});

test('an overloaded error mid-stream is retried, and the iteration says so', async () => {
  await sim.reset({ steps: [{ stream_error: { after_deltas: 1, type: 'overloaded_error' } }, { text: 'Recovered.' }] });
  const stream = client().messages.stream(REQUEST);
  const types = [];
  for await (const ev of stream) types.push(ev.type);
  const retry = types.indexOf('stream_retry');
  assert.ok(retry > 0, types.join());
  assert.equal(types[retry + 1], 'message_start');
  assert.equal(await stream.finalText(), 'Recovered.');
});

test('seeded random faults: every request still succeeds', async () => {
  await sim.reset({ steps: [], fault_rate: 0.5, seed: 11, fault_retry_after: 0 });
  const c = client({ maxRetries: 10 });
  for (let i = 0; i < 6; i++) {
    const m = i % 2 === 0 ? await c.messages.create(REQUEST) : await c.messages.stream(REQUEST).finalMessage();
    assert.equal(m.stop_reason, 'end_turn');
  }
  const outcomes = (await sim.usage()).map((u) => u.outcome);
  assert.equal(outcomes.filter((o) => o === 'complete').length, 6);
});

test('the rule model calls a tool and quotes its result', async () => {
  await sim.reset();
  const box = new Toolbox([
    tool({
      name: 'search_database',
      description: 'Search the product database.',
      inputSchema: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] },
      run: async ({ query }) => `3 results for ${query}`,
    }),
  ]);
  const messages = [{ role: 'user', content: 'Find products under $50' }];
  let reply;
  for (let turn = 0; turn < 4; turn++) {
    reply = await client().messages.create({ ...REQUEST, messages, tools: box.definitions });
    messages.push({ role: 'assistant', content: reply.content });
    if (reply.stop_reason !== 'tool_use') break;
    messages.push({ role: 'user', content: await box.runAll(reply) });
  }
  assert.equal(reply.stop_reason, 'end_turn');
  assert.match(reply.content.map((b) => b.text ?? '').join(''), /3 results for products under \$50/);
});

test('a wrong key is an AuthenticationError that does not show the key', async () => {
  const c = new Client({ apiKey: 'sk-sim-WRONGKEY', baseURL: keyed.url });
  await assert.rejects(c.messages.create(REQUEST), (e) => {
    assert.ok(e instanceof AuthenticationError);
    assert.equal(e.status, 401);
    assert.ok(!JSON.stringify(e).includes('WRONGKEY') && !String(e.stack).includes('WRONGKEY'));
    return true;
  });
  const ok = await new Client({ apiKey: 'sk-sim-good', baseURL: keyed.url }).messages.create(REQUEST);
  assert.equal(ok.stop_reason, 'end_turn');
});
