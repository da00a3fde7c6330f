// Starts creditpool-sim (the offline Messages API simulator) for a test:
// spawns the binary with --port 0 and a piped stdin, reads the first stdout
// line (`listening on http://127.0.0.1:PORT`), and stops it by closing stdin.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The simulator binary: $CREDITPOOL_SIM, else the workspace's debug build. */
export const SIM_BINARY = process.env.CREDITPOOL_SIM ?? fileURLToPath(new URL('../../../target/debug/creditpool-sim', import.meta.url));

/** Starts a simulator; resolves to `{url, stop()}`. `args` are extra command-line arguments. */
export function startSim(args = []) {
  if (!existsSync(SIM_BINARY)) {
    throw new Error(`no simulator at ${SIM_BINARY}: run \`cargo build -p creditpool-sim\` or set CREDITPOOL_SIM`);
  }
  const child = spawn(SIM_BINARY, ['--port', '0', ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk) => {
      buffered += chunk.toString('utf8');
      const newline = buffered.indexOf('\n');
      if (newline === -1) return;
      child.stdout.off('data', onData);
      const line = buffered.slice(0, newline);
      const match = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
      if (!match) {
        child.kill();
        reject(new Error(`unexpected first line from the simulator: ${JSON.stringify(line)}`));
        return;
      }
      const exited = new Promise((r) => child.once('exit', r));
      resolve({
        url: match[1],
        /** Resets the simulator (and loads `scenario` when given). */
        async reset(scenario) {
          await fetch(`${match[1]}/_sim/reset`, { method: 'POST' });
          if (scenario !== undefined) {
            const r = await fetch(`${match[1]}/_sim/scenario`, { method: 'POST', body: JSON.stringify(scenario) });
            if (!r.ok) throw new Error(`scenario refused: ${await r.text()}`);
          }
        },
        /** The usage log so far. */
        async usage() {
          return (await fetch(`${match[1]}/_sim/usage`)).json();
        },
        stop() {
          child.stdin.end();
          return exited;
        },
      });
    };
    child.stdout.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the simulator exited (${code}) before it listened`)));
  });
}
