// Runs every file in tests/vectors/ through the package's public functions,
// checking each kind exactly as its Rust runner does
// (crates/creditpool-core/tests/vectors_<kind>.rs). A kind without a runner
// here fails: a new kind must be exposed, not skipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { checkMoney, moneyConfig, nanoMoney } from './helpers/money-vectors.js';
import {
  APIError,
  APIConnectionError,
  Client,
  CapabilityError,
  InvalidOptionsError,
  PartialJsonError,
  Pool,
  PoolError,
  PoolRefusedError,
  PricingError,
  RequestBuildError,
  ResponseParseError,
  StreamError,
  ToolDefinitionError,
  ToolInputInvalidError,
} from 'creditpool';
import {
  AgentRun,
  Meter,
  ThreadBook,
  MessageStreamParser,
  MessagesCall,
  PriceTable,
  RetryPolicy,
  SseDecoder,
  ToolValidator,
  buildRequest,
  checkRequest,
  checkTool,
  checkTools,
  parseCountTokens,
  parseMessage,
  parsePartialJsonText,
  rateLimitInfo,
  classForCode,
  activityChart,
} from 'creditpool/core';

const classForCodeOf = classForCode;
import {
  Lcg,
  accumulateSplits,
  b64decode,
  jsonDiff,
  jsonSubsetDiff,
  loadKind,
  parseTagged,
  runKind,
  strictDiff,
  vectorFiles,
} from './helpers/vectors.js';

const files = vectorFiles();
const utf8 = new TextEncoder();

/** Money `{nanos, usd}` as the vectors' integer, checking the display string agrees. */
function nanos(m) {
  assert.equal(typeof m.nanos, 'bigint', 'money crosses as bigint');
  const match = /^\$(\d+)\.(\d{2,9})$/.exec(m.usd);
  assert.ok(match, `money display ${m.usd}`);
  assert.equal(BigInt(match[1]) * 1_000_000_000n + BigInt(match[2].padEnd(9, '0')), m.nanos, `${m.usd} != ${m.nanos}`);
  assert.ok(m.nanos <= BigInt(Number.MAX_SAFE_INTEGER), 'amount beyond 2^53 cannot be compared with JSON');
  return Number(m.nanos);
}

/** What kind of failure a call's error is, as the messages_call vectors name it. */
function callErrorKind(e) {
  if (e instanceof APIError) return 'api';
  if (e instanceof StreamError) return 'stream';
  if (e instanceof ResponseParseError) return 'parse';
  if (e instanceof APIConnectionError) return 'transport';
  throw e;
}

/** A call's (or a run's) error as the vectors describe it: the code, and the class its name says. */
function errorFields(e) {
  return { code: e.code, class: e.name, partial: e.partial !== null && e.partial !== undefined };
}

/**
 * Plays one scripted attempt of a call or a run (`d`) exactly as
 * tests/vectors/README.md's messages_call driver says; `afterInput()` runs
 * after each chunk and each handleTimeout (an agent's poll_pool).
 */
function playAttempt(d, a, clock, afterInput = () => {}) {
  if (a.transport_error !== undefined) {
    d.handleTransportError(a.transport_error, clock.now);
    return null;
  }
  if (a.no_head === true) {
    for (let k = 0; k < 100; k++) {
      const deadline = d.deadline;
      if (deadline === null) break;
      clock.now = deadline;
      d.handleTimeout(clock.now);
      afterInput();
    }
    return null;
  }
  const chunks = a.chunks !== undefined ? a.chunks : a.body !== undefined ? [a.body] : [];
  const how = d.handleHead(a.status, a.headers ?? [], clock.now);
  if (how === 'whole') {
    d.handleBody(utf8.encode(chunks.join('')), clock.now);
    return null;
  }
  for (const chunk of chunks) {
    d.handleChunk(utf8.encode(chunk), clock.now);
    afterInput();
    if (!d.isReading) break;
  }
  if (d.isReading) {
    if (a.end === false) {
      for (let k = 0; k < 100 && d.isReading; k++) {
        const deadline = d.deadline;
        if (deadline === null) return 'a stream without a deadline';
        clock.now = deadline;
        d.handleTimeout(clock.now);
        afterInput();
      }
    } else if (a.reset === true) {
      d.handleTransportError({ type: 'connection' }, clock.now);
    } else {
      d.handleEnd(clock.now);
    }
  }
  return null;
}

/** A wait action as the vectors record it. */
function waitAction(a, withReason) {
  const out = { wait_until: a.until_ms };
  if (withReason) out.reason = a.reason;
  if (a.retry) out.retry = { attempt: a.retry.attempt, delay_ms: a.retry.delay_ms, code: a.retry.code };
  return out;
}

const runners = {
  money: checkMoney,
  messages_call(c) {
    const i = c.input;
    const spec = { apiKey: i.api_key ?? 'k', request: i.request, options: i.options };
    const kind = i.kind ?? 'messages';
    let mc;
    try {
      if (kind === 'messages') mc = new MessagesCall(spec);
      else if (kind === 'count_tokens') mc = MessagesCall.countTokens(spec);
      else if (kind === 'webhook') mc = MessagesCall.webhook(i.webhook, i.options);
      else return `unknown kind ${kind}`;
    } catch (e) {
      if (!(e instanceof ToolDefinitionError || e instanceof CapabilityError || e instanceof RequestBuildError)) throw e;
      const actual = { actions: [], result: { error: { kind: 'preflight', code: e.code, class: e.name } } };
      return jsonDiff('actions', actual.actions, c.expected.actions ?? actual.actions) ?? jsonSubsetDiff('result', actual.result, c.expected.result);
    }
    const clock = { now: i.start_ms };
    const early = i.early_wake_ms ?? 0;
    const attempts = [...i.attempts];
    const actions = [];
    for (let step = 0; step < 100; step++) {
      const action = mc.nextAction(clock.now);
      if (action.type === 'done') break;
      if (action.type === 'wait') {
        actions.push(waitAction(action, false));
        // A sleep may wake a little early; the call's clock makes up for it.
        clock.now = Math.max(clock.now, action.until_ms - early);
        continue;
      }
      actions.push({ send: true });
      const a = attempts.shift();
      if (a === undefined) return 'the call sent more attempts than scripted';
      const d = playAttempt(mc, a, clock);
      if (d) return d;
    }
    let result;
    try {
      const r = mc.takeResult();
      if (r === null) return 'no result';
      if (kind === 'count_tokens') result = { input_tokens: r.input_tokens, attempts: r.attempts, request_id: r.request_id };
      else if (kind === 'webhook') result = { delivered: r.status, attempts: r.attempts };
      else result = { message: r.message, attempts: r.attempts, request_id: r.request_id };
    } catch (e) {
      const error = { kind: callErrorKind(e), attempts: e.attempts, reason: e.giveUp, ...errorFields(e) };
      if (error.kind === 'api') error.type = e.type;
      result = { error };
    }
    mc.free();
    return jsonDiff('actions', actions, c.expected.actions ?? actions) ?? jsonSubsetDiff('result', result, c.expected.result);
  },

  build_request(c) {
    const i = c.input;
    let actual;
    try {
      const http = buildRequest({
        apiKey: i.api_key ?? '',
        options: i.options,
        request: i.request,
        stream: i.stream ?? false,
        endpoint: i.endpoint === 'count_tokens' ? 'count_tokens' : 'messages',
      });
      actual = { method: http.method, path: http.path, headers: Object.fromEntries(http.headers), body: JSON.parse(http.body) };
    } catch (e) {
      if (e instanceof RequestBuildError) actual = { error: e.code };
      else if (e instanceof InvalidOptionsError) actual = { error: e.code };
      else throw e;
    }
    return jsonDiff('', actual, c.expected);
  },

  parse_response(c) {
    const i = c.input;
    const opts = i.max_body_bytes === undefined ? {} : { maxBodyBytes: i.max_body_bytes };
    const endpoint = i.endpoint ?? 'messages';
    let actual;
    try {
      if (endpoint === 'messages') actual = { message: parseMessage(i.status, i.headers, i.body, opts) };
      else if (endpoint === 'count_tokens') actual = { input_tokens: parseCountTokens(i.status, i.headers, i.body, opts) };
      else return `unknown endpoint ${endpoint}`;
    } catch (e) {
      if (e instanceof APIError) {
        actual = { error: { kind: 'api', type: e.type, status: e.status, request_id: e.requestId, message: e.apiMessage } };
      } else if (e instanceof ResponseParseError) {
        const type = e.type === 'response_too_large' ? 'too_large' : 'malformed';
        actual = { error: { kind: 'parse', type, message: e.message } };
      } else throw e;
    }
    const expected = structuredClone(c.expected);
    if (expected.error && actual.error) {
      const message = actual.error.message;
      delete actual.error.message;
      const contains = expected.error.message_contains;
      if (typeof contains !== 'string') return 'expected.error needs message_contains';
      delete expected.error.message_contains;
      if (!message.includes(contains)) return `message ${JSON.stringify(message)} does not contain ${JSON.stringify(contains)}`;
    }
    return jsonDiff('', actual, expected);
  },

  rate_limit_headers(c) {
    return jsonDiff('', rateLimitInfo(c.input.headers, c.input.now_ms), c.expected);
  },

  retry_decision(c) {
    const i = c.input;
    const policy = new RetryPolicy(i.policy);
    const decision = policy.decide({
      attempt: i.attempt,
      failure: i.failure,
      headers: i.headers ?? null,
      jitterSeed: i.jitter_seed,
      nowMs: i.now_ms,
    });
    return jsonDiff('', decision, c.expected);
  },

  sse_decode(c) {
    const i = c.input;
    let chunks;
    if (Array.isArray(i.chunks)) chunks = i.chunks.map((s) => utf8.encode(s));
    else if (Array.isArray(i.chunks_b64)) chunks = i.chunks_b64.map(b64decode);
    else return 'input has neither chunks nor chunks_b64';
    const maxEventBytes = i.limit;
    const run = (pieces) => {
      const dec = new SseDecoder({ maxEventBytes });
      const events = [];
      const ev = (e) => ({ event: e.event, data: e.data, id: e.id, retry: e.retry });
      const failed = (e) => {
        if (e instanceof StreamError && e.code === 'stream_event_too_large') return { events, error: 'event_too_large' };
        if (e instanceof StreamError && e.code === 'stream_incomplete') return { events, finish: 'mid_event' };
        throw e;
      };
      try {
        for (const p of pieces) {
          dec.feed(p);
          for (let e = dec.next(); e !== null; e = dec.next()) events.push(ev(e));
        }
        for (let e = dec.finish(); e !== null; e = dec.finish()) events.push(ev(e));
        return { events, finish: 'clean' };
      } catch (e) {
        return failed(e);
      }
    };
    const check = (actual, how) => {
      if (c.expected.events === undefined) delete actual.events;
      const d = jsonDiff('', actual, c.expected);
      return d ? `${how}: ${d}\n  actual: ${JSON.stringify(actual)}` : null;
    };
    let d = check(run(chunks), 'as given');
    if (d) return d;
    const stream = new Uint8Array(chunks.reduce((n, ch) => n + ch.length, 0));
    let at = 0;
    for (const ch of chunks) {
      stream.set(ch, at);
      at += ch.length;
    }
    if ((d = check(run([stream]), 'one chunk'))) return d;
    const bytes = [];
    for (let k = 0; k < stream.length; k++) bytes.push(stream.subarray(k, k + 1));
    if ((d = check(run(bytes), 'one byte at a time'))) return d;
    if (stream.length <= 512) {
      for (let k = 0; k <= stream.length; k++) {
        if ((d = check(run([stream.subarray(0, k), stream.subarray(k)]), `split at ${k}`))) return d;
      }
    }
    const rng = new Lcg(0x5eedn ^ BigInt(stream.length));
    for (let round = 0; round < 200; round++) {
      const parts = 2 + rng.below(12);
      const cuts = [];
      for (let k = 0; k < parts - 1; k++) cuts.push(rng.below(stream.length + 1));
      cuts.sort((a, b) => a - b);
      const pieces = [];
      let from = 0;
      for (const cut of [...cuts, stream.length]) {
        pieces.push(stream.subarray(from, cut));
        from = cut;
      }
      if ((d = check(run(pieces), `random split round ${round}`))) return d;
    }
    return null;
  },

  sse_accumulate(c) {
    const sdkDrops = Array.isArray(c.meta.sdk_drops) ? c.meta.sdk_drops : [];
    if (typeof c.input.sse !== 'string') return 'input.sse is not a string';
    const sse = utf8.encode(c.input.sse);
    const kindOf = (e) => {
      if (e instanceof APIError) return 'api';
      if (e instanceof StreamError) {
        return { stream_incomplete: 'incomplete', stream_malformed: 'malformed', stream_protocol: 'protocol', stream_event_too_large: 'decode' }[e.code] ?? 'other';
      }
      throw e;
    };
    const run = (pieces) => {
      const parser = new MessageStreamParser();
      const types = [];
      let failure = null;
      outer: for (const p of pieces) {
        parser.feed(p);
        for (;;) {
          try {
            const ev = parser.next();
            if (ev === null) break;
            types.push(ev.type);
          } catch (e) {
            failure = e;
            break outer;
          }
        }
      }
      if (failure === null) {
        parser.endOfInput();
        for (;;) {
          try {
            const ev = parser.next();
            if (ev === null) break;
            types.push(ev.type);
          } catch (e) {
            failure = e;
            break;
          }
        }
      }
      let result;
      if (failure === null) {
        try {
          result = { ok: parser.finish() };
        } catch (e) {
          failure = e;
        }
      }
      if (failure !== null) result = { err: [kindOf(failure), failure.partial ?? null] };
      return { types, result };
    };
    const dropPaths = (value, paths) => {
      for (const p of paths) {
        const parts = p.split('.');
        const last = parts.pop();
        let obj = value;
        for (const part of parts) obj = obj && typeof obj === 'object' ? obj[part] : undefined;
        if (obj && typeof obj === 'object') delete obj[last];
      }
    };
    const expected = c.expected;
    const check = ({ types, result }) => {
      if (expected.event_types !== undefined) {
        const ours = types.filter((t) => t !== 'ping');
        if (ours.length === expected.event_types.length + 1 && ours[ours.length - 1] === 'message_stop') ours.pop();
        if (!isDeepStrictEqual(ours, expected.event_types)) {
          return `event types ${JSON.stringify(ours)} != expected ${JSON.stringify(expected.event_types)}`;
        }
      }
      if (expected.creditpool !== undefined) {
        if (!result.ok) return `expected a message with ${JSON.stringify(expected.creditpool)}, got an error`;
        return jsonSubsetDiff('tool_input_issues', result.ok.tool_input_issues, expected.creditpool.tool_input_issues);
      }
      if (result.ok && expected.message !== undefined) {
        const msg = structuredClone(result.ok.message);
        const want = structuredClone(expected.message);
        dropPaths(msg, sdkDrops);
        dropPaths(want, sdkDrops);
        return jsonDiff('message', msg, want);
      }
      if (result.err && expected.error !== undefined) {
        const want = expected.error.kind;
        if (typeof want === 'string' && want !== result.err[0]) return `error kind ${result.err[0]} != expected ${want}`;
        return null;
      }
      if (result.ok && expected.error !== undefined) return `expected error ${JSON.stringify(expected.error)}, got a message`;
      if (result.err && expected.message !== undefined) return `expected a message, got error ${result.err[0]}`;
      return 'vector has neither message nor error';
    };
    const whole = run([sse]);
    const d = check(whole);
    if (d) return d;
    for (let seed = 0; seed < 24; seed++) {
      const cuts = accumulateSplits(sse.length, seed, 1 + (seed % 12));
      const pieces = [];
      let from = 0;
      for (const cut of cuts) {
        pieces.push(sse.subarray(from, cut));
        from = cut;
      }
      pieces.push(sse.subarray(from));
      const again = run(pieces);
      if (!isDeepStrictEqual(again, whole)) return `split at seed ${seed} differs: ${JSON.stringify(again.types)}`;
    }
    return null;
  },

  partial_json(c) {
    // The strict comparison needs integers and floats apart, which JS numbers
    // are not: the value comes back as JSON text and both sides are read with
    // a reader that keeps the distinction.
    const expected = TAGGED_PARTIAL_JSON.get(`${c.file}#${c.index}`);
    const text = c.input.text;
    if (typeof text !== 'string') return 'input.text missing';
    let actual;
    try {
      const r = parsePartialJsonText(text);
      actual = { value: parseTagged(r.json), complete: r.complete };
    } catch (e) {
      if (!(e instanceof PartialJsonError)) throw e;
      actual = { error: e.kind };
    }
    const d = strictDiff('', actual, expected);
    return d ? `${d}\n  input: ${JSON.stringify(text)}\n  actual: ${JSON.stringify(actual)}` : null;
  },

  tool_definition(c) {
    let actual;
    try {
      if (c.input.tool !== undefined) checkTool(c.input.tool);
      else if (c.input.tools !== undefined) checkTools(c.input.tools);
      else return 'input has neither `tool` nor `tools`';
      actual = { ok: true };
    } catch (e) {
      if (!(e instanceof ToolDefinitionError)) throw e;
      const { type: _t, name: _n, code: _c, ...form } = e.toJSON();
      actual = { error: form };
    }
    let shown = actual;
    if (actual.error && c.expected.error && typeof c.expected.error === 'object') {
      shown = { error: Object.fromEntries(Object.entries(actual.error).filter(([k]) => k in c.expected.error)) };
    }
    const d = jsonDiff('', shown, c.expected);
    return d ? `${d}; actual ${JSON.stringify(actual)}` : null;
  },

  tool_input(c) {
    const validator = new ToolValidator(c.input.tools);
    const truncated = c.input.truncated === true;
    const wanted = c.expected.error;
    if (wanted === undefined) {
      try {
        validator.check(c.input.call, { truncated });
      } catch (e) {
        return `expected ${JSON.stringify(c.expected)}, got error ${JSON.stringify(e.toJSON?.() ?? String(e))}`;
      }
      return jsonDiff('', { ok: true }, c.expected);
    }
    let err;
    try {
      validator.check(c.input.call, { truncated });
      return `expected error ${JSON.stringify(wanted)}, got ok`;
    } catch (e) {
      if (!(e instanceof ToolInputInvalidError)) throw e;
      err = e;
    }
    const actual = err.toJSON();
    if (Array.isArray(actual.errors)) actual.paths = actual.errors.map((v) => v.path);
    for (const s of wanted.text_contains ?? []) {
      if (!err.toolResultText.includes(s)) return `tool result text lacks ${JSON.stringify(s)}:\n${err.toolResultText}`;
    }
    const shown = {};
    const expected = { ...wanted };
    delete expected.text_contains;
    for (const k of Object.keys(expected)) shown[k] = actual[k] ?? null;
    const d = jsonDiff('error', shown, expected);
    return d ? `${d}; actual ${JSON.stringify(actual)}` : null;
  },

  cost(c) {
    const i = c.input;
    let actual;
    try {
      const table = tableFor(i);
      const r = table.cost(i.model, i.usage, i.options);
      actual = {
        input: nanos(r.input),
        cache_write_5m: nanos(r.cache_write_5m),
        cache_write_1h: nanos(r.cache_write_1h),
        cache_read: nanos(r.cache_read),
        output: nanos(r.output),
        web_search: nanos(r.web_search),
        total: nanos(r.total),
        long_context: r.long_context,
      };
      // Container time, compared only when counted (as vectors_cost.rs, whose
      // JSON leaves the zero fields out); cost() always reports them.
      if (r.container_minutes > 0) Object.assign(actual, { code_execution: nanos(r.code_execution), container_minutes: r.container_minutes });
      if (r.estimated) actual.estimated = true;
    } catch (e) {
      actual = { error: pricingErrorJson(e) };
    }
    return jsonDiff('$', actual, c.expected);
  },

  worst_case(c) {
    const i = c.input;
    let actual;
    try {
      const table = tableFor(i);
      const e = table.worstCase(i.request, i.body_len, i.mode);
      if (e.may_overshoot && e.notes.length === 0) return 'an estimate that may overshoot must say why';
      actual = {
        input_tokens_bound: e.input_tokens_bound,
        output_tokens_bound: e.output_tokens_bound,
        cost: nanos(e.cost),
        may_overshoot: e.may_overshoot,
      };
      // Container time, compared only when assumed (as vectors_worst_case.rs);
      // worstCase() always reports it.
      if (e.container_minutes > 0) Object.assign(actual, { container_minutes: e.container_minutes, container_cost: nanos(e.container_cost) });
    } catch (e) {
      actual = { error: pricingErrorJson(e) };
    }
    return jsonDiff('$', actual, c.expected);
  },

  capability_check(c) {
    let actual;
    try {
      checkRequest(c.input.request);
      actual = { ok: true };
    } catch (e) {
      if (!(e instanceof CapabilityError)) throw e;
      const error = { kind: e.kind, model: e.model };
      if (e.kind === 'sampling_parameter') error.parameter = e.parameter;
      if (e.kind === 'forced_tool_use') error.tool_choice = e.toolChoice;
      actual = { error, message: e.message };
    }
    return jsonDiff('$', actual, c.expected);
  },
  pool_scenario(c) {
    const plain = runPoolScenario(c.input, false);
    const out = structuredClone(plain);
    if (c.expected.ledger === undefined) delete out.ledger;
    const d = jsonDiff('', out, c.expected);
    if (d) return d;
    if (plain.error !== undefined) return null;
    // The book of message threads is not in the snapshot (pool/threads.rs).
    if ((c.input.ops ?? []).some((op) => String(op.op).startsWith('thread_'))) return null;
    // A snapshot written and restored before every operation changes nothing.
    return jsonDiff('restored before every op', runPoolScenario(c.input, true), plain);
  },
  activity_chart(c) {
    // The core writes the spec; the JS one must be the same JSON value.
    const o = c.input.options ?? null;
    const options = o && o.limit !== undefined && o.limit !== null ? { ...o, limit: nanoMoney(BigInt(o.limit)) } : o;
    return jsonDiff('$', { spec: activityChart(c.input.ledger, options) }, c.expected);
  },
  meter(c) {
    const actual = runMeterScenario(c.input);
    for (const [key, want] of Object.entries(c.expected)) {
      const d = key === 'pool' ? jsonSubsetDiff(key, actual[key], want) : jsonDiff(key, actual[key], want);
      if (d) return d;
    }
    return null;
  },
  agent_run(c) {
    const actual = runAgentScenario(c.input);
    for (const [key, want] of Object.entries(c.expected)) {
      let d = null;
      if (key === 'outcome' || key === 'pool') d = jsonSubsetDiff(key, actual[key], want);
      else if (key === 'transcript_tail') d = jsonDiff(key, actual.transcript.slice(actual.transcript.length - want.length), want);
      else if (key === 'tool_result_errors') {
        for (const w of want) {
          const hit = actual.tool_result_errors.find((g) => g.tool_use_id === w.tool_use_id);
          if (!hit) return `no is_error result for ${w.tool_use_id}`;
          const text = JSON.stringify(hit.content);
          if (!text.includes(w.contains)) return `is_error result ${text} does not contain ${JSON.stringify(w.contains)}`;
        }
      } else d = jsonDiff(key, actual[key], want);
      if (d) return d;
    }
    return null;
  },
};

/** Runs a meter case as vectors_meter.rs does: a Meter against a Pool through scripted attempts (with `calls`: several calls through one ThreadBook and one pool). */
function runMeterScenario(input) {
  const ledger = [];
  const pool = new Pool(moneyConfig(input.pool), { now: () => input.start_ms, onLedger: (e) => ledger.push(e) });
  // `threads: "pool"`: the pool's own book (thread ops through the store).
  const threads = input.threads === 'pool' ? 'pool' : new ThreadBook();
  const ops = [];
  const n = (v) => Number(typeof v === 'object' && v !== null ? v.nanos : v);
  let clock = input.start_ms;
  const runCall = (call) => {
    let m;
    try {
      m = new Meter(input.config, JSON.stringify(call.body), { threads, nowMs: clock });
    } catch (e) {
      return { error: e.code };
    }
    const drain = (now) => {
      for (;;) {
        let a;
        try {
          a = m.nextAction(now);
        } catch (e) {
          return e instanceof PoolRefusedError ? { refused: e.code } : { error: e.code };
        }
        if (a.type !== 'pool') return a.type === 'wait' ? { wait_until: Number(a.until_ms) } : a.type;
        ops.push(a.op.op);
        m.handlePool(pool.apply(a.op), now);
      }
    };
    let now = clock;
    const actions = [];
    for (const a of call.attempts) {
      now += 1;
      m.beginAttempt(a.retries_taken ?? 0, a.max_retries, now);
      let act = drain(now);
      while (act !== null && typeof act === 'object' && act.wait_until !== undefined) {
        actions.push(act);
        now = act.wait_until;
        act = drain(now);
      }
      actions.push(act);
      if (act !== 'send') break;
      now += 1;
      if (a.transport !== undefined) m.handleTransportError(a.transport, now);
      else if (a.abandon === true) m.abandon(now);
      else if (m.handleHead(a.status, Object.entries(a.headers ?? {}), now) === 'whole') m.handleBody(utf8.encode(a.body ?? ''), now);
      else {
        for (const c of a.chunks ?? []) {
          now += 1;
          m.handleChunk(utf8.encode(c), now);
          drain(now);
        }
        now += 1;
        if (a.end === false) m.abandon(now);
        else m.handleEnd(now);
      }
      actions.push(drain(now));
    }
    if (call.abandon_at_end === true) {
      now += 1;
      m.abandon(now);
      actions.push(drain(now));
    }
    clock = now;
    return { body: JSON.parse(m.body), amount: n(m.amount), actions };
  };
  let out;
  if (input.calls !== undefined) {
    const results = [];
    for (const call of input.calls) {
      clock += call.advance_ms ?? 0;
      const r = runCall(call);
      results.push(r.error !== undefined ? r : { amount: r.amount, actions: r.actions });
    }
    out = { calls: results };
  } else {
    out = runCall(input);
    if (out.error !== undefined) return out;
  }
  const usage = pool.usage;
  return {
    ...out,
    pool_ops: ops,
    ledger: ledger.map((e) => ({ kind: e.kind, cost: n(e.cost), estimated: e.estimated === true })),
    pool: { settled: n(usage.settled), reserved: n(usage.reserved) },
  };
}

/**
 * Runs an agent_run case exactly as tests/vectors/README.md ("agent_run")
 * says: the run's pool ops applied to a Pool (the PoolStore) and recorded,
 * scripted responses played as in messages_call with poll_pool after each
 * chunk and timeout, tool outputs worded by the run, the clock moved only by
 * waits and timeouts.
 */
function runAgentScenario(input) {
  const clock = { now: input.start_ms };
  const early = input.early_wake_ms ?? 0;
  const ledger = [];
  const pool = new Pool(moneyConfig(input.pool), { now: () => clock.now, onLedger: (e) => ledger.push(e) });
  const client = new Client({ apiKey: input.api_key ?? 'k', baseURL: 'http://vectors.invalid' });
  const run = new AgentRun({ client, config: input.config, request: input.request });
  const responses = [...input.responses];
  const toolResults = [...input.tool_results];
  const actions = [];
  const poolOps = [];
  const apply = (op) => {
    poolOps.push(op.op);
    run.handlePool(pool.apply(op), clock.now);
  };
  const pollPool = () => {
    for (let op = run.pollPool(clock.now); op !== null; op = run.pollPool(clock.now)) apply(op);
  };
  for (let i = 0; i < 200; i++) {
    const a = run.nextAction(clock.now);
    if (a.type === 'done') break;
    if (a.type === 'pool') apply(a.op);
    else if (a.type === 'send') {
      actions.push({ send: true });
      const r = responses.shift();
      if (r === undefined) throw new Error('the run sent more requests than scripted');
      const d = playAttempt(run, r, clock, pollPool);
      if (d) throw new Error(d);
    } else if (a.type === 'call_tools') {
      actions.push({ call_tools: a.calls });
      const scripted = toolResults.shift();
      if (scripted === undefined) throw new Error('more tool calls than scripted');
      const results = scripted.map((v) => {
        if (v.output === undefined) return v;
        const c = a.calls.find((x) => x.id === v.tool_use_id);
        if (!c) throw new Error(`no call ${v.tool_use_id}`);
        return run.toolResult(c, v.output);
      });
      run.handleToolResults(results);
    } else if (a.type === 'wait') {
      actions.push(waitAction(a, true));
      clock.now = Math.max(clock.now, a.until_ms - early);
    }
  }
  const outcome = run.outcome();
  if (outcome === null) throw new Error('no outcome');
  const exception = run.outcomeError();
  if (outcome.code !== undefined && outcome.code !== null) {
    // Every language raises the class the core's table names, with that code.
    if (exception === null) throw new Error(`outcome ${outcome.status} (${outcome.code}) has no error`);
    if (exception.code !== outcome.code) throw new Error(`outcome error code ${exception.code} != ${outcome.code}`);
    if (exception.name !== classForCodeOf(outcome.code)) throw new Error(`outcome error class ${exception.name} != ${classForCodeOf(outcome.code)}`);
  }
  run.free();
  const errors = outcome.transcript
    .flatMap((m) => (Array.isArray(m.content) ? m.content : []))
    .filter((b) => b.type === 'tool_result' && b.is_error === true);
  const usage = pool.usage;
  return {
    actions,
    pool_ops: poolOps,
    outcome,
    turn_count: outcome.turns.length,
    pool: { settled: Number(usage.settled.nanos), reserved: Number(usage.reserved.nanos) },
    ledger: ledger.length,
    ledger_kinds: ledger.map((e) => e.kind),
    ledger_request_ids: ledger.map((e) => e.request_id ?? null),
    transcript: outcome.transcript,
    tool_result_errors: errors,
  };
}

/**
 * Runs a pool_scenario case as crates/creditpool-core/tests/vectors_pool_scenario.rs
 * does: every op through `apply`, alerts (as webhook payloads, with the
 * body and signature the pool's webhook delivery sends when the case has a
 * secret) and the ledger drained after each.
 */
function runPoolScenario(input, roundtrip) {
  const secret = input.webhook_secret;
  let afterOp = 0;
  const results = [];
  const events = [];
  const ledger = [];
  const sent = [];
  // The pool is made at `created_at_ms`; its ops carry their own times, and
  // its webhook deliveries are made (and signed) at `webhook_delivered_at_ms`.
  let made = false;
  const options = {
    now: () => (made ? input.webhook_delivered_at_ms ?? input.created_at_ms ?? 0 : input.created_at_ms ?? 0),
    onLedger: (entry) => ledger.push(entry),
    onAlert: (alert) => {
      const ev = { after_op: afterOp, payload: alert.payload };
      if (typeof secret === 'string') {
        const init = sent.shift();
        ev.body = init.body;
        const headers = Object.fromEntries(init.headers);
        ev.timestamp = Number(headers['x-creditpool-timestamp']);
        ev.signature = headers['x-creditpool-signature'];
        if (ev.body !== alert.body) throw new Error('the webhook body is not the alert body');
      }
      events.push(ev);
    },
  };
  if (typeof secret === 'string') {
    options.webhooks = [{ url: 'http://webhook.invalid/', secret }];
    options.fetch = (_url, init) => {
      sent.push(init);
      return Promise.resolve({ ok: true, status: 200 });
    };
  }
  let pool;
  try {
    pool = new Pool(moneyConfig(input.config), options);
  } catch (e) {
    if (!(e instanceof PoolError)) throw e;
    const { type, name: _n, message: _m, code: _c, ...fields } = e.toJSON();
    return { error: { error: type, ...fields } };
  }
  made = true;
  input.ops.forEach((op, i) => {
    afterOp = i;
    if (roundtrip) pool = Pool.restore(pool.snapshot(), options);
    results.push(pool.apply(op));
  });
  return { results, events, ledger };
}

/** The built-in table with a case's overrides applied in order. */
function tableFor(input) {
  let table = new PriceTable();
  for (const o of input.overrides ?? []) table = table.withOverride(o.model ?? '', o.prices);
  return table;
}

/**
 * Fields of the cost and worst-case vectors that the wasm binding's
 * `cost()` / `worstCase()` do not return yet (bindings/wasm/src/pricing.rs,
 * `cost_js` / `estimate_js`): until they do, these are taken as expected and
 * the container time is checked through `total` / `cost` (and, settled, by
 * the meter vectors' ledger `estimated` flag).
 */

/** A pricing error as the vectors describe it. */
function pricingErrorJson(e) {
  // A `container_minutes` out of range is bad options (InvalidOptionsError), with the pricing kind.
  if (!(e instanceof PricingError) && e?.code !== 'invalid_container_minutes') throw e;
  const v = { kind: e.kind };
  if (['unknown_model', 'unpriced', 'unsupported_usage'].includes(e.kind)) v.model = e.model;
  if (e.kind === 'invalid_price') v.value = e.value;
  return v;
}

// Expected values of partial_json cases, read keeping integers and floats apart.
const TAGGED_PARTIAL_JSON = new Map();
for (const f of files) {
  if (f.doc.kind !== 'partial_json') continue;
  parseTagged(f.text).cases.forEach((c, index) => TAGGED_PARTIAL_JSON.set(`${f.rel}#${index}`, c.expected));
}

// The least number of cases per kind, as the Rust runners assert.
const MINIMUM = {
  build_request: 1,
  parse_response: 25,
  rate_limit_headers: 10,
  retry_decision: 30,
  sse_decode: 30,
  sse_accumulate: 1,
  partial_json: 40,
  tool_definition: 25,
  tool_input: 30,
  cost: 35,
  worst_case: 15,
  capability_check: 10,
  pool_scenario: 25,
  money: 30,
};

// Kinds the package does not expose yet, each with the reason. They show as
// TODO in the test output; a kind neither run nor listed here fails, and so
// does a listed kind that gains a runner or loses its vectors.
const PENDING = {
};

const kinds = [...new Set(files.map((f) => f.doc.kind))].sort();

test('every vector file has a kind', () => {
  for (const f of files) assert.equal(typeof f.doc.kind, 'string', `${f.rel} has no kind`);
});

for (const kind of kinds) {
  if (PENDING[kind] !== undefined && runners[kind] === undefined) {
    test(`vectors: ${kind}`, { todo: PENDING[kind] }, () => {
      assert.fail(`${loadKind(kind, files).length} ${kind} vectors not run: ${PENDING[kind]}`);
    });
    continue;
  }
  test(`vectors: ${kind}`, () => {
    const runner = runners[kind];
    assert.ok(runner, `no JS runner for vector kind ${JSON.stringify(kind)}: expose it in the package and add a runner here`);
    const n = runKind(kind, runner, files);
    assert.ok(n >= (MINIMUM[kind] ?? 1), `only ${n} ${kind} vectors`);
  });
}

test('every runner has vectors, and the pending list is not stale', () => {
  for (const kind of Object.keys(runners)) assert.ok(loadKind(kind, files).length > 0, `no vectors of kind ${kind}`);
  for (const kind of Object.keys(PENDING)) {
    assert.ok(kinds.includes(kind), `pending kind ${kind} has no vectors any more`);
    assert.equal(runners[kind], undefined, `pending kind ${kind} has a runner: take it off the list`);
  }
});
