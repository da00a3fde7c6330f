#!/usr/bin/env bash
# Builds crates/creditpool-core for wasm32-unknown-unknown (release), proving
# the core compiles for the browser. Output: target/wasm/wasm32-unknown-unknown/release/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/wasm-toolchain.sh

locked=()
[ "${CI:-}" = true ] && locked=(--locked)

wasm_toolchain_ensure
wasm_cargo build --release -p creditpool-core "${locked[@]}"
echo "build-wasm-core: ok ($WASM_TOOLCHAIN)"
