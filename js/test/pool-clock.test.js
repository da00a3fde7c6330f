// The pool's clock (issue 10, item 3): a time far beyond the latest the pool
// saw is a ClockJumpError that changes nothing, never a rollover; a settle at
// such a time still counts; advanceClock() accepts a legitimate long jump.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClockJumpError, Pool, PoolError, nanos } from 'creditpool';

const USD = 1_000_000_000n;
const DAY = 24 * 3_600 * 1_000;
const T0 = 1_795_000_000_000;

test('a clock a year ahead is refused with ClockJumpError and changes nothing', () => {
  const c = { t: T0 };
  const pool = new Pool({ limit: nanos(10n * USD) }, { now: () => c.t });
  const r = pool.reserve('a', nanos(2n * USD));
  c.t = T0 + 365 * DAY;
  for (const op of [() => pool.tick(), () => pool.reserve('a', nanos(1n)), () => pool.setLimit(nanos(USD))]) {
    assert.throws(op, (e) => e instanceof ClockJumpError && e instanceof PoolError && e.code === 'clock_jump' && /advance_clock/.test(e.message));
  }
  assert.equal(pool.usage.limit.nanos, 10n * USD);
  assert.equal(pool.usage.reserved.nanos, 2n * USD);
  // The in-flight settle is recorded, not answered as a duplicate.
  const s = pool.settle(r.id, nanos(USD));
  assert.equal(s.duplicate, false);
  assert.equal(pool.usage.settled.nanos, USD);
  // The host says the clock is right: the pool resumes in a new cycle.
  assert.equal(pool.advanceClock().rolledOver, true);
  assert.equal(pool.usage.settled.nanos, 0n);
  pool.reserve('a', nanos(USD));
});

test('a long weekend of idle is within the default allowance', () => {
  const c = { t: T0 };
  const pool = new Pool({ limit: nanos(10n * USD) }, { now: () => c.t });
  pool.reserve('a', nanos(USD));
  c.t = T0 + 4.5 * DAY;
  pool.tick();
  pool.reserve('a', nanos(USD));
});
