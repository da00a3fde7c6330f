// Serves the example page and the package on localhost, with a simulator to
// talk to:  node examples/js/serve.mjs  then open the URL it prints.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// The package, the example, and the Vega bundles for the activity chart
// (installed by scripts/lib/vega-lite-schema.sh; the page runs without them).
const SERVED = [join(ROOT, 'examples', 'js') + sep, join(ROOT, 'js') + sep, join(ROOT, 'target', 'vega-lite', 'node_modules') + sep];
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm' };
const bin = process.env.CREDITPOOL_SIM ?? join(ROOT, 'target', 'debug', 'creditpool-sim');

const sim = spawn(bin, ['--port', '0'], { stdio: ['pipe', 'pipe', 'inherit'] });
const api = await new Promise((resolve) => sim.stdout.once('data', (d) => resolve(/listening on (\S+)/.exec(d.toString())?.[1])));

const server = createServer((req, res) => {
  const path = normalize(join(ROOT, decodeURIComponent(new URL(req.url, 'http://x').pathname)));
  if (!SERVED.some((dir) => path.startsWith(dir)) || !existsSync(path) || !statSync(path).isFile()) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' });
  res.end(readFileSync(path));
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const url = `http://127.0.0.1:${server.address().port}/examples/js/index.html?api=${encodeURIComponent(api)}`;
  console.log(`open ${url}`);
});
const stop = () => {
  sim.stdin.end();
  server.close();
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
