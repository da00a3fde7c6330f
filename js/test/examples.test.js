// examples/js: the Node script runs against the simulator it starts, and the
// page runs the same agents in Chromium with the pool's usage shown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { SIM_BINARY } from './helpers/sim.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/js/', import.meta.url));
const RESULTS = fileURLToPath(new URL('../test-results/', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const env = { ...process.env, CREDITPOOL_SIM: SIM_BINARY, ANTHROPIC_API_KEY: '', ANTHROPIC_BASE_URL: '' };
delete env.ANTHROPIC_API_KEY;
delete env.ANTHROPIC_BASE_URL;

test('the Node inventory example: agents complete, one is refused, alerts fire, a report', () => {
  const r = spawnSync(process.execPath, [join(EXAMPLES, 'inventory.mjs')], { env, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^buyer +completed: \d+ turns/m);
  assert.match(r.stdout, /^intern +pool_refused \(agent_cap\)/m);
  assert.match(r.stdout, /^ALERT +creditpool "inventory-demo": 50% of the limit spent/m);
  assert.match(r.stdout, /^buyer +pool_refused \(pool_exhausted\)/m);
  assert.match(r.stdout, /^pool: settled \$[\d.]+ of \$0\.006, reserved \$0\.00$/m);
});

test('the example page runs the agents in Chromium and shows the pool and its activity chart', async () => {
  // The Vega bundles the page draws with (pinned, installed once into target/vega-lite/).
  const vega = spawnSync('bash', [join(ROOT, 'scripts', 'lib', 'vega-lite-schema.sh')], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  assert.equal(vega.status, 0, vega.stderr);
  const server = spawn(process.execPath, [join(EXAMPLES, 'serve.mjs')], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  try {
    const url = await new Promise((resolve) => server.stdout.once('data', (d) => resolve(/open (\S+)/.exec(d.toString())?.[1])));
    const page = await browser.newPage();
    await page.goto(url);
    await page.click('#start');
    await page.waitForFunction(() => window.__done === true, null, { timeout: 120_000 });
    mkdirSync(RESULTS, { recursive: true });
    await page.screenshot({ path: join(RESULTS, 'example-page.png'), fullPage: true });
    assert.equal(await page.textContent('#status'), 'done');
    assert.match(await page.textContent('#usage'), /^settled \$[\d.]+, reserved \$0\.00, of \$0\.006$/);
    assert.match(await page.textContent('#alerts'), /50% of the limit spent/);
    assert.match(await page.textContent('#agents'), /refused \(agent_cap\)/);
    // The live activity chart: the core's spec (pool.chart(), a report's
    // dashboard) drawn by vega-embed as SVG. A report's dashboard names the
    // agents on the axes of its per-agent charts (spend: buyer and scout;
    // refusals: buyer and intern), not in a colour legend.
    assert.match(await page.textContent('#activity-note'), /drawn live/);
    assert.equal((await page.$$('#activity svg')).length, 1, 'the activity chart rendered one SVG');
    // Live: drawn before the run (empty), redrawn as ledger entries came.
    assert.ok((await page.evaluate(() => window.__activityDraws)) >= 3, 'the chart was redrawn during the run');
    const texts = await page.$$eval('#activity svg text', (ns) => ns.map((n) => n.textContent));
    const shown = texts.join(' | ');
    for (const agent of ['buyer', 'scout', 'intern']) assert.ok(texts.includes(agent), `the chart names ${agent}: ${shown.slice(0, 800)}`);
    for (const pct of [50, 75, 90, 100]) assert.ok(texts.some((t) => t.startsWith(`${pct} % ($`)), `the ${pct} % threshold is labelled`);
    assert.ok(texts.includes('Pool "inventory-demo" activity'), 'the title names the pool');
    assert.ok(texts.some((t) => /^Spent \$[\d.]+ of the \$0\.0060 limit/.test(t)), 'the subtitle has the spend against the limit');
    await (await page.$('#activity')).screenshot({ path: join(RESULTS, 'example-page-activity.png') });
  } finally {
    await browser.close();
    server.kill('SIGTERM');
  }
});
