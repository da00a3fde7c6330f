// Issue 10 item 13 (Node): a MessageStream reads the response only while its
// events are taken (backpressure, the rule of the Rust MessageStream). A
// local server sends an endless stream of valid text deltas, writing only as
// fast as the connection drains, and counts what it managed to send. The
// consumer takes a few events and then stops reading (without breaking out):
// the driver must stop reading too, so that the server stalls after what the
// connection's buffers hold (a few MiB), far below SENT_BOUND. Before, the
// driver read on and queued every event (the queue had no bound): the server
// sent without end, up to the stream cap (256 MiB). The consumer then reads
// on (the driver resumes once the queue is empty) and breaks out, which
// aborts the request.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Client } from 'creditpool';

const MIB = 1024 * 1024;
/** What the server may get out while the consumer does not read: the socket buffers and fetch's queue, with room to spare. */
const SENT_BOUND = 48 * MIB;
/** Quiet samples (every SAMPLE_MS, with the server waiting for `drain`) that mean the server is held back. */
const QUIET_SAMPLES = 10;
const SAMPLE_MS = 100;

const sse = (data) => `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`;
const START =
  sse({
    type: 'message_start',
    message: {
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'claude-haiku-4-5',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 3, output_tokens: 0 },
    },
  }) + sse({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
const BURST = sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'x'.repeat(4096) } }).repeat(16);

/** The server's side of the one response: bytes sent, whether it waits for `drain`, whether the client went away. */
const state = { sent: 0, waiting: false, closed: false };
let closedResolve;
const closed = new Promise((resolve) => (closedResolve = resolve));

const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.on('error', () => {});
    res.writeHead(200, { 'content-type': 'text/event-stream', 'request-id': 'req_endless' });
    res.write(START);
    res.socket.on('close', () => {
      state.closed = true;
      closedResolve();
    });
    const pump = () => {
      state.waiting = false;
      while (!state.closed) {
        state.sent += BURST.length;
        if (!res.write(BURST)) {
          state.waiting = true;
          return res.once('drain', pump);
        }
      }
    };
    pump();
  });
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
after(() => {
  server.closeAllConnections?.();
  return new Promise((resolve) => server.close(resolve));
});

/**
 * Resolves once the server is held back (waiting for `drain`, nothing more
 * sent for QUIET_SAMPLES samples) or has sent more than SENT_BOUND (the
 * client reads on); returns what it had sent.
 */
async function heldBackOrPast() {
  let last = -1;
  let quiet = 0;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
    if (state.sent > SENT_BOUND || state.closed) return state.sent;
    quiet = state.waiting && state.sent === last ? quiet + 1 : 0;
    if (quiet >= QUIET_SAMPLES) return state.sent;
    last = state.sent;
  }
}

test('a consumer that stops reading holds the driver back: the server cannot send the endless stream', async () => {
  const client = new Client({ apiKey: 'k', baseURL: `http://127.0.0.1:${server.address().port}`, maxRetries: 0 });
  const stream = client.messages.stream({ model: 'claude-haiku-4-5', max_tokens: 8, messages: [{ role: 'user', content: 'Hi' }] });
  const it = stream[Symbol.asyncIterator]();
  const first = [];
  for (let i = 0; i < 3; i++) first.push((await it.next()).value.type);
  assert.deepEqual(first, ['message_start', 'content_block_start', 'content_block_delta']);

  // The consumer stops reading here.
  const sent = await heldBackOrPast();
  console.log(`sent while the consumer did not read: ${(sent / MIB).toFixed(1)} MiB (bound ${SENT_BOUND / MIB} MiB)`);
  assert.ok(!state.closed, 'the request was not ended');
  assert.ok(sent <= SENT_BOUND, `the server sent ${(sent / MIB).toFixed(1)} MiB to a consumer that had stopped reading`);

  // Reading on resumes the driver: more deltas than the connection held
  // arrive.
  const deltaBytes = BURST.length / 16;
  for (let read = 0; read <= sent + MIB; read += deltaBytes) {
    const { value, done } = await it.next();
    assert.equal(done, false);
    assert.equal(value.type, 'content_block_delta');
  }
  assert.ok(state.sent > sent, 'the server sent more once the consumer read on');
  // Breaking out aborts the request: the connection closes.
  await it.return();
  await closed;
});

// Issue 10 item 13 (Node): a failed stream's `partial` (up to the stream cap)
// stays in the wasm module until it is read, so that a caller who looks only
// at the error's code never holds a JS copy (memory-bounds.test.js measures
// it). Read, it is the message so far, the same object every time; it can
// be replaced; `currentMessage` and `toJSON()` show it.
test("a failed stream's partial is converted when read, once, and is the message so far", async () => {
  const events = [
    START,
    sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hel' } }),
    sse({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }),
  ].join('');
  const s = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(events);
    });
  });
  await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve));
  try {
    const client = new Client({ apiKey: 'k', baseURL: `http://127.0.0.1:${s.address().port}`, maxRetries: 0 });
    const stream = client.messages.stream({ model: 'claude-haiku-4-5', max_tokens: 8, messages: [{ role: 'user', content: 'Hi' }] });
    const e = await stream.finalMessage().then(
      () => assert.fail('the stream should fail'),
      (err) => err,
    );
    assert.equal(e.code, 'overloaded_error');
    const descriptor = Object.getOwnPropertyDescriptor(e, 'partial');
    assert.equal(typeof descriptor.get, 'function', 'partial is converted on first read, not when the call fails');
    assert.equal(descriptor.enumerable, true);
    const partial = e.partial;
    assert.equal(partial.id, 'msg_1');
    assert.equal(partial.content[0].text, 'Hel');
    assert.equal(e.partial, partial, 'converted once');
    assert.equal(stream.currentMessage, partial);
    assert.deepEqual(e.toJSON().partial, partial);
    e.partial = null;
    assert.equal(e.partial, null);
  } finally {
    s.closeAllConnections?.();
    await new Promise((resolve) => s.close(resolve));
  }
});

test('an error without a partial message has partial null, as a plain value', async () => {
  const s = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(sse({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }));
    });
  });
  await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve));
  try {
    const client = new Client({ apiKey: 'k', baseURL: `http://127.0.0.1:${s.address().port}`, maxRetries: 0 });
    const e = await client.messages
      .stream({ model: 'claude-haiku-4-5', max_tokens: 8, messages: [{ role: 'user', content: 'Hi' }] })
      .finalMessage()
      .then(
        () => assert.fail('the stream should fail'),
        (err) => err,
      );
    assert.equal(e.code, 'overloaded_error');
    assert.deepEqual(Object.getOwnPropertyDescriptor(e, 'partial'), { value: null, writable: true, enumerable: true, configurable: true });
  } finally {
    s.closeAllConnections?.();
    await new Promise((resolve) => s.close(resolve));
  }
});
