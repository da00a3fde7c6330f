#!/usr/bin/env bash
# Installs what the build and the test suites need. Idempotent: anything
# already present is skipped, so a second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/apt.sh
source scripts/lib/wasm-toolchain.sh

echo "setup: Rust"
if ! command -v cargo >/dev/null || ! command -v rustup >/dev/null; then
    echo "setup: cargo and rustup are required (https://rustup.rs)" >&2
    exit 1
fi
cargo --version

echo "setup: wasm32 toolchain"
wasm_toolchain_ensure

echo "setup: redis-server and redis-cli (the Redis pool's tests start their own)"
apt_ensure redis-server

# Later suites add their installs here, each skipped when already present:
#   wasm-bindgen-cli (version from Cargo.lock), binaryen (wasm-opt),
#   Python venv + maturin, Node packages, chromium for browser tests.

echo "setup: done"
