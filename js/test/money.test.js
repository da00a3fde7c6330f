// Issue 13 item 1 (money units) and the money parts of item 11, in JS: a bare
// number is never an amount; every amount in and out is a Money. Item 8:
// the outcome and the report are typed classes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { AgentCapError, AgentOutcome, InvalidOptionsError, Money, Pool, PoolRefusedError, PoolReport, nanos, usd } from 'creditpool';

const bare = (argument, v) => `${argument}=${v}: a bare number is not an amount of money; write usd(${v}) for ${v} dollars or nanos(${v}) for ${v} nano-dollars`;

test('a bare number is refused, saying both spellings (new Pool({limit: 5}) was five nano-dollars)', () => {
  const cases = [
    [() => new Pool({ limit: 5 }), 'limit', '5'],
    [() => new Pool({ limit: 5n }), 'limit', '5'],
    [() => new Pool({ limit: usd(5), agents: { a: { cap: { kind: 'absolute', amount: 1 } } } }), 'agents["a"].cap.amount', '1'],
    [() => new Pool({ limit: usd(5), default_agent: { credits_per_minute: 3 } }), 'default_agent.credits_per_minute', '3'],
    [() => new Pool({ limit: usd(5) }).reserve('a', 2), 'amount', '2'],
    [() => new Pool({ limit: usd(5) }).settle(1, 4), 'cost', '4'],
    [() => new Pool({ limit: usd(5) }).setLimit(7), 'limit', '7'],
  ];
  for (const [make, argument, v] of cases) {
    assert.throws(make, (e) => {
      assert.ok(e instanceof InvalidOptionsError, String(e));
      assert.equal(e.message, bare(argument, v));
      assert.equal(e.code, 'invalid_options');
      assert.equal(e.argument, argument);
      assert.equal(e.reason, 'bare_number');
      return true;
    });
  }
  assert.throws(() => new Pool({ limit: 0.5 }), (e) => e.message === 'limit=0.5: a bare number is not an amount of money; write usd(0.5) for 0.5 dollars');
  assert.throws(() => new Pool({ limit: '5' }), (e) => e instanceof InvalidOptionsError && e.message === 'limit="5": a string amount needs its unit; write usd("5") or "$5" for 5 dollars');
});

test('every spelling of five dollars is the same money, exact', () => {
  const five = nanos(5_000_000_000n);
  for (const m of [usd(5), usd('5'), usd('$5.00'), usd(5.0), usd('5e0'), nanos(5_000_000_000)]) assert.ok(m.equals(five), String(m));
  assert.ok(new Pool({ limit: '$5' }).usage.limit.equals(five));
  assert.ok(usd(0.1).plus(usd(0.2)).equals(usd('0.3')));
  assert.throws(() => usd('0.0000000001'), (e) => e instanceof InvalidOptionsError && /finer than a nano-dollar/.test(e.message));
  assert.throws(() => nanos(1.5), (e) => e instanceof InvalidOptionsError && /nano-dollars are whole/.test(e.message));
  assert.throws(() => usd(1).minus(usd(2)), InvalidOptionsError);
  assert.throws(() => usd(1) < usd(2), TypeError); // no silent comparison of display strings
  assert.equal(usd(1).compare(usd(2)), -1);
  assert.equal(`${usd('1.5')}`, '$1.50');
  assert.equal(JSON.stringify({ a: usd('1.5') }), '{"a":"$1.5"}');
  assert.equal(inspect(usd('1.5')), "usd('1.5')");
  assert.throws(() => new Money(5n), TypeError);
  assert.equal(Money.ZERO.usd, '$0.00'); // item 11: never $0E-9
  assert.equal(Money.ZERO.dollars, '0');
});

test('what a pool hands out is Money, and its report is a typed PoolReport', () => {
  const pool = new Pool({ limit: usd(10), agents: { a: { cap: { kind: 'absolute', amount: usd(3) } } } });
  const r = pool.reserve('a', usd(2));
  assert.ok(r.amount instanceof Money && r.amount.equals(usd(2)));
  const s = pool.settle(r.id, usd('0.5'));
  assert.ok(s.cost.equals(usd('0.5')) && s.refunded.equals(usd('1.5')));
  const report = pool.report();
  assert.ok(report instanceof PoolReport);
  for (const k of ['limit', 'settled', 'reserved', 'available', 'overrun', 'conversation']) assert.ok(report[k] instanceof Money, k);
  assert.ok(report.settled.equals(usd('0.5')) && report.available.equals(usd('9.5')));
  assert.ok(report.agents[0].settled.equals(usd('0.5')) && report.agents[0].cap.equals(usd(3)));
  assert.equal(report.toJSON().settled, 500_000_000); // the core's JSON stays integer nano-USD
  assert.equal(typeof report.chart(), 'object');
  assert.match(report.text(), /\$0\.50 settled/);
  assert.throws(() => pool.reserve('a', usd(5)), (e) => e instanceof AgentCapError && e.cap instanceof Money && e.cap.equals(usd(3)));
});

test('an outcome is a typed AgentOutcome: Money amounts, the refusal a real PoolRefusedError', () => {
  const refusal = new AgentCapError('agent "a" is over its cap', { code: 'agent_cap' });
  const json = { status: 'pool_refused', agent_id: 'a', final_text: '', turns: [], total_cost: 0, estimated_cost: 0, attribution: { conversation: 0, tools: [['search', 1500]] }, transcript: [], code: 'agent_cap', refusal: { reason: 'agent_cap' } };
  const outcome = new AgentOutcome(json, refusal);
  assert.ok(outcome.refusal instanceof PoolRefusedError && outcome.error === refusal && !outcome.ok);
  assert.equal(String(outcome.total_cost), '$0.00');
  assert.ok(outcome.tool_costs.search.equals(nanos(1500))); // item 11: not raw nano-USD
  assert.throws(() => outcome.raiseForStatus(), AgentCapError);
  assert.deepEqual(outcome.toJSON(), json);
  assert.ok(Object.isFrozen(outcome));
});
