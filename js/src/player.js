// The attempt player: the one driver of every state machine that sends
// requests (a client's MessagesCall, a count_tokens call, an agent's run). It
// decides nothing. A whole body goes to a machine that takes it in pieces
// (`handleBodyChunk`, then `handleBodyEnd`) as it arrives, so that the wasm
// module holds the only copy; to the others in one buffer (`readWhole`).
// It sends what the machine asks (from inside the wasm module, which keeps
// the key), waits for each input no longer than the
// machine's `deadline` and then reports `handleTimeout(now)`, reports every
// transport failure raw as `{type: "connection"}` (the core knows whether a
// stream was being read, and so whether it was a cut stream), passes the
// stream events and the retry notices of `wait` actions on, and sleeps. The
// clock is `ctx.now()`, as it is: the machines keep their own clock from
// going back.
import { abortError } from './fail.js';
import { call, callAsync } from './wasm.js';

const MAX_TIMER_MS = 2147483647;
const TIMER = Symbol('timer');
const TIMED_OUT = Symbol('timed out');
const CONNECTION = Object.freeze({ type: 'connection' });

/**
 * A wasm state machine (`MessagesCall`, `RawAgentRun`) with every call going
 * through `call`/`callAsync`, so that a panic becomes an InternalError.
 * `overrides` replaces methods (a webhook's `send`, which goes through the
 * pool's `fetch`).
 */
export function machine(raw, overrides = {}) {
  return new Proxy(raw, {
    get(target, prop) {
      if (prop === 'raw') return target;
      if (Object.hasOwn(overrides, prop)) return overrides[prop];
      if (prop === 'send') return (signal) => callAsync(() => target.send(signal));
      const value = call(() => target[prop]);
      if (typeof value !== 'function') return value;
      return (...args) => call(() => value.apply(target, args));
    },
  });
}

/** A timer that resolves to TIMER after `ms` (0 or more), and its cancel. */
function timer(ms) {
  let id;
  const promise = new Promise((resolve) => {
    id = setTimeout(() => resolve(TIMER), Math.max(0, Math.min(ms, MAX_TIMER_MS)));
  });
  return { promise, cancel: () => clearTimeout(id) };
}

/** A promise that rejects with an AbortError when `signal` aborts, and its cancel. */
function aborted(signal) {
  if (!signal) return { promise: new Promise(() => {}), cancel: () => {} };
  let onAbort;
  const promise = new Promise((_, reject) => {
    onAbort = () => reject(abortError(undefined, signal));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  promise.catch(() => {});
  return { promise, cancel: () => signal.removeEventListener('abort', onAbort) };
}

/** Sleeps `ms` (rejects with an AbortError if `signal` aborts first). */
export async function sleep(ms, signal) {
  if (signal?.aborted) throw abortError(undefined, signal);
  const t = timer(ms);
  const a = aborted(signal);
  try {
    await Promise.race([t.promise, a.promise]);
  } finally {
    t.cancel();
    a.cancel();
  }
}

/**
 * A webhook delivery (the core's `MessagesCall.webhook`) whose requests go to
 * `url` through `fetchFn`, for the player: the request carries no key, so it
 * is sent from JS.
 */
export function webhookMachine(raw, url, fetchFn) {
  let request = null;
  return machine(raw, {
    nextAction(nowMs) {
      const action = call(() => raw.nextAction(nowMs));
      if (action.type === 'send') request = action.request;
      return action;
    },
    async send(signal) {
      try {
        const r = await fetchFn(url, { method: request.method, headers: request.headers, body: request.body, signal });
        const headers = r.headers && typeof r.headers.entries === 'function' ? [...r.headers.entries()] : [];
        return { status: r.status, headers, body: r.body ?? null };
      } catch {
        return { failure: { type: 'connection' } };
      }
    },
  });
}

/** Waits for `ready` (a promise), or throws an AbortError when `signal` aborts first. */
async function untilReady(ready, signal) {
  const a = aborted(signal);
  try {
    await Promise.race([ready, a.promise]);
  } finally {
    a.cancel();
  }
}

/** Runs what the machine asks while an input is awaited (an agent's lease renewals). */
async function afterInput(ctx) {
  if (ctx.afterInput) await ctx.afterInput();
}

/**
 * Waits for `promise` no longer than the machine's deadline. Each time the
 * deadline passes first, reports `handleTimeout(now)` (then `afterInput`);
 * once the machine says the attempt timed out, returns TIMED_OUT.
 */
async function within(m, promise, ctx) {
  const settled = promise.then(
    (value) => ({ value }),
    (error) => ({ error }),
  );
  for (;;) {
    if (ctx.signal?.aborted) throw abortError(undefined, ctx.signal);
    const deadline = m.deadline;
    const t = deadline === null ? null : timer(deadline - ctx.now());
    const a = aborted(ctx.signal);
    let r;
    try {
      r = await Promise.race(t === null ? [settled, a.promise] : [settled, t.promise, a.promise]);
    } finally {
      t?.cancel();
      a.cancel();
    }
    if (r !== TIMER) {
      if ('error' in r) throw r.error;
      return r.value;
    }
    const timedOut = m.handleTimeout(ctx.now());
    await afterInput(ctx);
    if (timedOut) return TIMED_OUT;
  }
}

/** The next chunk of a body: `{value}`, `{done: true}` or `{failure: true}`. */
function readChunk(reader) {
  if (reader === null) return Promise.resolve({ done: true });
  return reader.read().then(
    (r) => (r.done ? { done: true } : { value: r.value }),
    () => ({ failure: true }),
  );
}

/**
 * The buffer a whole body is read into: room for `cap + 1` bytes, allocated
 * once (its pages are zero until written, so only what arrives is resident),
 * or, when that much cannot be allocated up front, grown as bytes arrive.
 */
function bodyBuffer(cap) {
  try {
    return new Uint8Array(cap + 1);
  } catch {
    return new Uint8Array(Math.min(cap + 1, 1 << 20));
  }
}

/**
 * A whole body, read up to one byte past `cap` (the core reads that as too
 * large): `{bytes}` or `{failure: true}`. Each chunk is copied into one
 * buffer as it arrives and let go; no more than `cap + 1` bytes are kept,
 * checked before each copy, and the read stops there.
 */
async function readWhole(reader, cap) {
  let buf = bodyBuffer(cap);
  let size = 0;
  for (;;) {
    const r = await readChunk(reader);
    if (r.failure) return r;
    if (r.done) break;
    const take = Math.min(r.value.length, cap + 1 - size);
    if (size + take > buf.length) {
      const grown = new Uint8Array(Math.min(cap + 1, Math.max(buf.length * 2, size + take)));
      grown.set(buf.subarray(0, size));
      buf = grown;
    }
    buf.set(take === r.value.length ? r.value : r.value.subarray(0, take), size);
    size += take;
    if (size > cap) break;
  }
  return { bytes: buf.subarray(0, size) };
}

/**
 * A whole body handed to the machine piece by piece (`handleBodyChunk`, which
 * keeps it inside the wasm module, up to one byte past the body cap: the
 * only copy of the body; this keeps none): `{done: true}` (the body ended, or
 * the machine wants no more) or `{failure: true}`. `live.on` turns false once
 * the attempt is over: a read still pending then hands nothing over.
 */
async function readInto(reader, m, live) {
  for (;;) {
    const r = await readChunk(reader);
    if (r.failure || r.done || !live.on) return r;
    if (!m.handleBodyChunk(r.value)) return { done: true };
  }
}

/**
 * Whether nobody will read the events of the next input: no `ctx.onEvents`, or
 * `ctx.wantsEvents()` says so. The machine then applies them without
 * converting them to JS (`handleChunkQuiet`, where the machine has it).
 */
function quiet(m, ctx) {
  return (!ctx.onEvents || ctx.wantsEvents?.() === false) && typeof m.handleChunkQuiet === 'function';
}

/**
 * Plays one attempt, after the machine's `send` action: sends, then reports
 * the head, the body (whole, or chunk by chunk while `isReading`), the end,
 * a transport failure or the time passing.
 *
 * `ctx`: `now()`, `signal` (the caller's; aborting throws an AbortError),
 * and optionally `onHead(head, how)`, `onEvents(events)`, `wantsEvents()`
 * (false: the events of this input will not be read, so they are not
 * converted), `ready()` (before each chunk of a stream is read: null, or a
 * promise to await first: the consumer's backpressure) and `afterInput()`
 * (awaited after every input).
 */
export async function playAttempt(m, ctx) {
  const ctl = new AbortController();
  const a = aborted(ctx.signal);
  a.promise.catch(() => ctl.abort());
  let reader = null;
  let complete = false;
  const live = { on: true };
  try {
    const sent = await within(m, m.send(ctl.signal), ctx);
    if (sent === TIMED_OUT) return;
    if (sent.failure) {
      if (ctx.signal?.aborted) throw abortError(undefined, ctx.signal);
      if (sent.failure.type === 'connection' && typeof m.handleConnectionError === 'function') {
        // The core words where the request went and what the OS said.
        m.handleConnectionError(sent.detail ?? '', ctx.now());
      } else {
        m.handleTransportError(sent.failure, ctx.now());
      }
      await afterInput(ctx);
      return;
    }
    const how = m.handleHead(sent.status, sent.headers, ctx.now());
    ctx.onHead?.(sent, how);
    reader = sent.body ? sent.body.getReader() : null;
    if (how === 'whole') {
      // In pieces into the machine when it takes them (its buffer is the only
      // copy), else one buffer handed over at the end.
      const pieces = typeof m.handleBodyChunk === 'function';
      const body = await within(m, pieces ? readInto(reader, m, live) : readWhole(reader, m.maxBodyBytes), ctx);
      if (body === TIMED_OUT) return;
      if (body.failure) {
        if (ctx.signal?.aborted) throw abortError(undefined, ctx.signal);
        m.handleTransportError(CONNECTION, ctx.now());
      } else {
        complete = true;
        if (pieces) m.handleBodyEnd(ctx.now());
        else m.handleBody(body.bytes, ctx.now());
      }
      await afterInput(ctx);
      return;
    }
    while (m.isReading) {
      // Backpressure: the next chunk is read once the consumer is ready for
      // its events (a MessageStream whose queue is empty again).
      const ready = ctx.ready?.();
      if (ready) await untilReady(ready, ctx.signal);
      const r = await within(m, readChunk(reader), ctx);
      if (r === TIMED_OUT) return;
      if (r.failure) {
        if (ctx.signal?.aborted) throw abortError(undefined, ctx.signal);
        m.handleTransportError(CONNECTION, ctx.now());
      } else if (r.done) {
        complete = true;
        // (Not `ctx.onEvents?.(m.handleEnd(...))`: that would skip the input.)
        if (quiet(m, ctx)) {
          m.handleEndQuiet(ctx.now());
        } else {
          const events = m.handleEnd(ctx.now());
          if (ctx.onEvents) ctx.onEvents(events);
        }
      } else if (quiet(m, ctx)) {
        m.handleChunkQuiet(r.value, ctx.now());
      } else {
        const events = m.handleChunk(r.value, ctx.now());
        if (ctx.onEvents) ctx.onEvents(events);
      }
      await afterInput(ctx);
    }
  } finally {
    live.on = false;
    a.cancel();
    if (reader !== null && !complete) reader.cancel().catch(() => {});
    ctl.abort();
  }
}

/**
 * Drives a machine to `done`: `send` plays an attempt, `wait` hands its retry
 * notice (a `stream_retry` event) to `ctx.onRetry` and sleeps; any other
 * action goes to `other(action)` (an agent's `pool` and `call_tools`).
 */
export async function drive(m, ctx, other) {
  for (;;) {
    if (ctx.signal?.aborted) throw abortError(undefined, ctx.signal);
    const action = m.nextAction(ctx.now());
    switch (action.type) {
      case 'done':
        return;
      case 'send':
        await playAttempt(m, ctx);
        break;
      case 'wait':
        if (action.retry) ctx.onRetry?.(action.retry);
        await sleep(action.until_ms - ctx.now(), ctx.signal);
        break;
      default:
        if (!other) throw new Error(`unexpected action ${action.type}`);
        await other(action);
    }
  }
}
