// docs/JS.md's quickstart runs as written, against the simulator.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startSim } from './helpers/sim.js';

const DOC = fileURLToPath(new URL('../../docs/JS.md', import.meta.url));
// Inside the package directory, so that `import 'creditpool'` resolves to it.
const SCRIPT = fileURLToPath(new URL('../test-results/quickstart.mjs', import.meta.url));

let sim;
before(async () => {
  sim = await startSim();
});
after(() => sim.stop());

test('the quickstart runs against the simulator', () => {
  const blocks = [...readFileSync(DOC, 'utf8').matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.ok(blocks.length > 0, 'docs/JS.md has no js block');
  mkdirSync(fileURLToPath(new URL('../test-results/', import.meta.url)), { recursive: true });
  writeFileSync(SCRIPT, blocks[0]);
  const r = spawnSync(process.execPath, [SCRIPT], {
    env: { ...process.env, ANTHROPIC_BASE_URL: sim.url, ANTHROPIC_API_KEY: 'sk-sim-docs' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.status, 0, `the quickstart failed:\n${r.stderr}`);
  assert.match(r.stdout, /\d+ in, \d+ out: \$\d+\.\d+/);
  // The rule model called search_database, got its results, and quoted them.
  assert.ok(r.stdout.includes('search_database') && r.stdout.includes('products under $50 #1'), r.stdout);
});
