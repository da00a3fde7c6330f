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

/** The caller aborted. */
export function abortError(message = 'the request was aborted') {
  return new AbortError(message, { type: 'aborted' });
}
