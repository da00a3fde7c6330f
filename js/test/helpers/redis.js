// Starts a redis-server of the test's own (Debian's package, installed by
// scripts/setup.sh) on 127.0.0.1 with a free port and a temp dir, waits for
// PING, and stops it (and removes the dir) on `stop()`.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function ping(port) {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let buf = '';
    s.once('error', () => resolve(false));
    s.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\r\n')) {
        s.destroy();
        resolve(buf.startsWith('+PONG'));
      }
    });
    s.once('connect', () => s.write('PING\r\n'));
  });
}

/** Starts a redis-server; resolves to `{url, port, proc, stop()}`. `args`: extra server arguments. */
export async function startRedis(args = []) {
  const dir = mkdtempSync(join(tmpdir(), 'creditpool-redis-'));
  const port = await freePort();
  const proc = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--protected-mode', 'no', '--dir', dir, ...args],
    { stdio: 'ignore' },
  );
  let exited = null;
  const done = new Promise((resolve) => proc.once('exit', (code) => resolve((exited = code ?? -1))));
  proc.once('error', () => {});
  for (let i = 0; i < 500; i += 1) {
    if (exited !== null) throw new Error(`redis-server exited with ${exited} (is it installed? scripts/setup.sh installs it)`);
    if (await ping(port)) {
      return {
        url: `redis://127.0.0.1:${port}/0`,
        port,
        proc,
        async stop() {
          if (exited === null) proc.kill('SIGTERM');
          await done;
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  proc.kill('SIGKILL');
  throw new Error('redis-server did not answer PING');
}
