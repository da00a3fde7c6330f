// Every JS block the docs mark runnable runs as written, against the
// simulator (issue 13: "the docs' quickstarts still run as written").
//
// A block is runnable when the line before its opening fence is
// `<!-- docs-test: run -->`; README.md and docs/JS.md are read. Each runs as
// its own Node process (an ES module inside the package directory, so that
// `import 'creditpool'` resolves to it), with the official SDKs' variables
// pointing at the simulator and nothing else. The same markers are run for
// Python by python/tests/test_docs_quickstarts.py.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startSim } from './helpers/sim.js';

const ROOT = new URL('../../', import.meta.url);
const DIR = fileURLToPath(new URL('../test-results/docs/', import.meta.url));
const MARKER = '<!-- docs-test: run -->';
const FENCE = /<!-- docs-test: run -->\n```(\w+)[^\n]*\n([\s\S]*?)\n```/g;

/** `{where, code}` for each marked JS block of `doc`. */
function runnableBlocks(doc) {
  const text = readFileSync(new URL(doc, ROOT), 'utf8');
  const out = [];
  for (const m of text.matchAll(FENCE)) {
    if (!['js', 'javascript', 'mjs'].includes(m[1])) continue;
    out.push({ where: `${doc}:${text.slice(0, m.index).split('\n').length + 1}`, code: `${m[2]}\n` });
  }
  return out;
}

const BLOCKS = ['README.md', 'docs/JS.md'].flatMap(runnableBlocks);

let sim;
before(async () => {
  sim = await startSim();
});
after(() => sim.stop());

test('the quickstarts are marked', () => {
  // The client, money, agent and SDK-middleware quickstarts: a marker that
  // goes missing would silently stop a block from being run.
  assert.ok(BLOCKS.length >= 4, JSON.stringify(BLOCKS.map((b) => b.where)));
  const text = readFileSync(new URL('docs/JS.md', ROOT), 'utf8');
  assert.equal(text.split(MARKER).length - 1, runnableBlocks('docs/JS.md').length, 'a marker is not followed by a JS fence');
});

for (const [i, { where, code }] of BLOCKS.entries()) {
  test(`${where} runs as written`, async () => {
    await sim.reset();
    mkdirSync(DIR, { recursive: true });
    const script = `${DIR}block-${i}.mjs`;
    writeFileSync(script, code);
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ANTHROPIC_') && !k.startsWith('CREDITPOOL_')));
    const r = spawnSync(process.execPath, [script], {
      cwd: DIR,
      env: { ...env, ANTHROPIC_BASE_URL: sim.url, ANTHROPIC_API_KEY: 'sk-sim-docs' },
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(r.status, 0, `${where} does not run as written:\n${r.stderr}`);
  });
}
