// examples/js/sdk_middleware.mjs (the official SDK with creditpool's
// middleware) runs against the simulator, and its ledger lines are the
// simulator's requests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startSim } from './helpers/sim.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/js/sdk_middleware.mjs', import.meta.url));
// Run from inside the package directory, so that its bare imports ('creditpool',
// '@anthropic-ai/sdk') resolve as they do in a user's project.
const SCRIPT = fileURLToPath(new URL('../test-results/sdk_middleware.mjs', import.meta.url));

let sim;
before(async () => {
  sim = await startSim();
});
after(() => sim.stop());

test('the SDK middleware example runs against the simulator', async () => {
  await sim.reset();
  mkdirSync(fileURLToPath(new URL('../test-results/', import.meta.url)), { recursive: true });
  copyFileSync(EXAMPLE, SCRIPT);
  const r = spawnSync(process.execPath, [SCRIPT], {
    env: { ...process.env, ANTHROPIC_BASE_URL: sim.url, ANTHROPIC_API_KEY: 'sk-sim-example' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  const log = await sim.usage();
  const settles = lines.filter((l) => l.startsWith('ledger: settle researcher '));
  assert.equal(log.length, 2, r.stdout);
  assert.deepEqual(
    settles.map((l) => l.split(' ')[3]),
    log.map((u) => u.request_id),
  );
  assert.ok(lines.some((l) => l.startsWith('countTokens: ')), r.stdout);
  assert.match(r.stdout, /^pool: settled \$[\d.]+, reserved \$0\.00$/m);
  assert.equal(lines.at(-1), 'refused by the pool (pool_exhausted)');
});
