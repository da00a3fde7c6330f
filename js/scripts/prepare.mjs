// npm's `prepare` step (run by `npm install ./js` from a clone, by `npm install`
// inside js/ and before `npm pack`): the package needs its WebAssembly module in
// wasm/, which a clone does not hold. When it is missing this builds it with the
// project's own scripts/build-wasm.sh (the repository next to this package, a
// Rust toolchain on PATH); when that cannot be done it fails the install with a
// message that says what to run, instead of an install that "succeeds" and an
// import that fails.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const pkg = fileURLToPath(new URL('../', import.meta.url));
const wasmFiles = ['wasm/creditpool.js', 'wasm/creditpool_bg.wasm'];
const missing = () => wasmFiles.filter((f) => !existsSync(pkg + f));

if (missing().length === 0) process.exit(0);

const buildScript = fileURLToPath(new URL('../../scripts/build-wasm.sh', import.meta.url));
const fail = (why) => {
  console.error(
    `creditpool: the WebAssembly module (js/${missing().join(', js/')}) is missing and ${why}.\n` +
      'creditpool: from the repository root run `bash scripts/build-wasm.sh` (needs a Rust toolchain; ' +
      'see docs/JS.md, "Build and install"), then install the package again.',
  );
  process.exit(1);
};

if (!existsSync(buildScript)) fail('this copy of the package has no scripts/build-wasm.sh next to it to build it');
const hasCargo = spawnSync('cargo', ['--version'], { stdio: 'ignore' }).status === 0;
if (!hasCargo) fail('cannot be built here: `cargo` (Rust) is not on PATH');

console.error('creditpool: building the WebAssembly module with scripts/build-wasm.sh (a few minutes the first time)');
const r = spawnSync('bash', [buildScript], { stdio: ['ignore', 2, 2] });
if (r.status !== 0) fail(`scripts/build-wasm.sh failed (exit ${r.status ?? r.signal}; its output is above)`);
if (missing().length > 0) fail('scripts/build-wasm.sh did not produce it');
