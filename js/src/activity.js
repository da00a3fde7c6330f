// Drawing a pool's activity dashboard in a page. The spec is the core's
// (`pool.chart()`, `pool.report().chart()`, `activityChartFromLedger`); this
// module only hands it to vega-embed, which is not a dependency of the
// package: pass it in (`{ vegaEmbed }`) or install it (`npm install
// vega-embed vega vega-lite`) and it is imported here, on first use only.
import { MissingDependencyError } from './errors.js';
import { argumentError } from './fail.js';

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
