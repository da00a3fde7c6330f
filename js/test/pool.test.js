// The Pool: the core's pool with the clock, alert callbacks, webhook
// delivery through fetch and the Node JSON Lines ledger file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AgentCapError,
  CreditpoolError,
  Pool,
  PoolConfigError,
  PoolExhaustedError,
  PoolRateLimitedError,
  PoolRefusedError,
  PoolSnapshotError,
  UnknownReservationError,
} from 'creditpool';

const USD = 1_000_000_000n;

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

test('reserve, settle and release move money exactly, as bigint nano-USD', () => {
  const c = clock();
  const pool = new Pool({ limit: 10n * USD }, { now: c.now });
  const r = pool.reserve('a', 2n * USD);
  assert.equal(r.id, 1);
  assert.deepEqual(r.amount, { nanos: 2n * USD, usd: '$2.00' });
  assert.equal(pool.usage.reserved.nanos, 2n * USD);
  const s = pool.settle(r.id, 1_500_000_000n);
  assert.equal(s.duplicate, false);
  assert.equal(s.refunded.nanos, 500_000_000n);
  assert.equal(pool.usage.settled.nanos, 1_500_000_000n);
  assert.equal(pool.usage.reserved.nanos, 0n);
  assert.deepEqual(pool.settle(r.id, 1n), { id: 1, duplicate: true });
  const r2 = pool.reserve('a', 1n * USD);
  assert.equal(pool.release(r2.id).amount.nanos, USD);
  assert.equal(pool.usage.reserved.nanos, 0n);
  assert.throws(() => pool.settle(99, 1n), (e) => e instanceof UnknownReservationError && e.type === 'unknown_reservation' && e.id === 99);
});

test('refusals are typed errors with their figures', () => {
  const c = clock();
  const pool = new Pool(
    { limit: 10n * USD, agents: { capped: { cap: { kind: 'absolute', amount: 1n * USD } }, slow: { requests_per_minute: 1 } } },
    { now: c.now },
  );
  assert.throws(
    () => pool.reserve('x', 11n * USD),
    (e) => e instanceof PoolExhaustedError && e instanceof PoolRefusedError && e instanceof CreditpoolError && e.type === 'pool_exhausted' && e.available.nanos === 10n * USD && e.requested.usd === '$11.00',
  );
  assert.throws(() => pool.reserve('capped', 2n * USD), (e) => e instanceof AgentCapError && e.cap.nanos === USD && e.agent === 'capped');
  pool.reserve('slow', 1n);
  assert.throws(
    () => pool.reserve('slow', 1n),
    (e) => e instanceof PoolRateLimitedError && e.type === 'rate_limited' && e.which === 'requests' && e.retryAt > c.t && e.retryAt <= c.t + 60_000,
  );
  const report = pool.report();
  const slow = report.agents.find((a) => a.agent === 'slow');
  assert.equal(slow.refusals, 1);
});

test('invalid configuration and policies are PoolConfigError', () => {
  assert.throws(() => new Pool({ limit: 1, nonsense: true }), (e) => e instanceof PoolConfigError && /nonsense/.test(e.message));
  const pool = new Pool({ limit: 1 });
  assert.throws(() => pool.setAgentPolicy('a', { weight: 0 }), (e) => e instanceof PoolConfigError);
  assert.throws(() => Pool.restore('{"version": 99}'), (e) => e instanceof PoolSnapshotError);
});

test('alerts fire once per threshold to every callback', () => {
  const c = clock();
  const seen = [];
  const pool = new Pool({ limit: 100 }, { now: c.now, onAlert: (a) => seen.push(`${a.kind} ${a.percent}`) });
  const later = [];
  pool.onAlert((a) => later.push(a.percent));
  pool.settle(pool.reserve('a', 60).id, 60);
  assert.deepEqual(seen, ['threshold 50']);
  pool.settle(pool.reserve('a', 20).id, 20);
  assert.deepEqual(later, [50, 75]);
  assert.equal(pool.alerts.length, 2);
  assert.equal(pool.alerts[0].payload.percent, 50);
  assert.equal(JSON.parse(pool.alerts[0].body).pool_id, pool.alerts[0].payload.pool_id);
});

test('webhooks are POSTed with the body and signature the core made', async () => {
  const got = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}/hook`;
  try {
    const failures = [];
    const pool = new Pool(
      { limit: 100, alerts: { thresholds_pct: [50] } },
      {
        webhooks: [
          { url, secret: 's3cret' },
          { url: 'http://127.0.0.1:1/unreachable', secret: 'x' },
        ],
        onWebhookError: (e, alert, u) => failures.push([alert.kind, u]),
      },
    );
    pool.settle(pool.reserve('a', 50).id, 50);
    await pool.flush();
    assert.equal(got.length, 1);
    const { headers, body } = got[0];
    assert.equal(headers['content-type'], 'application/json');
    // The receiver's check, independent of the core.
    assert.equal(headers['x-creditpool-signature'], `sha256=${createHmac('sha256', 's3cret').update(body).digest('hex')}`);
    assert.equal(JSON.parse(body).alert, 'threshold');
    assert.equal(JSON.parse(body).percent, 50);
    assert.equal(body, pool.alerts[0].body);
    assert.deepEqual(failures, [['threshold', 'http://127.0.0.1:1/unreachable']]);
  } finally {
    server.close();
  }
});

test('the ledger is appended to a JSON Lines file, one line per entry', () => {
  const dir = mkdtempSync(join(tmpdir(), 'creditpool-ledger-'));
  try {
    const file = join(dir, 'ledger.jsonl');
    const pool = new Pool({ limit: 1000 }, { ledgerFile: file });
    pool.settle(pool.reserve('a', 100).id, 40, { model: 'claude-sonnet-4-5', request_id: 'req_1' });
    pool.release(pool.reserve('b', 100).id);
    const lines = readFileSync(file, 'utf8').split('\n');
    assert.equal(lines.pop(), '');
    const entries = lines.map((l) => JSON.parse(l));
    assert.deepEqual(
      entries.map((e) => [e.kind, e.agent, e.cost]),
      [
        ['settle', 'a', 40],
        ['release', 'b', 0],
      ],
    );
    assert.equal(entries[0].request_id, 'req_1');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('snapshot and restore to a string: the restored pool carries on exactly', () => {
  const c = clock();
  const pool = new Pool({ limit: 1000 }, { now: c.now });
  const open = pool.reserve('a', 300);
  pool.settle(pool.reserve('b', 100).id, 90);
  const text = pool.snapshot();
  assert.equal(typeof text, 'string');
  const back = Pool.restore(text, { now: c.now });
  assert.deepEqual(back.usage, pool.usage);
  assert.deepEqual(back.report(), pool.report());
  assert.equal(back.settle(open.id, 200).cost.nanos, 200n);
  assert.equal(back.reserve('a', 1).id, 3);
});

test('unknown options and wrong shapes are refused', () => {
  assert.throws(() => new Pool({ limit: 1 }, { bogus: 1 }), (e) => e.type === 'configuration_error');
  assert.throws(() => new Pool({ limit: 1 }, { webhooks: [{ url: 'x' }] }), (e) => e.type === 'configuration_error');
  const pool = new Pool({ limit: 1 });
  assert.throws(() => pool.reserve('a', -1), (e) => e.type === 'invalid_argument');
  assert.throws(() => pool.reserve('a', 2n ** 64n), (e) => e.type === 'invalid_argument');
});
