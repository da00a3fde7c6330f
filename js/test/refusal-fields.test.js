// Issue 13 (seams): a JS refusal carries the same fields as Python's
// PoolRefusedError: `reason` (the core's refusal reason), `details` (the
// core's refusal JSON, integer nano-USD) and each kind's own figures. The
// same table is checked in python/tests/test_refusal_fields.py.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentCapError, PoolExhaustedError, PoolRateLimitedError, PoolRefusedError, Pool, UnknownAgentError, nanos } from 'creditpool';

const USD = 1_000_000_000n;

/** The fields each refusal has in Python and JS alike (beside `code`, `type` and `message`). */
const FIELDS = {
  pool_exhausted: ['reason', 'details', 'requested', 'available'],
  agent_cap: ['reason', 'details', 'agent', 'cap', 'spent', 'reserved', 'requested'],
  rate_limited: ['reason', 'details', 'agent', 'which'],
  unknown_agent: ['reason', 'details', 'agent', 'known', 'suggestion'],
};

function refusal(fn) {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('not refused');
}

test('every refusal has reason and details, as in Python', () => {
  let t = 1_800_000_000_000;
  const pool = new Pool(
    { limit: nanos(10n * USD), agents: { capped: { cap: { kind: 'absolute', amount: nanos(USD) } }, slow: { requests_per_minute: 1 }, other: {} } },
    { now: () => t },
  );
  pool.reserve('slow', nanos(1n));
  const errors = {
    pool_exhausted: refusal(() => pool.reserve('other', nanos(11n * USD))),
    agent_cap: refusal(() => pool.reserve('capped', nanos(2n * USD))),
    rate_limited: refusal(() => pool.reserve('slow', nanos(1n))),
    unknown_agent: refusal(() => pool.reserve('otter', nanos(1n))),
  };
  const classes = { pool_exhausted: PoolExhaustedError, agent_cap: AgentCapError, rate_limited: PoolRateLimitedError, unknown_agent: UnknownAgentError };
  for (const [reason, e] of Object.entries(errors)) {
    assert.ok(e instanceof classes[reason] && e instanceof PoolRefusedError, `${reason}: ${e}`);
    assert.equal(e.reason, reason);
    assert.equal(e.type, reason);
    assert.equal(e.code, reason);
    for (const field of FIELDS[reason]) assert.ok(field in e && e[field] !== undefined, `${reason} lacks ${field}`);
    // `details` is the core's JSON: the reason and integer nano-USD.
    assert.equal(e.details.reason, reason);
    assert.equal(JSON.parse(JSON.stringify(e.toJSON())).reason, reason);
  }
  assert.equal(errors.pool_exhausted.details.requested, Number(11n * USD));
  assert.equal(errors.pool_exhausted.requested.nanos, 11n * USD);
  assert.equal(errors.agent_cap.details.cap, Number(USD));
  assert.equal(errors.unknown_agent.suggestion, 'other');
  t += 1;
});
