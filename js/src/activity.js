// Drawing a pool's activity dashboard in a page. The spec is the core's
// (`pool.chart()`, `pool.report().chart()`, `activityChartFromLedger`); this
// module only hands it to vega-embed, which is not a dependency of the
// package: pass it in (`{ vegaEmbed }`) or install it (`npm install
// vega-embed vega vega-lite`) and it is imported here, on first use only.
import { MissingDependencyError } from './errors.js';
import { argumentError } from './fail.js';
import { makeMoney } from './money.js';

export { MissingDependencyError };

const RENDER_OPTIONS = new Set(['vegaEmbed', 'embedOptions']);

/** The vega-embed function: injected, or `import('vega-embed')` on demand. */
async function embedFunction(injected) {
  if (injected !== undefined && injected !== null) {
    const fn = typeof injected === 'function' ? injected : (injected.default ?? injected.embed);
    if (typeof fn !== 'function') throw argumentError('vegaEmbed must be the vega-embed function (or its module)');
    return fn;
  }
  let mod;
  try {
    // A variable specifier, so that bundlers do not pull vega-embed into
    // builds that never draw.
    const name = 'vega-embed';
    mod = await import(/* @vite-ignore */ /* webpackIgnore: true */ name);
  } catch (cause) {
    if (typeof globalThis.vegaEmbed === 'function') return globalThis.vegaEmbed;
    throw new MissingDependencyError('renderActivity needs vega-embed: npm install vega-embed vega vega-lite, or pass { vegaEmbed }', {
      type: 'missing_dependency',
      dependency: 'vega-embed',
      cause,
    });
  }
  const fn = typeof mod === 'function' ? mod : (mod.default ?? mod.embed);
  if (typeof fn !== 'function') throw new MissingDependencyError('the vega-embed module has no embed function', { type: 'missing_dependency', dependency: 'vega-embed' });
  return fn;
}

/**
 * Draws an activity spec (a Vega-Lite v5 specification from the core) into
 * `element` (an element or a CSS selector) with vega-embed, as SVG by
 * default. Resolves to vega-embed's result (`{view, spec, finalize}`);
 * call `result.finalize()` before drawing again into the same element.
 *
 * `options.vegaEmbed`: the vega-embed function (or module); without it,
 * `import('vega-embed')`, else a global `vegaEmbed` (the bundle's script
 * tag), else a MissingDependencyError. `options.embedOptions`: vega-embed's
 * options, over `{ renderer: 'svg', actions: false }`.
 */
export async function renderActivity(element, spec, options = {}) {
  if (element === null || element === undefined || (typeof element !== 'string' && typeof element !== 'object')) {
    throw argumentError('renderActivity needs an element (or a CSS selector)');
  }
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw argumentError('renderActivity needs a Vega-Lite specification (an object, as pool.chart() returns)');
  }
  if (options === null || typeof options !== 'object') throw argumentError('renderActivity options must be an object');
  for (const key of Object.keys(options)) {
    if (!RENDER_OPTIONS.has(key)) throw argumentError(`unknown renderActivity option ${JSON.stringify(key)}`);
  }
  const embedOptions = options.embedOptions ?? {};
  if (typeof embedOptions !== 'object') throw argumentError('embedOptions must be an object (vega-embed options)');
  const embed = await embedFunction(options.vegaEmbed);
  return embed(element, spec, { renderer: 'svg', actions: false, ...embedOptions });
}

// ---------------------------------------------------------------- reports

const money = (v) => (v === null || v === undefined ? null : makeMoney(BigInt(v), undefined));
const withMoney = (entry, keys) => {
  const out = { ...entry };
  for (const k of keys) if (out[k] !== undefined) out[k] = money(out[k]);
  return Object.freeze(out);
};
const consumers = (list) => Object.freeze((list ?? []).map((c) => withMoney(c, ['cost'])));
const RAW_REPORT = new WeakMap();

/**
 * A pool's report for the current cycle (the core's `Report`), typed: every
 * amount is a `Money`. `toJSON()` is the core's JSON (integer nano-USD);
 * `chart()` the report's activity dashboard, drawn by the core; `text()` a
 * short summary.
 */
export class PoolReport {
  constructor(json, chart) {
    RAW_REPORT.set(this, { json, chart });
    this.pool_id = json.pool_id;
    this.at_ms = json.at_ms;
    this.cycle = json.cycle;
    this.limit = money(json.limit);
    this.settled = money(json.settled);
    this.reserved = money(json.reserved);
    this.available = money(json.available);
    this.overrun = money(json.overrun);
    this.requests = json.requests;
    this.conversation = money(json.conversation);
    this.agents = Object.freeze((json.agents ?? []).map((a) => withMoney(a, ['settled', 'reserved', 'cap'])));
    this.models = Object.freeze((json.models ?? []).map((m) => withMoney(m, ['cost'])));
    this.tools = Object.freeze((json.tools ?? []).map((t) => withMoney(t, ['definition', 'uses', 'result', 'total'])));
    const top = json.top ?? {};
    this.top = Object.freeze({ agents: consumers(top.agents), tools: consumers(top.tools), models: consumers(top.models) });
    this.definition_overhead = Object.freeze((json.definition_overhead ?? []).map((d) => withMoney(d, ['cost', 'per_request'])));
    this.bucket_ms = json.bucket_ms;
    this.series = Object.freeze((json.series ?? []).map((b) => withMoney(b, ['cost'])));
    this.history = Object.freeze(
      (json.history ?? []).map((h) => Object.freeze({ ...withMoney(h, ['limit', 'settled', 'overrun']), agents: consumers(h.agents) })),
    );
    Object.freeze(this);
  }

  /** The report's activity dashboard: a Vega-Lite v5 specification drawn by the core. */
  chart() {
    const { json, chart } = RAW_REPORT.get(this);
    return chart(json);
  }

  /** The core's Report JSON (amounts in integer nano-USD). */
  toJSON() {
    return RAW_REPORT.get(this).json;
  }

  /** A short plain-text summary. */
  text() {
    const lines = [`pool ${this.pool_id}: ${this.settled} settled, ${this.reserved} reserved of ${this.limit} (${this.requests} requests)`];
    for (const a of this.agents) {
      lines.push(`  agent ${a.agent}: ${a.settled} in ${a.requests} requests, ${a.refusals} refused${a.cap ? ` (cap ${a.cap})` : ''}`);
    }
    for (const m of this.models) lines.push(`  model ${m.model}: ${m.cost} in ${m.requests} requests`);
    for (const t of this.tools) lines.push(`  tool ${t.tool}: ${t.total}`);
    return lines.join('\n');
  }
}
