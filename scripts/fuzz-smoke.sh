#!/usr/bin/env bash
# Builds the cargo-fuzz targets in fuzz/ and runs each one briefly from its
# seed corpus (docs/FUZZING.md). Fails on a crash (a panic, a failed check, a
# timeout or an out-of-memory), leaving the input in fuzz/artifacts/<target>/.
#
# Needs a nightly toolchain that is already installed and cargo-fuzz; without
# a nightly toolchain it prints "skipped" and exits 0. It never installs a
# toolchain. If nightly is there but cargo-fuzz is not, it installs cargo-fuzz
# from crates.io (cargo install cargo-fuzz --locked).
#
# Environment:
#   FUZZ_SECONDS   seconds per target (default 10)
#   FUZZ_RUNS      executions per target, whichever limit comes first (default 200000)
#   FUZZ_TARGETS   space-separated targets to run (default: all, from `cargo fuzz list`)
#   CI=true        also check that fuzz/Cargo.lock is up to date (as scripts/test.sh
#                  passes --locked), and fail rather than skip if cargo-fuzz cannot
#                  be installed
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-10}
runs=${FUZZ_RUNS:-200000}
# Never let rustup fetch a toolchain on our behalf.
export RUSTUP_AUTO_INSTALL=0

skip() {
    echo "skipped: $1 (needs a nightly toolchain and cargo-fuzz)"
    exit 0
}

# A nightly toolchain, already installed.
if command -v rustup >/dev/null 2>&1 && rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    cargo=(cargo +nightly)
elif rustc --version 2>/dev/null | grep -q -- '-nightly'; then
    cargo=(cargo)
else
    skip "no nightly toolchain installed"
fi
# libfuzzer-sys compiles libFuzzer, which is C++.
if ! command -v c++ >/dev/null 2>&1 && ! command -v g++ >/dev/null 2>&1 && ! command -v clang++ >/dev/null 2>&1; then
    skip "no C++ compiler for libFuzzer"
fi

if ! "${cargo[@]}" fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz not found: cargo install cargo-fuzz --locked"
    if ! cargo install cargo-fuzz --locked; then
        [ "${CI:-}" = true ] && { echo "could not install cargo-fuzz" >&2; exit 1; }
        skip "could not install cargo-fuzz"
    fi
fi

echo "toolchain: $("${cargo[@]}" --version 2>/dev/null | head -1); $(rustc +nightly --version 2>/dev/null || rustc --version); $("${cargo[@]}" fuzz --version)"

if [ "${CI:-}" = true ]; then
    "${cargo[@]}" metadata --locked --format-version 1 --manifest-path fuzz/Cargo.toml >/dev/null
fi

start=$SECONDS
"${cargo[@]}" fuzz build
echo "built in $((SECONDS - start))s"

if [ -n "${FUZZ_TARGETS:-}" ]; then
    read -r -a targets <<<"$FUZZ_TARGETS"
else
    mapfile -t targets < <("${cargo[@]}" fuzz list)
fi

# New corpus entries go to a scratch directory, not to the committed seeds.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/creditpool-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

failed=()
for t in "${targets[@]}"; do
    mkdir -p "$scratch/$t"
    seeds=()
    [ -d "fuzz/corpus/$t" ] && seeds=("fuzz/corpus/$t")
    log="$scratch/$t.log"
    if "${cargo[@]}" fuzz run "$t" "$scratch/$t" "${seeds[@]}" -- \
        -max_total_time="$seconds" -runs="$runs" -timeout=20 -print_final_stats=1 >"$log" 2>&1; then
        done_line=$(grep -E '^Done [0-9]+ runs' "$log" | tail -1 || true)
        echo "$t: ok (${done_line:-done})"
    else
        echo "$t: FAILED; the end of its log:"
        tail -n 60 "$log"
        failed+=("$t")
    fi
done

if [ ${#failed[@]} -ne 0 ]; then
    echo "fuzz smoke failed: ${failed[*]} (inputs in fuzz/artifacts/<target>/; reproduce with: cargo +nightly fuzz run <target> <input>)" >&2
    exit 1
fi
echo "fuzz smoke: ${#targets[@]} targets, ${seconds}s each, no crash ($((SECONDS - start))s in all)"
