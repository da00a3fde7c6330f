#!/usr/bin/env bash
# Runs the demo: three agents with a search_database tool share one small credit
# pool until it is spent (alerts at 50, 75 and 90 %, refusals, a usage report).
# Uses the offline simulator (creditpool-sim), which the demo starts itself; with
# ANTHROPIC_API_KEY set, the real API instead; with ANTHROPIC_BASE_URL set, that
# server (the official SDKs' variables; CREDITPOOL_BASE_URL, the old name, still
# works and prints a deprecation note). Needs only cargo (crates come from
# crates.io on the first build).
#
# `--redis URL --processes N`: the same agents as N processes sharing one pool
# in Redis (`--redis local` starts a redis-server of its own, Debian's package,
# which scripts/setup.sh installs); the demo samples committed spend while
# they run and shows that the limit held across them (docs/REDIS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p creditpool-sim --bin creditpool-sim
cargo build -q -p creditpool --example inventory_demo
target_dir="${CARGO_TARGET_DIR:-target}"
export CREDITPOOL_SIM="${CREDITPOOL_SIM:-$target_dir/debug/creditpool-sim}"
exec "$target_dir/debug/examples/inventory_demo" "$@"
