// The package's entry point in Node 18+: the wasm bytes are read from the
// package directory and instantiated synchronously, so that the module is
// ready when this import resolves.
import { appendFileSync, readFileSync } from 'node:fs';
import { runtime } from './runtime.js';
import { connect, glue, missingModule } from './wasm.js';

let bytes;
try {
  bytes = readFileSync(new URL('../wasm/creditpool_bg.wasm', import.meta.url));
} catch (e) {
  throw e?.code === 'ENOENT' ? missingModule('wasm/creditpool_bg.wasm', e) : e;
}
glue.initSync({ module: bytes });
connect();
runtime.name = 'node';
runtime.browser = false;
runtime.env = (name) => process.env[name];
runtime.appendFile = (path, text) => appendFileSync(path, text);

export * from './index.js';
