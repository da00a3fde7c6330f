// The Messages API client. The key lives only inside the wasm module: no
// property, string form, JSON form or error of these objects contains it.
import { ConfigurationError, InvalidArgumentError } from './errors.js';
import { defined, headerPairs } from './core.js';
import { runtime } from './runtime.js';
import { call, callAsync, glue } from './wasm.js';

const DEFAULT_BASE_URL = 'https://api.anthropic.com';
const INSPECT = Symbol.for('nodejs.util.inspect.custom');
const RAW = new WeakMap();

/** The wasm client inside a Client (for Agent). */
export function rawClient(client) {
  const raw = RAW.get(client);
  if (raw === undefined) throw new InvalidArgumentError('client must be a creditpool Client', { type: 'invalid_argument' });
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
  'checkCapabilities',
  'dangerouslyAllowBrowser',
]);

function configError(kind, message) {
  return new ConfigurationError(message, { type: 'configuration_error', kind });
}

function checkBaseURL(baseURL) {
  let url;
  try {
    url = new URL(baseURL);
  } catch {
    throw configError('invalid_base_url', `baseURL ${JSON.stringify(String(baseURL))} is not an absolute URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw configError('invalid_base_url', `baseURL must be http or https, not ${url.protocol}`);
  }
  return String(baseURL);
}

/**
 * A Messages API client.
 *
 * Options: `apiKey` (default: the `ANTHROPIC_API_KEY` environment variable in
 * Node), `baseURL` (default `ANTHROPIC_BASE_URL` or the API), `poolSelector`
 * (`false`, or `{field, value}`; default `"credit_pool": "programmatic"`),
 * `betas`, `anthropicVersion`, `defaultHeaders`, `maxRetries` / `retry` (the
 * core's RetryPolicy JSON), `timeout` and `idleTimeout` (ms; 0 for none),
 * `checkCapabilities` (default true), and in a browser
 * `dangerouslyAllowBrowser: true`.
 */
export class Client {
  #raw;

  constructor(options = {}) {
    for (const key of Object.keys(options)) {
      if (!CLIENT_OPTIONS.has(key)) throw configError('invalid_options', `unknown client option ${JSON.stringify(key)}`);
    }
    if (runtime.browser && options.dangerouslyAllowBrowser !== true) {
      throw configError(
        'browser_not_allowed',
        'running in a browser exposes the API key to anyone who can open the page; ' +
          'pass dangerouslyAllowBrowser: true if that is what you mean (see docs/JS.md)',
      );
    }
    const apiKey = options.apiKey ?? runtime.env('ANTHROPIC_API_KEY') ?? '';
    if (typeof apiKey !== 'string') throw configError('invalid_api_key', 'apiKey must be a string');
    const baseURL = checkBaseURL(options.baseURL ?? runtime.env('ANTHROPIC_BASE_URL') ?? DEFAULT_BASE_URL);
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
            extraHeaders: options.defaultHeaders === undefined ? undefined : headerPairs(options.defaultHeaders),
            retry: options.retry,
            maxRetries: options.maxRetries,
            timeout: options.timeout,
            idleTimeout: options.idleTimeout,
            checkCapabilities: options.checkCapabilities,
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
  create(params, { signal } = {}) {
    if (params && params.stream === true) {
      try {
        const stream = new MessageStream(this.#raw, params, signal);
        return stream.opened.then(() => stream);
      } catch (e) {
        return Promise.reject(e);
      }
    }
    return callAsync(() => this.#raw.create(params, signal)).then((r) => r.message);
  }

  /**
   * Starts a streamed request: a MessageStream, an async iterable of the
   * API's events, whose `finalMessage()` resolves to the whole message.
   */
  stream(params, { signal } = {}) {
    return new MessageStream(this.#raw, params, signal);
  }

  /** `POST /v1/messages/count_tokens`: resolves to the input token count. */
  countTokens(params, { signal } = {}) {
    return callAsync(() => this.#raw.countTokens(params, signal));
  }
}

/**
 * A streamed response. Iterate it (`for await`) for the API's events, or call
 * `finalMessage()` for the message (both may be used: events not pulled by the
 * iteration are applied without being converted). Breaking out of the
 * iteration aborts the request unless `finalMessage()` was asked for.
 *
 * Failures are retried as the core's call decides, and a retried stream
 * starts over: if the failed attempt had already handed out events, the
 * iteration yields a `{type: "stream_retry", attempt, delay_ms, reason,
 * error}` item (not an API event) meaning "discard what you showed since the
 * last message_start", and a new `message_start` follows. A failure that is
 * not retried is thrown with the message so far as `partial`.
 */
export class MessageStream {
  #raw;
  #ctl = new AbortController();
  #chain = Promise.resolve();
  #final = null;
  #unlink = () => {};

  constructor(rawClient, params, signal) {
    if (params === null || typeof params !== 'object') {
      throw new InvalidArgumentError('params must be a Messages API request object', { type: 'invalid_argument' });
    }
    if (signal !== undefined && signal !== null && typeof signal.addEventListener !== 'function') {
      throw new InvalidArgumentError('signal must be an AbortSignal', { type: 'invalid_argument' });
    }
    const { stream: _ignored, ...body } = params;
    this.#raw = call(() => rawClient.stream(body, this.#ctl.signal));
    if (signal) {
      if (signal.aborted) this.#ctl.abort();
      else {
        const onAbort = () => this.#ctl.abort();
        signal.addEventListener('abort', onAbort, { once: true });
        this.#unlink = () => signal.removeEventListener('abort', onAbort);
      }
    }
    /** Resolves once the response has begun (after any retries). */
    this.opened = this.#enqueue(() => callAsync(() => this.#raw.open()));
    this.opened.catch(() => {});
  }

  #enqueue(fn) {
    const next = this.#chain.then(fn);
    this.#chain = next.catch(() => {});
    return next;
  }

  async *[Symbol.asyncIterator]() {
    let done = false;
    try {
      for (;;) {
        const event = await this.#enqueue(() => callAsync(() => this.#raw.next()));
        if (event === null) {
          done = true;
          return;
        }
        yield event;
      }
    } catch (e) {
      done = true;
      this.#unlink();
      throw e;
    } finally {
      if (!done && this.#final === null) this.abort();
    }
  }

  /** `{message, tool_input_issues, attempts, request_id, rate_limit}` of the completed stream. */
  finished() {
    if (this.#final === null) {
      this.#final = this.#enqueue(() => callAsync(() => this.#raw.finish()));
      this.#final.then(
        () => this.#unlink(),
        () => this.#unlink(),
      );
    }
    return this.#final;
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
    return call(() => this.#raw.message);
  }

  /** The response's `request-id`, once it has begun. */
  get requestId() {
    return call(() => this.#raw.requestId);
  }

  /** The response's headers as `[[name, value], ...]`, once it has begun. */
  get headers() {
    return call(() => this.#raw.headers);
  }

  /** Attempts made so far. */
  get attempts() {
    return call(() => this.#raw.attempts);
  }

  /** Aborts the request; pending and later reads throw an AbortError. */
  abort() {
    this.#ctl.abort();
    this.#unlink();
  }
}
