// A scripted local HTTP server standing in for the Messages API: each request
// takes the next step of the script. Records what it received.
import { createServer } from 'node:http';

/**
 * Starts a server. `script` is a list of steps, each a function
 * `(req, res, body) => void` that answers one request; the last step repeats.
 * Resolves to `{url, requests, close}`; `requests` holds `{method, url,
 * headers, body}` of each request received.
 */
export async function startServer(script) {
  const requests = [];
  const sockets = new Set();
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const index = Math.min(requests.length, script.length - 1);
      requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      script[index](req, res, body);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A JSON answer. */
export function json(status, body, headers = {}) {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', 'request-id': 'req_test', ...headers });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
}

/** An API error answer. */
export function apiError(status, type, message, headers = {}) {
  return json(status, { type: 'error', error: { type, message }, request_id: 'req_body' }, headers);
}

/** An SSE answer: `events` are objects (sent as `event: <type>` + data) or raw strings. */
export function sse(events, { cut = false, headers = {} } = {}) {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'request-id': 'req_stream', ...headers });
    const text = events.map((e) => (typeof e === 'string' ? e : `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`)).join('');
    // A cut stream: the events reach the client, then the connection drops
    // without the body's end.
    if (cut) res.write(text, () => res.destroy());
    else res.end(text);
  };
}

/** Never answers (until the server closes). */
export function hang() {
  return () => {};
}

/** Sends SSE events, then stalls without ending the body. */
export function sseThenStall(events) {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (const e of events) res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
  };
}

/** A complete message. */
export function message({ text = 'Hello!', model = 'claude-sonnet-4-5', content, stop_reason = 'end_turn', usage } = {}) {
  return {
    id: 'msg_test',
    type: 'message',
    role: 'assistant',
    model,
    content: content ?? [{ type: 'text', text }],
    stop_reason,
    stop_sequence: null,
    usage: usage ?? { input_tokens: 12, output_tokens: 5 },
  };
}

/** The stream events of a message with one text block, in `parts`. */
export function textStream(parts = ['Hel', 'lo', '!'], { model = 'claude-sonnet-4-5' } = {}) {
  return [
    {
      type: 'message_start',
      message: { ...message({ model, content: [] }), stop_reason: null, usage: { input_tokens: 12, output_tokens: 1 } },
    },
    { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
    { type: 'ping' },
    ...parts.map((text) => ({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } })),
    { type: 'content_block_stop', index: 0 },
    { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 5 } },
    { type: 'message_stop' },
  ];
}
