// The errors the package itself raises (not the core's), kept out of the
// public exports.
import { AbortError, InvalidArgumentError, InvalidOptionsError } from './errors.js';

/** Options of the wrong shape, or another configuration fault (`kind`). */
export function optionsError(kind, message) {
  return new InvalidOptionsError(message, { code: 'invalid_options', type: 'configuration_error', kind });
}

/** A JS argument of the wrong shape. */
export function argumentError(message) {
  return new InvalidArgumentError(message, { type: 'invalid_argument' });
}

/**
 * The caller aborted. `signal` (optional) is the AbortSignal that fired: its
 * `reason`, whatever it is (an Error, a string, the default AbortError
 * DOMException), is kept as the error's `reason` and `cause`.
 */
export function abortError(message = 'the request was aborted', signal = undefined) {
  if (signal === undefined || !signal.aborted) return new AbortError(message, { type: 'aborted' });
  const reason = signal.reason;
  return new AbortError(`${message}: ${describeReason(reason)}`, { type: 'aborted', reason, cause: reason });
}

/** A short description of an abort reason for a message. */
function describeReason(reason) {
  if (reason === undefined) return 'no reason given';
  if (reason !== null && typeof reason === 'object' && typeof reason.message === 'string') {
    return reason.message === '' ? String(reason.name ?? 'Error') : reason.message;
  }
  return String(reason).slice(0, 200);
}
