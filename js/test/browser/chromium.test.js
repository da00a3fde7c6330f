// Loads the package in Debian's Chromium, headless, driven by playwright-core:
// a page served on localhost imports the browser entry and runs checks
// against an API stand-in on another origin (so CORS preflights happen, as
// with the real API). Saves a screenshot to js/test-results/.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { message, textStream } from '../helpers/server.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RESULTS = join(ROOT, 'test-results');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.css': 'text/css' };

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-headers': '*',
  'access-control-allow-methods': 'POST, GET, OPTIONS',
  'access-control-expose-headers': 'request-id, retry-after, retry-after-ms, x-should-retry',
};

function listen(handler) {
  const server = createServer(handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Serves the package directory (js/) read-only. */
function serveStatic(req, res) {
  const path = normalize(join(ROOT, decodeURIComponent(new URL(req.url, 'http://x').pathname)));
  if (!path.startsWith(ROOT.endsWith(sep) ? ROOT : ROOT + sep) || !existsSync(path)) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' });
  res.end(readFileSync(path));
}

/**
 * The 'endless' stream's side (issue 10 item 13): bytes sent, whether the
 * stand-in waits for `drain`, whether the page went away. `GET /sent` shows it.
 */
const endless = { sent: 0, waiting: false, closed: false };
const ENDLESS_BURST = `event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'x'.repeat(4096) } })}\n\n`.repeat(16);

/** Sends deltas without end, only as fast as the connection drains. */
function sendEndless(res) {
  res.socket.on('close', () => (endless.closed = true));
  res.on('error', () => {});
  const pump = () => {
    endless.waiting = false;
    while (!endless.closed) {
      endless.sent += ENDLESS_BURST.length;
      if (!res.write(ENDLESS_BURST)) {
        endless.waiting = true;
        return res.once('drain', pump);
      }
    }
  };
  pump();
}

/**
 * A Messages API stand-in that answers by the request; 'redirect' is answered
 * with a 302 to `redirectTo`, 'endless' with a stream that never ends.
 */
function apiStandIn(received, redirectTo) {
  return (req, res) => {
    if (req.method === 'OPTIONS') {
      res.writeHead(204, CORS).end();
      return;
    }
    if (req.method === 'GET' && req.url === '/sent') {
      res.writeHead(200, { ...CORS, 'content-type': 'application/json' });
      res.end(JSON.stringify(endless));
      return;
    }
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      received.push({ headers: req.headers, body });
      if (req.headers['x-api-key'] === 'sk-wrong') {
        res.writeHead(401, { ...CORS, 'content-type': 'application/json', 'request-id': 'req_401' });
        res.end(JSON.stringify({ type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } }));
        return;
      }
      const prompt = body.messages?.[0]?.content;
      if (prompt === 'redirect') {
        res.writeHead(302, { ...CORS, location: `${redirectTo()}/v1/messages`, 'request-id': 'req_302' });
        res.end();
        return;
      }
      if (body.stream) {
        res.writeHead(200, { ...CORS, 'content-type': 'text/event-stream', 'request-id': 'req_sse' });
        if (prompt === 'endless') {
          res.write(textStream().slice(0, 3).map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join(''));
          sendEndless(res);
          return;
        }
        const events = prompt === 'cut' ? textStream().slice(0, 4) : textStream();
        const text = events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join('');
        // 'cut': the body ends cleanly but early (no message_stop), which a
        // browser delivers deterministically, unlike a dropped connection.
        res.end(text);
        return;
      }
      res.writeHead(200, { ...CORS, 'content-type': 'application/json', 'request-id': 'req_json' });
      res.end(JSON.stringify(message({ text: 'Hello from the stand-in!' })));
    });
  };
}

test('the package works in headless Chromium', async () => {
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (apt install chromium)`);
  const received = [];
  const site = await listen(serveStatic);
  // The redirect target: it must see no request at all (not even a preflight).
  const redirected = [];
  const target = await listen((req, res) => {
    redirected.push(`${req.method} ${req.url}`);
    res.writeHead(200, { ...CORS, 'content-type': 'application/json' });
    res.end(JSON.stringify(message({ text: 'followed a redirect' })));
  });
  const targetURL = `http://127.0.0.1:${target.address().port}`;
  const api = await listen(apiStandIn(received, () => targetURL));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  after(async () => {
    await browser.close();
    site.close();
    api.close();
    target.close();
  });
  const page = await browser.newPage();
  const logs = [];
  page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  const siteURL = `http://127.0.0.1:${site.address().port}`;
  const apiURL = `http://127.0.0.1:${api.address().port}`;
  await page.goto(`${siteURL}/test/browser/page.html?api=${encodeURIComponent(apiURL)}`);
  await page.waitForFunction(() => Array.isArray(window.__results), null, { timeout: 120_000 }).catch((e) => {
    throw new Error(`the page did not finish: ${e.message}\n${logs.join('\n')}`);
  });
  const results = await page.evaluate(() => window.__results);
  mkdirSync(RESULTS, { recursive: true });
  await page.screenshot({ path: join(RESULTS, 'browser-basic.png'), fullPage: true });

  const failed = results.filter((r) => !r.ok);
  for (const r of results) console.log(`${r.ok ? 'ok' : 'FAILED'}: ${r.name}${r.detail ? `: ${r.detail}` : ''}`);
  assert.deepEqual(failed, [], `failed in the page:\n${JSON.stringify(failed, null, 2)}\n${logs.join('\n')}`);
  assert.ok(results.length >= 7, `only ${results.length} checks ran`);
  assert.ok(received.length >= 4, 'the page reached the API stand-in');
  assert.ok(results.some((r) => r.name.startsWith('a 302')), 'the redirect check ran');
  assert.ok(results.some((r) => r.name.startsWith('a consumer that stops reading')), 'the backpressure check ran');
  assert.deepEqual(redirected, [], 'a redirect was followed: the key went to another host');
  for (const r of received) {
    assert.equal(r.headers['anthropic-dangerous-direct-browser-access'], 'true');
    assert.equal(r.headers['anthropic-version'], '2023-06-01');
    assert.equal(r.body.credit_pool, 'programmatic');
  }
});
