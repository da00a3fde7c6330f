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
  if (e !== null && typeof e === 'object' && e.partial instanceof glue.RawPartial) lazyPartial(e, partialReader(e.partial));
  return e;
}

/**
 * A failed call's `partial` (the message a failed stream received, up to the
 * stream cap) stays in the module until it is read: the property converts
 * it on first read (straight into JS values) and frees the module's copy.
 * Unread, it is freed with the error. So a caller who looks only at the
 * error's code never holds a second copy of the message in JS. `get` is a
 * `partialReader`; assigning `partial` replaces it with a plain value.
 */
export function lazyPartial(error, get) {
  Object.defineProperty(error, 'partial', {
    configurable: true,
    enumerable: true,
    get,
    set(value) {
      Object.defineProperty(this, 'partial', { value, writable: true, enumerable: true, configurable: true });
    },
  });
}

/**
 * A getter for a `RawPartial`: converts it on the first call (once, whoever
 * calls: an agent's outcome and its error share one) and frees the module's
 * copy.
 */
export function partialReader(raw) {
  let value;
  let taken = false;
  return () => {
    if (!taken) {
      value = call(() => raw.take());
      taken = true;
      raw.free();
    }
    return value;
  };
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
