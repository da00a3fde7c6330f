#!/usr/bin/env bash
# The JS suites: builds the npm package's wasm (scripts/build-wasm.sh), then
# runs the Node tests (node:test) and the browser test (headless Chromium via
# playwright-core). Installs what is missing first: Node 18+ and npm, Debian's
# chromium, the npm dev dependencies (from
# js/package-lock.json). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/apt.sh

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    apt_ensure nodejs npm
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 18 ]; then
    echo "test-js: Node 18 or later is required (found $(node --version))" >&2
    exit 1
fi
apt_ensure chromium

bash scripts/build-wasm.sh

# npm ci only when the lock file changed since the last install.
lock_hash=$(sha256sum js/package-lock.json | cut -d' ' -f1)
if [ ! -f js/node_modules/.creditpool-lock ] || [ "$(cat js/node_modules/.creditpool-lock)" != "$lock_hash" ]; then
    (cd js && npm ci --no-audit --no-fund)
    echo "$lock_hash" >js/node_modules/.creditpool-lock
fi

echo "test-js: node tests"
(cd js && node --test --test-concurrency=1 test/*.test.js)
echo "test-js: chromium test"
(cd js && node --test test/browser/*.test.js)
echo "test-js: ok"
