// Times, in the same run and interleaved, the accumulation of one long
// tool-use stream into its final message by @anthropic-ai/sdk's MessageStream
// and by creditpool's, and prints the ratios. creditpool is timed twice over:
// through its client (`Client#messages.stream`, what users call: the wasm
// call machine, the attempt player, the event queue), final message only and
// iterating every event; and through the low-level MessageStreamParser
// (`creditpool/core`), final message only and pulling every event.
//
//   (cd benches/js && npm install && node stream.bench.mjs [rounds])
//   CREDITPOOL_JS=/path/to/a/copy/of/js node stream.bench.mjs 9   # another build (before/after)
//
// The stream is the one crates/creditpool-core/benches/sse.rs uses: a text
// block of 4,000 text_deltas, then eight tool_use blocks whose ~64 KiB inputs
// arrive as 80-byte input_json_deltas, with pings; fed in 16 KiB chunks. The
// SDK reads it through its client with a fetch that answers with these bytes
// (so it decodes SSE and accumulates exactly as for a real response).
import Anthropic from '@anthropic-ai/sdk';
import { isDeepStrictEqual } from 'node:util';

const jsDir = process.env.CREDITPOOL_JS ? new URL(`file://${process.env.CREDITPOOL_JS.replace(/\/?$/, '/')}`) : new URL('../../js/', import.meta.url);
const { MessageStreamParser } = await import(new URL('src/core-node.js', jsDir).href);
const { Client } = await import(new URL('src/node.js', jsDir).href);

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

const answer = async () =>
  new Response(
    new ReadableStream({
      start(c) {
        for (const ch of chunks) c.enqueue(ch);
        c.close();
      },
    }),
    { status: 200, headers: { 'content-type': 'text/event-stream', 'request-id': 'req_bench' } },
  );
const sdk = new Anthropic({ apiKey: 'sk-bench', baseURL: 'http://bench.invalid', maxRetries: 0, fetch: answer });
// creditpool's client sends through the global fetch (from inside the wasm):
// it gets the same answer.
globalThis.fetch = answer;
const ours = new Client({ apiKey: 'sk-bench', baseURL: 'http://bench.invalid', maxRetries: 0, poolSelector: false });
const PARAMS = { model: 'claude-haiku-4-5', max_tokens: 200000, messages: [{ role: 'user', content: 'go' }] };

async function runSdk() {
  return sdk.messages.stream(PARAMS).finalMessage();
}

/** The client, final message only. */
async function runClient() {
  return ours.messages.stream(PARAMS).finalMessage();
}

/** The client, iterating every event, then the final message. */
async function runClientEvents() {
  const s = ours.messages.stream(PARAMS);
  let n = 0;
  for await (const _ of s) n++;
  return s.finalMessage();
}

/** The low-level parser, final message only (no event converted). */
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

/** The low-level parser, every event converted to a JS object as well. */
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
const d = await runClient();
const e = await runClientEvents();
// Key order inside tool inputs may differ; the values must not.
const same = (x, y) => isDeepStrictEqual(x.content, y.content) && x.usage.output_tokens === y.usage.output_tokens;
for (const [name, x] of Object.entries({ parser: b, parserEvents: c, client: d, clientEvents: e })) {
  if (!same(a, x)) {
    const at = a.content.findIndex((blk, i) => JSON.stringify(blk) !== JSON.stringify(x.content[i]));
    throw new Error(`${name} disagrees with the SDK at block ${at}: ${JSON.stringify(a.content[at]).slice(0, 200)} vs ${JSON.stringify(x.content[at]).slice(0, 200)}`);
  }
}

const cases = { sdk: runSdk, client: runClient, clientEvents: runClientEvents, parser: runOurs, parserEvents: runOursEvents };
const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let r = 0; r < rounds; r++) {
  for (const [k, run] of Object.entries(cases)) {
    const t = performance.now();
    await run();
    times[k].push(performance.now() - t);
  }
}
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const m = Object.fromEntries(Object.entries(times).map(([k, xs]) => [k, median(xs)]));
const fs = await import('node:fs');
const version = (url) => JSON.parse(fs.readFileSync(url, 'utf8')).version;
console.log(`stream: ${events} events, ${(bytes.length / 1e6).toFixed(2)} MB, ${chunks.length} chunks of 16 KiB; ${rounds} rounds, interleaved, medians; creditpool from ${jsDir.pathname}`);
console.log(`@anthropic-ai/sdk ${version(new URL('./node_modules/@anthropic-ai/sdk/package.json', import.meta.url))} MessageStream.finalMessage(): ${m.sdk.toFixed(1)} ms`);
const row = (label, k) => console.log(`${label.padEnd(52)} ${m[k].toFixed(1).padStart(6)} ms  ratio SDK / creditpool ${(m.sdk / m[k]).toFixed(2)}`);
row('creditpool client, final message only:', 'client');
row('creditpool client, iterating every event:', 'clientEvents');
row('creditpool parser, final message only:', 'parser');
row('creditpool parser, every event to JS (next()):', 'parserEvents');
