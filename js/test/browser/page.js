// Runs in Chromium: loads the package's browser entry and exercises it
// against the API stand-in given in ?api=. Results go to window.__results
// (for the runner) and to the page (for the screenshot).
import {
  APIError,
  AuthenticationError,
  Client,
  ConfigurationError,
  MessageStream,
  StreamIncompleteError,
  Toolbox,
  parsePartialJson,
  tool,
} from '../../src/browser.js';

const api = new URL(location.href).searchParams.get('api');
const REQUEST = { model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] };
const results = [];

async function check(name, fn) {
  const li = document.createElement('li');
  try {
    const detail = await fn();
    results.push({ name, ok: true, detail: detail ?? null });
    li.className = 'ok';
    li.textContent = `${name}${detail ? `: ${detail}` : ''}`;
  } catch (e) {
    results.push({ name, ok: false, detail: `${e && e.name}: ${e && e.message}` });
    li.className = 'fail';
    li.textContent = `${name}: ${e && e.name}: ${e && e.message}`;
  }
  document.getElementById('results').append(li);
}

function assert(cond, what) {
  if (!cond) throw new Error(`assertion failed: ${what}`);
}

const client = () => new Client({ apiKey: 'sk-browser-test', baseURL: api, dangerouslyAllowBrowser: true, retry: { initial_backoff_ms: 1, max_backoff_ms: 2 } });

await check('a client needs dangerouslyAllowBrowser', () => {
  try {
    new Client({ apiKey: 'sk-browser-test', baseURL: api });
  } catch (e) {
    assert(e instanceof ConfigurationError && e.kind === 'browser_not_allowed', 'ConfigurationError browser_not_allowed');
    return e.kind;
  }
  throw new Error('no error');
});

await check('create() returns the message', async () => {
  const m = await client().messages.create(REQUEST);
  assert(m.content[0].text === 'Hello from the stand-in!', JSON.stringify(m.content));
  return m.content[0].text;
});

await check('stream() yields events and the final message', async () => {
  const s = client().messages.stream({ ...REQUEST, messages: [{ role: 'user', content: 'stream please' }] });
  assert(s instanceof MessageStream, 'MessageStream');
  const types = [];
  for await (const ev of s) types.push(ev.type);
  const text = await s.finalText();
  assert(text === 'Hello!', text);
  assert(types[0] === 'message_start' && types[types.length - 1] === 'message_stop', types.join());
  document.getElementById('final').textContent = JSON.stringify(await s.finalMessage(), null, 2);
  return `${types.length} events, request ${s.requestId}`;
});

await check('a stream cut short is a StreamIncompleteError with its partial message', async () => {
  try {
    await new Client({ apiKey: 'k', baseURL: api, dangerouslyAllowBrowser: true, maxRetries: 0 }).messages
      .stream({ ...REQUEST, messages: [{ role: 'user', content: 'cut' }] })
      .finalMessage();
  } catch (e) {
    assert(e instanceof StreamIncompleteError, `${e.name}`);
    assert(e.partial && e.partial.content[0].text === 'Hel', JSON.stringify(e.partial));
    return e.type;
  }
  throw new Error('no error');
});

// Issue 10 item 13: backpressure. The consumer takes three events of an
// endless stream and stops reading: the stand-in must be held back (waiting
// for `drain`, nothing more sent for 10 samples 100 ms apart) after what the
// connection and Chromium's network stack buffer (about 60 MiB measured),
// below 160 MiB; without backpressure the driver reads on to the stream cap
// (256 MiB), and the stream fails there.
await check('a consumer that stops reading holds an endless stream back', async () => {
  const BOUND = 160 * 1024 * 1024;
  const s = new Client({ apiKey: 'k', baseURL: api, dangerouslyAllowBrowser: true, maxRetries: 0 }).messages.stream({
    ...REQUEST,
    messages: [{ role: 'user', content: 'endless' }],
  });
  const it = s[Symbol.asyncIterator]();
  for (let i = 0; i < 3; i++) await it.next();
  let last = -1;
  let quiet = 0;
  let state;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    state = await (await fetch(`${api}/sent`)).json();
    if (state.sent > BOUND || state.closed) break;
    quiet = state.waiting && state.sent === last ? quiet + 1 : 0;
    if (quiet >= 10) break;
    last = state.sent;
  }
  const mib = (state.sent / 1024 / 1024).toFixed(1);
  assert(!state.closed, 'the request was not ended');
  assert(state.sent <= BOUND, `the stand-in sent ${mib} MiB to a consumer that had stopped reading`);
  await it.return();
  return `${mib} MiB sent while the consumer did not read`;
});

await check('a 401 is an AuthenticationError', async () => {
  try {
    await new Client({ apiKey: 'sk-wrong', baseURL: api, dangerouslyAllowBrowser: true }).messages.create(REQUEST);
  } catch (e) {
    assert(e instanceof AuthenticationError && e.type === 'authentication_error' && e.status === 401, `${e.name} ${e.type}`);
    assert(!String(e.stack).includes('sk-wrong') && !JSON.stringify(e).includes('sk-wrong'), 'key not shown');
    return `${e.name} (${e.status})`;
  }
  throw new Error('no error');
});

await check('a 302 is not followed: an APIError, the target sees nothing', async () => {
  try {
    await client().messages.create({ ...REQUEST, messages: [{ role: 'user', content: 'redirect' }] });
  } catch (e) {
    // A browser hides the status of a redirect it did not follow (an
    // "opaqueredirect" response): the core reads status 0 as an API error.
    assert(e instanceof APIError && e.code === 'api_error', `${e.name} ${e.code} ${e.message}`);
    assert(e.status === 0 || e.status === 302, `status ${e.status}`);
    return `${e.name} (status ${e.status})`;
  }
  throw new Error('no error: the redirect was followed');
});

await check('tools validate input before running', async () => {
  let ran = false;
  const box = new Toolbox([
    tool({
      name: 'echo',
      description: 'Echoes.',
      inputSchema: { type: 'object', properties: { s: { type: 'string' } }, required: ['s'] },
      run: ({ s }) => {
        ran = true;
        return s;
      },
    }),
  ]);
  const bad = await box.run({ type: 'tool_use', id: 't1', name: 'echo', input: { s: 1 } });
  assert(bad.is_error === true && !ran, 'refused');
  const good = await box.run({ type: 'tool_use', id: 't2', name: 'echo', input: { s: 'hi' } });
  assert(good.content === 'hi' && ran, 'ran');
  return 'ok';
});

await check('core functions run in the page', () => {
  const r = parsePartialJson('{"city": "Os');
  assert(JSON.stringify(r.value) === '{}' && r.complete === false, JSON.stringify(r));
  return JSON.stringify(r);
});

document.getElementById('status').textContent = results.every((r) => r.ok) ? 'all passed' : 'FAILED';
window.__results = results;
