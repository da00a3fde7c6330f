// Error classes. Every error creditpool throws is an instance of
// CreditpoolError (a subclass of Error) with a machine-readable `type`;
// errors the API reported are APIError subclasses chosen by the API's own
// error type. The wasm module builds them through `makeError`.

/** The base class of every error creditpool throws. */
export class CreditpoolError extends Error {
  /**
   * @param {string} message
   * @param {object} [fields] `type` and any structured fields.
   */
  constructor(message, fields = {}) {
    super(message);
    this.name = new.target.name;
    /** A machine-readable kind, stable across versions. */
    this.type = fields.type ?? 'creditpool_error';
    for (const [key, value] of Object.entries(fields)) {
      if (key !== 'type' && key !== 'message' && key !== 'name' && key !== 'stack') this[key] = value;
    }
  }

  /** The error as a plain object: `type`, `name`, `message` and its fields. */
  toJSON() {
    const out = { type: this.type, name: this.name, message: this.message };
    for (const [key, value] of Object.entries(this)) {
      if (!(key in out)) out[key] = value;
    }
    return out;
  }
}

/**
 * An error the API reported: an error status, or an `error` event in a stream.
 * `type` is the API's error type (`overloaded_error`, ...), `status` the HTTP
 * status (`null` for an error event mid-stream), `requestId` the request ID,
 * `apiMessage` the API's own message, and `partial` the message received
 * before a stream failed.
 */
export class APIError extends CreditpoolError {}
/** 400 `invalid_request_error`, or a request refused before it was sent (`status` null). */
export class InvalidRequestError extends APIError {}
/** 401 `authentication_error`. */
export class AuthenticationError extends APIError {}
/** 402 `billing_error`. */
export class BillingError extends APIError {}
/** 403 `permission_error`. */
export class PermissionDeniedError extends APIError {}
/** 404 `not_found_error`. */
export class NotFoundError extends APIError {}
/** 409 `conflict_error`. */
export class ConflictError extends APIError {}
/** 413 `request_too_large`. */
export class RequestTooLargeError extends APIError {}
/** 429 `rate_limit_error`: the organization's API rate limit. */
export class RateLimitError extends APIError {}
/** 500 `api_error`. */
export class InternalServerError extends APIError {}
/** 504 `timeout_error`. */
export class ServerTimeoutError extends APIError {}
/** 529 `overloaded_error`. */
export class OverloadedError extends APIError {}

/** The client's settings are invalid (`kind` says which rule). */
export class ConfigurationError extends CreditpoolError {}
/** The connection failed (refused, reset, DNS, TLS, CORS). */
export class ConnectionError extends CreditpoolError {}
/** A timer ran out (`phase`: `connect`, `read` or `idle`). */
export class ConnectionTimeoutError extends ConnectionError {}
/** The caller aborted (through an AbortSignal or `stream.abort()`). */
export class AbortError extends CreditpoolError {}
/** A response that cannot be read (`malformed_response`, `response_too_large`). */
export class ResponseError extends CreditpoolError {}
/** A stream that cannot be read (`stream_malformed`, `stream_protocol`, `event_too_large`). */
export class StreamError extends CreditpoolError {}
/** A stream that ended early; `partial` holds the message received so far. */
export class StreamIncompleteError extends StreamError {}
/** A tool definition that breaks a rule (`rule`, `tool`, ...). */
export class ToolDefinitionError extends CreditpoolError {}
/**
 * A `tool_use` call that must not run (`kind`: `unknown_tool`,
 * `invalid_input`, `truncated`); `toolResultText` is what the model reads.
 */
export class ToolInputError extends CreditpoolError {}
/** A price that cannot be determined (`kind`). */
export class PricingError extends CreditpoolError {}
/** A model the price table does not know (`model`). */
export class UnknownModelError extends PricingError {}
/** A request parameter the model would refuse (`kind`, `model`, ...). */
export class CapabilityError extends CreditpoolError {}
/** Cut-off JSON that cannot be salvaged (`kind`). */
export class PartialJsonError extends CreditpoolError {}
/**
 * The pool refused a reservation (`type` is the reason). A refusal is an
 * answer, not a failure: the fields say why (money as `{nanos, usd}`).
 */
export class PoolRefusedError extends CreditpoolError {}
/** `pool_exhausted`: the pool cannot cover the amount (`requested`, `available`). */
export class PoolExhaustedError extends PoolRefusedError {}
/** `agent_cap`: the agent's cap for the cycle (`agent`, `cap`, `spent`, `reserved`, `requested`). */
export class AgentCapError extends PoolRefusedError {}
/** `rate_limited`: not yet; the same request is admitted at `retryAt` (Unix ms). */
export class PoolRateLimitedError extends PoolRefusedError {}
/** `fair_share`: the agent's fair share of what remains (`share`, `held`, `requested`). */
export class FairShareError extends PoolRefusedError {}
/** `unknown_agent`: the agent is not configured and unknown agents are not allowed. */
export class UnknownAgentError extends PoolRefusedError {}
/** A misuse of the pool, or a configuration or snapshot it cannot accept. */
export class PoolError extends CreditpoolError {}
/** `unknown_reservation`: no reservation with this `id` was made. */
export class UnknownReservationError extends PoolError {}
/** `invalid_config`: the pool's configuration or an agent policy (`reason`). */
export class PoolConfigError extends PoolError {}
/** `invalid_snapshot`, `unsupported_snapshot_version`: a snapshot that cannot be restored. */
export class PoolSnapshotError extends PoolError {}

/** An argument of the wrong shape. */
export class InvalidArgumentError extends CreditpoolError {}
/** An object used by two calls at once. */
export class BusyError extends CreditpoolError {}
/** A bug in creditpool; after one, the module refuses further calls. */
export class InternalError extends CreditpoolError {}

const API_CLASSES = {
  invalid_request_error: InvalidRequestError,
  authentication_error: AuthenticationError,
  billing_error: BillingError,
  permission_error: PermissionDeniedError,
  not_found_error: NotFoundError,
  conflict_error: ConflictError,
  request_too_large: RequestTooLargeError,
  rate_limit_error: RateLimitError,
  api_error: InternalServerError,
  timeout_error: ServerTimeoutError,
  overloaded_error: OverloadedError,
};

const CLASSES = {
  invalid_request_error: InvalidRequestError,
  configuration_error: ConfigurationError,
  connection_error: ConnectionError,
  connection_timeout: ConnectionTimeoutError,
  aborted: AbortError,
  malformed_response: ResponseError,
  response_too_large: ResponseError,
  stream_incomplete: StreamIncompleteError,
  stream_malformed: StreamError,
  stream_protocol: StreamError,
  event_too_large: StreamError,
  tool_definition_invalid: ToolDefinitionError,
  tool_input_invalid: ToolInputError,
  unknown_model: UnknownModelError,
  pricing_error: PricingError,
  capability_error: CapabilityError,
  partial_json_error: PartialJsonError,
  pool_exhausted: PoolExhaustedError,
  agent_cap: AgentCapError,
  rate_limited: PoolRateLimitedError,
  fair_share: FairShareError,
  unknown_agent: UnknownAgentError,
  unknown_reservation: UnknownReservationError,
  invalid_config: PoolConfigError,
  invalid_snapshot: PoolSnapshotError,
  unsupported_snapshot_version: PoolSnapshotError,
  invalid_argument: InvalidArgumentError,
  busy: BusyError,
  internal_error: InternalError,
};

/**
 * Builds the error for `type`. `family` is `"api"` for errors the API
 * reported, so that an error type this version does not know still becomes an
 * APIError. Called by the wasm module.
 */
export function makeError(type, message, fields, family) {
  const Class = family === 'api' ? (API_CLASSES[type] ?? APIError) : (CLASSES[type] ?? CreditpoolError);
  return new Class(message, { ...(fields ?? {}), type });
}
