// What a user gets from `npm pack` (or `npm install ./js`): the tarball holds
// the entries, the glue, the wasm and the types, installs into an empty
// project without a registry, and imports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE = fileURLToPath(new URL('../', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function spawn(cmd, args, cwd) {
  return spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' } });
}

function run(cmd, args, cwd) {
  const r = spawn(cmd, args, cwd);
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

// `npx -p typescript tsc`, offline: the TypeScript of the dev dependencies.
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

function userProject(dir) {
  const project = join(dir, 'project');
  mkdirSync(project, { recursive: true });
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user-project', version: '1.0.0', type: 'module', private: true }));
  return project;
}

// What a clone holds of js/ before anything is built: no wasm/, no
// node_modules/. `withBuildScript` is the repository's scripts/build-wasm.sh
// (a stand-in that puts the already built module in place, so that the test
// checks the wiring without a multi-minute build), or none.
function clone(dir, withBuildScript) {
  const js = join(dir, 'clone', 'js');
  for (const f of ['package.json', 'src', 'scripts', 'index.d.ts', 'core.d.ts', 'activity.d.ts', 'README.md']) {
    cpSync(join(PACKAGE, f), join(js, f), { recursive: true });
  }
  if (withBuildScript) {
    mkdirSync(join(dir, 'clone', 'scripts'));
    const built = join(PACKAGE, 'wasm');
    writeFileSync(
      join(dir, 'clone', 'scripts', 'build-wasm.sh'),
      `set -e\ncd "$(dirname "$0")/.."\necho "stand-in build-wasm ran" >&2\ncp -r ${JSON.stringify(built)} js/wasm\n`,
    );
  }
  return js;
}

const IMPORT_CHECK = [
  "import { cost, version } from 'creditpool';",
  "console.log(version(), cost('claude-haiku-4-5', { input_tokens: 1000, output_tokens: 100 }).total.nanos);",
].join('\n');

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

    // `npx -p typescript tsc` in that project: the types resolve and are
    // real (a misuse is an error, not an `any`).
    run(process.execPath, [tsc, '--init'], project);
    writeFileSync(
      join(project, 'index.ts'),
      [
        "import { Client, cost, type Money } from 'creditpool';",
        "const total: Money = cost('claude-haiku-4-5', { input_tokens: 1000, output_tokens: 100 }).total;",
        "const nanos: bigint = total.nanos;",
        "new Client({ apiKey: 'sk-x', baseURL: 'http://127.0.0.1:1' });",
        'console.log(nanos);',
      ].join('\n'),
    );
    run(process.execPath, [tsc, '-p', '.', '--noEmit'], project);
    writeFileSync(join(project, 'index.ts'), "import { cost } from 'creditpool';\nconst n: string = cost('claude-haiku-4-5', { input_tokens: 1 }).total.nanos;\nconsole.log(n);\n");
    const bad = spawn(process.execPath, [tsc, '-p', '.', '--noEmit'], project);
    assert.notEqual(bad.status, 0, 'a type error in the user project was not reported: the types are not in use');
    assert.match(bad.stdout, /bigint/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('npm install ./js from a clone builds the missing module with scripts/build-wasm.sh (prepare)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'creditpool-clone-'));
  try {
    const js = clone(dir, true);
    const project = userProject(dir);
    run(npm, ['install', '--offline', '--no-package-lock', js], project);
    writeFileSync(join(project, 'check.mjs'), IMPORT_CHECK);
    assert.equal(run(process.execPath, ['check.mjs'], project).trim(), '0.1.0 1500000n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('npm install of a copy that cannot build the module fails at install time and says what to run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'creditpool-clone-'));
  try {
    const js = clone(dir, false);
    const project = userProject(dir);
    const r = spawn(npm, ['install', '--offline', '--no-package-lock', js], project);
    assert.notEqual(r.status, 0, `the install succeeded without the module:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /WebAssembly module \(js\/wasm\/creditpool\.js, js\/wasm\/creditpool_bg\.wasm\) is missing/);
    assert.match(r.stderr, /run `bash scripts\/build-wasm\.sh`/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('importing a package without its module (scripts skipped) names the command to run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'creditpool-clone-'));
  try {
    const js = clone(dir, false);
    const project = userProject(dir);
    run(npm, ['install', '--offline', '--no-package-lock', '--ignore-scripts', js], project);
    writeFileSync(join(project, 'check.mjs'), IMPORT_CHECK);
    const r = spawn(process.execPath, ['check.mjs'], project);
    assert.notEqual(r.status, 0);
    // The glue is a static import (so that require() of the package works):
    // Node names the missing file; installing with scripts builds it first.
    assert.match(r.stderr, /ERR_MODULE_NOT_FOUND/);
    assert.match(r.stderr, /wasm\/creditpool\.js/);
    // The glue present but the .wasm gone: the same message, for that file.
    cpSync(join(PACKAGE, 'wasm', 'creditpool.js'), join(js, 'wasm', 'creditpool.js'));
    cpSync(join(PACKAGE, 'wasm', 'snippets'), join(js, 'wasm', 'snippets'), { recursive: true });
    const r2 = spawn(process.execPath, ['check.mjs'], project);
    assert.notEqual(r2.status, 0);
    assert.match(r2.stderr, /WebAssembly module \(wasm\/creditpool_bg\.wasm\) is missing/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
