// The one place that calls into the wasm module. Every call goes through
// `call` (synchronous) or `callAsync` (a promise from the module), so that a
// Rust panic, which aborts the instance, surfaces as an InternalError: the
// module's panic hook reports the message before the trap, every pending
// promise is rejected with it, and every later call throws it.
// A static import (no top-level await), so that require() of the package
// keeps working where Node supports require(esm). A missing glue fails here
// with ERR_MODULE_NOT_FOUND naming wasm/creditpool.js; installing from a clone
// builds it first (js/scripts/prepare.mjs) or fails with what to run.
import * as glue from '../wasm/creditpool.js';
import { InternalError, makeError } from './errors.js';
import { makeMoney } from './money.js';

/**
 * The error for a package without its built module (a clone installed with
 * scripts skipped, or whose wasm/ was removed): names the command to run.
 */
export function missingModule(file, cause) {
  return new Error(
    `creditpool: the package's WebAssembly module (${file}) is missing: it is built, not checked in. ` +
      'In a clone of the repository run `bash scripts/build-wasm.sh` from its root (see docs/JS.md, ' +
      '"Build and install"), then import again; or install a packed release of the package.',
    { cause },
  );
}

export { glue };

let dead = null;
const pending = new Set();

function internalError(message) {
  return new InternalError(`creditpool internal error (please report it): ${message}`, { type: 'internal_error' });
}

/** Registers the error factory and the panic handler; called once after init. */
export function connect() {
  glue.setErrorFactory(makeError);
  glue.setMoneyFactory(makeMoney);
  glue.setPanicHandler((message) => {
    dead ??= internalError(message);
    for (const reject of pending) reject(dead);
    pending.clear();
  });
}

function translate(e) {
  if (e instanceof WebAssembly.RuntimeError) {
    dead ??= internalError(e.message);
    return dead;
  }
  return e;
}

/** Runs `fn` (a synchronous call into the module). */
export function call(fn) {
  if (dead) throw dead;
  try {
    return fn();
  } catch (e) {
    throw translate(e);
  }
}

/** Runs `fn`, which returns a promise from the module, and settles with it. */
export function callAsync(fn) {
  if (dead) return Promise.reject(dead);
  let promise;
  try {
    promise = fn();
  } catch (e) {
    return Promise.reject(translate(e));
  }
  return new Promise((resolve, reject) => {
    pending.add(reject);
    promise.then(
      (value) => {
        pending.delete(reject);
        resolve(value);
      },
      (e) => {
        pending.delete(reject);
        reject(translate(e));
      },
    );
  });
}
