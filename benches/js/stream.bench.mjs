// Times, in the same run and interleaved, the accumulation of one long
// tool-use stream into its final message by @anthropic-ai/sdk's MessageStream
// and by creditpool's (the core's MessageStreamParser, compiled to wasm),
// and prints the ratio.
//
//   (cd benches/js && npm install && node stream.bench.mjs [rounds])
//
// The stream is the one crates/creditpool-core/benches/sse.rs uses: a text
// block of 4,000 text_deltas, then eight tool_use blocks whose ~64 KiB inputs
// arrive as 80-byte input_json_deltas, with pings; fed in 16 KiB chunks. The
// SDK reads it through its client with a fetch that answers with these bytes
// (so it decodes SSE and accumulates exactly as for a real response).
import Anthropic from '@anthropic-ai/sdk';
import { isDeepStrictEqual } from 'node:util';
import { MessageStreamParser } from '../../js/src/core-node.js';

const rounds = Number(process.argv[2] ?? 7);
const CHUNK = 16 * 1024;

function sseStream() {
  const out = [];
  const ev = (type, data) => out.push(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  ev('message_start', {
    message: { id: 'msg_bench', type: 'message', role: 'assistant', model: 'claude-haiku-4-5', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 1200, output_tokens: 1 } },
  });
  ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
  for (let i = 0; i < 4000; i++) {
    ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: `word ${i} of a long answer, ` } });
    if (i % 500 === 0) ev('ping', {});
  }
  ev('content_block_stop', { index: 0 });
  for (let b = 1; b <= 8; b++) {
    ev('content_block_start', { index: b, content_block: { type: 'tool_use', id: `toolu_bench_${b}`, name: 'search_database', input: {} } });
    const rows = [];
    for (let r = 0; rows.join(',').length < 64 * 1024; r++) rows.push(JSON.stringify({ sku: `SKU-${b}-${r}`, name: `Product ${r}`, price: (r * 37) % 500, tags: ['a', 'b'] }));
    const input = `{"query":"block ${b}","rows":[${rows.join(',')}]}`;
    for (let k = 0; k < input.length; k += 80) ev('content_block_delta', { index: b, delta: { type: 'input_json_delta', partial_json: input.slice(k, k + 80) } });
    ev('content_block_stop', { index: b });
  }
  ev('message_delta', { delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 150000 } });
  ev('message_stop', {});
  return { bytes: new TextEncoder().encode(out.join('')), events: out.length };
}

const { bytes, events } = sseStream();
const chunks = [];
for (let k = 0; k < bytes.length; k += CHUNK) chunks.push(bytes.subarray(k, k + CHUNK));

const sdk = new Anthropic({
  apiKey: 'sk-bench',
  baseURL: 'http://bench.invalid',
  maxRetries: 0,
  fetch: async () =>
    new Response(
      new ReadableStream({
        start(c) {
          for (const ch of chunks) c.enqueue(ch);
          c.close();
        },
      }),
      { status: 200, headers: { 'content-type': 'text/event-stream', 'request-id': 'req_bench' } },
    ),
});
const PARAMS = { model: 'claude-haiku-4-5', max_tokens: 200000, messages: [{ role: 'user', content: 'go' }] };

async function runSdk() {
  return sdk.messages.stream(PARAMS).finalMessage();
}

/** The final message only (as creditpool's MessageStream.finalMessage() without iterating). */
function runOurs() {
  const p = new MessageStreamParser();
  for (const ch of chunks) {
    p.feed(ch);
    p.skipAvailable();
  }
  p.endOfInput();
  p.skipAvailable();
  return p.finish().message;
}

/** Every event converted to a JS object as well (as when iterating the stream). */
function runOursEvents() {
  const p = new MessageStreamParser();
  let n = 0;
  for (const ch of chunks) {
    p.feed(ch);
    while (p.next() !== null) n++;
  }
  p.endOfInput();
  while (p.next() !== null) n++;
  return p.finish().message;
}

// Same result from both.
const a = await runSdk();
const b = runOurs();
const c = runOursEvents();
// Key order inside tool inputs may differ; the values must not.
const same = (x, y) => isDeepStrictEqual(x.content, y.content) && x.usage.output_tokens === y.usage.output_tokens;
if (!same(a, b) || !same(a, c)) {
  const d = a.content.findIndex((blk, i) => JSON.stringify(blk) !== JSON.stringify(b.content[i]));
  throw new Error(`the two accumulations disagree at block ${d}: ${JSON.stringify(a.content[d]).slice(0, 200)} vs ${JSON.stringify(b.content[d]).slice(0, 200)}`);
}

const times = { sdk: [], ours: [], oursEvents: [] };
for (let r = 0; r < rounds; r++) {
  let t = performance.now();
  await runSdk();
  times.sdk.push(performance.now() - t);
  t = performance.now();
  runOurs();
  times.ours.push(performance.now() - t);
  t = performance.now();
  runOursEvents();
  times.oursEvents.push(performance.now() - t);
}
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const m = { sdk: median(times.sdk), ours: median(times.ours), oursEvents: median(times.oursEvents) };
console.log(`stream: ${events} events, ${(bytes.length / 1e6).toFixed(2)} MB, ${chunks.length} chunks of 16 KiB; ${rounds} rounds, medians`);
console.log(`@anthropic-ai/sdk ${JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(new URL('./node_modules/@anthropic-ai/sdk/package.json', import.meta.url), 'utf8'))).version} MessageStream.finalMessage(): ${m.sdk.toFixed(1)} ms`);
console.log(`creditpool final message:                  ${m.ours.toFixed(1)} ms  ratio SDK / creditpool ${(m.sdk / m.ours).toFixed(2)}`);
console.log(`creditpool with every event to JS:         ${m.oursEvents.toFixed(1)} ms  ratio SDK / creditpool ${(m.sdk / m.oursEvents).toFixed(2)}`);
