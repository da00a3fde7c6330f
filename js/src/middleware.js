// The pool inside the official SDK: `creditpoolMiddleware(pool, { agent })`
// for `@anthropic-ai/sdk` (`new Anthropic({ middleware: [...] })`).
//
// The SDK runs its middleware once per HTTP attempt, inside its own retry
// loop. This middleware drives the core's `Meter` (crates/creditpool-core
// /src/meter.rs), which holds every rule: which requests are metered
// (`POST /v1/messages`; everything else passes through untouched), the pool
// selector added to the body, the worst case reserved before the first
// attempt, one hold kept across the SDK's retries of a call, and how each
// attempt ends (settled from the JSON `usage` or from a copy of the stream;
// released when certainly unbilled; settled at the worst case, flagged
// estimated, when it may have been billed). What happens here is I/O: hand the
// core the body and what came back, apply the pool operations it asks for,
// sleep through a pool rate limit, throw the core's typed refusal before
// anything is sent. A stream is passed through chunk by chunk, each chunk
// copied to the core as the caller reads it; one the caller cancels or
// aborts half-way is settled by the core's rules for a cut stream.
import { call, glue } from './wasm.js';
import { optionsError } from './fail.js';
import { SdkUnsupportedError } from './errors.js';

/** The lowest `@anthropic-ai/sdk` version the middleware works with (the core's `meter::MIN_TS_SDK`). */
export function minSdkVersion() {
  return call(() => glue.minTsSdk());
}

const OPTIONS = new Set(['agent', 'poolSelector', 'leaseMs', 'estimate', 'maxRetries', 'clock', 'unknownThread', 'containerMinutes', 'threads']);
// Transport failures before the connection opened: never sent, never billed.
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/** What the transport saw: `not_sent` when the connection never opened, else `lost`. */
function transportFailure(error) {
  const seen = new Set();
  for (let e = error; e !== null && typeof e === 'object' && !seen.has(e); e = e.cause) {
    seen.add(e);
    if (NOT_SENT.has(e.code)) return 'not_sent';
  }
  return 'lost';
}

function headerValue(headers, name) {
  if (headers === undefined || headers === null) return null;
  if (typeof headers.get === 'function') return headers.get(name);
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return String(v);
  return null;
}

/** The meter of one call and the store its operations go to. */
class Books {
  constructor(meter, store, clock) {
    this.meter = meter;
    this.store = store;
    this.clock = clock;
  }

  /** Applies every pool operation the meter asks for; sleeps through a rate limit; returns the next action's type. */
  async drain() {
    for (;;) {
      const action = call(() => this.meter.nextAction(this.clock()));
      if (action.type === 'pool') {
        const result = await this.store.apply(action.op);
        call(() => this.meter.handlePool(result, this.clock()));
      } else if (action.type === 'wait') {
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(action.until_ms) - this.clock())));
      } else {
        return action.type;
      }
    }
  }
}

/** The response with its body passed through and copied to the core as the caller reads it. */
function copied(response, books) {
  const reader = response.body.getReader();
  let over = false;
  const finish = async (ended) => {
    if (over) return;
    over = true;
    call(() => (ended ? books.meter.handleEnd(books.clock()) : books.meter.abandon(books.clock())));
    await books.drain();
  };
  const body = new ReadableStream(
    {
      async pull(controller) {
        let read;
        try {
          read = await reader.read();
        } catch (e) {
          await finish(false);
          controller.error(e);
          return;
        }
        if (read.done) {
          await finish(true);
          controller.close();
          return;
        }
        call(() => books.meter.handleChunk(read.value, books.clock()));
        if (call(() => books.meter.isReading())) await books.drain();
        controller.enqueue(read.value);
      },
      async cancel(reason) {
        try {
          await reader.cancel(reason);
        } finally {
          await finish(false);
        }
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

/**
 * A middleware for the official SDK (`@anthropic-ai/sdk`) that draws every
 * Messages call on `pool`: `new Anthropic({ middleware: [creditpoolMiddleware(pool, { agent: 'researcher' })] })`.
 *
 * `pool` is any pool store: a `Pool`, or an object whose `apply(op)` applies
 * the core's pool operations (it may return a promise). Each `POST
 * /v1/messages` reserves its worst case before its first attempt (a refusal
 * throws the typed `PoolRefusedError` subclass before anything is sent),
 * keeps that hold across the SDK's retries, and settles from the response's
 * usage or from a copy of the stream. Other endpoints (`countTokens`, ...)
 * pass through untouched.
 *
 * Options: `agent` (default `"default"`), `poolSelector` (`false` for none,
 * or `{field, value}`; default `"credit_pool": "programmatic"`), `leaseMs`,
 * `estimate` (the core's `EstimateMode`), `maxRetries` (the client's, when it
 * is not the SDK's default of 2), `clock` (Unix ms), `unknownThread`
 * (`'context_window'`, the default, or `'refuse'`), `containerMinutes` (the
 * minutes of code execution container time reserved, and settled when the
 * tool ran or files were preloaded, for a request whose code execution is
 * billed by time: no `web_search`/`web_fetch` tool dated 20260209 or later
 * beside it; default the 5-minute billing minimum; below 5 or above 30 days
 * is `invalid_container_minutes`, thrown when the middleware is made; such a
 * settle is flagged estimated). Prices are the built-in table.
 *
 * Message threads (the tool runner's turns): a `thread: {type: 'continue'}`
 * request is reserved at the whole thread's input bound (what the API bills
 * it), not at the model's context window. The book of threads is the pool
 * store's (the core's `thread_record` and `thread_lookup` operations): with a
 * `RedisPool`, every process sharing the pool bounds the continues of threads
 * the others created. `threads: new ThreadBook()` keeps an in-process book
 * instead. A continue the book does not know (never seen, or expired 5
 * minutes after its thread's last request) is reserved at the context
 * window, or with `unknownThread: 'refuse'` throws `UnknownThreadError`
 * before anything is sent. The SDK's replay after a 404 `thread_not_found`
 * is a new create.
 */
export function creditpoolMiddleware(pool, options = {}) {
  if (pool === null || typeof pool !== 'object' || typeof pool.apply !== 'function') {
    throw optionsError('invalid_options', 'pool must be a pool store: a Pool, or an object with apply(op)');
  }
  for (const key of Object.keys(options)) {
    if (!OPTIONS.has(key)) throw optionsError('invalid_options', `unknown middleware option ${JSON.stringify(key)}`);
  }
  const config = { agent: options.agent ?? 'default' };
  if (options.poolSelector !== undefined) config.pool_selector = options.poolSelector;
  if (options.leaseMs !== undefined) config.lease_ms = options.leaseMs;
  if (options.estimate !== undefined) config.estimate = options.estimate;
  if (options.maxRetries !== undefined) config.max_retries = options.maxRetries;
  if (options.unknownThread !== undefined) config.unknown_thread = options.unknownThread;
  if (options.containerMinutes !== undefined) config.container_minutes = options.containerMinutes;
  const table = call(() => new glue.PriceTable());
  const clock = options.clock ?? (() => Date.now());
  // The book of message threads: the pool store's (the core asks for
  // thread_lookup / thread_record operations), or an in-process one.
  if (options.threads !== undefined && !(options.threads instanceof ThreadBook)) {
    throw optionsError('invalid_options', 'threads must be a ThreadBook, or absent for the pool store\'s book');
  }
  const book = options.threads?.raw;
  const meter = (body) => (book === undefined ? glue.RawMeter.withStoreThreads(config, body, table) : new glue.RawMeter(config, body, table, book, clock()));
  // The config is read now, strictly, by the core.
  call(() => meter('{"model":"claude-haiku-4-5","max_tokens":1,"messages":[]}').free());
  // The books of calls whose hold is kept for the SDK's retry, by the call's options object.
  const held = new WeakMap();

  return async function creditpool(request, next, ctx) {
    if (!call(() => glue.meterApplies(request.method ?? 'GET', String(request.url)))) return next(request);
    const key = ctx?.options ?? null;
    const retries = Number(headerValue(request.headers, 'x-stainless-retry-count') ?? 0) || 0;
    let books = key !== null && retries > 0 ? held.get(key) : undefined;
    if (key !== null) held.delete(key);
    if (books === undefined) {
      const body = typeof request.body === 'string' ? request.body : JSON.stringify(ctx?.options?.body ?? null);
      books = new Books(call(() => meter(body)), pool, clock);
    }
    const keep = (state) => {
      if (state === 'idle' && key !== null) held.set(key, books);
    };
    const perCall = ctx?.options?.maxRetries;
    call(() => books.meter.beginAttempt(retries, Number.isInteger(perCall) ? perCall : undefined, clock()));
    await books.drain(); // a refusal throws here: nothing is sent
    let outgoing = request;
    if (call(() => books.meter.bodyChanged)) {
      const headers = new Headers(request.headers);
      headers.delete('content-length');
      outgoing = { ...request, headers, body: call(() => books.meter.body) };
    }
    let response;
    try {
      response = await next(outgoing);
    } catch (e) {
      const aborted = ctx?.options?.signal?.aborted === true;
      call(() => (aborted ? books.meter.abandon(clock()) : books.meter.handleTransportError(transportFailure(e), clock())));
      keep(await books.drain());
      throw e;
    }
    const read = call(() => books.meter.handleHead(response.status, [...response.headers.entries()], clock()));
    if (read === 'chunks' && response.body) return copied(response, books);
    let bytes;
    try {
      bytes = new Uint8Array(await response.clone().arrayBuffer());
    } catch (e) {
      call(() => books.meter.handleTransportError('lost', clock()));
      keep(await books.drain());
      throw e;
    }
    call(() => books.meter.handleBody(bytes, clock()));
    keep(await books.drain());
    return response;
  };
}

/**
 * Checks that `client` (an `Anthropic` instance) has the middleware hook
 * (`@anthropic-ai/sdk` >= `minSdkVersion()`): an older SDK ignores the
 * `middleware` option silently. Throws `SdkUnsupportedError` (`minimum`
 * names the version) otherwise; returns the client.
 */
export function checkSdk(client) {
  if (client === null || typeof client !== 'object' || !Array.isArray(client.middleware) || typeof client.withOptions !== 'function') {
    const minimum = minSdkVersion();
    throw new SdkUnsupportedError(
      `creditpoolMiddleware needs the official SDK @anthropic-ai/sdk>=${minimum}; the client given has no middleware hook (update @anthropic-ai/sdk)`,
      { code: 'sdk_unsupported', minimum },
    );
  }
  return client;
}

/**
 * `client` (an `Anthropic` instance) with the pool's middleware added after
 * its own: `const client = withPool(new Anthropic(), pool, { agent })`. Throws
 * `SdkUnsupportedError` when the SDK has no middleware hook.
 */
export function withPool(client, pool, options = {}) {
  checkSdk(client);
  return client.withOptions({ middleware: [...client.middleware, creditpoolMiddleware(pool, options)] });
}

/**
 * The core's book of message threads (`ThreadBook`): give the same one to
 * every `Meter` of a middleware, so that a thread continue request is bounded
 * from the thread it continues. `capacity`: the most threads kept (the
 * oldest is forgotten past it).
 */
export class ThreadBook {
  #raw;

  constructor(capacity) {
    this.#raw = call(() => new glue.RawThreadBook(capacity ?? undefined));
  }

  /** How many entries the book holds. */
  get size() {
    return call(() => this.#raw.size);
  }

  /** @internal */
  get raw() {
    return this.#raw;
  }
}

/**
 * The core's `Meter` (the books of one SDK call), for callers who drive it
 * themselves: `new Meter(config, body, { threads, nowMs })` (`threads`: a
 * `ThreadBook` shared by the calls, or `'pool'` for the pool store's book;
 * `nowMs`: the clock), then `beginAttempt`, `nextAction`,
 * `handlePool`, `handleHead`, `handleBody`, `handleChunk`, `handleEnd`,
 * `handleTransportError`, `abandon` (see crates/creditpool-core/src/meter.rs).
 */
export class Meter {
  #raw;

  constructor(config, body, options = {}) {
    if (options.threads === 'pool') {
      this.#raw = call(() => glue.RawMeter.withStoreThreads(config, body, new glue.PriceTable()));
      return;
    }
    const threads = options.threads ?? new ThreadBook();
    this.#raw = call(() => new glue.RawMeter(config, body, new glue.PriceTable(), threads.raw, options.nowMs ?? 0));
  }

  /** Whether a request is metered (`POST .../v1/messages`). */
  static applies(method, url) {
    return call(() => glue.meterApplies(method, url));
  }

  get body() {
    return call(() => this.#raw.body);
  }

  get bodyChanged() {
    return call(() => this.#raw.bodyChanged);
  }

  get amount() {
    return call(() => this.#raw.amount);
  }

  beginAttempt(retriesTaken, maxRetries, nowMs) {
    return call(() => this.#raw.beginAttempt(retriesTaken, maxRetries ?? undefined, nowMs));
  }

  nextAction(nowMs) {
    return call(() => this.#raw.nextAction(nowMs));
  }

  handlePool(result, nowMs) {
    return call(() => this.#raw.handlePool(result, nowMs));
  }

  handleHead(status, headers, nowMs) {
    return call(() => this.#raw.handleHead(status, headers, nowMs));
  }

  handleBody(body, nowMs) {
    return call(() => this.#raw.handleBody(body, nowMs));
  }

  handleChunk(bytes, nowMs) {
    return call(() => this.#raw.handleChunk(bytes, nowMs));
  }

  handleEnd(nowMs) {
    return call(() => this.#raw.handleEnd(nowMs));
  }

  handleTransportError(failure, nowMs) {
    return call(() => this.#raw.handleTransportError(failure, nowMs));
  }

  abandon(nowMs) {
    return call(() => this.#raw.abandon(nowMs));
  }

  isReading() {
    return call(() => this.#raw.isReading());
  }

  summary() {
    return call(() => this.#raw.summary());
  }

  /** Frees the wasm memory now (optional). */
  free() {
    this.#raw.free();
  }
}
