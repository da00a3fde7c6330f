// A Rust panic (a bug) must not reach JS as a trap or a pending promise that
// never settles: it becomes an InternalError, for the call that panicked, for
// every call in flight, and for every later call. Runs in its own process
// (node --test runs each file apart), since the instance is dead afterwards.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, InternalError, parsePartialJson } from 'creditpool';
import { glue } from '../src/wasm.js';
import { call } from '../src/wasm.js';
import { hang, startServer } from './helpers/server.js';

test('a panic becomes an InternalError everywhere', async () => {
  const s = await startServer([hang()]);
  after(() => s.close());
  const client = new Client({ apiKey: 'sk-test', baseURL: s.url });
  const inFlight = client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] });
  // Wait until the request reached the server, so the call is truly in flight.
  while (s.requests.length === 0) await new Promise((r) => setTimeout(r, 5));

  assert.throws(() => call(() => glue.__panicForTests('deliberate test panic')), (e) => {
    assert.ok(e instanceof InternalError);
    assert.equal(e.type, 'internal_error');
    assert.match(e.message, /deliberate test panic/);
    return true;
  });
  await assert.rejects(inFlight, (e) => e instanceof InternalError && /deliberate test panic/.test(e.message));
  assert.throws(() => parsePartialJson('{"a": 1'), InternalError);
});
