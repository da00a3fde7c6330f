// What a user gets from `npm pack` (or `npm install ./js`): the tarball holds
// the entries, the glue, the wasm and the types, installs into an empty
// project without a registry, and imports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE = fileURLToPath(new URL('../', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' } });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

test('the packed package installs offline and imports', () => {
  const dir = mkdtempSync(join(tmpdir(), 'creditpool-pack-'));
  try {
    const packed = JSON.parse(run(npm, ['pack', '--json', '--pack-destination', dir], PACKAGE));
    const files = packed[0].files.map((f) => f.path);
    for (const f of ['src/node.js', 'src/browser.js', 'index.d.ts', 'wasm/creditpool.js', 'wasm/creditpool_bg.wasm']) {
      assert.ok(files.includes(f), `${f} is not in the package`);
    }
    assert.ok(files.some((f) => f.startsWith('wasm/snippets/')), 'the glue snippets are not in the package');
    assert.ok(!files.some((f) => f.startsWith('test/') || f.startsWith('node_modules/')), 'tests or dependencies are in the package');
    const project = join(dir, 'project');
    run('mkdir', ['-p', project], dir);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user-project', version: '1.0.0', type: 'module', private: true }));
    run(npm, ['install', '--offline', '--no-package-lock', join(dir, packed[0].filename)], project);
    const check = [
      "import { Client, cost, parsePartialJson, version } from 'creditpool';",
      "const c = cost('claude-haiku-4-5', { input_tokens: 1000, output_tokens: 100 });",
      "new Client({ apiKey: 'sk-x', baseURL: 'http://127.0.0.1:1' });",
      'console.log(version(), c.total.nanos, parsePartialJson("[1, 2").value.length);',
    ].join('\n');
    writeFileSync(join(project, 'check.mjs'), check);
    const out = run(process.execPath, ['check.mjs'], project);
    assert.equal(out.trim(), '0.1.0 1500000n 2');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
