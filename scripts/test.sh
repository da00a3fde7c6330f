#!/usr/bin/env bash
# Runs every test suite, installing what they need first (scripts/setup.sh).
# Any failure stops the run with a non-zero exit and names the failing step.
set -euo pipefail
cd "$(dirname "$0")/.."

locked=()
[ "${CI:-}" = true ] && locked=(--locked)
# Incremental compilation only pays for repeated local builds; in a one-shot
# run it roughly doubles target/ (a full run needs about 12 GB of disk).
if [ "${CI:-}" = true ]; then export CARGO_INCREMENTAL=0; fi
free_kb=$(df -Pk . | awk 'NR==2 {print $4}')
echo "disk: $((free_kb / 1048576)) GiB free where the tests build"
if [ "$free_kb" -lt $((14 * 1048576)) ]; then
    echo "warning: under 14 GiB free; the Rust, wasm and Python builds may run out of space" >&2
fi

passed=()
current=
on_exit() {
    local status=$?
    [ $status -ne 0 ] || return 0
    echo
    echo "=== FAILED: $current (exit $status)"
    [ ${#passed[@]} -eq 0 ] || printf '=== passed before it: %s\n' "${passed[@]}"
}
trap on_exit EXIT

step() {
    current=$1
    shift
    echo
    echo "=== $current"
    local start=$SECONDS
    "$@"
    passed+=("$current")
    echo "=== $current: ok ($((SECONDS - start))s)"
}

step "setup" bash scripts/setup.sh
# Includes the Redis store's tests (crates/creditpool/tests/redis_*.rs: the
# crate's dev-dependency on itself turns its `redis` feature on; each test
# starts its own redis-server, installed by setup.sh).
step "rust tests" cargo test --workspace --no-fail-fast "${locked[@]}"
step "simulator fidelity (official Python SDK)" bash tests/sim_fidelity/run.sh
step "wasm32 core build" bash scripts/build-wasm-core.sh

# Later suites: one line each, run only once their directory exists.
skipped=()
if [ -d python ]; then step "python tests" bash scripts/test-python.sh; else skipped+=("python tests (no python/)"); fi
if [ -d js ]; then step "js tests" bash scripts/test-js.sh; else skipped+=("js tests (no js/)"); fi
# Three Rust, three Python and three Node workers on one Redis pool against
# the simulator with faults, some SIGKILLed (needs the two suites' builds).
step "mixed-language fleet on one Redis pool" bash tests/fleet/run.sh
# A message thread created by a Python process and continued by a Node one on
# one Redis pool: the continue is reserved at the thread's tight bound.
step "message threads across processes (Python create, Node continue)" bash tests/threads/run.sh
# The abi3 wheel and the npm tarball (scripts/dist.sh), each installed into a
# fresh environment without a Rust toolchain and run.
step "release artifacts (dist/), installed without Rust" bash scripts/test-dist.sh

activity_schema() {
    VEGA_LITE_SCHEMA="$(bash scripts/lib/vega-lite-schema.sh)" cargo test -p creditpool-core --test activity_schema "${locked[@]}" -- --nocapture
}
step "activity charts against the Vega-Lite schema" activity_schema
step "fuzz smoke (cargo-fuzz, nightly)" bash scripts/fuzz-smoke.sh

current=
echo
printf '=== passed:  %s\n' "${passed[@]}"
[ ${#skipped[@]} -eq 0 ] || printf '=== skipped: %s\n' "${skipped[@]}"
echo "=== ALL PASSED"
