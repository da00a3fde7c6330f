// The client against a scripted local server: headers and body, retries as
// the core decides, errors by class, streams, timeouts and aborts.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import {
  AbortError,
  APIConnectionError,
  APIError,
  BadRequestError,
  AuthenticationError,
  CapabilityError,
  Client,
  ConfigurationError,
  ConnectionError,
  ConnectionTimeoutError,
  CreditpoolError,
  InternalServerError,
  InvalidRequestError,
  MessageStream,
  OverloadedError,
  RateLimitError,
  StreamIncompleteError,
  ToolDefinitionError,
  CODES,
  RequestBuildError,
} from 'creditpool';
import { classForCode } from 'creditpool/core';
import { apiError, hang, json, message, sse, sseThenStall, startServer, textStream } from './helpers/server.js';

const KEY = 'sk-test-SECRETKEY-0123456789';
const REQUEST = { model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] };
// Fast retries: the server's retry-after-ms decides, or a tiny backoff.
const FAST = { retry: { initial_backoff_ms: 1, max_backoff_ms: 2 } };

const servers = [];
const seenErrors = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function server(script) {
  const s = await startServer(script);
  servers.push(s);
  return s;
}

function client(s, options = {}) {
  return new Client({ apiKey: KEY, baseURL: s.url, ...FAST, ...options });
}

/** Awaits `promise`, expecting a rejection; returns the error. */
async function failure(promise) {
  try {
    await promise;
  } catch (e) {
    seenErrors.push(e);
    return e;
  }
  assert.fail('expected a rejection');
}

test('create sends the headers, the pool selector and the body, and returns the message', async () => {
  const s = await server([json(200, message())]);
  const c = client(s, { betas: ['a-2025-01-01', 'b-2025-02-02'] });
  const m = await c.messages.create(REQUEST);
  assert.deepEqual(m.content, [{ type: 'text', text: 'Hello!' }]);
  assert.equal(m.usage.input_tokens, 12);
  const [req] = s.requests;
  assert.equal(req.url, '/v1/messages');
  assert.equal(req.headers['x-api-key'], KEY);
  assert.equal(req.headers['anthropic-version'], '2023-06-01');
  assert.equal(req.headers['anthropic-beta'], 'a-2025-01-01,b-2025-02-02');
  assert.equal(req.headers['content-type'], 'application/json');
  assert.equal(req.headers['anthropic-dangerous-direct-browser-access'], undefined, 'not a browser');
  const body = JSON.parse(req.body);
  assert.equal(body.credit_pool, 'programmatic');
  assert.equal(body.stream, undefined);
  assert.deepEqual(body.messages, REQUEST.messages);
});

test('the pool selector can be renamed or switched off', async () => {
  const s = await server([json(200, message())]);
  await client(s, { poolSelector: { field: 'pool', value: 'team-a' } }).messages.create(REQUEST);
  await client(s, { poolSelector: false }).messages.create(REQUEST);
  assert.equal(JSON.parse(s.requests[0].body).pool, 'team-a');
  assert.equal(JSON.parse(s.requests[0].body).credit_pool, undefined);
  assert.equal(JSON.parse(s.requests[1].body).credit_pool, undefined);
});

test('an overloaded API is retried, honouring retry-after-ms', async () => {
  const s = await server([
    apiError(529, 'overloaded_error', 'Overloaded', { 'retry-after-ms': '0' }),
    apiError(500, 'api_error', 'boom', { 'retry-after-ms': '0' }),
    json(200, message({ text: 'third time' })),
  ]);
  const m = await client(s).messages.create(REQUEST);
  assert.equal(m.content[0].text, 'third time');
  assert.equal(s.requests.length, 3);
});

test('errors are Error subclasses chosen by the API error type', async () => {
  const s = await server([apiError(400, 'invalid_request_error', 'max_tokens: too big')]);
  const e = await failure(client(s).messages.create(REQUEST));
  assert.ok(e instanceof InvalidRequestError && e instanceof APIError && e instanceof CreditpoolError && e instanceof Error);
  assert.equal(e.type, 'invalid_request_error');
  assert.equal(e.status, 400);
  assert.equal(e.requestId, 'req_test', 'the request-id header wins over the body');
  assert.equal(e.apiMessage, 'max_tokens: too big');
  assert.equal(e.attempts, 1, 'a 400 is not retried');
  assert.deepEqual(e.giveUp, { type: 'not_retryable', status: 400 });
  assert.equal(s.requests.length, 1);
});

test('an unknown API error type still becomes an APIError', async () => {
  const s = await server([apiError(418, 'teapot_error', 'short and stout')]);
  const e = await failure(client(s).messages.create(REQUEST));
  assert.equal(e.constructor, APIError);
  assert.equal(e.type, 'teapot_error');
});

test('a retry-after beyond the cap gives up at once', async () => {
  const s = await server([apiError(429, 'rate_limit_error', 'slow down', { 'retry-after': '3600' })]);
  const e = await failure(client(s).messages.create(REQUEST));
  assert.ok(e instanceof RateLimitError);
  assert.deepEqual(e.giveUp, { type: 'retry_after_too_long', retry_after_ms: 3_600_000, cap_ms: 600_000 });
  assert.equal(s.requests.length, 1);
});

test('retries stop after maxRetries', async () => {
  const s = await server([apiError(500, 'api_error', 'down')]);
  const e = await failure(client(s, { maxRetries: 2 }).messages.create(REQUEST));
  assert.ok(e instanceof InternalServerError);
  assert.equal(e.attempts, 3);
  assert.deepEqual(e.giveUp, { type: 'attempts_exhausted', attempts: 3 });
  assert.equal(s.requests.length, 3);
});

test('a refused connection is a ConnectionError', async () => {
  const s = await server([json(200, message())]);
  const url = s.url;
  await s.close();
  servers.splice(servers.indexOf(s), 1);
  const c = new Client({ apiKey: KEY, baseURL: url, maxRetries: 1, ...FAST });
  const e = await failure(c.messages.create(REQUEST));
  assert.ok(e instanceof ConnectionError);
  assert.equal(e.type, 'connection_error');
  assert.equal(e.attempts, 2);
});

test('a response slower than the timeout is a ConnectionTimeoutError', async () => {
  const s = await server([hang()]);
  const e = await failure(client(s, { timeout: 50, maxRetries: 0 }).messages.create(REQUEST));
  assert.ok(e instanceof ConnectionTimeoutError && e instanceof ConnectionError);
  assert.equal(e.phase, 'read');
});

test('an AbortSignal aborts a request, whatever reason it is given', async () => {
  const s = await server([hang()]);
  const ctl = new AbortController();
  const pending = client(s).messages.create(REQUEST, { signal: ctl.signal });
  ctl.abort('a string reason');
  const e = await failure(pending);
  assert.ok(e instanceof AbortError);
  assert.equal(e.type, 'aborted');
  const e2 = await failure(client(s).messages.create(REQUEST, { signal: AbortSignal.abort() }));
  assert.ok(e2 instanceof AbortError);
});

test('capabilities and tool definitions are checked before anything is sent', async () => {
  const s = await server([json(200, message())]);
  const c = client(s);
  const e = await failure(c.messages.create({ ...REQUEST, model: 'claude-sonnet-5', temperature: 0.2 }));
  assert.ok(e instanceof CapabilityError);
  assert.equal(e.kind, 'sampling_parameter');
  const bad = { name: 'bad name!', description: 'x', input_schema: { type: 'object' } };
  const e2 = await failure(c.messages.create({ ...REQUEST, tools: [bad] }));
  assert.ok(e2 instanceof ToolDefinitionError);
  assert.equal(e2.rule, 'invalid_name');
  const e3 = await failure(c.messages.create({ ...REQUEST, max_tokens: 0 }));
  // Refused locally: the core's RequestBuildError (code invalid_request), not the API's 400.
  assert.ok(e3 instanceof RequestBuildError);
  assert.equal(e3.code, 'invalid_request');
  assert.equal(e3.type, 'invalid_request_error');
  assert.equal(e3.status, null);
  assert.equal(s.requests.length, 0);
  const ok = await client(s, { checkCapabilities: false }).messages.create({ ...REQUEST, model: 'claude-sonnet-5', temperature: 0.2 });
  assert.equal(ok.id, 'msg_test');
});

test('configuration errors', () => {
  const thrown = (f) => {
    try {
      f();
    } catch (e) {
      seenErrors.push(e);
      return e;
    }
    assert.fail('expected a throw');
  };
  let e = thrown(() => new Client({ apiKey: KEY, baseURL: 'http://x', colour: 'blue' }));
  assert.ok(e instanceof ConfigurationError);
  assert.equal(e.kind, 'invalid_options');
  e = thrown(() => new Client({ apiKey: '', baseURL: 'http://x' }));
  assert.equal(e.kind, 'missing_api_key');
  e = thrown(() => new Client({ apiKey: `${KEY}\n`, baseURL: 'http://x', betas: ['a,b'] }));
  assert.equal(e.kind, 'invalid_beta');
  e = thrown(() => new Client({ apiKey: 'sk\u0000x', baseURL: 'http://x' }));
  assert.equal(e.kind, 'invalid_api_key');
  e = thrown(() => new Client({ apiKey: KEY, baseURL: 'ftp://x' }));
  assert.equal(e.kind, 'invalid_base_url');
  e = thrown(() => new Client({ apiKey: KEY, baseURL: 'http://x', poolSelector: { field: 'model', value: 1 } }));
  assert.equal(e.kind, 'selector_collision');
});

test('countTokens', async () => {
  const s = await server([json(200, { input_tokens: 42 })]);
  assert.equal(await client(s).messages.countTokens(REQUEST), 42);
  assert.equal(s.requests[0].url, '/v1/messages/count_tokens');
  assert.equal(JSON.parse(s.requests[0].body).credit_pool, undefined, 'counting costs nothing: no selector');
});

test('a stream yields the API events and the final message', async () => {
  const s = await server([sse(textStream())]);
  const stream = client(s).messages.stream(REQUEST);
  assert.ok(stream instanceof MessageStream);
  const types = [];
  let text = '';
  for await (const ev of stream) {
    types.push(ev.type);
    if (ev.type === 'content_block_delta') text += ev.delta.text;
  }
  assert.deepEqual(types, ['message_start', 'content_block_start', 'ping', 'content_block_delta', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
  assert.equal(text, 'Hello!');
  const m = await stream.finalMessage();
  assert.equal(m.content[0].text, 'Hello!');
  assert.equal(m.usage.output_tokens, 5);
  assert.equal(m.stop_reason, 'end_turn');
  assert.equal(await stream.finalText(), 'Hello!');
  assert.equal(stream.requestId, 'req_stream');
  assert.equal(JSON.parse(s.requests[0].body).stream, true);
  assert.equal(s.requests[0].headers.accept, 'text/event-stream');
});

test('finalMessage alone reads the whole stream', async () => {
  const s = await server([sse(textStream(['a', 'b', 'c']))]);
  const { message: m, tool_input_issues } = await client(s).messages.stream(REQUEST).finished();
  assert.equal(m.content[0].text, 'abc');
  assert.deepEqual(tool_input_issues, []);
});

test('create with stream: true resolves to a MessageStream', async () => {
  const s = await server([sse(textStream())]);
  const stream = await client(s).messages.create({ ...REQUEST, stream: true });
  assert.ok(stream instanceof MessageStream);
  assert.equal((await stream.finalMessage()).content[0].text, 'Hello!');
});

test('a stream is retried when its response is an error status', async () => {
  const s = await server([apiError(529, 'overloaded_error', 'Overloaded', { 'retry-after-ms': '0' }), sse(textStream())]);
  const stream = client(s).messages.stream(REQUEST);
  assert.equal(await stream.finalText(), 'Hello!');
  assert.equal(stream.attempts, 2);
});

const overloadedEvent = 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n';

test('a mid-stream overloaded error is retried while no event was handed out', async () => {
  const s = await server([sse([...textStream().slice(0, 4), overloadedEvent]), sse(textStream())]);
  const stream = client(s).messages.stream(REQUEST);
  assert.equal(await stream.finalText(), 'Hello!');
  assert.equal(s.requests.length, 2);
});

test('a stream retried after events were handed out says so, then starts over', async () => {
  const s = await server([sse([...textStream().slice(0, 4), overloadedEvent]), sse(textStream(['Hi', ' again']))]);
  const stream = client(s).messages.stream(REQUEST);
  const items = [];
  for await (const ev of stream) items.push(ev);
  const types = items.map((e) => e.type);
  assert.deepEqual(types.slice(0, 5), ['message_start', 'content_block_start', 'ping', 'content_block_delta', 'stream_retry']);
  const retry = items[4];
  // The core's retry notice, as it is.
  assert.equal(retry.attempt, 0);
  assert.equal(retry.code, 'overloaded_error');
  assert.equal(typeof retry.delay_ms, 'number');
  assert.equal(typeof retry.message, 'string');
  assert.equal(types[5], 'message_start');
  assert.equal(types.at(-1), 'message_stop');
  assert.equal(await stream.finalText(), 'Hi again');
  assert.equal(stream.attempts, 2);
  assert.equal((await stream.finished()).attempts, 2);
});

test('a mid-stream error that is not retried is thrown with the partial message', async () => {
  const s = await server([sse([...textStream().slice(0, 4), overloadedEvent])]);
  const stream = client(s, { maxRetries: 0 }).messages.stream(REQUEST);
  const types = [];
  const e = await failure(
    (async () => {
      for await (const ev of stream) types.push(ev.type);
    })(),
  );
  assert.ok(e instanceof OverloadedError);
  assert.equal(e.status, null, 'an error event has no status');
  assert.equal(e.partial.content[0].text, 'Hel');
  assert.equal(e.attempts, 1);
  assert.deepEqual(e.giveUp, { type: 'attempts_exhausted', attempts: 1 });
  assert.deepEqual(types, ['message_start', 'content_block_start', 'ping', 'content_block_delta']);
  const again = await failure(stream.finalMessage());
  assert.equal(again, e, 'a failed stream keeps failing with the same error');
});

test('a stream cut short is a StreamIncompleteError with the partial message', async () => {
  const s = await server([sse(textStream().slice(0, 4), { cut: true })]);
  const e = await failure(client(s, { maxRetries: 0 }).messages.stream(REQUEST).finalMessage());
  assert.ok(e instanceof StreamIncompleteError);
  assert.equal(e.partial.content[0].text, 'Hel');
});

test('a stream that ends without message_stop is incomplete, also when iterated', async () => {
  const s = await server([sse(textStream().slice(0, 5))]);
  const stream = client(s, { maxRetries: 0 }).messages.stream(REQUEST);
  const e = await failure(
    (async () => {
      for await (const _ of stream);
    })(),
  );
  assert.ok(e instanceof StreamIncompleteError);
});

test('a stalled stream times out (idle)', async () => {
  const s = await server([sseThenStall(textStream().slice(0, 3))]);
  const e = await failure(client(s, { idleTimeout: 50, maxRetries: 0 }).messages.stream(REQUEST).finalMessage());
  assert.ok(e instanceof ConnectionTimeoutError);
  assert.equal(e.phase, 'idle');
  assert.equal(e.partial.id, 'msg_test');
});

test('stream.abort() ends a stream with an AbortError', async () => {
  const s = await server([sseThenStall(textStream().slice(0, 3))]);
  const stream = client(s).messages.stream(REQUEST);
  const iter = stream[Symbol.asyncIterator]();
  assert.equal((await iter.next()).value.type, 'message_start');
  stream.abort();
  const e = await failure(iter.next());
  assert.ok(e instanceof AbortError);
});

test('breaking out of the iteration aborts the request', async () => {
  const s = await server([sseThenStall(textStream().slice(0, 3))]);
  const stream = client(s).messages.stream(REQUEST);
  for await (const ev of stream) {
    assert.equal(ev.type, 'message_start');
    break;
  }
  const e = await failure(stream.finalMessage());
  assert.ok(e instanceof AbortError);
});

/** Returns what `fn` throws (synchronously or not). */
async function thrown(fn) {
  try {
    await fn();
  } catch (e) {
    seenErrors.push(e);
    return e;
  }
  assert.fail('expected an error');
}

test('the API key and extra header values never show in the client, its errors or their logs', async () => {
  const s = await server([apiError(401, 'authentication_error', 'invalid x-api-key')]);
  // An extra auth header is as secret as the key.
  const headers = { 'x-extra-auth': 'Bearer HDRSECRET-1', 'proxy-authorization': 'Basic HDRSECRET-2' };
  const c = client(s, { defaultHeaders: headers });
  const e = await failure(c.messages.create(REQUEST));
  assert.ok(e instanceof AuthenticationError);
  assert.equal(s.requests[0].headers['x-extra-auth'], 'Bearer HDRSECRET-1', 'the header is sent');
  const e2 = await failure(c.messages.stream(REQUEST).finalMessage());
  assert.ok(e2 instanceof AuthenticationError);
  const shown = [String(c), JSON.stringify(c), inspect(c, { depth: 10, showHidden: true }), inspect(c.messages, { depth: 10, showHidden: true })];
  // Header values that cannot be sent: the errors name the header, never its value.
  const badValue = await thrown(async () => client(s, { defaultHeaders: { 'x-extra-auth': 'HDRSECRET-3\n' } }).messages.create(REQUEST));
  assert.ok(badValue instanceof CreditpoolError, String(badValue));
  const notLatin1 = await thrown(async () => client(s, { defaultHeaders: { 'x-extra-auth': 'HDRSECRET-4\u20ac' } }).messages.create(REQUEST));
  assert.ok(notLatin1 instanceof CreditpoolError, String(notLatin1));
  const badPair = await thrown(async () => client(s, { defaultHeaders: [['x-extra-auth', 1234, 'HDRSECRET-5']] }).messages.create(REQUEST));
  assert.ok(badPair instanceof CreditpoolError, String(badPair));
  const number = await thrown(async () => new Client({ apiKey: KEY, baseURL: s.url, defaultHeaders: [['x-extra-auth', 4242424242]] }));
  assert.ok(number instanceof CreditpoolError, String(number));
  const badType = await thrown(async () => new Client({ apiKey: KEY, baseURL: s.url, defaultHeaders: [[{ secret: 'HDRSECRET-6' }, 'v']] }));
  assert.ok(badType instanceof CreditpoolError, String(badType));
  for (const err of seenErrors) {
    shown.push(String(err), err.stack ?? '', JSON.stringify(err), inspect(err, { depth: 10, showHidden: true }));
  }
  assert.ok(seenErrors.length >= 10, 'errors from the other tests are checked too');
  for (const text of shown) {
    assert.ok(!text.includes('SECRETKEY'), `the key shows in: ${text.slice(0, 200)}`);
    assert.ok(!text.includes('HDRSECRET') && !text.includes('4242424242'), `an extra header value shows in: ${text.slice(0, 300)}`);
  }
});

test('errors carry the core code and its class; the deprecated names are the same classes', async () => {
  const s = await server([apiError(400, 'invalid_request_error', 'bad')]);
  const e = await failure(client(s).messages.create(REQUEST));
  assert.equal(e.code, 'invalid_request_error');
  assert.equal(e.name, 'BadRequestError');
  assert.equal(e.name, classForCode(e.code));
  assert.equal(CODES[e.code], 'BadRequestError');
  assert.ok(e instanceof BadRequestError);
  assert.ok(e instanceof InvalidRequestError, 'the deprecated alias still matches');
  assert.equal(InvalidRequestError, BadRequestError);
  assert.equal(ConnectionError, APIConnectionError);
  const dead = await server([json(200, message())]);
  await dead.close();
  const c = await failure(client(dead, { maxRetries: 0 }).messages.create(REQUEST));
  assert.equal(c.code, 'connection_error');
  assert.equal(c.name, 'APIConnectionError');
  assert.ok(c instanceof ConnectionError && c instanceof APIConnectionError);
  const local = await failure(client(s, { maxRetries: 0 }).messages.create({ ...REQUEST, tools: [{ name: 'bad name', description: 'x', input_schema: { type: 'object' } }] }));
  assert.equal(local.code, 'invalid_tool_name');
  assert.equal(local.name, 'ToolDefinitionError');
  const options = (() => {
    try {
      return new Client({ apiKey: KEY, bogus: 1 });
    } catch (err) {
      return err;
    }
  })();
  assert.equal(options.name, 'InvalidOptionsError');
  assert.equal(options.code, 'invalid_options');
  assert.ok(options instanceof ConfigurationError, 'ConfigurationError still matches');
});

test('a connection reset mid-stream reads as a cut stream: retried with the core notice, or incomplete with the partial message', async () => {
  const s = await server([sse(textStream().slice(0, 4), { cut: true }), sse(textStream(['Hi', ' again']))]);
  const stream = client(s).messages.stream(REQUEST);
  const items = [];
  for await (const ev of stream) items.push(ev);
  const retry = items.find((e) => e.type === 'stream_retry');
  assert.ok(retry, items.map((e) => e.type).join());
  assert.equal(retry.code, 'stream_incomplete', 'a reset mid-stream is a cut stream, not a connection error');
  assert.equal(await stream.finalText(), 'Hi again');
  const once = await server([sse(textStream().slice(0, 4), { cut: true })]);
  const e = await failure(client(once, { maxRetries: 0 }).messages.stream(REQUEST).finalMessage());
  assert.equal(e.code, 'stream_incomplete');
  assert.equal(e.name, 'StreamIncompleteError');
  assert.equal(e.partial.content[0].text, 'Hel');
});

test('a redirect is never followed: the 3xx is the API error the core makes of it, and the target sees nothing', async () => {
  const target = await server([json(200, message())]);
  for (const status of [301, 302, 307, 308]) {
    const redirecting = await server([
      (_req, res) => {
        res.writeHead(status, { location: `${target.url}/v1/messages`, 'request-id': 'req_redirect' });
        res.end();
      },
    ]);
    const e = await failure(client(redirecting).messages.create(REQUEST));
    assert.ok(e instanceof APIError, `${status}: ${e.name} ${e.message}`);
    assert.equal(e.status, status);
    assert.equal(e.code, 'api_error');
    assert.equal(e.name, classForCode(e.code));
    assert.equal(redirecting.requests.length, 1, `${status}: not retried`);
    const e2 = await failure(client(redirecting).messages.stream(REQUEST).finalMessage());
    assert.equal(e2.status, status);
    const e3 = await failure(client(redirecting).messages.countTokens(REQUEST));
    assert.equal(e3.status, status);
  }
  assert.equal(target.requests.length, 0, 'the redirect target saw no request (and so no key)');
});
