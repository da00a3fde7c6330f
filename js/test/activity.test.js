// Activity charts: the core's Vega-Lite spec from a pool, its report and any
// ledger, and renderActivity (vega-embed injected or imported on demand).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  InvalidArgumentError,
  InvalidOptionsError,
  MissingDependencyError,
  Pool,
  activityChart,
  activityChartFromLedger,
  renderActivity,
  nanos,
} from 'creditpool';

const USD = 1_000_000_000n;
const T0 = 1_795_570_181_123;

/** A pool with thresholds 25 / 80 %, two agents having spent, its ledger kept. */
function busyPool(dir) {
  const c = { t: T0, now: () => c.t };
  const entries = [];
  const ledgerFile = dir ? join(dir, 'ledger.jsonl') : undefined;
  const pool = new Pool(
    { pool_id: 'team', limit: nanos(10n * USD), alerts: { thresholds_pct: [25, 80] } },
    { now: c.now, onLedger: (entry) => entries.push(entry), ...(ledgerFile ? { ledgerFile } : {}) },
  );
  const spend = (agent, cost, model) => {
    const r = pool.reserve(agent, nanos(2n * USD));
    c.t += 30_000;
    pool.settle(r.id, nanos(cost), { model, input_cost: cost });
  };
  spend('planner', 1n * USD, 'claude-haiku-4-5');
  spend('researcher', 2n * USD, 'claude-sonnet-4-5');
  spend('planner', 500_000_000n, 'claude-haiku-4-5');
  return { pool, entries, ledgerFile, clock: c };
}

const text = (spec) => JSON.stringify(spec);

test("pool.chart() is the core's Vega-Lite v5 spec with the pool's thresholds and agents", () => {
  const { pool } = busyPool();
  const spec = pool.chart();
  assert.equal(Object.getPrototypeOf(spec), Object.prototype);
  assert.match(spec.$schema, /vega-lite\/v5/);
  const s = text(spec);
  for (const label of ['25 %', '80 %']) assert.ok(s.includes(label), `threshold ${label}`);
  assert.ok(!s.includes('"50 %'), 'the default thresholds are not drawn');
  for (const agent of ['planner', 'researcher']) assert.ok(s.includes(agent), agent);
  assert.ok(s.includes('team'), 'the title names the pool');
  // Plain JSON: it survives a JSON round trip unchanged.
  assert.deepEqual(JSON.parse(s), spec);
});

test('pool.report().chart() draws that report, which stays the core JSON', () => {
  const { pool, clock } = busyPool();
  const report = pool.report();
  assert.equal(typeof report.chart, 'function');
  assert.ok(!Object.keys(report).includes('chart'));
  assert.ok(!JSON.stringify(report).includes('chart'));
  assert.deepEqual(report.chart(), pool.chart());
  // The report's chart is of the report, not of the pool later.
  const before = report.chart();
  const r = pool.reserve('latecomer', nanos(1n * USD));
  clock.t += 1000;
  pool.settle(r.id, nanos(1n * USD), { model: 'claude-haiku-4-5' });
  assert.deepEqual(report.chart(), before);
  assert.ok(!text(before).includes('latecomer'));
  assert.ok(text(pool.chart()).includes('latecomer'));
});

test('an empty pool draws its thresholds and "No spend yet"', () => {
  const pool = new Pool({ limit: nanos(5n * USD) }, { now: () => T0 });
  const s = text(pool.chart());
  assert.ok(s.includes('No spend yet'));
  for (const label of ['50 %', '75 %', '90 %', '100 %']) assert.ok(s.includes(label), label);
});

test('activityChartFromLedger: entries, {entry, line} pairs and the JSONL file give the same spec', () => {
  const dir = mkdtempSync(join(tmpdir(), 'creditpool-activity-'));
  try {
    const { entries, ledgerFile } = busyPool(dir);
    const options = { limit: nanos(10n * USD), thresholds_pct: [25, 80], title: 'Team activity' };
    const fromEntries = activityChartFromLedger(entries, options);
    const jsonl = readFileSync(ledgerFile, 'utf8');
    assert.deepEqual(activityChartFromLedger(jsonl, options), fromEntries);
    const pairs = jsonl.trim().split('\n').map((line, i) => ({ entry: entries[i], line: `${line}\n` }));
    assert.deepEqual(activityChartFromLedger(pairs, options), fromEntries);
    assert.deepEqual(activityChart(entries, { ...options, limit: nanos(10_000_000_000) }), fromEntries);
    const s = text(fromEntries);
    assert.ok(s.includes('Team activity'));
    for (const name of ['planner', 'researcher', 'claude-haiku-4-5', 'claude-sonnet-4-5', '25 %', '80 %']) assert.ok(s.includes(name), name);
    // Without a limit: spend only, no threshold lines.
    assert.ok(!text(activityChartFromLedger(entries)).includes('80 %'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('activityChartFromLedger: typed errors for a bad line, bad options, a bad ledger', () => {
  const { entries } = busyPool();
  const jsonl = `${JSON.stringify(entries[0])}\n\n{"not": "an entry"}\n`;
  assert.throws(
    () => activityChartFromLedger(jsonl),
    (e) => e instanceof InvalidOptionsError && e.what === 'ledger' && e.line === 3 && /ledger line 3/.test(e.message),
  );
  assert.throws(() => activityChartFromLedger(entries, { limit: nanos(1), colour: 'red' }), (e) => e instanceof InvalidOptionsError && /colour/.test(e.message));
  assert.throws(() => activityChartFromLedger(entries, 'limit=1'), (e) => e instanceof InvalidArgumentError);
  assert.throws(() => activityChartFromLedger(42), (e) => e instanceof InvalidArgumentError);
  assert.throws(() => activityChartFromLedger([{ seq: 'x' }]), (e) => e instanceof InvalidOptionsError);
  assert.deepEqual(activityChartFromLedger(''), activityChartFromLedger([]));
});

test('renderActivity hands the spec to an injected vega-embed, SVG by default', async () => {
  const { pool } = busyPool();
  const spec = pool.chart();
  const calls = [];
  const fake = async (el, s, opts) => {
    calls.push([el, s, opts]);
    return { view: 'view', spec: s, finalize() {} };
  };
  const element = { nodeType: 1 };
  const result = await renderActivity(element, spec, { vegaEmbed: fake });
  assert.equal(result.view, 'view');
  assert.equal(calls.length, 1);
  assert.equal(calls[0][0], element);
  assert.equal(calls[0][1], spec);
  assert.deepEqual(calls[0][2], { renderer: 'svg', actions: false });
  // The module form, and vega-embed options over the defaults.
  await renderActivity('#chart', spec, { vegaEmbed: { default: fake }, embedOptions: { renderer: 'canvas' } });
  assert.deepEqual(calls[1][2], { renderer: 'canvas', actions: false });
});

test('renderActivity: typed errors; vega-embed missing is a MissingDependencyError', async () => {
  const spec = { $schema: 'https://vega.github.io/schema/vega-lite/v5.json' };
  await assert.rejects(renderActivity(null, spec, { vegaEmbed: async () => ({}) }), (e) => e instanceof InvalidArgumentError);
  await assert.rejects(renderActivity('#x', 'spec', { vegaEmbed: async () => ({}) }), (e) => e instanceof InvalidArgumentError);
  await assert.rejects(renderActivity('#x', spec, { vegaEmbd: async () => ({}) }), (e) => e instanceof InvalidArgumentError && /vegaEmbd/.test(e.message));
  await assert.rejects(renderActivity('#x', spec, { vegaEmbed: { nope: 1 } }), (e) => e instanceof InvalidArgumentError);
  // The package has no dependency on vega-embed: here it is not installed.
  await assert.rejects(
    renderActivity('#x', spec),
    (e) => e instanceof MissingDependencyError && e.code === 'missing_dependency' && e.dependency === 'vega-embed' && /npm install vega-embed/.test(e.message),
  );
});

test('creditpool/activity (no wasm module imported): the same renderActivity and error classes', async () => {
  const sub = await import('creditpool/activity');
  assert.equal(sub.renderActivity, renderActivity);
  assert.equal(sub.MissingDependencyError, MissingDependencyError);
});
