#!/usr/bin/env bash
# The mixed-language fleet test (issue 11; tests/fleet/fleet.py says what it
# checks): three Rust, three Python and three Node workers share one Redis
# pool against creditpool-sim with injected faults, one of each killed with
# SIGKILL mid-request. Needs what the language suites install (run after
# scripts/test-python.sh and scripts/test-js.sh: the .venv with creditpool and
# redis-py, js/wasm and js/node_modules with ioredis) and redis-server
# (scripts/setup.sh). Then the demo's Redis mode with two processes. About
# a minute.
set -euo pipefail
cd "$(dirname "$0")/../.."

locked=()
[ "${CI:-}" = true ] && locked=(--locked)
cargo build -p creditpool-sim "${locked[@]}"
cargo build -p creditpool --example fleet_worker --example inventory_demo "${locked[@]}"
[ -x .venv/bin/python ] || { echo "fleet: no .venv (run scripts/test-python.sh first)" >&2; exit 1; }
[ -f js/wasm/creditpool_bg.wasm ] && [ -d js/node_modules/ioredis ] || { echo "fleet: js/ is not built (run scripts/test-js.sh first)" >&2; exit 1; }
.venv/bin/python tests/fleet/fleet.py --sim "$PWD/target/debug/creditpool-sim" --rust-worker "$PWD/target/debug/examples/fleet_worker" "$@"

# The demo's Redis mode (README: `bash scripts/demo.sh --redis local
# --processes N`): two processes on one pool, against the simulator it starts;
# it exits non-zero if committed spend ever passed the limit.
out=$(env -u ANTHROPIC_API_KEY -u ANTHROPIC_BASE_URL -u CREDITPOOL_BASE_URL CREDITPOOL_SIM="$PWD/target/debug/creditpool-sim" \
    target/debug/examples/inventory_demo --redis local --processes 2)
echo "$out" | tail -1
echo "$out" | grep -q "2 processes, one pool: .* (the limit held across them)" || { echo "fleet: the demo's Redis mode did not show the limit holding" >&2; exit 1; }
echo "$out" | grep -q "REFUSED by the pool (pool_exhausted)" || { echo "fleet: the demo's processes never reached the limit" >&2; exit 1; }
