// Issue 13 item 7 in JS: a tool that throws is not silent, and its error
// (which may hold a secret) is not what the model reads. Against the
// simulator, whose `GET /_sim/requests` shows what the model was really sent:
// the turn that asked for the call keeps the thrown error and its stack
// (`turn.toolFailures`); the documented hook (`onToolError`) got it; the
// request after the tool carries the core's default words, not the secret; a
// formatter (`toolError`) chooses what the model reads when the words ask for
// `{error}`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, Client, Pool, Tool, Toolbox, nanos } from 'creditpool';
import { startSim } from './helpers/sim.js';

const MODEL = 'claude-haiku-4-5';
const SECRET = 'postgres://admin:hunter2@db.internal/prod';
const SCRIPT = {
  steps: [{ tool_use: [{ name: 'lookup', input: { item: 'lamp' } }, { name: 'price', input: { item: 'lamp' } }] }, { text: 'Sorry.' }],
};
const SCHEMA = { type: 'object', properties: { item: { type: 'string' } }, required: ['item'] };

let sim;
before(async () => {
  sim = await startSim();
});
after(() => sim.stop());

class LookupError extends Error {}

function tools() {
  return [
    new Tool({
      name: 'lookup',
      description: 'Look an item up.',
      inputSchema: SCHEMA,
      run: async () => {
        throw new LookupError(`cannot reach ${SECRET}`);
      },
    }),
    new Tool({ name: 'price', description: 'An item\'s price.', inputSchema: SCHEMA, run: async () => '$12' }),
  ];
}

/** The tool_result blocks of the requests the simulator received. */
async function toolResultsReceived() {
  const requests = await (await fetch(`${sim.url}/_sim/requests`)).json();
  return requests.flatMap((r) => r.body.messages).flatMap((m) => (Array.isArray(m.content) ? m.content : [])).filter((b) => b.type === 'tool_result');
}

test('a tool that throws is kept on its turn with its stack, reported to onToolError, and the model reads the safe default words', async () => {
  await sim.reset(SCRIPT);
  const client = new Client({ apiKey: 'sk-sim', baseURL: sim.url });
  const logged = [];
  const agent = new Agent({ client, pool: new Pool({ limit: nanos(1_000_000_000) }), agentId: 'a', model: MODEL, maxTokens: 50, tools: tools(), onToolError: (f) => logged.push(f) });
  const outcome = await agent.run('Look up a lamp');
  assert.equal(outcome.status, 'completed');
  // The turn that asked for the call keeps the thrown error with its stack.
  const [first, second] = outcome.turns;
  assert.equal(first.toolFailures.length, 1);
  const [failure] = first.toolFailures;
  assert.equal(failure.tool, 'lookup');
  assert.ok(failure.callId.startsWith('toolu_'));
  assert.ok(failure.error instanceof LookupError && failure.error.message.includes(SECRET));
  assert.ok(failure.stack === failure.error.stack && failure.stack.includes('tool-failures.test.js'), failure.stack);
  assert.deepEqual(first.tool_failures, [{ call_id: failure.callId, tool: 'lookup' }]);
  assert.deepEqual(second.toolFailures, []);
  assert.deepEqual(outcome.toolFailures, [failure]);
  // The core's JSON names the call only.
  assert.ok(!JSON.stringify(outcome.toJSON()).includes('hunter2'));
  // The documented hook got it.
  assert.deepEqual(logged, [failure]);
  // What the model was sent: the core's default words, not the secret.
  const [failed, ok] = await toolResultsReceived();
  assert.equal(failed.is_error, true);
  assert.equal(failed.content, 'The tool "lookup" failed. Its error is not shown; try another way, or answer without it.');
  assert.equal(ok.content, '$12');
  assert.ok(!JSON.stringify(await toolResultsReceived()).includes('hunter2'));
});

test('the toolError formatter chooses what the model reads when the words ask for the error', async () => {
  await sim.reset(SCRIPT);
  const client = new Client({ apiKey: 'sk-sim', baseURL: sim.url });
  const agent = new Agent({
    client,
    pool: new Pool({ limit: nanos(1_000_000_000) }),
    agentId: 'a',
    model: MODEL,
    maxTokens: 50,
    tools: tools(),
    config: { texts: { tool_failed: 'The tool "{name}" failed: {error}' } },
    toolError: (e) => e.constructor.name,
  });
  const outcome = await agent.run('Look up a lamp');
  const [failed] = await toolResultsReceived();
  assert.equal(failed.content, 'The tool "lookup" failed: LookupError');
  assert.ok(outcome.turns[0].toolFailures[0].error.message.includes(SECRET));
});

test('a Toolbox outside an agent reports a tool that throws to its onToolError hook, and the model reads the safe default', async () => {
  const seen = [];
  const box = new Toolbox(tools(), { onToolError: (f) => seen.push(f) });
  const block = await box.run({ type: 'tool_use', id: 'toolu_x', name: 'lookup', input: { item: 'lamp' } });
  assert.equal(block.is_error, true);
  assert.ok(!JSON.stringify(block).includes('hunter2'), JSON.stringify(block));
  assert.equal(seen.length, 1);
  assert.equal(seen[0].callId, 'toolu_x');
  assert.ok(seen[0].error instanceof LookupError && seen[0].stack.includes('tool-failures.test.js'));
  assert.throws(() => new Toolbox(tools(), { onToolError: 'log' }), /onToolError must be a function/);
});
