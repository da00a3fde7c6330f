// A new user's first hour (issue 13, items 3, 6, 9 and 11): a misspelled
// agent is refused with a suggestion, a failed connection says where it went,
// every mistake is answered in JS's own words, and one ledger file has one
// writer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  APIConnectionError,
  AgentCapError,
  Agent,
  AuthenticationError,
  Client,
  InvalidOptionsError,
  Pool,
  PoolConfigError,
  PoolSnapshotError,
  PoolStoreError,
  ToolDefinitionError,
  Toolbox,
  Tool,
  UnknownAgentError,
  UnknownModelError,
  nanos,
} from 'creditpool';
import { startSim } from './helpers/sim.js';

const MODEL = 'claude-haiku-4-5';
const HI = [{ role: 'user', content: 'Hi' }];
const USD = 1_000_000_000;

let keyed;
before(async () => {
  keyed = await startSim(['--keys', 'sk-right']);
});
after(() => keyed.stop());

/** The base URL of a local port nothing listens on (bound, then closed). */
async function closedPortURL() {
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return `http://127.0.0.1:${port}`;
}

// ----- item 3: a pool that names its agents refuses a misspelled one -----

test('a misspelled agent is refused with the known names and the closest one', () => {
  const pool = new Pool({ limit: nanos(10 * USD), agents: { researcher: { cap: { kind: 'absolute', amount: nanos(USD) } }, writer: {} } });
  assert.throws(
    () => pool.reserve('reseacher', nanos(5 * USD)),
    (e) => {
      assert.ok(e instanceof UnknownAgentError, String(e));
      assert.equal(e.code, 'unknown_agent');
      assert.equal(e.agent, 'reseacher');
      assert.deepEqual(e.known, ['researcher', 'writer']);
      assert.equal(e.suggestion, 'researcher');
      assert.match(e.message, /did you mean "researcher"\?/);
      assert.match(e.message, /In JS: `new Pool\(\{ \.\.\., allow_unknown_agents: true, default_agent:/);
      return true;
    },
  );
  assert.equal(pool.usage.reserved.nanos, 0n);
});

test('allowing unknown agents is explicit, under their own capped policy; a pool that names none allows all', () => {
  const pool = new Pool({
    limit: nanos(10 * USD),
    agents: { researcher: {} },
    allow_unknown_agents: true,
    default_agent: { cap: { kind: 'absolute', amount: nanos(2 * USD) } },
  });
  pool.reserve('reseacher', nanos(2 * USD));
  assert.throws(() => pool.reserve('reseacher', nanos(1)), AgentCapError);
  const open = new Pool({ limit: nanos(10 * USD) });
  open.reserve('anyone', nanos(1));
});

// ----- item 6: a failed connection says where it went and why -----

test('a refused connection names the origin and the OS error, never the path or the key', async () => {
  const base = await closedPortURL();
  const client = new Client({ apiKey: 'plain-test-key-42', baseURL: `${base}/proxy/SECRET-TOKEN`, maxRetries: 0 });
  await assert.rejects(client.messages.create({ model: MODEL, max_tokens: 10, messages: HI }), (e) => {
    assert.ok(e instanceof APIConnectionError, String(e));
    assert.equal(e.code, 'connection_error');
    assert.ok(e.message.startsWith(`could not connect to ${base}: `), e.message);
    assert.match(e.message, /ECONNREFUSED/);
    for (const secret of ['SECRET', 'plain-test-key', '/proxy']) assert.ok(!e.message.includes(secret), e.message);
    return true;
  });
});

test("an agent whose connection fails says where and why", async () => {
  const base = await closedPortURL();
  const client = new Client({ apiKey: 'sk-test', baseURL: `${base}/SECRET`, maxRetries: 0 });
  const outcome = await new Agent({ client, pool: new Pool({ limit: nanos(USD) }), agentId: 'a', model: MODEL, maxTokens: 10 }).run('Hello');
  assert.equal(outcome.status, 'failed');
  assert.ok(outcome.exception instanceof APIConnectionError, String(outcome.exception));
  assert.ok(outcome.exception.message.startsWith(`could not connect to ${base}: `), outcome.exception.message);
  assert.ok(!outcome.exception.message.includes('SECRET'), outcome.exception.message);
});

// ----- item 9: errors in JS's words -----

test('an unknown model names the closest and how to price it in JS; an Agent takes price overrides', async () => {
  const client = new Client({ apiKey: 'sk-right', baseURL: keyed.url });
  const pool = new Pool({ limit: nanos(USD) });
  const agent = new Agent({ client, pool, agentId: 'a', model: 'claude-hiaku-4-5', maxTokens: 10 });
  await assert.rejects(agent.run('Hello'), (e) => {
    assert.ok(e instanceof UnknownModelError, String(e));
    assert.equal(e.suggestion, MODEL);
    assert.match(e.message, /did you mean `claude-haiku-4-5`\?/);
    assert.match(e.message, /priceOverrides/);
    assert.ok(!e.message.includes('PriceTable::with_override'), e.message);
    return true;
  });
  // The words name the remedy that works: the simulator answers as the model it is asked for.
  const prices = { input: '1', cache_write_5m: '1.25', cache_write_1h: '2', cache_read: '0.10', output: '5' };
  const priced = new Client({ apiKey: 'sk-right', baseURL: keyed.url, priceOverrides: [{ model: 'claude-hiaku-4-5', prices }] });
  const ok = await new Agent({ client: priced, pool, agentId: 'a', model: 'claude-hiaku-4-5', maxTokens: 10 }).run('Hello');
  assert.notEqual(ok.exception?.constructor, UnknownModelError, `${ok.status} ${ok.exception}`);
});

test('a configuration mistake names the field by its path in plain words, never serde', () => {
  assert.throws(
    () => new Pool({ limit: nanos(USD), agents: { researcher: { cap: 5 } } }),
    (e) => {
      assert.ok(e instanceof PoolConfigError, String(e));
      assert.match(e.message, /agents\.researcher\.cap: expected a cap: \{"kind": "absolute"/);
      assert.match(e.message, /got 5/);
      for (const serde of ['invalid type', 'internally tagged', 'line 1', 'column']) assert.ok(!e.message.includes(serde), e.message);
      return true;
    },
  );
  assert.throws(() => new Pool({ limit: nanos(USD), leas_ms: 5 }), (e) => /unknown pool option "leas_ms": did you mean "lease_ms"\?/.test(e.message));
  // Any option the core reads names its field by its path, in the same words.
  assert.throws(
    () => new Client({ apiKey: 'sk-test', retry: { max_retries: 'x' } }),
    (e) => e instanceof InvalidOptionsError && e.message.includes('retry.max_retries: expected a whole number (0 or more), got the string "x"'),
  );
});

test("an agent's 401 reads as words, not a Rust variant", async () => {
  const client = new Client({ apiKey: 'sk-wrong', baseURL: keyed.url });
  const outcome = await new Agent({ client, pool: new Pool({ limit: nanos(USD) }), agentId: 'a', model: MODEL, maxTokens: 10 }).run('Hello');
  assert.equal(outcome.status, 'failed');
  assert.ok(outcome.exception instanceof AuthenticationError, String(outcome.exception));
  const text = `${outcome.exception.message} ${typeof outcome.error === 'string' ? outcome.error : outcome.error?.message ?? ''}`;
  assert.ok(!text.includes('NotRetryable') && !text.includes('{ status'), text);
});

// ----- item 11: Toolbox and the ledger file -----

test('a Toolbox refuses duplicate names by the core rule', () => {
  const spec = { name: 'lookup', description: 'Look a word up.', inputSchema: { type: 'object' }, run: () => 'x' };
  assert.throws(() => new Toolbox([new Tool(spec), new Tool(spec)]), (e) => e instanceof ToolDefinitionError && e.rule === 'duplicate_name');
  assert.throws(() => new Toolbox([{ name: 'lookup' }]), InvalidOptionsError);
});

test('one ledger file has one writer: a second pool, here or in another process, is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'creditpool-ledger-'));
  try {
    const file = join(dir, 'ledger.jsonl');
    const first = new Pool({ limit: nanos(USD) }, { ledgerFile: file });
    first.release(first.reserve('a', nanos(10)).id);
    // Another Pool of this process.
    assert.throws(() => new Pool({ limit: nanos(USD) }, { ledgerFile: file }), (e) => e instanceof PoolStoreError && /another Pool of this process/.test(e.message));
    // Another process.
    const child = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', `import { Pool, nanos } from 'creditpool'; try { new Pool({ limit: nanos(1) }, { ledgerFile: ${JSON.stringify(file)} }); console.log('opened'); } catch (e) { console.log(e.name, e.message); }`],
      { cwd: process.cwd(), encoding: 'utf8' },
    );
    assert.match(child.stdout, /^PoolStoreError ledgerFile .* is written by process \d+/, child.stdout + child.stderr);
    // After close(), a fresh pool on the used file is refused by the core's
    // ledger rule (it would repeat seq 1); the restored one carries on.
    const snapshot = first.snapshot();
    await first.close();
    assert.throws(() => new Pool({ limit: nanos(USD) }, { ledgerFile: file }), PoolSnapshotError);
    const again = Pool.restore(snapshot, { ledgerFile: file });
    again.release(again.reserve('a', nanos(10)).id);
    const seqs = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l).seq);
    assert.deepEqual(seqs, [1, 2]);
    await again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a stale lock left by a process that is gone is taken over', () => {
  const dir = mkdtempSync(join(tmpdir(), 'creditpool-ledger-'));
  try {
    const file = join(dir, 'ledger.jsonl');
    const gone = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    writeFileSync(`${file}.lock`, gone.stdout.trim());
    const pool = new Pool({ limit: nanos(USD) }, { ledgerFile: file });
    pool.release(pool.reserve('a', nanos(1)).id);
    assert.equal(readFileSync(`${file}.lock`, 'utf8'), String(process.pid));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
