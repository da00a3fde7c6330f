// The core's functions, one by one, for callers who bring their own
// transport or want a single rule: building a request, reading a response or
// a stream, retry decisions, cut-off JSON, prices, tool checks, the call state
// machine. Data objects keep the core's JSON shape (snake_case, as the
// Messages API); amounts of money are `{ nanos: bigint, usd: string }`. The
// low-level machinery is exported from `creditpool/core` (lowlevel.js); the
// main entry keeps the user-level functions (prices, tool checks).
import { call, glue } from './wasm.js';
import { argumentError } from './fail.js';
import { plainJson } from './pool.js';
import { amountNanos } from './money.js';

/**
 * Headers as the core reads them, `[[name, value], ...]`, from an array of
 * pairs, a `Headers` object (or anything with `entries()`), a plain record,
 * or nothing.
 */
export function headerPairs(headers) {
  if (headers === undefined || headers === null) return [];
  if (Array.isArray(headers)) return headers;
  if (typeof headers.entries === 'function' && typeof headers.get === 'function') return [...headers.entries()];
  if (typeof headers === 'object') return Object.entries(headers).map(([k, v]) => [k, String(v)]);
  throw argumentError('headers must be an array of [name, value] pairs, a Headers object or a record');
}

/** Copies an options object without its `undefined` values. */
export function defined(obj) {
  const out = {};
  for (const [k, v] of Object.entries(obj ?? {})) if (v !== undefined) out[k] = v;
  return out;
}

/** The package version. */
export function version() {
  return call(() => glue.version());
}

/**
 * Builds the HTTP request for a Messages API body: `{method, path, headers:
 * [[name, value], ...], body: string, stream}`. `options` is the core's
 * request options (`anthropic_version`, `betas`, `browser`, `pool_selector`,
 * `extra_headers`). The headers include `x-api-key`: send them, do not log
 * them.
 */
export function buildRequest({ apiKey, options, request, stream = false, endpoint = 'messages' }) {
  return call(() => glue.buildRequest(apiKey ?? '', options ?? null, request, stream, endpoint));
}

/** Reads the response of `POST /v1/messages`; throws the API's error or a ResponseError. */
export function parseMessage(status, headers, body, { maxBodyBytes } = {}) {
  return call(() => glue.parseMessage(status, headerPairs(headers), body, maxBodyBytes));
}

/** Reads the response of `POST /v1/messages/count_tokens`: the input token count. */
export function parseCountTokens(status, headers, body, { maxBodyBytes } = {}) {
  return call(() => glue.parseCountTokens(status, headerPairs(headers), body, maxBodyBytes));
}

/** The APIError an SSE `error` event's data describes (returned, not thrown). */
export function parseErrorEvent(data) {
  return call(() => glue.parseErrorEvent(data));
}

/** What a response's headers say about rate limits and retrying, at `nowMs`. */
export function rateLimitInfo(headers, nowMs = Date.now()) {
  return call(() => glue.rateLimitInfo(headerPairs(headers), nowMs));
}

/** Whether and when to retry a failed attempt (the core's RetryPolicy). */
export class RetryPolicy {
  #inner;

  /** @param {object} [policy] `{max_retries, max_retry_after_ms, initial_backoff_ms, max_backoff_ms, jitter}` */
  constructor(policy) {
    this.#inner = call(() => new glue.RetryPolicy(policy ?? null));
  }

  /**
   * What to do after attempt `attempt` (0-based) failed with `failure` (the
   * core's Failure JSON). `headers` are the response's, or null without one.
   */
  decide({ attempt, failure, headers = null, jitterSeed, nowMs = Date.now() }) {
    const pairs = headers === null || headers === undefined ? null : headerPairs(headers);
    return call(() => this.#inner.decide(attempt, failure, pairs, jitterSeed, nowMs));
  }

  /** The backoff after attempt `attempt` (0-based), in ms. */
  backoffMs(attempt, jitterSeed) {
    return call(() => this.#inner.backoffMs(attempt, jitterSeed));
  }

  /** The policy as the core's JSON. */
  toJSON() {
    return call(() => this.#inner.toJSON());
  }
}

/** An incremental Server-Sent-Events decoder (WHATWG rules). */
export class SseDecoder {
  #inner;

  /** @param {{maxEventBytes?: number}} [options] */
  constructor({ maxEventBytes } = {}) {
    this.#inner = call(() => new glue.SseDecoder(maxEventBytes));
  }

  /** Hands over the next bytes (a Uint8Array, or a string as UTF-8). */
  feed(bytes) {
    call(() => this.#inner.feed(bytes));
  }

  /** The next event `{event, data, id, retry}`, or null when more bytes are needed. */
  next() {
    return call(() => this.#inner.next());
  }

  /** After the input ended: the next remaining event, or null at a clean end. */
  finish() {
    return call(() => this.#inner.finish());
  }
}

/** Decodes and accumulates one Messages API stream from its bytes. */
export class MessageStreamParser {
  #inner;

  /** @param {{maxEventBytes?: number}} [options] */
  constructor({ maxEventBytes } = {}) {
    this.#inner = call(() => new glue.MessageStreamParser(maxEventBytes));
  }

  /** Hands over the next bytes of the body. */
  feed(bytes) {
    call(() => this.#inner.feed(bytes));
  }

  /** Marks the end of the body. */
  endOfInput() {
    call(() => this.#inner.endOfInput());
  }

  /** The next API event, or null when more bytes are needed (or, after endOfInput, when drained). */
  next() {
    return call(() => this.#inner.next());
  }

  /** Applies every event available now without converting it; returns how many. */
  skipAvailable() {
    return call(() => this.#inner.skipAvailable());
  }

  /** The message so far (null before `message_start`). */
  get message() {
    return call(() => this.#inner.message);
  }

  /** Ends the stream: `{message, tool_input_issues}`, or throws its failure. */
  finish() {
    return call(() => this.#inner.finish());
  }
}

/** Parses JSON cut off anywhere: `{value, complete}`. */
export function parsePartialJson(text) {
  return call(() => glue.parsePartialJson(text));
}

/** Like parsePartialJson, with the value as JSON text: `{json, complete}`. */
export function parsePartialJsonText(text) {
  return call(() => glue.parsePartialJsonText(text));
}

/** A price table: the built-in, dated one, with overrides. */
export class PriceTable {
  #inner;

  /** The built-in table. */
  constructor(inner) {
    this.#inner = inner instanceof glue.PriceTable ? inner : call(() => new glue.PriceTable());
  }

  /** A table from a data file in the format of the built-in `prices.json`. */
  static fromJSON(json) {
    return new PriceTable(call(() => glue.PriceTable.fromJSON(typeof json === 'string' ? json : JSON.stringify(json))));
  }

  /** The date the prices were checked against the published ones. */
  get asOf() {
    return call(() => this.#inner.asOf);
  }

  /** Every model ID the built-in rows list. */
  get modelIds() {
    return call(() => this.#inner.modelIds);
  }

  /** A new table with `prices` (decimal strings, USD per million tokens) for `model`. */
  withOverride(model, prices) {
    return new PriceTable(call(() => this.#inner.withOverride(model, prices)));
  }

  /** What a response cost, per component, from its `usage`. */
  cost(model, usage, options) {
    return call(() => this.#inner.cost(model, usage, options ?? null));
  }

  /** The most `request` can cost; `bodyLen` is the UTF-8 length of the body sent. */
  worstCase(request, bodyLen, mode) {
    return call(() => this.#inner.worstCase(request, bodyLen, mode ?? null));
  }

  /** Throws a CapabilityError if the model would refuse a parameter of `request`. */
  checkRequest(request) {
    call(() => this.#inner.checkRequest(request));
  }
}

/** `cost` at the built-in table. */
export function cost(model, usage, options) {
  return call(() => glue.cost(model, usage, options ?? null));
}

/** `worstCase` at the built-in table. */
export function worstCase(request, bodyLen, mode) {
  return call(() => glue.worstCase(request, bodyLen, mode ?? null));
}

/** `checkRequest` at the built-in table. */
export function checkRequest(request) {
  call(() => glue.checkRequest(request));
}

/** Checks one custom tool definition; throws a ToolDefinitionError. */
export function checkTool(tool) {
  call(() => glue.checkTool(tool));
}

/** Checks a request's whole `tools` list; throws a ToolDefinitionError. */
export function checkTools(tools) {
  call(() => glue.checkTools(tools));
}

/** A request's `tools`, checked and compiled, for validating `tool_use` calls. */
export class ToolValidator {
  #inner;

  /** @param {object[]} tools a request's `tools` list */
  constructor(tools) {
    this.#inner = call(() => new glue.ToolValidator(tools));
  }

  /** The custom tools' names. */
  get names() {
    return call(() => this.#inner.names);
  }

  /** Throws a ToolInputError if the call `{id, name, input}` must not run. */
  check(toolUse, { truncated = false } = {}) {
    call(() => this.#inner.check(toolUse, truncated));
  }

  /** The `is_error` tool_result for a call that must not run, or null. */
  refusal(toolUse, { truncated = false } = {}) {
    return call(() => this.#inner.refusal(toolUse, truncated));
  }
}

/**
 * The activity dashboard of a pool's ledger (entries as `onLedger` hands them
 * out, in any order) as one Vega-Lite v5 specification; `options` is the
 * core's ActivityOptions JSON (`limit`, `thresholds_pct`, `cycle_start_ms`,
 * `title`).
 */
export function activityChart(ledger, options = null) {
  return call(() => glue.activityChart(ledger, activityOptions(options)));
}

/** ActivityOptions with its `limit` (a Money) as the core's nano-USD. */
function activityOptions(options) {
  if (options === null || options === undefined || typeof options !== 'object' || options.limit === undefined || options.limit === null) return options ?? null;
  return { ...options, limit: plainJson(amountNanos(options.limit, 'limit')) };
}

/**
 * The activity dashboard of any ledger as one Vega-Lite v5 specification:
 * `ledger` is an array of entries (as `onLedger` hands them out, or
 * `{entry, line}` pairs) or the JSON Lines text of a ledger file (parsed by
 * the core: a bad line throws an InvalidOptionsError with `what` `ledger` and
 * `line`). `options` is the core's ActivityOptions (`limit` a Money: `usd(40)`,
 * `thresholds_pct`, `cycle_start_ms`, `title`).
 */
export function activityChartFromLedger(ledger, options = null) {
  let entries;
  if (typeof ledger === 'string') {
    entries = call(() => glue.parseLedgerJsonl(ledger));
  } else if (Array.isArray(ledger)) {
    entries = ledger.map((e) => (e !== null && typeof e === 'object' && 'entry' in e && typeof e.line === 'string' ? e.entry : e));
  } else {
    throw argumentError('the ledger must be an array of ledger entries or JSON Lines text');
  }
  if (options !== null && options !== undefined && (typeof options !== 'object' || Array.isArray(options))) {
    throw argumentError('the activity options must be an object (the core\'s ActivityOptions) or null');
  }
  return call(() => glue.activityChart(plainJson(entries), options == null ? null : plainJson(activityOptions(options))));
}

/** The name of the error class the core raises for `code` (the core's `class_for_code`). */
export function classForCode(code) {
  return call(() => glue.classForCode(code));
}

/**
 * One Messages API call with retries, as the core's state machine, for
 * callers who drive it with their own transport (docs/ARCHITECTURE.md, "Driving
 * a call"): ask `nextAction(nowMs)`; on `send`, send the request, waiting no
 * longer than `deadline` for each input (past it: `handleTimeout(nowMs)`);
 * report the head with `handleHead`, then `handleBody`, or `handleChunk` while
 * `isReading` and `handleEnd`; report any transport failure raw with
 * `handleTransportError({type: "connection"})`; on `wait`, pass its `retry`
 * notice on and sleep; `takeResult()` once `done`.
 */
export class MessagesCall {
  #inner;

  /**
   * @param {{apiKey: string, requestOptions?: object, request: object, options?: object}} spec
   *   `requestOptions` as for buildRequest; `options` the core's CallOptions
   *   (`stream`, `retry`, `idle_timeout_ms`, `read_timeout_ms`,
   *   `max_body_bytes`, `max_event_bytes`, `jitter_seed`, `preflight`).
   *   Throws the preflight error (ToolDefinitionError, CapabilityError,
   *   RequestBuildError) before anything is sent.
   */
  constructor({ apiKey, requestOptions, request, options }, inner = undefined) {
    this.#inner = inner ?? call(() => new glue.MessagesCall(apiKey ?? '', requestOptions ?? null, request, options ?? null));
  }

  /** A `POST /v1/messages/count_tokens` call (same spec); its result is `{input_tokens, attempts, request_id}`. */
  static countTokens({ apiKey, requestOptions, request, options }) {
    const inner = call(() => glue.MessagesCall.countTokens(apiKey ?? '', requestOptions ?? null, request, options ?? null));
    return new MessagesCall({}, inner);
  }

  /**
   * A webhook delivery with retries: `delivery` is `{body, headers}` (as a
   * pool's alert made them), `options` the core's CallOptions (default: the
   * core's webhook options). The request's path is empty: send it to the
   * webhook's URL. Its result is `{status, attempts}`.
   */
  static webhook(delivery, options = null) {
    const inner = call(() => glue.MessagesCall.webhook(delivery, options ?? null));
    return new MessagesCall({}, inner);
  }

  /** `{type: "send", request}`, `{type: "wait", until_ms, retry}` (`retry`: a `stream_retry` event, or null) or `{type: "done"}`. */
  nextAction(nowMs = Date.now()) {
    return call(() => this.#inner.nextAction(nowMs));
  }

  /** The response's head arrived: `"whole"` or `"chunks"`. */
  handleHead(status, headers, nowMs = Date.now()) {
    return call(() => this.#inner.handleHead(status, headerPairs(headers), nowMs));
  }

  /** The whole body arrived. */
  handleBody(body, nowMs = Date.now()) {
    call(() => this.#inner.handleBody(body, nowMs));
  }

  /** A chunk of a streamed body arrived: the events it completed. */
  handleChunk(bytes, nowMs = Date.now()) {
    return call(() => this.#inner.handleChunk(bytes, nowMs));
  }

  /** The streamed body ended: the events still pending. */
  handleEnd(nowMs = Date.now()) {
    return call(() => this.#inner.handleEnd(nowMs));
  }

  /** The transport failed, as it saw it: `{type: "connection"}` (the core knows a mid-stream failure is a cut stream). */
  handleTransportError(failure, nowMs = Date.now()) {
    call(() => this.#inner.handleTransportError(failure, nowMs));
  }

  /** Time passed with nothing read: whether the attempt timed out (past `deadline`). */
  handleTimeout(nowMs = Date.now()) {
    return call(() => this.#inner.handleTimeout(nowMs));
  }

  /** Whether the body should still be read. */
  get isReading() {
    return call(() => this.#inner.isReading);
  }

  /** While a request is out, the Unix ms by which the next input (head, body, chunk) must arrive; else null. */
  get deadline() {
    return call(() => this.#inner.deadline);
  }

  /** The current attempt, 0-based. */
  get attempt() {
    return call(() => this.#inner.attempt);
  }

  /** The message so far while a stream is read (else null). */
  get partialMessage() {
    return call(() => this.#inner.partialMessage);
  }

  /** null, `{outcome: "succeeded"}` or `{outcome: "failed", error, decision}`. */
  get lastAttempt() {
    return call(() => this.#inner.lastAttempt);
  }

  /** `{message, tool_input_issues, attempts, request_id, rate_limit}` (`{input_tokens, attempts, request_id}` for count_tokens, `{status, attempts}` for a webhook), the failure thrown (with `code`, `attempts`, `giveUp`, `partial`), or null. */
  takeResult() {
    return call(() => this.#inner.takeResult());
  }

  /** Frees the wasm memory of the call. */
  free() {
    this.#inner.free();
  }
}
