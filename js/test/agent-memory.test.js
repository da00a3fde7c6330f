// Issue 10 items 12/13 (Node), an Agent's share of the memory bounds.
//
// An agent's run takes a whole (non-streamed) body in pieces, as a Client's
// call does: the player hands each piece the runtime reads to the wasm
// RawAgentRun (`handleBodyChunk`), which keeps it up to one byte past the
// call's body cap and hands it to the core at the end (`handleBodyEnd`);
// before, the player read it into one JS buffer of cap + 1 and copied it into
// the wasm heap (memory-bounds.test.js measures the difference: /agent-big).
// Here: a body written in many small pieces is read whole, a body past the
// cap is refused with the core's typed error, and the pool settles or
// releases as the core says.
//
// A run that fails mid-stream keeps the message so far (up to the stream
// cap) in the module until `outcome.partial` or `outcome.error.partial` is
// read: one conversion, shared by both (memory-bounds.test.js measures an
// endless stream: /agent-endless).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Agent, Client, Pool, usd } from 'creditpool';
import { glue } from '../src/wasm.js';

const TEXT = 'pieces '.repeat(400).trim();
const MESSAGE = JSON.stringify({
  id: 'msg_pieces',
  type: 'message',
  role: 'assistant',
  model: 'claude-haiku-4-5',
  content: [{ type: 'text', text: TEXT }],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: { input_tokens: 3, output_tokens: 7 },
});

const sse = (data) => `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`;
const FAILS_MID_STREAM = [
  sse({ type: 'message_start', message: { ...JSON.parse(MESSAGE), content: [], stop_reason: null, usage: { input_tokens: 3, output_tokens: 0 } } }),
  sse({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
  sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hel' } }),
  sse({ type: 'error', error: { type: 'invalid_request_error', message: 'bad' } }),
].join('');

/** Writes `body` in pieces of `size` bytes, each once the last has drained. */
function writeInPieces(res, body, size) {
  const bytes = Buffer.from(body);
  let at = 0;
  const next = () => {
    if (at >= bytes.length) return res.end();
    const piece = bytes.subarray(at, at + size);
    at += size;
    res.write(piece, next);
  };
  next();
}

const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.on('error', () => {});
    if (req.url.startsWith('/fails-mid-stream')) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      return res.end(FAILS_MID_STREAM);
    }
    // Chunked (no content-length): the module's buffer is not sized from a hint.
    res.writeHead(200, { 'content-type': 'application/json', 'request-id': 'req_pieces' });
    if (req.url.startsWith('/big')) writeInPieces(res, MESSAGE + ' '.repeat(8192), 512);
    else writeInPieces(res, MESSAGE, 97);
  });
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;
after(() => {
  server.closeAllConnections?.();
  return new Promise((resolve) => server.close(resolve));
});

test('the wasm agent run takes a whole body in pieces', () => {
  assert.equal(typeof glue.RawAgentRun.prototype.handleBodyChunk, 'function');
  assert.equal(typeof glue.RawAgentRun.prototype.handleBodyEnd, 'function');
});

test('an agent reads a non-streamed body sent in many pieces', async () => {
  const pool = new Pool({ limit: usd('1') });
  const client = new Client({ apiKey: 'k', baseURL: `${base}/small`, maxRetries: 0 });
  const outcome = await new Agent({ client, pool, agentId: 'a', model: 'claude-haiku-4-5', maxTokens: 16, stream: false }).run('Hi');
  assert.equal(outcome.status, 'completed', outcome.error?.message);
  assert.equal(outcome.final_text, TEXT);
  assert.ok(outcome.total_cost.equals(pool.usage.settled));
  assert.equal(pool.usage.reserved.nanos, 0n);
});

test("an agent refuses a body past its call's cap with the core's typed error", async () => {
  const pool = new Pool({ limit: usd('1') });
  const client = new Client({ apiKey: 'k', baseURL: `${base}/big`, maxRetries: 0 });
  const config = { call: { max_body_bytes: MESSAGE.length + 100 } };
  const outcome = await new Agent({ client, pool, agentId: 'a', model: 'claude-haiku-4-5', maxTokens: 16, stream: false, config }).run('Hi');
  assert.equal(outcome.status, 'failed');
  assert.equal(outcome.error.code, 'response_too_large');
  assert.equal(pool.usage.reserved.nanos, 0n, 'nothing stays reserved');
});

test("a run that fails mid-stream converts its partial message when read, once, for the outcome and its error", async () => {
  const pool = new Pool({ limit: usd('1') });
  const client = new Client({ apiKey: 'k', baseURL: `${base}/fails-mid-stream`, maxRetries: 0 });
  const outcome = await new Agent({ client, pool, agentId: 'a', model: 'claude-haiku-4-5', maxTokens: 16 }).run('Hi');
  assert.equal(outcome.status, 'failed');
  assert.equal(outcome.error.code, 'invalid_request_error');
  assert.equal(typeof Object.getOwnPropertyDescriptor(outcome, 'partial').get, 'function', 'not converted when the run ended');
  assert.equal(typeof Object.getOwnPropertyDescriptor(outcome.error, 'partial').get, 'function', 'not converted when the run ended');
  const partial = outcome.error.partial;
  assert.equal(partial.id, 'msg_pieces');
  assert.equal(partial.content[0].text, 'Hel');
  assert.equal(outcome.partial, partial, 'one conversion for the outcome and its error');
  assert.deepEqual(outcome.toJSON().partial, partial);
  assert.equal(JSON.parse(JSON.stringify(outcome)).partial.content[0].text, 'Hel');
  assert.equal(pool.usage.reserved.nanos, 0n);
});
