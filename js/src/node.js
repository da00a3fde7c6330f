// The package's entry point in Node 18+: the wasm bytes are read from the
// package directory and instantiated synchronously, so that the module is
// ready when this import resolves.
import { appendFileSync, readFileSync } from 'node:fs';
import { initSync } from '../wasm/creditpool.js';
import { runtime } from './runtime.js';
import { connect } from './wasm.js';

initSync({ module: readFileSync(new URL('../wasm/creditpool_bg.wasm', import.meta.url)) });
connect();
runtime.name = 'node';
runtime.browser = false;
runtime.env = (name) => process.env[name];
runtime.appendFile = (path, text) => appendFileSync(path, text);

export * from './index.js';
