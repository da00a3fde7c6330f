// A new user's first hour (issue 13): the mistakes a newcomer makes get a
// typed error in JS's own words, by the core's rule, before anything is sent
// or spent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, BadRequestError, Client, InvalidOptionsError, Pool, PoolSelectorRejectedError, RequestBuildError, Tool, UnknownParameterError, nanos } from 'creditpool';
import { startSim } from './helpers/sim.js';

const MODEL = 'claude-haiku-4-5';
const HI = [{ role: 'user', content: 'Hi' }];
// Nothing listens here: a request that was sent would fail with APIConnectionError.
const NOWHERE = 'http://127.0.0.1:9';

let sim;
before(async () => {
  sim = await startSim();
});
after(() => sim.stop());

// ----- item 2: misspelled request arguments -----

test('a misspelled create() parameter is refused before sending, with the closest name', async () => {
  const client = new Client({ apiKey: 'sk-test', baseURL: NOWHERE, maxRetries: 0 });
  await assert.rejects(client.messages.create({ model: MODEL, max_tokens: 10, messages: HI, temprature: 0.5 }), (e) => {
    assert.ok(e instanceof UnknownParameterError && e instanceof RequestBuildError, String(e));
    assert.equal(e.code, 'unknown_parameter');
    assert.equal(e.parameter, 'temprature');
    assert.equal(e.suggestion, 'temperature');
    assert.match(e.message, /did you mean `temperature`/);
    return true;
  });
});

test('a Client refuses a misspelled option with the closest name, in the core\'s words', () => {
  assert.throws(
    () => new Client({ apiKey: 'sk-test', baseURL: NOWHERE, maxRetry: 2 }),
    (e) => e instanceof InvalidOptionsError && /unknown client option "maxRetry": did you mean "maxRetries"\?/.test(e.message),
  );
});

test('an Agent refuses a misspelled option and a misspelled request parameter at construction', () => {
  const client = new Client({ apiKey: 'sk-test', baseURL: NOWHERE });
  const pool = new Pool({ limit: nanos(1_000_000) });
  assert.throws(
    () => new Agent({ client, pool, agentId: 'researcher', model: MODEL, maxTurn: 3 }),
    (e) => e instanceof InvalidOptionsError && /unknown agent option "maxTurn": did you mean "maxTurns"\?/.test(e.message),
  );
  assert.throws(
    () => new Agent({ client, pool, agentId: 'researcher', model: MODEL, params: { temprature: 0.2 } }),
    (e) => e instanceof UnknownParameterError && e.suggestion === 'temperature',
  );
  new Agent({ client, pool, agentId: 'researcher', model: MODEL, params: { temperature: 0.2, extra_body: { brand_new: 1 } } });
});

test('extra_body is sent as given, and may not carry a Messages API parameter', async () => {
  await sim.reset();
  const client = new Client({ apiKey: 'sk-sim', baseURL: sim.url, maxRetries: 0 });
  // The simulator, like the API, refuses a field it does not know: the 400 proves the field was sent.
  await assert.rejects(
    client.messages.create({ model: MODEL, max_tokens: 10, messages: HI, extra_body: { brand_new_field: true } }),
    (e) => e instanceof BadRequestError && /brand_new_field: Extra inputs are not permitted/.test(e.message),
  );
  const message = await client.messages.create({ model: MODEL, max_tokens: 10, messages: HI });
  assert.ok(message.content.length > 0);
  await assert.rejects(
    client.messages.create({ model: MODEL, max_tokens: 10, messages: HI, extra_body: { max_tokens: 100000 } }),
    (e) => e instanceof RequestBuildError && e.code === 'invalid_request',
  );
});

// ----- item 10: the pool selector against an API that does not know it -----

test('an API that does not know the selector gets a typed error in JS words', async () => {
  const rejecting = await startSim(['--reject-pool-selector']);
  try {
    const client = new Client({ apiKey: 'sk-sim', baseURL: rejecting.url });
    await assert.rejects(client.messages.create({ model: MODEL, max_tokens: 10, messages: HI }), (e) => {
      assert.ok(e instanceof PoolSelectorRejectedError && e instanceof BadRequestError, String(e));
      assert.equal(e.code, 'pool_selector_rejected');
      assert.equal(e.field, 'credit_pool');
      assert.equal(e.status, 400);
      assert.equal(e.apiMessage, 'credit_pool: Extra inputs are not permitted');
      assert.equal(e.attempts, 1);
      assert.match(e.message, /poolSelector: false/);
      return true;
    });
    // An agent's run ends the same way, and spends nothing.
    const pool = new Pool({ limit: nanos(1_000_000_000) });
    const outcome = await new Agent({ client, pool, agentId: 'a', model: MODEL, maxTokens: 10 }).run('Hello');
    assert.equal(outcome.status, 'failed');
    assert.ok(outcome.exception instanceof PoolSelectorRejectedError, String(outcome.exception));
    assert.match(outcome.exception.message, /poolSelector: false/);
    // The remedy the words name works.
    const plain = new Client({ apiKey: 'sk-sim', baseURL: rejecting.url, poolSelector: false });
    assert.ok((await plain.messages.create({ model: MODEL, max_tokens: 10, messages: HI })).content.length > 0);
  } finally {
    await rejecting.stop();
  }
});

// ----- item 7: a tool that throws is not silent -----

const SECRET = 'postgres://admin:hunter2@db.internal/prod';

function lookupTool() {
  return new Tool({
    name: 'lookup',
    description: 'Look an item up.',
    inputSchema: { type: 'object', properties: { item: { type: 'string' } }, required: ['item'] },
    run: async ({ item }) => {
      throw new Error(`${item}: cannot reach ${SECRET}`);
    },
  });
}

const SCRIPT = { steps: [{ tool_use: [{ name: 'lookup', input: { item: 'lamp' } }] }, { text: 'Sorry.' }] };

test('a tool that throws is reported to onToolError, kept, and not shown to the model', async () => {
  await sim.reset(SCRIPT);
  const client = new Client({ apiKey: 'sk-sim', baseURL: sim.url });
  const seen = [];
  const agent = new Agent({ client, pool: new Pool({ limit: nanos(1_000_000_000) }), agentId: 'a', model: MODEL, tools: [lookupTool()], onToolError: (f) => seen.push(f) });
  const outcome = await agent.run('Look up a lamp');
  assert.equal(outcome.status, 'completed');
  const result = outcome.transcript[2].content[0];
  assert.equal(result.is_error, true);
  assert.match(result.content, /^The tool "lookup" failed\./);
  assert.ok(!JSON.stringify(outcome.transcript).includes(SECRET));
  assert.equal(seen.length, 1);
  assert.equal(seen[0].tool, 'lookup');
  assert.ok(seen[0].error instanceof Error && seen[0].error.stack.includes('first-hour.test.js'));
  assert.deepEqual(outcome.toolFailures, seen);
});

test('the model reads the error only when the words ask for it, formatted by toolError', async () => {
  const client = new Client({ apiKey: 'sk-sim', baseURL: sim.url });
  await sim.reset(SCRIPT);
  const shown = new Agent({ client, pool: new Pool({ limit: nanos(1_000_000_000) }), agentId: 'a', model: MODEL, tools: [lookupTool()], config: { texts: { tool_failed: 'The tool "{name}" failed: {error}' } } });
  assert.match((await shown.run('Look up a lamp')).transcript[2].content[0].content, /^The tool "lookup" failed: lamp: cannot reach/);
  await sim.reset(SCRIPT);
  const formatted = new Agent({
    client, pool: new Pool({ limit: nanos(1_000_000_000) }), agentId: 'a', model: MODEL, tools: [lookupTool()],
    config: { texts: { tool_failed: '{name}: {error}' } }, toolError: (e) => e.constructor.name,
  });
  assert.equal((await formatted.run('Look up a lamp')).transcript[2].content[0].content, 'lookup: Error');
});
