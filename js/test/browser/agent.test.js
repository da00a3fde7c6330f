// In headless Chromium: a page served on localhost loads the package and runs
// an agent with a tool against creditpool-sim on another origin (CORS), on a
// pool small enough that the 50 % alert fires. Saves a screenshot to
// js/test-results/.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startSim } from '../helpers/sim.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RESULTS = join(ROOT, 'test-results');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };

function serveStatic(req, res) {
  const path = normalize(join(ROOT, decodeURIComponent(new URL(req.url, 'http://x').pathname)));
  if (!path.startsWith(ROOT.endsWith(sep) ? ROOT : ROOT + sep) || !existsSync(path)) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' });
  res.end(readFileSync(path));
}

test('an agent with a tool runs in Chromium against the simulator', async () => {
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (apt install chromium)`);
  const sim = await startSim();
  const site = createServer(serveStatic);
  await new Promise((r) => site.listen(0, '127.0.0.1', r));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
  after(async () => {
    await browser.close();
    site.close();
    sim.stop();
  });
  const page = await browser.newPage();
  const logs = [];
  page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  await page.goto(`http://127.0.0.1:${site.address().port}/test/browser/agent.html?api=${encodeURIComponent(sim.url)}`);
  await page.waitForFunction(() => window.__agent !== undefined, null, { timeout: 120_000 }).catch((e) => {
    throw new Error(`the page did not finish: ${e.message}\n${logs.join('\n')}`);
  });
  const r = await page.evaluate(() => window.__agent);
  mkdirSync(RESULTS, { recursive: true });
  await page.screenshot({ path: join(RESULTS, 'browser-agent.png'), fullPage: true });

  assert.equal(r.error, undefined, `${r.error}\n${logs.join('\n')}`);
  assert.equal(r.status, 'completed');
  assert.ok(r.queries.length >= 1, 'the tool ran in the page');
  assert.ok(r.turns >= 2);
  assert.ok(r.finalText.length > 0);
  // The report agrees with the outcome and the pool.
  assert.equal(r.settled, r.totalCost);
  assert.equal(r.reserved, 0);
  assert.deepEqual(
    r.report.agents.map((a) => [a.agent, a.settled, a.requests]),
    [['inventory', r.totalCost, r.turns]],
  );
  assert.ok(r.settled * 2 >= 1_900_000, 'half the pool was spent');
  assert.deepEqual(
    r.alerts.map((a) => [a.kind, a.percent]),
    [['threshold', 50]],
  );
  // The simulator saw the requests the pool settled, with the pool selector.
  const usage = (await (await fetch(`${sim.url}/_sim/usage`)).json()).filter((u) => u.outcome === 'complete');
  assert.equal(usage.length, r.turns);
  for (const u of usage) assert.equal(u.credit_pool, 'programmatic');
});
