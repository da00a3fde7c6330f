// The runner of the `money` vectors (tests/vectors/money/), as
// crates/creditpool-core/tests/vectors_money.rs runs them: usd(), nanos(),
// an amount option (the package's own check) and the formatting, through
// the public API.
import { InvalidOptionsError, Money, nanos, usd } from 'creditpool';
import { moneyOf } from '../../src/money.js';

function valueOf(i) {
  if (i.integer !== undefined) return BigInt(i.integer);
  if (i.money !== undefined) return nanos(BigInt(i.money));
  return i.value;
}

export function checkMoney(c) {
  const i = c.input;
  let actual;
  try {
    let m;
    if (i.rule === 'format') m = nanos(BigInt(i.nanos));
    else if (i.rule === 'usd') m = usd(valueOf(i));
    else if (i.rule === 'nanos') m = nanos(valueOf(i));
    else m = moneyOf(valueOf(i), i.argument);
    if (!(m instanceof Money)) return 'not a Money';
    if (String(m) !== m.usd || `${m}` !== m.usd) return `String() ${String(m)} is not usd ${m.usd}`;
    actual = { nanos: String(m.nanos), dollars: m.dollars, usd: m.usd };
  } catch (e) {
    if (!(e instanceof InvalidOptionsError)) throw e;
    if (e.code !== 'invalid_options') return `code ${e.code}`;
    actual = { error: { reason: e.reason, argument: e.argument, message: e.message } };
  }
  const a = JSON.stringify(actual);
  const want = JSON.stringify(c.expected.error ? { error: { reason: c.expected.error.reason, argument: c.expected.error.argument, message: c.expected.error.message } } : { nanos: c.expected.nanos, dollars: c.expected.dollars, usd: c.expected.usd });
  return a === want ? null : `got ${a}, expected ${want}`;
}

/**
 * A core PoolConfig JSON (integer nano-USD, as the vectors write it) as the
 * package's Pool takes it: every amount a Money (the core's amount paths).
 */
export function moneyConfig(config) {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) return config;
  const wrap = (v) => (typeof v === 'number' || typeof v === 'bigint' ? nanos(BigInt(v)) : v);
  const policy = (p) => {
    if (p === null || typeof p !== 'object') return p;
    const out = { ...p };
    if (out.cap && typeof out.cap === 'object' && out.cap.amount !== undefined) out.cap = { ...out.cap, amount: wrap(out.cap.amount) };
    if (out.credits_per_minute !== undefined && out.credits_per_minute !== null) out.credits_per_minute = wrap(out.credits_per_minute);
    return out;
  };
  const out = { ...config, limit: wrap(config.limit) };
  if (config.agents && typeof config.agents === 'object') out.agents = Object.fromEntries(Object.entries(config.agents).map(([k, p]) => [k, policy(p)]));
  if (config.default_agent) out.default_agent = policy(config.default_agent);
  return out;
}

/** The package's `nanos` (vectors.test.js has a `nanos` of its own). */
export const nanoMoney = nanos;
