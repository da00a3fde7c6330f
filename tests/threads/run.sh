#!/usr/bin/env bash
# Message threads across processes (tests/threads/cross_process.py says what
# it checks): a Python process creates a thread through the middleware on a
# Redis pool, a Node process continues it and is reserved at the thread's
# tight bound. Needs what the language suites install (run after
# scripts/test-python.sh and scripts/test-js.sh: the .venv with creditpool,
# anthropic and redis-py; js/wasm and js/node_modules with @anthropic-ai/sdk
# and ioredis) and redis-server (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."

locked=()
[ "${CI:-}" = true ] && locked=(--locked)
cargo build -p creditpool-sim "${locked[@]}"
[ -x .venv/bin/python ] || { echo "threads: no .venv (run scripts/test-python.sh first)" >&2; exit 1; }
[ -f js/wasm/creditpool_bg.wasm ] && [ -d js/node_modules/@anthropic-ai/sdk ] && [ -d js/node_modules/ioredis ] || { echo "threads: js/ is not built (run scripts/test-js.sh first)" >&2; exit 1; }
.venv/bin/python tests/threads/cross_process.py --sim "$PWD/target/debug/creditpool-sim"
