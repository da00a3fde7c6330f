// Loading and comparing the cross-language vectors in tests/vectors/, as
// crates/creditpool-core/tests/common/mod.rs does for the Rust suite.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's tests/vectors/ directory. */
export const VECTORS_DIR = fileURLToPath(new URL('../../../tests/vectors/', import.meta.url));

function collect(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.json')) out.push(path);
  }
  return out;
}

/** Every vector file: `{path, rel, text, doc}`, sorted by path. */
export function vectorFiles() {
  return collect(VECTORS_DIR, []).map((path) => {
    const text = readFileSync(path, 'utf8');
    return { path, rel: relative(VECTORS_DIR, path), text, doc: JSON.parse(text) };
  });
}

/** Every case of `kind`: `{file, name, input, expected, meta, index}`. */
export function loadKind(kind, files = vectorFiles()) {
  const cases = [];
  for (const f of files) {
    if (f.doc.kind !== kind) continue;
    const { cases: list, ...meta } = f.doc;
    if (!Array.isArray(list)) throw new Error(`${f.rel}: no cases array`);
    list.forEach((c, index) => {
      if (typeof c.name !== 'string') throw new Error(`${f.rel}: case without a name`);
      cases.push({ file: f.rel, name: c.name, input: c.input, expected: c.expected, meta, index });
    });
  }
  return cases;
}

/**
 * Runs `check(case)` on every case of `kind` (a returned string is a failure,
 * as is a throw) and throws one error listing every failure. Fails when no
 * case of that kind exists. Returns the number of cases.
 */
export function runKind(kind, check, files) {
  const cases = loadKind(kind, files);
  if (cases.length === 0) throw new Error(`no vectors of kind ${JSON.stringify(kind)} in ${VECTORS_DIR}`);
  const failures = [];
  for (const c of cases) {
    try {
      const result = check(c);
      if (typeof result === 'string') failures.push(`${c.file} / ${c.name}: ${result}`);
    } catch (e) {
      failures.push(`${c.file} / ${c.name}: threw ${e && e.stack ? e.stack : e}`);
    }
  }
  if (failures.length > 0) {
    throw new Error(`${failures.length} of ${cases.length} ${kind} vectors failed:\n${failures.slice(0, 40).join('\n')}`);
  }
  return cases.length;
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const show = (v) => (typeof v === 'bigint' ? `${v}n` : JSON.stringify(v));

/**
 * Compares two JSON values, an object key whose value is null counting as
 * absent. Returns a description of the first difference, or null.
 */
export function jsonDiff(path, actual, expected) {
  const a = actual === undefined ? null : actual;
  const e = expected === undefined ? null : expected;
  if (isObject(a) && isObject(e)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(e)])].sort();
    for (const k of keys) {
      const d = jsonDiff(`${path}.${k}`, a[k], e[k]);
      if (d) return d;
    }
    return null;
  }
  if (Array.isArray(a) && Array.isArray(e)) {
    if (a.length !== e.length) return `${path}: array length ${a.length} != expected ${e.length}`;
    for (let i = 0; i < a.length; i++) {
      const d = jsonDiff(`${path}[${i}]`, a[i], e[i]);
      if (d) return d;
    }
    return null;
  }
  if (a === e) return null;
  return `${path}: got ${show(a)}, expected ${show(e)}`;
}

/** Like jsonDiff, but keys of `actual`'s objects that `expected` lacks are ignored. */
export function jsonSubsetDiff(path, actual, expected) {
  if (isObject(actual) && isObject(expected)) {
    for (const [k, ev] of Object.entries(expected)) {
      const d = jsonSubsetDiff(`${path}.${k}`, actual[k], ev);
      if (d) return d;
    }
    return null;
  }
  if (Array.isArray(actual) && Array.isArray(expected)) {
    if (actual.length !== expected.length) return `${path}: array length ${actual.length} != expected ${expected.length}`;
    for (let i = 0; i < actual.length; i++) {
      const d = jsonSubsetDiff(`${path}[${i}]`, actual[i], expected[i]);
      if (d) return d;
    }
    return null;
  }
  return jsonDiff(path, actual, expected);
}

/**
 * A JSON reader that keeps integers and floats apart, as serde_json does:
 * every number becomes `{num: text, float: bool}` (float when written with a
 * fraction or an exponent, or beyond the 64-bit integer range).
 */
export function parseTagged(text) {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const fail = (what) => {
    throw new Error(`tagged JSON: ${what} at ${i}`);
  };
  const value = () => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const out = {};
      ws();
      if (text[i] === '}') {
        i++;
        return out;
      }
      for (;;) {
        ws();
        const k = string();
        ws();
        if (text[i++] !== ':') fail('expected :');
        out[k] = value();
        ws();
        const d = text[i++];
        if (d === '}') return out;
        if (d !== ',') fail('expected , or }');
      }
    }
    if (c === '[') {
      i++;
      const out = [];
      ws();
      if (text[i] === ']') {
        i++;
        return out;
      }
      for (;;) {
        out.push(value());
        ws();
        const d = text[i++];
        if (d === ']') return out;
        if (d !== ',') fail('expected , or ]');
      }
    }
    if (c === '"') return string();
    if (text.startsWith('true', i)) return (i += 4), true;
    if (text.startsWith('false', i)) return (i += 5), false;
    if (text.startsWith('null', i)) return (i += 4), null;
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m) fail('unexpected character');
    i += m[0].length;
    const num = m[0];
    let float = m[2] !== undefined || m[3] !== undefined;
    if (!float) {
      const n = BigInt(num);
      if (n > 18446744073709551615n || n < -9223372036854775808n) float = true;
    }
    return { num, float };
  };
  const string = () => {
    if (text[i] !== '"') fail('expected a string');
    const start = i;
    i++;
    while (text[i] !== '"') {
      if (text[i] === '\\') i++;
      i++;
      if (i >= text.length) fail('unterminated string');
    }
    i++;
    return JSON.parse(text.slice(start, i));
  };
  const v = value();
  ws();
  if (i !== text.length) fail('trailing characters');
  return v;
}

/** Compares two tagged values strictly: an integer never equals a float. */
export function strictDiff(path, actual, expected) {
  const isNum = (v) => isObject(v) && typeof v.num === 'string' && typeof v.float === 'boolean' && Object.keys(v).length === 2;
  if (isNum(actual) || isNum(expected)) {
    if (isNum(actual) && isNum(expected) && actual.float === expected.float && Number(actual.num) === Number(expected.num)) {
      return null;
    }
    return `${path}: got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`;
  }
  if (Array.isArray(actual) && Array.isArray(expected) && actual.length === expected.length) {
    for (let i = 0; i < actual.length; i++) {
      const d = strictDiff(`${path}[${i}]`, actual[i], expected[i]);
      if (d) return d;
    }
    return null;
  }
  if (isObject(actual) && isObject(expected) && Object.keys(actual).length === Object.keys(expected).length) {
    for (const [k, v] of Object.entries(actual)) {
      if (!(k in expected)) return `${path}: unexpected key ${JSON.stringify(k)}`;
      const d = strictDiff(`${path}.${k}`, v, expected[k]);
      if (d) return d;
    }
    return null;
  }
  if (actual === expected) return null;
  return `${path}: got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`;
}

/** Knuth's MMIX LCG, as the Rust sse_decode runner uses for split points. */
export class Lcg {
  constructor(seed) {
    this.state = BigInt.asUintN(64, BigInt(seed));
  }
  next() {
    this.state = BigInt.asUintN(64, this.state * 6364136223846793005n + 1442695040888963407n);
    return this.state >> 33n;
  }
  below(n) {
    return Number(this.next() % BigInt(Math.max(n, 1)));
  }
}

/** The split points the Rust sse_accumulate runner uses for a seed. */
export function accumulateSplits(len, seed, n) {
  let x = BigInt.asUintN(64, BigInt(seed) * 6364136223846793005n + 1442695040888963407n);
  const cuts = [];
  for (let k = 0; k < n; k++) {
    x = BigInt.asUintN(64, x * 6364136223846793005n + 1442695040888963407n);
    cuts.push(Number((x >> 33n) % BigInt(Math.max(len, 1))));
  }
  cuts.sort((a, b) => a - b);
  return cuts.filter((c, i) => i === 0 || c !== cuts[i - 1]);
}

/** Decodes standard base64. */
export function b64decode(s) {
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}
