// The standalone activity page (the core's `standalone_html`, as the Rust demo
// and `python -m creditpool activity` write it) opens offline in headless
// Chromium: a page with the Vega bundles inlined, loaded from a file with the
// network cut off. The test checks that the dashboard drew (an SVG, every
// agent and tool of the ledger in a legend, the threshold labels) and saves a
// screenshot to js/test-results/.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const REPO = join(ROOT, '..');
const RESULTS = join(ROOT, 'test-results');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

test('the standalone activity page draws a busy ledger offline', async () => {
  // The pinned Vega bundles (idempotent), then the page for the busy ledger of
  // the activity_chart vectors, written by the core.
  const schema = execFileSync('bash', [join(REPO, 'scripts/lib/vega-lite-schema.sh')], { cwd: REPO, encoding: 'utf8' }).trim();
  const modules = join(schema, '..', '..', '..');
  const vectors = JSON.parse(readFileSync(join(REPO, 'tests/vectors/activity/activity_chart.json'), 'utf8'));
  const busy = vectors.cases.find((c) => c.name === 'busy_ledger');
  assert.ok(busy, 'the busy_ledger vector');
  const html = execFileSync('cargo', ['run', '-q', '-p', 'creditpool-core', '--example', 'activity_spec', '--', '--html', modules], {
    cwd: REPO,
    input: JSON.stringify(busy.input),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  mkdirSync(RESULTS, { recursive: true });
  const file = join(RESULTS, 'activity-standalone.html');
  writeFileSync(file, html);

  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
  after(() => browser.close());
  const context = await browser.newContext({ offline: true });
  const page = await context.newPage();
  const requests = [];
  page.on('request', (r) => {
    if (!r.url().startsWith('file:')) requests.push(r.url());
  });
  await page.goto(`file://${file}`);
  await page.waitForSelector('body[data-rendered="true"], body[data-error]', { timeout: 30_000 });
  assert.equal(await page.getAttribute('body', 'data-error'), null, 'the page reported an error');
  assert.ok((await page.locator('svg').count()) >= 1, 'no SVG drawn');
  const text = await page.locator('body').innerText();
  const svgText = (await page.locator('svg text').allTextContents()).join(' ');
  const agents = [...new Set(busy.input.ledger.map((e) => e.agent))];
  const tools = [...new Set(busy.input.ledger.flatMap((e) => (e.attribution?.tools ?? []).map((t) => t.tool)))];
  for (const name of [...agents, ...tools]) assert.ok(svgText.includes(name), `${name} is not drawn`);
  for (const pct of [50, 75, 90, 100]) assert.ok(svgText.includes(`${pct} %`), `no ${pct} % threshold label`);
  assert.match(text, /activity/i);
  assert.deepEqual(requests, [], 'the page fetched something from the network');
  await page.screenshot({ path: join(RESULTS, 'activity-standalone.png'), fullPage: true });
});
