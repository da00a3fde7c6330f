// The Pool: the core's pool with the clock, alert callbacks, webhook
// delivery through fetch and the Node JSON Lines ledger file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { inspect } from 'node:util';
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
  PoolStoreError,
  UnknownReservationError,
  WebhookError,
  WebhookTimeoutError,
  nanos,
  InvalidOptionsError,
  Money,
  usd,
} from 'creditpool';

const USD = 1_000_000_000n;

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

test('reserve, settle and release move money exactly, as bigint nano-USD', () => {
  const c = clock();
  const pool = new Pool({ limit: nanos(10n * USD) }, { now: c.now });
  const r = pool.reserve('a', nanos(2n * USD));
  assert.equal(r.id, 1);
  assert.ok(r.amount instanceof Money && r.amount.equals(usd(2)));
  assert.equal(r.amount.usd, '$2.00');
  assert.equal(pool.usage.reserved.nanos, 2n * USD);
  const s = pool.settle(r.id, nanos(1_500_000_000n));
  assert.equal(s.duplicate, false);
  assert.equal(s.refunded.nanos, 500_000_000n);
  assert.equal(pool.usage.settled.nanos, 1_500_000_000n);
  assert.equal(pool.usage.reserved.nanos, 0n);
  assert.deepEqual(pool.settle(r.id, nanos(1n)), { id: 1, duplicate: true });
  const r2 = pool.reserve('a', nanos(1n * USD));
  assert.equal(pool.release(r2.id).amount.nanos, USD);
  assert.equal(pool.usage.reserved.nanos, 0n);
  assert.throws(() => pool.settle(99, nanos(1n)), (e) => e instanceof UnknownReservationError && e.type === 'unknown_reservation' && e.id === 99);
});

test('refusals are typed errors with their figures', () => {
  const c = clock();
  const pool = new Pool(
    // Other agents ("x") are allowed explicitly: a pool that names its agents refuses others by default.
    { limit: nanos(10n * USD), agents: { capped: { cap: { kind: 'absolute', amount: nanos(1n * USD) } }, slow: { requests_per_minute: 1 } }, allow_unknown_agents: true },
    { now: c.now },
  );
  assert.throws(
    () => pool.reserve('x', nanos(11n * USD)),
    (e) => e instanceof PoolExhaustedError && e instanceof PoolRefusedError && e instanceof CreditpoolError && e.type === 'pool_exhausted' && e.available.nanos === 10n * USD && e.requested.usd === '$11.00',
  );
  assert.throws(() => pool.reserve('capped', nanos(2n * USD)), (e) => e instanceof AgentCapError && e.cap.nanos === USD && e.agent === 'capped');
  pool.reserve('slow', nanos(1n));
  assert.throws(
    () => pool.reserve('slow', nanos(1n)),
    (e) => e instanceof PoolRateLimitedError && e.type === 'rate_limited' && e.which === 'requests' && e.retryAt > c.t && e.retryAt <= c.t + 60_000,
  );
  const report = pool.report();
  const slow = report.agents.find((a) => a.agent === 'slow');
  assert.equal(slow.refusals, 1);
});

test('invalid configuration and policies are PoolConfigError', () => {
  assert.throws(() => new Pool({ limit: nanos(1), nonsense: true }), (e) => e instanceof PoolConfigError && /nonsense/.test(e.message));
  const pool = new Pool({ limit: nanos(1) });
  assert.throws(() => pool.setAgentPolicy('a', { weight: 0 }), (e) => e instanceof PoolConfigError);
  assert.throws(() => Pool.restore('{"version": 99}'), (e) => e instanceof PoolSnapshotError);
});

test('alerts fire once per threshold to every callback', () => {
  const c = clock();
  const seen = [];
  const pool = new Pool({ limit: nanos(100) }, { now: c.now, onAlert: (a) => seen.push(`${a.kind} ${a.percent}`) });
  const later = [];
  pool.onAlert((a) => later.push(a.percent));
  pool.settle(pool.reserve('a', nanos(60)).id, nanos(60));
  assert.deepEqual(seen, ['threshold 50']);
  pool.settle(pool.reserve('a', nanos(20)).id, nanos(20));
  assert.deepEqual(later, [50, 75]);
  assert.equal(pool.alerts.length, 2);
  assert.equal(pool.alerts[0].payload.percent, 50);
  assert.equal(JSON.parse(pool.alerts[0].body).pool_id, pool.alerts[0].payload.pool_id);
});

// Issue 10 item 11: each attempt is signed with its own time, so a retry ten
// minutes after the alert passes a receiver's five-minute age check.
test('a webhook retry ten minutes later carries a fresh timestamp and signature', async () => {
  const got = [];
  let clock = 1_795_570_181_123;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      // The first attempt fails; the next comes ten minutes on the pool's clock.
      if (got.length === 1) clock += 600_000;
      res.writeHead(got.length === 1 ? 503 : 204, got.length === 1 ? { 'retry-after-ms': '1' } : {}).end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}/hook`;
  try {
    const alertAt = clock;
    const pool = new Pool({ limit: nanos(100), alerts: { thresholds_pct: [50] } }, { now: () => clock, webhooks: [{ url, secret: 's3cret' }] });
    pool.settle(pool.reserve('a', nanos(50)).id, nanos(50));
    await pool.flush();
    assert.equal(got.length, 2);
    assert.equal(got[0].body, got[1].body, 'a retry sends the same bytes');
    const stamps = got.map(({ headers, body }) => {
      const t = headers['x-creditpool-timestamp'];
      // The receiver's check: the HMAC of `t.body`, and |now - t| within 300 s.
      assert.equal(headers['x-creditpool-signature'], `sha256=${createHmac('sha256', 's3cret').update(`${t}.${body}`).digest('hex')}`);
      assert.equal(JSON.parse(body).occurred_at_ms, alertAt, 'the body keeps the alert time');
      return Number(t);
    });
    assert.equal(stamps[0], Math.floor(alertAt / 1000));
    assert.equal(stamps[1], Math.floor((alertAt + 600_000) / 1000), 'the retry is signed with its own time');
    assert.ok(Math.abs(clock / 1000 - stamps[1]) <= 300);
  } finally {
    server.close();
  }
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
      { limit: nanos(100), alerts: { thresholds_pct: [50] } },
      {
        webhooks: [
          { url, secret: 's3cret' },
          { url: 'http://127.0.0.1:1/unreachable', secret: 'x' },
        ],
        onWebhookError: (e, alert, origin, index) => failures.push([alert.kind, origin, index]),
      },
    );
    pool.settle(pool.reserve('a', nanos(50)).id, nanos(50));
    await pool.flush();
    assert.equal(got.length, 1);
    const { headers, body } = got[0];
    assert.equal(headers['content-type'], 'application/json');
    // The receiver's check, independent of the core.
    const t = headers['x-creditpool-timestamp'];
    assert.equal(headers['x-creditpool-signature'], `sha256=${createHmac('sha256', 's3cret').update(`${t}.${body}`).digest('hex')}`);
    assert.equal(JSON.parse(body).alert, 'threshold');
    assert.equal(JSON.parse(body).percent, 50);
    assert.equal(body, pool.alerts[0].body);
    // Only the origin of a webhook URL is shown (its path may be the secret).
    assert.deepEqual(failures, [['threshold', 'http://127.0.0.1:1', 1]]);
  } finally {
    server.close();
  }
});

test('the ledger is appended to a JSON Lines file, one line per entry', () => {
  const dir = mkdtempSync(join(tmpdir(), 'creditpool-ledger-'));
  try {
    const file = join(dir, 'ledger.jsonl');
    const pool = new Pool({ limit: nanos(1000) }, { ledgerFile: file });
    pool.settle(pool.reserve('a', nanos(100)).id, nanos(40), { model: 'claude-sonnet-4-5', request_id: 'req_1' });
    pool.release(pool.reserve('b', nanos(100)).id);
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
  const pool = new Pool({ limit: nanos(1000) }, { now: c.now });
  const open = pool.reserve('a', nanos(300));
  pool.settle(pool.reserve('b', nanos(100)).id, nanos(90));
  const text = pool.snapshot();
  assert.equal(typeof text, 'string');
  const back = Pool.restore(text, { now: c.now });
  assert.deepEqual(back.usage, pool.usage);
  assert.deepEqual(back.report(), pool.report());
  assert.equal(back.settle(open.id, nanos(200)).cost.nanos, 200n);
  assert.equal(back.reserve('a', nanos(1)).id, 3);
});

test('unknown options and wrong shapes are refused', () => {
  assert.throws(() => new Pool({ limit: nanos(1) }, { bogus: 1 }), (e) => e.type === 'configuration_error');
  assert.throws(() => new Pool({ limit: nanos(1) }, { webhooks: [{ url: 'x' }] }), (e) => e.type === 'configuration_error');
  const pool = new Pool({ limit: nanos(1) });
  assert.throws(() => pool.reserve('a', -1), (e) => e instanceof InvalidOptionsError && e.argument === 'amount');
  assert.throws(() => nanos(-1), (e) => e instanceof InvalidOptionsError && /negative/.test(e.message));
  assert.throws(() => nanos(2n ** 64n), (e) => e instanceof InvalidOptionsError && /largest amount/.test(e.message));
});

/** Runs `fn` with console.warn captured; returns what was warned. */
async function captureWarnings(fn) {
  const warned = [];
  const original = console.warn;
  console.warn = (...args) => warned.push(args.map(String).join(' '));
  try {
    await fn();
  } finally {
    console.warn = original;
  }
  return warned;
}

test('a throwing onAlert or onLedger callback does not replace the result of the operation', () => {
  const c = clock();
  const reported = [];
  const ledger = [];
  const pool = new Pool(
    { limit: nanos(100), alerts: { thresholds_pct: [50] } },
    {
      now: c.now,
      onAlert: () => {
        throw new Error('alert callback broke');
      },
      onLedger: () => {
        throw new TypeError('ledger callback broke');
      },
      onError: (e, info) => reported.push([info.source, e.message]),
    },
  );
  pool.onLedger((e) => ledger.push(e.kind));
  const r = pool.reserve('a', nanos(60));
  const s = pool.settle(r.id, nanos(60));
  assert.equal(s.cost.nanos, 60n, 'the settle returns its result');
  assert.equal(pool.usage.settled.nanos, 60n);
  assert.deepEqual(ledger, ['settle'], 'the other callbacks still run');
  assert.deepEqual(reported, [
    ['onAlert', 'alert callback broke'],
    ['onLedger', 'ledger callback broke'],
  ]);
  // The PoolStore seam too: apply returns the core's result.
  const op = pool.apply({ op: 'reserve', agent: 'a', amount: 10, now_ms: c.t });
  assert.equal(op.result, 'reserved');
  assert.equal(pool.apply({ op: 'release', id: op.id, now_ms: c.t }).result, 'released');
  assert.equal(reported.at(-1)[0], 'onLedger');
});

test('a failing ledger-file append does not replace the result; it is reported as a PoolStoreError', () => {
  const dir = mkdtempSync(join(tmpdir(), 'creditpool-ledger-'));
  try {
    const reported = [];
    const pool = new Pool({ limit: nanos(1000) }, { ledgerFile: join(dir, 'missing', 'ledger.jsonl'), onError: (e, info) => reported.push([e, info]) });
    const r = pool.reserve('a', nanos(100));
    const s = pool.settle(r.id, nanos(40));
    assert.equal(s.cost.nanos, 40n);
    assert.equal(pool.usage.settled.nanos, 40n);
    assert.equal(reported.length, 1);
    const [e, info] = reported[0];
    assert.equal(info.source, 'ledgerFile');
    assert.ok(e instanceof PoolStoreError && e.code === 'file_io', `${e.name} ${e.code}`);
    assert.equal(e.entry.kind, 'settle');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without onError, a callback failure is a console.warn that shows no secret', async () => {
  const hook = 'http://127.0.0.1:1/services/T0/B0/PATHSECRET';
  const secret = 'whsec-HOOKSECRET';
  let result;
  const warned = await captureWarnings(async () => {
    const pool = new Pool(
      { limit: nanos(100), alerts: { thresholds_pct: [50] } },
      {
        webhooks: [{ url: hook, secret }],
        onAlert: () => {
          throw new Error(`cannot post to ${hook} with ${secret}`);
        },
      },
    );
    result = pool.settle(pool.reserve('a', nanos(50)).id, nanos(50));
    await pool.close(5000).catch(() => {});
  });
  assert.equal(result.cost.nanos, 50n);
  assert.equal(warned.length, 1, warned.join('\n'));
  assert.ok(warned[0].includes('onAlert'), warned[0]);
  assert.ok(warned[0].includes('http://127.0.0.1:1'), warned[0]);
  assert.ok(!warned[0].includes('PATHSECRET') && !warned[0].includes('HOOKSECRET'), warned[0]);
});

test('webhook URLs show only their origin; secrets never show in errors, callbacks or inspect', async () => {
  const hook = 'http://127.0.0.1:1/services/T0/B0/PATHSECRET?token=QUERYSECRET';
  const failures = [];
  const pool = new Pool(
    { limit: nanos(100), alerts: { thresholds_pct: [50] } },
    { webhooks: [{ url: hook, secret: 'whsec-HOOKSECRET' }], onWebhookError: (...args) => failures.push(args) },
  );
  pool.settle(pool.reserve('a', nanos(50)).id, nanos(50));
  await pool.flush(20_000);
  assert.equal(failures.length, 1);
  const [error, alert, origin, index] = failures[0];
  assert.ok(error instanceof CreditpoolError, String(error));
  assert.equal(origin, 'http://127.0.0.1:1');
  assert.equal(index, 0);
  const shown = [
    String(error),
    error.stack ?? '',
    JSON.stringify(error),
    inspect(error, { depth: 10, showHidden: true }),
    inspect(failures, { depth: 10 }),
    JSON.stringify(alert),
    inspect(pool, { depth: 10, showHidden: true }),
    JSON.stringify(pool.alerts),
    pool.snapshot(),
  ];
  for (const text of shown) {
    for (const secret of ['PATHSECRET', 'QUERYSECRET', 'HOOKSECRET']) assert.ok(!text.includes(secret), `${secret} shows in: ${text.slice(0, 300)}`);
  }
});

/** A webhook endpoint that accepts requests and never answers. */
async function silentEndpoint() {
  const got = [];
  let open = 0;
  let maxOpen = 0;
  const server = createServer((req, res) => {
    got.push(req.url);
    open += 1;
    maxOpen = Math.max(maxOpen, open);
    res.on('close', () => (open -= 1));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    got,
    get open() {
      return open;
    },
    get maxOpen() {
      return maxOpen;
    },
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    },
  };
}

const sleepMs = (ms) => new Promise((r) => setTimeout(r, ms));

test('webhook deliveries run at most 4 at once; flush and close with a deadline do not hang on a silent endpoint', async () => {
  const silent = await silentEndpoint();
  try {
    const webhooks = Array.from({ length: 6 }, (_, i) => ({ url: `${silent.url}/hook/${i}`, secret: `s${i}` }));
    const failures = [];
    const pool = new Pool({ limit: nanos(100), alerts: { thresholds_pct: [50] } }, { webhooks, onWebhookError: (e) => failures.push(e) });
    pool.settle(pool.reserve('a', nanos(50)).id, nanos(50));
    await sleepMs(300);
    assert.equal(silent.got.length, 4, 'four under way, two queued');
    assert.equal(silent.maxOpen, 4);
    let started = Date.now();
    const e = await pool.flush(200).then(
      () => assert.fail('flush should not resolve'),
      (err) => err,
    );
    assert.ok(Date.now() - started < 2000, 'flush gave up at its deadline');
    assert.ok(e instanceof WebhookTimeoutError && e instanceof WebhookError, `${e?.name}`);
    assert.equal(e.code, 'webhook_timeout');
    assert.equal(e.pending, 6);
    assert.equal(e.timeoutMs, 200);
    assert.equal(silent.got.length, 4, 'flush leaves the deliveries going');
    started = Date.now();
    const e2 = await pool.close({ timeoutMs: 200 }).then(
      () => assert.fail('close should not resolve'),
      (err) => err,
    );
    assert.ok(Date.now() - started < 2000, 'close gave up at its deadline');
    assert.ok(e2 instanceof WebhookTimeoutError, `${e2?.name}`);
    // The pending deliveries were abandoned: the requests aborted, the queue dropped.
    await pool.flush(2000);
    for (let i = 0; i < 20 && silent.open > 0; i++) await sleepMs(50);
    assert.equal(silent.open, 0, 'the requests were aborted');
    assert.equal(silent.got.length, 4, 'the queued deliveries never started');
    assert.deepEqual(failures, [], 'an abandoned delivery is reported by close, not onWebhookError');
    // After close, alerts still reach callbacks but no webhook.
    pool.settle(pool.reserve('a', nanos(50)).id, nanos(50));
    await pool.flush(100);
    assert.equal(silent.got.length, 4);
    assert.equal(pool.usage.settled.nanos, 100n, 'the books stay usable');
  } finally {
    await silent.close();
  }
});

test('flush and close without a deadline resolve once deliveries finish', async () => {
  const pool = new Pool({ limit: nanos(100) });
  await pool.flush();
  await pool.flush({ timeoutMs: 10 });
  await pool.close(10);
  await assert.rejects(pool.flush(-1), (e) => e.type === 'invalid_argument');
});

test('webhook endpoints follow the core rule: an empty secret or a non-http URL is refused, showing only the origin', () => {
  const config = { limit: nanos(USD) };
  for (const [url, secret] of [
    ['https://hooks.example.com/services/T0/B0/XSECRET', ''],
    ['ftp://files.example.com/XSECRET', 's3cret'],
    ['https:///XSECRET', 's3cret'],
  ]) {
    assert.throws(
      () => new Pool(config, { webhooks: [{ url, secret }] }),
      (e) => e instanceof CreditpoolError && e.code === 'invalid_options' && !e.message.includes('XSECRET'),
      url,
    );
  }
  const ok = new Pool(config, { webhooks: [{ url: 'https://hooks.example.com/services/T0/B0/XSECRET', secret: 's3cret' }] });
  assert.ok(!inspect(ok).includes('XSECRET'));
});
