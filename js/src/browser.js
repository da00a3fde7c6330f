// The package's entry point in browsers (and other hosts without the "node"
// export condition): the glue fetches the wasm next to it, with a URL that
// bundlers understand (`new URL(..., import.meta.url)`).
import init from '../wasm/creditpool.js';
import { runtime } from './runtime.js';
import { connect } from './wasm.js';

await init({ module_or_path: new URL('../wasm/creditpool_bg.wasm', import.meta.url) });
connect();
runtime.name = 'browser';
runtime.browser =
  typeof document !== 'undefined' || (typeof self !== 'undefined' && typeof self.importScripts === 'function');

export * from './index.js';
