// Agent and Pool end to end against creditpool-sim: tools run concurrently,
// the pool's settled ledger equals the simulator's usage log (also under
// injected faults), and the key never shows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AbortError, Agent, Client, Pool, PoolRefusedError, Tool, cost, nanos } from 'creditpool';
import { startSim } from './helpers/sim.js';

const MODEL = 'claude-haiku-4-5';
let sim;
before(async () => {
  sim = await startSim();
});
after(() => sim.stop());

async function usageLog(url) {
  return (await (await fetch(`${url}/_sim/usage`)).json()).filter((u) => u.outcome === 'complete');
}

/** Settled ledger entries against the simulator's complete responses: same requests, same tokens, cost by the price table. */
function assertLedgerMatches(ledger, usage) {
  const settled = ledger.filter((e) => e.kind === 'settle');
  assert.deepEqual(settled.map((e) => e.request_id).sort(), usage.map((u) => u.request_id).sort());
  for (const e of settled) {
    const u = usage.find((x) => x.request_id === e.request_id);
    assert.equal(e.tokens.input, u.usage.input_tokens, `input tokens of ${e.request_id}`);
    assert.equal(e.tokens.output, u.usage.output_tokens, `output tokens of ${e.request_id}`);
    assert.equal(BigInt(e.cost), cost(u.model, u.usage).total.nanos, `cost of ${e.request_id}`);
  }
}

function inventoryTool(log) {
  return new Tool({
    name: 'search_database',
    description: 'Query the product inventory database.',
    inputSchema: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] },
    run: async ({ query }) => {
      log.push(query);
      return [{ name: 'Desk lamp', price: 39 }];
    },
  });
}

test('an agent runs its tool and completes; the ledger equals the usage log', async () => {
  await sim.reset();
  const ledger = [];
  const alerts = [];
  const pool = new Pool({ limit: nanos(10_000_000) }, { onLedger: (e) => ledger.push(e), onAlert: (a) => alerts.push(a.percent) });
  const client = new Client({ apiKey: 'sk-sim-agent', baseURL: sim.url });
  const queries = [];
  const agent = new Agent({ client, pool, agentId: 'inventory', model: MODEL, tools: [inventoryTool(queries)], maxTokens: 300 });
  const outcome = await agent.run('Find products under $50');
  assert.equal(outcome.status, 'completed');
  assert.ok(queries.length >= 1, 'the tool ran');
  assert.ok(outcome.turns.length >= 2);
  assert.ok(outcome.final_text.length > 0);
  assert.ok(outcome.total_cost.equals(pool.usage.settled));
  assert.equal(pool.usage.reserved.nanos, 0n);
  assertLedgerMatches(ledger, await usageLog(sim.url));
  const report = pool.report();
  assert.equal(report.agents[0].agent, 'inventory');
  assert.equal(report.agents[0].requests, outcome.turns.length);
});

test('the calls of one tool_use batch run concurrently', async () => {
  await sim.reset({
    steps: [
      {
        message: {
          content: [
            { type: 'tool_use', id: 'toolu_1', name: 'first', input: {} },
            { type: 'tool_use', id: 'toolu_2', name: 'second', input: {} },
          ],
        },
      },
    ],
  });
  // `first` finishes only once `second` has started: run one after the
  // other, this would never resolve.
  let secondStarted;
  const started = new Promise((r) => (secondStarted = r));
  const schema = { type: 'object', properties: {} };
  const first = new Tool({ name: 'first', description: 'Waits for second.', inputSchema: schema, run: async () => (await started, 'one') });
  const second = new Tool({ name: 'second', description: 'Starts.', inputSchema: schema, run: async () => (secondStarted(), 'two') });
  const pool = new Pool({ limit: nanos(10_000_000) });
  const client = new Client({ apiKey: 'sk-sim-agent', baseURL: sim.url });
  const outcome = await new Agent({ client, pool, agentId: 'a', model: MODEL, tools: [first, second], maxTokens: 200 }).run('go');
  assert.equal(outcome.status, 'completed');
  const results = outcome.transcript[2].content.map((b) => b.content);
  assert.deepEqual(results, ['one', 'two']);
});

test('a refusal by the pool ends the run cleanly and sends nothing', async () => {
  await sim.reset();
  const pool = new Pool({ limit: nanos(1000) });
  const client = new Client({ apiKey: 'sk-sim-agent', baseURL: sim.url });
  const outcome = await new Agent({ client, pool, agentId: 'poor', model: MODEL, maxTokens: 300 }).run('hi');
  assert.equal(outcome.status, 'pool_refused');
  assert.ok(outcome.refusal instanceof PoolRefusedError && outcome.refusal === outcome.error);
  assert.equal(outcome.refusal.code, 'pool_exhausted');
  assert.equal((await usageLog(sim.url)).length, 0);
});

test('under injected faults the ledger still equals the usage log and the limit holds', async () => {
  const faulty = await startSim(['--fault-rate', '0.35', '--seed', '11']);
  try {
    const ledger = [];
    const limit = 40_000_000;
    const pool = new Pool({ limit: nanos(limit) }, { onLedger: (e) => ledger.push(e) });
    const client = new Client({ apiKey: 'sk-sim-agent', baseURL: faulty.url, maxRetries: 6, idleTimeout: 2000 });
    const queries = [];
    const runs = ['a', 'b', 'c'].map((id) =>
      new Agent({ client, pool, agentId: id, model: MODEL, tools: [inventoryTool(queries)], maxTokens: 300 }).run('Find products under $50'),
    );
    const outcomes = await Promise.all(runs);
    for (const o of outcomes) assert.ok(['completed', 'failed', 'pool_refused'].includes(o.status), o.status);
    assert.ok(pool.usage.settled.nanos <= BigInt(limit));
    assert.equal(pool.usage.reserved.nanos, 0n);
    assertLedgerMatches(ledger, await usageLog(faulty.url));
  } finally {
    faulty.stop();
  }
});

test('the key never appears in an outcome, an error or a log', async () => {
  const locked = await startSim(['--keys', 'sk-the-right-one']);
  const key = 'sk-secret-4f9a-never-shown';
  const lines = [];
  const orig = console.error;
  try {
    const pool = new Pool({ limit: nanos(10_000_000) }, { onLedger: (_e, line) => lines.push(line), onAlert: (a) => lines.push(a.body) });
    const client = new Client({ apiKey: key, baseURL: locked.url, maxRetries: 0 });
    console.error = (...args) => lines.push(args.map(String).join(' '));
    let seen;
    try {
      seen = await new Agent({ client, pool, agentId: 'a', model: MODEL, maxTokens: 100 }).run('hi');
    } catch (e) {
      seen = { thrown: e.toJSON?.() ?? String(e), stack: e.stack };
    }
    const text = JSON.stringify(seen) + lines.join('\n') + pool.snapshot() + JSON.stringify(pool.report());
    assert.equal(seen.status, 'failed', JSON.stringify(seen).slice(0, 300));
    assert.ok(!text.includes(key), 'the key leaked');
    assert.ok(!text.includes('4f9a'), 'part of the key leaked');
  } finally {
    console.error = orig;
    locked.stop();
  }
});

test("the client's retry policy and idle timeout govern the agent's calls", async () => {
  const scenario = { steps: [{ error: { status: 529 } }, { text: 'fine' }] };
  const pool = new Pool({ limit: nanos(10_000_000) });
  const run = (client) => new Agent({ client, pool, agentId: 'a', model: MODEL, maxTokens: 100 }).run('hi');
  await sim.reset(scenario);
  const none = await run(new Client({ apiKey: 'sk-sim-agent', baseURL: sim.url, maxRetries: 0 }));
  assert.equal(none.status, 'failed');
  await sim.reset(scenario);
  const some = await run(new Client({ apiKey: 'sk-sim-agent', baseURL: sim.url, maxRetries: 2 }));
  assert.equal(some.status, 'completed');
  assert.equal(some.final_text, 'fine');
  // A stalled stream ends in an idle timeout that the client's idleTimeout sets.
  await sim.reset({ steps: [{ text: 'slow', event_delay_ms: 60_000 }] });
  const stalled = await run(new Client({ apiKey: 'sk-sim-agent', baseURL: sim.url, maxRetries: 0, idleTimeout: 300 }));
  assert.equal(stalled.status, 'failed');
  assert.equal(pool.usage.reserved.nanos, 0n);
});

test('a custom PoolStore sees balanced reserve and settle ops', async () => {
  await sim.reset();
  const pool = new Pool({ limit: nanos(10_000_000) });
  const ops = [];
  const results = [];
  // An asynchronous store wrapping a Pool, as a remote one would be.
  const store = {
    async apply(op) {
      ops.push(op);
      await new Promise((r) => setTimeout(r, 1));
      const result = pool.apply(op);
      results.push(result);
      return result;
    },
  };
  const client = new Client({ apiKey: 'sk-sim-agent', baseURL: sim.url });
  const agent = new Agent({ client, pool: store, agentId: 'inventory', model: MODEL, tools: [inventoryTool([])], maxTokens: 300 });
  const outcome = await agent.run('Find products under $50');
  assert.equal(outcome.status, 'completed');
  const reserves = results.filter((r) => r.result === 'reserved').map((r) => r.id);
  const closed = ops.filter((o) => o.op === 'settle' || o.op === 'release').map((o) => o.id);
  assert.ok(reserves.length >= 2);
  assert.deepEqual([...closed].sort(), [...reserves].sort(), 'every reservation is settled or released once');
  assert.equal(ops.filter((o) => o.op === 'settle').length, outcome.turns.length);
  assert.equal(pool.usage.reserved.nanos, 0n);
  assert.ok(outcome.total_cost.equals(pool.usage.settled));
});

test("a tool that throws gives the core's wording", async () => {
  await sim.reset();
  const broken = new Tool({
    name: 'search_database',
    description: 'Query the product inventory database.',
    inputSchema: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] },
    run: async () => {
      throw new Error('database is down');
    },
  });
  const client = new Client({ apiKey: 'sk-sim-agent', baseURL: sim.url });
  const outcome = await new Agent({ client, pool: new Pool({ limit: nanos(10_000_000) }), agentId: 'a', model: MODEL, tools: [broken], maxTokens: 300 }).run('Find products under $50');
  const errors = outcome.transcript.flatMap((m) => (Array.isArray(m.content) ? m.content : [])).filter((b) => b.type === 'tool_result' && b.is_error);
  assert.ok(errors.length >= 1, JSON.stringify(outcome.transcript));
  assert.equal(errors[0].content, 'The tool "search_database" failed. Its error is not shown; try another way, or answer without it.');
});

test('a failed run keeps a typed error with the core code', async () => {
  await sim.reset({ steps: [{ error: { status: 529 } }] });
  const client = new Client({ apiKey: 'sk-sim-agent', baseURL: sim.url, maxRetries: 0 });
  const outcome = await new Agent({ client, pool: new Pool({ limit: nanos(10_000_000) }), agentId: 'a', model: MODEL, maxTokens: 100 }).run('hi');
  assert.equal(outcome.status, 'failed');
  assert.equal(outcome.code, 'overloaded_error');
  assert.equal(outcome.exception.name, 'OverloadedError');
  assert.equal(outcome.exception.code, 'overloaded_error');
  assert.ok(!Object.keys(outcome).includes('exception'), 'not enumerable: the outcome stays the core JSON');
  const refused = await new Agent({ client, pool: new Pool({ limit: nanos(1000) }), agentId: 'poor', model: MODEL, maxTokens: 300 }).run('hi');
  assert.equal(refused.exception.name, 'PoolExhaustedError');
  assert.equal(refused.exception.code, 'pool_exhausted');
});

test('an abort with any reason mid-stream cancels the run: nothing stays reserved, one estimated settle', async () => {
  for (const reason of [new Error('stop'), 'string reason']) {
    // A slow stream: the abort lands while the response is being read.
    await sim.reset({ steps: [{ text: 'A slow answer in several words.', event_delay_ms: 150, repeat: 10 }] });
    const ledger = [];
    const pool = new Pool({ limit: nanos(10_000_000) }, { onLedger: (e) => ledger.push(e) });
    const client = new Client({ apiKey: 'sk-sim-agent', baseURL: sim.url });
    const controller = new AbortController();
    const seen = [];
    const store = {
      apply(op) {
        seen.push(op.op);
        const r = pool.apply(op);
        // Abort once the attempt's reservation is held and the request is out.
        if (op.op === 'reserve') setTimeout(() => controller.abort(reason), 400);
        return r;
      },
    };
    const watched = new Agent({ client, pool: store, agentId: 'aborted', model: MODEL, maxTokens: 300, stream: true });
    const e = await watched.run('Say something slowly', { signal: controller.signal }).then(
      () => assert.fail('expected an AbortError'),
      (err) => err,
    );
    assert.ok(e instanceof AbortError, `${e?.name}: ${e?.message}`);
    assert.equal(e.code, 'aborted');
    assert.equal(e.reason, reason, 'the signal reason is kept');
    assert.ok(e.message.includes(typeof reason === 'string' ? reason : reason.message), e.message);
    assert.equal(pool.usage.reserved.nanos, 0n, `nothing stays reserved (ops: ${seen.join()})`);
    const settles = ledger.filter((x) => x.kind === 'settle');
    assert.equal(settles.length, 1, JSON.stringify(ledger));
    assert.equal(settles[0].estimated, true, JSON.stringify(settles[0]));
    assert.equal(ledger.filter((x) => x.kind === 'release').length, 0);
  }
});
