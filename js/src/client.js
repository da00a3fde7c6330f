// The Messages API client. The key lives only inside the wasm module: no
// property, string form, JSON form or error of these objects contains it.
// Every request is a state machine of the core (its MessagesCall) driven by
// the package's one attempt player (player.js).
import { RequestBuildError } from './errors.js';
import { argumentError, abortError, optionsError } from './fail.js';
import { defined, headerPairs } from './core.js';
import { drive, machine } from './player.js';
import { runtime } from './runtime.js';
import { call, glue } from './wasm.js';

const INSPECT = Symbol.for('nodejs.util.inspect.custom');
const RAW = new WeakMap();

/** The wasm client inside a Client (for Agent). */
export function rawClient(client) {
  const raw = RAW.get(client);
  if (raw === undefined) throw argumentError('client must be a creditpool Client');
  return raw;
}
const CLIENT_OPTIONS = new Set([
  'apiKey',
  'baseURL',
  'anthropicVersion',
  'betas',
  'poolSelector',
  'defaultHeaders',
  'maxRetries',
  'retry',
  'timeout',
  'idleTimeout',
  'totalTimeout',
  'checkCapabilities',
  'dangerouslyAllowBrowser',
  'priceOverrides',
]);

function configError(kind, message) {
  if (kind === 'invalid_api_key') return new RequestBuildError(message, { code: kind, type: 'configuration_error', kind });
  return optionsError(kind, message);
}

function checkSignal(signal) {
  if (signal !== undefined && signal !== null && typeof signal.addEventListener !== 'function') {
    throw argumentError('signal must be an AbortSignal');
  }
}

/** Drives a call to its end and returns what `takeResult()` gives (or throws its error). */
async function run(m, signal) {
  try {
    await drive(m, { now: () => Date.now(), signal: signal ?? undefined });
    return m.takeResult();
  } finally {
    m.raw.free();
  }
}

/**
 * `defaultHeaders` as [name, value] pairs of strings. A value may be a
 * secret (an extra auth header), so no error shows one: a wrong shape names
 * the header at most.
 */
function extraHeaders(headers) {
  const pairs = headerPairs(headers);
  for (const pair of pairs) {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string') {
      throw argumentError('defaultHeaders must be a record, a Headers object or [name, value] pairs of strings');
    }
    if (typeof pair[1] !== 'string') throw argumentError(`defaultHeaders: the value of header ${JSON.stringify(pair[0])} must be a string`);
  }
  return pairs;
}


/**
 * A Messages API client.
 *
 * Options: `apiKey` (default: the `ANTHROPIC_API_KEY` environment variable in
 * Node), `baseURL` (default `ANTHROPIC_BASE_URL` or the API), `poolSelector`
 * (`false`, or `{field, value}`; default `"credit_pool": "programmatic"`),
 * `betas`, `anthropicVersion`, `defaultHeaders`, `maxRetries` / `retry` (the
 * core's RetryPolicy JSON), `timeout` and `idleTimeout` (ms; 0 for none),
 * `totalTimeout` (ms, default none: one deadline for a whole call, every
 * attempt and retry wait included; past it the call throws an
 * APITimeoutError with code `total_timeout`, not retried),
 * `checkCapabilities` (default true), `priceOverrides` (`[{model, prices}]`,
 * prices as the core's ModelPrices JSON: decimal strings in USD per million
 * tokens; the client's agents price with them), and in a browser
 * `dangerouslyAllowBrowser: true`.
 */
export class Client {
  #raw;

  constructor(options = {}) {
    for (const key of Object.keys(options)) {
      if (!CLIENT_OPTIONS.has(key)) throw configError('invalid_options', call(() => glue.unknownNameMessage('client option', key, [...CLIENT_OPTIONS])));
    }
    if (runtime.browser && options.dangerouslyAllowBrowser !== true) {
      throw configError(
        'browser_not_allowed',
        'running in a browser exposes the API key to anyone who can open the page; ' +
          'pass dangerouslyAllowBrowser: true if that is what you mean (see docs/JS.md)',
      );
    }
    const [apiKeyEnv, baseUrlEnv] = call(() => glue.clientEnvNames());
    const apiKey = options.apiKey ?? runtime.env(apiKeyEnv) ?? '';
    if (typeof apiKey !== 'string') throw configError('invalid_api_key', 'apiKey must be a string');
    // The core's one rule: given, else a non-empty variable, else the API.
    if (options.baseURL !== undefined && typeof options.baseURL !== 'string') throw configError('invalid_base_url', 'baseURL must be a string');
    const baseURL = call(() => glue.resolveBaseUrl(options.baseURL, runtime.env(baseUrlEnv)));
    this.#raw = call(
      () =>
        new glue.RawClient(
          apiKey,
          defined({
            baseURL,
            anthropicVersion: options.anthropicVersion,
            betas: options.betas,
            browser: runtime.browser,
            poolSelector: options.poolSelector,
            extraHeaders: options.defaultHeaders === undefined ? undefined : extraHeaders(options.defaultHeaders),
            retry: options.retry,
            maxRetries: options.maxRetries,
            timeout: options.timeout,
            idleTimeout: options.idleTimeout,
            totalTimeout: options.totalTimeout,
            checkCapabilities: options.checkCapabilities,
            priceOverrides: options.priceOverrides,
          }),
        ),
    );
    RAW.set(this, this.#raw);
    /** `create()`, `stream()` and `countTokens()` of `POST /v1/messages`. */
    this.messages = new Messages(this.#raw);
  }

  /** The base URL requests go to. */
  get baseURL() {
    return call(() => this.#raw.baseURL);
  }

  /** The retry policy in effect (the core's RetryPolicy JSON). */
  get retryPolicy() {
    return call(() => this.#raw.retryPolicy);
  }

  toString() {
    return `Client(${this.baseURL})`;
  }

  toJSON() {
    return { baseURL: this.baseURL, apiKey: '****' };
  }

  [INSPECT]() {
    return `Client { baseURL: ${JSON.stringify(this.baseURL)}, apiKey: '****' }`;
  }
}

/** `client.messages`. */
export class Messages {
  #raw;

  constructor(raw) {
    this.#raw = raw;
  }

  /**
   * Sends a request and resolves to the message. With `stream: true` in the
   * params, resolves instead to a MessageStream once the response has begun.
   * `options.signal` aborts it.
   */
  async create(params, { signal } = {}) {
    if (params && params.stream === true) {
      const stream = new MessageStream(this.#raw, params, signal);
      await stream.opened;
      return stream;
    }
    checkSignal(signal);
    if (params === null || typeof params !== 'object') throw argumentError('params must be a Messages API request object');
    const { stream: _ignored, ...body } = params;
    const m = machine(call(() => this.#raw.call(body, false)));
    return (await run(m, signal)).message;
  }

  /**
   * Starts a streamed request: a MessageStream, an async iterable of the
   * API's events, whose `finalMessage()` resolves to the whole message.
   */
  stream(params, { signal } = {}) {
    return new MessageStream(this.#raw, params, signal);
  }

  /** `POST /v1/messages/count_tokens`: resolves to the input token count. */
  async countTokens(params, { signal } = {}) {
    checkSignal(signal);
    const m = machine(call(() => this.#raw.countTokens(params)));
    const r = await run(m, signal);
    return typeof r === 'number' ? r : r.input_tokens;
  }
}

/**
 * A streamed response. Iterate it (`for await`) for the API's events, or call
 * `finalMessage()` for the message (both may be used). Breaking out of the
 * iteration aborts the request unless `finalMessage()` was asked for.
 *
 * Failures are retried as the core's call decides, and a retried stream
 * starts over: if the failed attempt had already handed out events, the
 * iteration yields the core's retry notice, `{type: "stream_retry", attempt,
 * delay_ms, code, message}` (not an API event), meaning "discard what you
 * showed since the last message_start", and a new `message_start` follows. A
 * failure that is not retried is thrown with `code`, `attempts`, `giveUp` and
 * the message so far as `partial` (from the core).
 *
 * Backpressure: the response is read only while the events already read have
 * been taken. After handing out a network chunk's events, the driver reads the
 * next chunk once the queue is empty again (the consumer took them, or
 * `finished()` said nobody will), the rule the Rust `MessageStream` follows:
 * a consumer that stops reading holds one chunk's events, and the server is
 * held back by the connection's own flow control.
 */
export class MessageStream {
  #m;
  #ctl = new AbortController();
  #unlink = () => {};
  #queue = [];
  #wake = null;
  /** Resolves the driver's wait for the queue to empty (see `#ready`). */
  #taken = null;
  #ended = false;
  #result;
  #wantFinal = false;
  #iterating = false;
  #headers = null;
  #lastMessage = null;
  /** The error the call failed with (its `partial` is the message so far). */
  #failure = null;
  #openResolve;
  #openReject;

  constructor(rawClient, params, signal) {
    if (params === null || typeof params !== 'object') throw argumentError('params must be a Messages API request object');
    checkSignal(signal);
    const { stream: _ignored, ...body } = params;
    this.#m = machine(call(() => rawClient.call(body, true)));
    if (signal) {
      if (signal.aborted) this.#ctl.abort();
      else {
        const onAbort = () => this.#ctl.abort();
        signal.addEventListener('abort', onAbort, { once: true });
        this.#unlink = () => signal.removeEventListener('abort', onAbort);
      }
    }
    /** Resolves once the response has begun (after any retries). */
    this.opened = new Promise((resolve, reject) => {
      this.#openResolve = resolve;
      this.#openReject = reject;
    });
    this.opened.catch(() => {});
    this.#result = this.#run();
    this.#result.catch(() => {});
  }

  async #run() {
    const m = this.#m;
    try {
      await drive(m, {
        now: () => Date.now(),
        signal: this.#ctl.signal,
        onHead: (head, how) => {
          this.#headers = head.headers;
          if (how === 'chunks') this.#openResolve();
        },
        onEvents: (events) => this.#push(events),
        // #push keeps no event when only the final message is wanted: such
        // events are not converted to JS at all.
        wantsEvents: () => !(this.#wantFinal && !this.#iterating),
        onRetry: (notice) => this.#push([notice]),
        ready: () => this.#ready(),
      });
      const r = m.takeResult();
      this.#lastMessage = r.message;
      this.#openResolve();
      return r;
    } catch (e) {
      // Its `partial` is read only if `currentMessage` is asked for: it may
      // hold up to the stream cap, converted on first read.
      this.#failure = e;
      this.#openReject(e);
      throw e;
    } finally {
      this.#attempts = m.attempt + 1;
      this.#ended = true;
      this.#unlink();
      this.#notify();
      m.raw.free();
    }
  }

  #push(items) {
    if (items.length === 0) return;
    for (const item of items) {
      if (item && item.type === 'message_start') this.#lastMessage = null;
    }
    // Nobody will read the events: keep none.
    if (this.#wantFinal && !this.#iterating) return;
    this.#queue.push(...items);
    this.#notify();
  }

  #notify() {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  /**
   * For the driver, before it reads the next chunk: null when the queue is
   * empty, else a promise that resolves once it is (an abort ends the
   * driver's wait by its signal).
   */
  #ready() {
    if (this.#queue.length === 0) return null;
    return new Promise((resolve) => {
      this.#taken = resolve;
    });
  }

  /** Lets the driver read on once the queue is empty. */
  #drained() {
    if (this.#queue.length !== 0) return;
    const taken = this.#taken;
    this.#taken = null;
    taken?.();
  }

  async *[Symbol.asyncIterator]() {
    this.#iterating = true;
    let done = false;
    try {
      for (;;) {
        if (this.#ctl.signal.aborted) {
          done = true;
          throw abortError();
        }
        if (this.#queue.length > 0) {
          const item = this.#queue.shift();
          this.#drained();
          yield item;
          continue;
        }
        if (this.#ended) {
          done = true;
          await this.#result;
          return;
        }
        await new Promise((resolve) => {
          this.#wake = resolve;
        });
      }
    } finally {
      this.#iterating = false;
      if (!done && !this.#wantFinal) this.abort();
      // Only the final message is wanted now: the events left are not.
      if (this.#wantFinal) {
        this.#queue.length = 0;
        this.#drained();
      }
    }
  }

  /** `{message, tool_input_issues, attempts, request_id, rate_limit}` of the completed stream. */
  finished() {
    this.#wantFinal = true;
    if (!this.#iterating) {
      this.#queue.length = 0;
      this.#drained();
    }
    return this.#result;
  }

  /** Resolves to the final message (reading the rest of the stream). */
  async finalMessage() {
    return (await this.finished()).message;
  }

  /** Resolves to the text of the final message's text blocks. */
  async finalText() {
    const message = await this.finalMessage();
    return message.content
      .filter((b) => b.type === 'text')
      .map((b) => b.text)
      .join('');
  }

  /** The message so far (null before `message_start`). */
  get currentMessage() {
    if (this.#ended) {
      const failed = this.#failure !== null && typeof this.#failure === 'object' ? this.#failure.partial : null;
      return failed ?? this.#lastMessage;
    }
    return this.#m.partialMessage ?? this.#lastMessage;
  }

  /** The response's `request-id`, once it has begun. */
  get requestId() {
    const hit = this.#headers?.find(([k]) => k.toLowerCase() === 'request-id');
    return hit ? hit[1] : null;
  }

  /** The response's headers as `[[name, value], ...]`, once it has begun. */
  get headers() {
    return this.#headers;
  }

  /** Attempts made so far. */
  get attempts() {
    return this.#ended ? this.#attempts : this.#m.attempt + 1;
  }

  #attempts = 1;

  /** Aborts the request; pending and later reads throw an AbortError. */
  abort() {
    this.#ctl.abort();
    this.#unlink();
  }
}
