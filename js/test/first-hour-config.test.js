// Issue 13 item 6 in JS: one convention for the server and the key, the
// official SDKs' (ANTHROPIC_BASE_URL, ANTHROPIC_API_KEY; unset or empty means
// the API), the same as Python (python/tests/test_first_hour_config.py) and
// Rust (crates/creditpool/tests/first_hour_config.rs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, InvalidOptionsError } from 'creditpool';
import { startSim } from './helpers/sim.js';

const MODEL = 'claude-haiku-4-5';
const HI = [{ role: 'user', content: 'Hi' }];

let sim;
before(async () => {
  sim = await startSim();
});
after(() => sim.stop());

/** Runs `fn` with these environment variables (undefined: unset), then puts them back. */
async function withEnv(vars, fn) {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const put = (v) => {
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined) delete process.env[k];
      else process.env[k] = x;
    }
  };
  put(vars);
  try {
    return await fn();
  } finally {
    put(saved);
  }
}

test('a Client reads ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY', async () => {
  await sim.reset();
  await withEnv({ ANTHROPIC_BASE_URL: sim.url, ANTHROPIC_API_KEY: 'sk-from-env' }, async () => {
    const client = new Client();
    assert.equal(client.baseURL, sim.url);
    await client.messages.create({ model: MODEL, max_tokens: 10, messages: HI });
  });
  const requests = await (await fetch(`${sim.url}/_sim/requests`)).json();
  assert.equal(requests.length, 1); // it went to the simulator
});

test('an empty ANTHROPIC_BASE_URL means the API (as in Python and Rust); code wins over the variable', async () => {
  await withEnv({ ANTHROPIC_BASE_URL: '' }, () => {
    assert.equal(new Client({ apiKey: 'k' }).baseURL, 'https://api.anthropic.com');
  });
  await withEnv({ ANTHROPIC_BASE_URL: 'http://127.0.0.1:9' }, () => {
    assert.equal(new Client({ apiKey: 'k', baseURL: 'http://127.0.0.1:8' }).baseURL, 'http://127.0.0.1:8');
  });
});

test('a base URL follows the core\'s one rule (as in Python and Rust)', async () => {
  await withEnv({ ANTHROPIC_BASE_URL: 'https://proxy.test/anthropic/' }, () => {
    assert.equal(new Client({ apiKey: 'k' }).baseURL, 'https://proxy.test/anthropic');
  });
  await withEnv({ ANTHROPIC_BASE_URL: 'localhost:8080' }, () => {
    assert.throws(() => new Client({ apiKey: 'k' }), (e) => e instanceof InvalidOptionsError && e.kind === 'invalid_base_url' && e.message.includes('(from ANTHROPIC_BASE_URL)'));
  });
});
