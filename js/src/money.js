// Money: one type, `Money`, for every amount the package takes or gives.
// Exact bigint nano-USD inside (1 USD = 10^9). Make one with `usd(...)`
// (dollars: `usd(5)`, `usd('0.50')`) or `nanos(...)` (whole nano-dollars:
// `nanos(1500)`, `nanos(1500n)`); an amount option also takes a string with
// its dollar sign (`'$5'`). A bare number is never an amount:
// `new Pool({limit: 5})` throws an InvalidOptionsError saying how to write
// it. The rules and their words are the core's (`creditpool_core::money`).
import { call, glue } from './wasm.js';

const TOKEN = Symbol('money');
const MAX = (1n << 64n) - 1n;

/**
 * An exact amount of money, never negative: `nanos` (bigint nano-USD),
 * `usd` and `String(m)` (`"$1.50"`), `dollars` (the exact decimal string,
 * `"1.5"`). Compare with `equals` / `compare` (or the `nanos`), combine with
 * `plus`, `minus` (never below zero) and `times`. `JSON.stringify` writes
 * `"$1.5"` (exact, and accepted back as an amount). Using one as a number
 * (`a < b`, `+a`) throws: the unit would be lost.
 */
export class Money {
  /** Exact nano-USD. */
  nanos;
  /** For display: dollars with at least two decimals (`"$1.50"`). */
  usd;

  constructor(token, nanos, usdText) {
    if (token !== TOKEN) throw new TypeError('make money with usd(...) (dollars) or nanos(...) (nano-dollars)');
    this.nanos = nanos;
    this.usd = usdText ?? call(() => glue.formatUsd(nanos));
    Object.freeze(this);
  }

  /** The exact amount in dollars, no needless digit (`"1.5"`, `"0"`). */
  get dollars() {
    return call(() => glue.dollarsString(this.nanos));
  }

  toString() {
    return this.usd;
  }

  toJSON() {
    return `$${this.dollars}`;
  }

  [Symbol.toPrimitive](hint) {
    if (hint === 'number') throw new TypeError('Money is not a number: compare with a.compare(b) or a.nanos, add with a.plus(b)');
    return this.usd;
  }

  [Symbol.for('nodejs.util.inspect.custom')]() {
    return `usd('${this.dollars}')`;
  }

  /** Whether `other` is the same amount. */
  equals(other) {
    return other instanceof Money && other.nanos === this.nanos;
  }

  /** -1, 0 or 1. */
  compare(other) {
    const n = otherNanos(other);
    return this.nanos < n ? -1 : this.nanos > n ? 1 : 0;
  }

  plus(other) {
    return fromNanos(this.nanos + otherNanos(other));
  }

  /** `this - other`; below zero throws an InvalidOptionsError. */
  minus(other) {
    return fromNanos(this.nanos - otherNanos(other));
  }

  /** `this * k` for an integer `k` (a number or bigint). */
  times(k) {
    if (typeof k === 'number' && Number.isSafeInteger(k)) k = BigInt(k);
    if (typeof k !== 'bigint') throw new TypeError('Money.times takes an integer');
    return fromNanos(this.nanos * k);
  }

  isZero() {
    return this.nanos === 0n;
  }

  /** Zero dollars. */
  static get ZERO() {
    return fromNanos(0n);
  }
}

function otherNanos(other) {
  if (!(other instanceof Money)) throw new TypeError('Money only combines with Money: write usd(...) or nanos(...)');
  return other.nanos;
}

/** A Money of `n` bigint nano-USD (checked by the core). */
function fromNanos(n) {
  if (n < 0n || n > MAX) return new Money(TOKEN, rule('nanos', 'nanos()', n), undefined);
  return new Money(TOKEN, n, undefined);
}

/** The module's factory: every amount it hands out. */
export function makeMoney(nanos, usdText) {
  return new Money(TOKEN, nanos, usdText);
}

/** A JS value as the core's AmountInput: [kind, text, nanos]. */
function sort(value) {
  if (value instanceof Money) return ['money', '', value.nanos];
  if (typeof value === 'bigint') return ['integer', String(value), undefined];
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return ['integer', Number.isSafeInteger(value) ? String(value) : BigInt(value).toString(), undefined];
    return ['number', String(value), undefined];
  }
  if (typeof value === 'string') return ['text', value, undefined];
  if (value === null) return ['other', 'null', undefined];
  if (value === undefined) return ['other', 'undefined', undefined];
  const name = typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value;
  return ['other', name === 'Object' ? 'object' : name, undefined];
}

function rule(which, argument, value) {
  const [kind, text, n] = sort(value);
  return call(() => glue.moneyRule(which, argument, kind, text, n));
}

/**
 * Dollars as Money, exact: `usd(5)`, `usd('0.50')`, `usd('$0.50')`,
 * `usd(0.1)` (a number by its shortest text: ten cents). Finer than a
 * nano-dollar, negative, not finite or beyond 2^64 - 1 nano-USD throws an
 * InvalidOptionsError; nothing is rounded.
 */
export function usd(dollars) {
  return fromNanos(rule('usd', 'usd()', dollars));
}

/** Whole nano-dollars (1 USD = 10^9) as Money: `nanos(1500)`, `nanos(1500n)`. */
export function nanos(n) {
  return fromNanos(rule('nanos', 'nanos()', n));
}

/**
 * An amount option as Money (the core's rule: a Money, or a string with its
 * dollar sign). Anything else throws an InvalidOptionsError naming
 * `argument` and saying how to write it.
 */
export function moneyOf(value, argument) {
  return fromNanos(rule('amount', argument, value));
}

/** An amount option as a bigint of nano-USD (for the core's JSON). */
export function amountNanos(value, argument) {
  return moneyOf(value, argument).nanos;
}

/**
 * A pool configuration (the core's PoolConfig, as JS data) with every
 * amount (the core's list of amount paths) checked and written as nano-USD.
 */
export function poolConfigNanos(config) {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) return config;
  const paths = call(() => glue.poolConfigAmounts()).map((p) => p.split('.'));
  const out = { ...config };
  const visit = (obj, path, at) => {
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return obj;
    const [head, ...rest] = path;
    const copy = { ...obj };
    const keys = head === '*' ? Object.keys(copy) : [head];
    for (const k of keys) {
      if (!Object.hasOwn(copy, k) || copy[k] === undefined || copy[k] === null) continue;
      const name = head === '*' ? `${at}[${JSON.stringify(k)}]` : at ? `${at}.${k}` : k;
      copy[k] = rest.length === 0 ? amountNanos(copy[k], name) : visit(copy[k], rest, name);
    }
    return copy;
  };
  let result = out;
  for (const p of paths) result = visit(result, p, '');
  return result;
}
