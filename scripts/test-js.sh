#!/usr/bin/env bash
# The JS suites: builds the npm package's wasm (scripts/build-wasm.sh) and the
# simulator, then runs the Node tests (node:test) and the browser test
# (headless Chromium via playwright-core). Installs what is missing first:
# Node and npm, Debian's chromium, the npm dev dependencies (from
# js/package-lock.json). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/apt.sh

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    apt_ensure nodejs npm
fi
# The package runs on Node 18+; its test tools (playwright-core) need 20.
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
    echo "test-js: the JS suite needs Node 20 or later (found $(node --version))" >&2
    exit 1
fi
apt_ensure chromium

bash scripts/build-wasm.sh
locked=()
[ "${CI:-}" = true ] && locked=(--locked)
cargo build -p creditpool-sim "${locked[@]}"
export CREDITPOOL_SIM="$PWD/target/debug/creditpool-sim"

# npm ci only when the lock file changed since the last install.
lock_hash=$(sha256sum js/package-lock.json | cut -d' ' -f1)
if [ ! -f js/node_modules/.creditpool-lock ] || [ "$(cat js/node_modules/.creditpool-lock)" != "$lock_hash" ]; then
    (cd js && npm ci --no-audit --no-fund)
    echo "$lock_hash" >js/node_modules/.creditpool-lock
fi

source scripts/lib/node-tests.sh
echo "test-js: node tests"
run_node_tests --test-concurrency=1 'test/*.test.js'
echo "test-js: chromium test"
run_node_tests 'test/browser/*.test.js'
echo "test-js: ok"
