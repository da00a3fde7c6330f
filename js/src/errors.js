// Error classes. Every error creditpool throws is an instance of
// CreditpoolError (a subclass of Error) with the core's stable `code` and its
// old `type`. The classes are the core's (crates/creditpool-core/src/codes.rs,
// generated into classes.js), so names and parents match Python's exactly;
// the wasm module builds each error through `makeError` with the class the
// core's table names for its code.
import * as generated from './classes.js';
import {
  APIConnectionError,
  APITimeoutError,
  BadRequestError,
  CreditpoolError,
  InvalidOptionsError,
  RequestBuildError,
  ResponseParseError,
  ToolInputInvalidError,
  WebhookError,
} from './classes.js';

export * from './classes.js';

/** The caller aborted (through an AbortSignal or `stream.abort()`). Code `aborted` (not in the core's table yet). */
export class AbortError extends CreditpoolError {
  static defaultCode = 'aborted';
}
/** An object used by two calls at once. Code `busy` (not in the core's table yet). */
export class BusyError extends CreditpoolError {
  static defaultCode = 'busy';
}
/**
 * `pool.flush(ms)` or `pool.close(ms)` passed its deadline with webhook
 * deliveries still pending (`pending`, `timeoutMs`). A WebhookError; code
 * `webhook_timeout` (the package's own, not in the core's table yet).
 */
export class WebhookTimeoutError extends WebhookError {
  static defaultCode = 'webhook_timeout';
}
/**
 * An optional package that a feature needs is not installed (`dependency`,
 * e.g. `vega-embed` for `renderActivity`). Code `missing_dependency` (the
 * package's own; Python's counterpart is MissingExtraError).
 */
export class MissingDependencyError extends CreditpoolError {
  static defaultCode = 'missing_dependency';
}
/** A JS argument of the wrong shape: an InvalidOptionsError (code `invalid_options`, `type` `invalid_argument`). */
export class InvalidArgumentError extends InvalidOptionsError {
  static defaultCode = 'invalid_options';
}

/** @deprecated Use `BadRequestError` (the same class). */
export const InvalidRequestError = BadRequestError;
/** @deprecated Use `APIConnectionError` (the same class). */
export const ConnectionError = APIConnectionError;
/** @deprecated Use `APITimeoutError` (the same class). */
export const ConnectionTimeoutError = APITimeoutError;
/** @deprecated Use `ResponseParseError` (the same class). */
export const ResponseError = ResponseParseError;
/** @deprecated Use `ToolInputInvalidError` (the same class). */
export const ToolInputError = ToolInputInvalidError;

/**
 * @deprecated Use `RequestBuildError` (a request that cannot be built) or
 * `InvalidOptionsError` (options of the wrong shape). Not a class of its own
 * any more: `e instanceof ConfigurationError` is true for both.
 */
export class ConfigurationError extends CreditpoolError {
  static [Symbol.hasInstance](value) {
    return value instanceof RequestBuildError || value instanceof InvalidOptionsError;
  }
}

/** Every class by name: the core's and the package's own. */
const BY_NAME = { ...generated, AbortError, BusyError, InvalidArgumentError, MissingDependencyError, WebhookTimeoutError };
delete BY_NAME.CLASSES;
delete BY_NAME.CODES;

/**
 * The error the core's table names for `code`: the class `className` (from
 * the wasm module's `classForCode`), with `code`, `type` and `fields`. Called
 * by the wasm module.
 */
export function makeError(className, code, type, message, fields) {
  const Class = BY_NAME[className] ?? CreditpoolError;
  return new Class(message, { ...(fields ?? {}), code, type });
}
