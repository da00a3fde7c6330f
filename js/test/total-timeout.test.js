// `totalTimeout` (issue 10, item 13): one deadline for a whole call, every
// attempt and retry included, decided by the core (code `total_timeout`).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { APITimeoutError, Client } from 'creditpool';
import { hang, sseThenStall, startServer, textStream } from './helpers/server.js';

const KEY = 'test-key-total-timeout';
const REQUEST = { model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'Hi' }] };
const servers = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function server(script) {
  const s = await startServer(script);
  servers.push(s);
  return s;
}

async function failure(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  assert.fail('expected a rejection');
}

test('no answer: the total deadline ends the call, not retried, although retries were left', async () => {
  const s = await server([hang(), hang(), hang()]);
  const c = new Client({ apiKey: KEY, baseURL: s.url, totalTimeout: 100, maxRetries: 2 });
  const e = await failure(c.messages.create(REQUEST));
  assert.ok(e instanceof APITimeoutError);
  assert.equal(e.code, 'total_timeout');
  assert.equal(e.phase, 'total');
  // Not retried: at most the one request (a cold start may not even have
  // delivered it to the server within the deadline).
  assert.ok(s.requests.length <= 1);
});

test('a stream cut by the total deadline keeps its partial message', async () => {
  const s = await server([sseThenStall(textStream().slice(0, 3))]);
  const c = new Client({ apiKey: KEY, baseURL: s.url, totalTimeout: 100 });
  const e = await failure(c.messages.stream(REQUEST).finalMessage());
  assert.equal(e.code, 'total_timeout');
  assert.equal(e.partial.id, 'msg_test');
  assert.equal(s.requests.length, 1);
});

test('totalTimeout must be a non-negative number of ms', () => {
  assert.throws(() => new Client({ apiKey: KEY, totalTimeout: -1 }), /totalTimeout/);
});
