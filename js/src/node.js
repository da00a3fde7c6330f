// The package's entry point in Node 18+: the wasm bytes are read from the
// package directory and instantiated synchronously, so that the module is
// ready when this import resolves.
import { appendFileSync, closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { runtime } from './runtime.js';
import { connect, glue, missingModule } from './wasm.js';

let bytes;
try {
  bytes = readFileSync(new URL('../wasm/creditpool_bg.wasm', import.meta.url));
} catch (e) {
  throw e?.code === 'ENOENT' ? missingModule('wasm/creditpool_bg.wasm', e) : e;
}
glue.initSync({ module: bytes });
connect();
runtime.name = 'node';
runtime.browser = false;
runtime.env = (name) => process.env[name];
runtime.appendFile = (path, text) => appendFileSync(path, text);
runtime.readFile = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if (e?.code === 'ENOENT') return null;
    throw e;
  }
};
runtime.lockFile = lockFile;

const locked = new Set();

/**
 * Takes `<path>.lock` for this process (created exclusively, holding the
 * pid; removed when the process exits) and returns the absolute path. A lock
 * held by another live process throws `{code: 'ELOCKED', pid}`; one left by a
 * process that is gone is taken over. A missing directory is not locked (the
 * appends then fail and are reported).
 */
function lockFile(path) {
  const abs = resolve(path);
  if (locked.has(abs)) return abs;
  const lock = `${abs}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd;
    try {
      fd = openSync(lock, 'wx');
    } catch (e) {
      if (e?.code === 'ENOENT') return abs;
      if (e?.code !== 'EEXIST') throw e;
      const pid = Number.parseInt(readFileSync(lock, 'utf8'), 10);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw Object.assign(new Error(`locked by process ${pid}`), { code: 'ELOCKED', pid });
      }
      unlinkSync(lock); // stale: its process is gone
      continue;
    }
    writeSync(fd, String(process.pid));
    closeSync(fd);
    locked.add(abs);
    process.once('exit', () => {
      try {
        unlinkSync(lock);
      } catch {
        // already gone
      }
    });
    return abs;
  }
  return abs;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e?.code === 'EPERM';
  }
}

export * from './index.js';
