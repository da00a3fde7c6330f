// Issue 10 item 15 (JS): webhook deliveries queued or under way are bounded
// by the core's rule (`pool::outbox`, MAX_QUEUED_DELIVERIES = 256, as in Rust
// and Python): an alert whose deliveries would take those out past the cap
// waits in the pool (and its snapshot) until some end, then goes out. Before,
// a JS pool queued a delivery per webhook for every alert at once, however
// long an endpoint stayed silent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pool, nanos } from 'creditpool';

const MAX_QUEUED_DELIVERIES = 256;

/** Lets queued promise jobs and I/O callbacks run until `cond()` holds (a bounded number of turns). */
async function until(cond, what) {
  for (let i = 0; i < 10_000 && !cond(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(cond(), what);
}

test('deliveries out are capped at the core MAX_QUEUED_DELIVERIES: a later alert waits in the pool until some end', async () => {
  const held = [];
  // An endpoint that answers only when told to.
  const fetch = (url) => new Promise((resolve) => held.push({ url, answer: () => resolve(new Response(null, { status: 204 })) }));
  const webhooks = Array.from({ length: MAX_QUEUED_DELIVERIES }, (_, i) => ({ url: `https://h${i}.example/hook`, secret: 's3cret' }));
  const alerted = [];
  const pool = new Pool(
    { limit: nanos(100), alerts: { thresholds_pct: [50, 80] } },
    { now: () => 1_000_000, webhooks, fetch, webhookConcurrency: 10_000, onAlert: (a) => alerted.push(a.percent) },
  );
  pool.settle(pool.reserve('a', nanos(50)).id, nanos(50));
  pool.settle(pool.reserve('a', nanos(30)).id, nanos(30));
  const pending = () => JSON.parse(pool.snapshot()).pending_events.length;

  // Each alert owes 256 deliveries: the first alert's go out, the second waits.
  await until(() => held.length === MAX_QUEUED_DELIVERIES, `${held.length} deliveries out`);
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  assert.equal(held.length, MAX_QUEUED_DELIVERIES, 'no more than the cap out at once');
  assert.deepEqual(alerted, [50], 'the second alert has not left the pool');
  assert.equal(pending(), 2, 'both alerts are still in the snapshot');

  // The first alert delivered everywhere: it leaves, and the second goes out.
  for (const h of held.splice(0)) h.answer();
  await until(() => held.length === MAX_QUEUED_DELIVERIES, `${held.length} deliveries of the second alert out`);
  assert.deepEqual(alerted, [50, 80]);
  assert.equal(pending(), 1);
  assert.deepEqual(new Set(held.map((h) => h.url)).size, MAX_QUEUED_DELIVERIES, 'one delivery per webhook');

  for (const h of held.splice(0)) h.answer();
  await pool.flush();
  assert.equal(pending(), 0, 'every alert delivered everywhere has left the pool');
  assert.equal(held.length, 0);
});

test('without webhooks an alert leaves the pool once handed to the callbacks', () => {
  const alerted = [];
  const pool = new Pool({ limit: nanos(100), alerts: { thresholds_pct: [50] } }, { now: () => 1_000_000, onAlert: (a) => alerted.push(a.percent) });
  pool.settle(pool.reserve('a', nanos(60)).id, nanos(60));
  assert.deepEqual(alerted, [50]);
  assert.equal(JSON.parse(pool.snapshot()).pending_events.length, 0);
});
