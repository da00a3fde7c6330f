#!/usr/bin/env bash
# Issue 15: every figure of the issue's table measured in one run, interleaved
# by rounds (round 1 runs every case once, round 2 every case again, ...), and
# printed as one Markdown table (each round's figure, the median, goal met or
# not) under a header with the date, `uptime` before and after, the SDK
# versions (and the newest the registries serve), rustc, Node and Python.
#
#   bash benches/run-all.sh [rounds] [--record FILE]   # default 5 rounds, about 6 to 12 minutes on 2 cores
#   QUICK=1 bash benches/run-all.sh                     # smoke run: 2 short rounds, about 2 to 3 minutes
#   bash benches/run-all.sh 5 --record benches/RESULTS.md   # also appends the table to FILE
#
# The cases reuse the existing benches (benches/python/bench_stream.py and
# bench_pool.py through benches/python/bench_case.py, benches/js/stream.bench.mjs,
# the criterion bench crates/creditpool-core/benches/sse.rs and its
# SSE_BENCH_ONLY mode under callgrind); benches/run_all.py runs the rounds and
# prints the table. Builds first, all reused when unchanged:
#   - the sse bench binary (`cargo bench --no-run`, the bench profile);
#   - .venv-bench (as benches/python/run.sh): the SDK (ANTHROPIC_SDK, default
#     anthropic==2.17.0) and ./python, a release build of the extension, rebuilt
#     only when its inputs changed, under flock /tmp/cp-python.lock;
#   - benches/js/node_modules (npm ci from its lock; JS_SDK=@anthropic-ai/sdk@X
#     installs another SDK without saving);
#   - js/wasm only if it is missing (scripts/build-wasm.sh under flock
#     /tmp/cp-js.lock); js/src and js/wasm are then copied aside (under the same
#     lock) so that every round times the same build, and that copy's module is
#     the one whose size is reported.
# SDK=newest installs the newest SDKs the registries serve instead of the pins.
# Progress goes to stderr, the table to stdout. Exits 1 if any case failed
# (the table then says where).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }
rounds=""
record=""
record_arg=""
while [ $# -gt 0 ]; do
    case "$1" in
        --record) record=${2:?--record needs a file}; record_arg=$record; shift 2 ;;
        --record=*) record=${1#--record=}; record_arg=$record; shift ;;
        -h|--help) usage; exit 0 ;;
        *[!0-9]*|'') echo "run-all: unknown argument $1" >&2; usage >&2; exit 2 ;;
        *) rounds=$1; shift ;;
    esac
done
quick=()
if [ "${QUICK:-0}" != 0 ]; then
    quick=(--quick)
    rounds=${rounds:-2}
else
    rounds=${rounds:-5}
fi
[ "$rounds" -ge 1 ] || { echo "run-all: rounds must be at least 1" >&2; exit 2; }
if [ -n "$record" ]; then
    record=$(realpath -m "$record")
    touch "$record"
fi
command="bash benches/run-all.sh $rounds${record_arg:+ --record $record_arg}"
if [ -n "${SDK:-}" ]; then command="SDK=$SDK $command"; fi
if [ ${#quick[@]} -gt 0 ]; then command="QUICK=$QUICK $command"; fi

log() { echo "run-all: $*" >&2; }
scratch=$(mktemp -d "${TMPDIR:-/tmp}/creditpool-run-all.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# The newest SDKs the registries serve (recorded in the header).
venv=.venv-bench
python=${PYTHON:-python3}
if [ ! -x "$venv/bin/python" ]; then
    log "creating $venv"
    "$python" -m venv "$venv"
fi
vpy="$venv/bin/python"
newest_py=$("$vpy" -m pip index versions anthropic 2>/dev/null | sed -n 's/^anthropic (\(.*\))$/\1/p' | head -1 || true)
newest_js=$(npm view @anthropic-ai/sdk version 2>/dev/null || true)
log "newest on the registries: anthropic ${newest_py:-?} (PyPI), @anthropic-ai/sdk ${newest_js:-?} (npm)"
sdk=${ANTHROPIC_SDK:-anthropic==2.17.0}
js_sdk=${JS_SDK:-}
if [ "${SDK:-}" = newest ]; then
    [ -n "$newest_py" ] && [ -n "$newest_js" ] || { echo "run-all: SDK=newest, but a registry was not reached" >&2; exit 1; }
    sdk="anthropic==$newest_py"
    js_sdk="@anthropic-ai/sdk@$newest_js"
fi

# 1. Rust: the sse bench binary (bench profile: release with debug info).
log "building the sse bench (cargo bench --no-run)"
sse_bin=$(cargo bench -q -p creditpool-core --bench sse --no-run --message-format=json \
    | "$python" -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "sse" and m.get("executable"):
        print(m["executable"])')
[ -x "$sse_bin" ] || { echo "run-all: no sse bench binary" >&2; exit 1; }

# 2. Python: .venv-bench with the SDK and this package (release build).
if [ "$(cat "$venv/.run-all-sdk" 2>/dev/null || true)" != "$sdk" ]; then
    log "installing $sdk into $venv"
    "$vpy" -m pip install --quiet --disable-pip-version-check "$sdk" "httpx2>=2.0,<3"
    echo "$sdk" >"$venv/.run-all-sdk"
fi
inputs_hash=$(
    git ls-files --cached --others --exclude-standard -- \
        Cargo.toml Cargo.lock crates/creditpool-core bindings/python python/pyproject.toml python/README.md python/creditpool \
        | LC_ALL=C sort | while IFS= read -r f; do [ -f "$f" ] && printf '%s\n' "$f" && cat "$f"; done | sha256sum | cut -d' ' -f1
)
if [ "$(cat "$venv/.creditpool-build" 2>/dev/null || true)" != "$inputs_hash" ] || ! "$vpy" -c "import creditpool._creditpool" 2>/dev/null; then
    log "building ./python into $venv (pip, maturin, release; under /tmp/cp-python.lock)"
    flock /tmp/cp-python.lock "$vpy" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps ./python
    echo "$inputs_hash" >"$venv/.creditpool-build"
else
    log "./python unchanged since $venv's last build"
fi

# 3. JS: the bench's node_modules, the wasm module, and a copy of js/src + js/wasm.
lock_hash=$( (sha256sum benches/js/package-lock.json; echo "$js_sdk") | sha256sum | cut -d' ' -f1)
if [ "$(cat benches/js/node_modules/.run-all-lock 2>/dev/null || true)" != "$lock_hash" ]; then
    log "installing benches/js's node_modules"
    (cd benches/js && npm ci --silent --no-audit --no-fund)
    if [ -n "$js_sdk" ]; then
        (cd benches/js && npm install --silent --no-save --no-audit --no-fund "$js_sdk")
    fi
    echo "$lock_hash" >benches/js/node_modules/.run-all-lock
fi
if [ ! -f js/wasm/creditpool_bg.wasm ]; then
    log "js/wasm is missing: building it (scripts/build-wasm.sh under /tmp/cp-js.lock)"
    flock /tmp/cp-js.lock bash scripts/build-wasm.sh >&2
fi
log "copying js/src and js/wasm aside (under /tmp/cp-js.lock)"
mkdir -p "$scratch/js"
if ! flock -w 600 /tmp/cp-js.lock cp -r js/src js/wasm "$scratch/js/"; then
    log "WARNING: /tmp/cp-js.lock still held after 10 minutes; copying without it"
    rm -rf "$scratch/js/src" "$scratch/js/wasm"
    cp -r js/src js/wasm "$scratch/js/"
fi

# 4. The rounds and the table.
args=(--rounds "$rounds" --command "$command" --python "$vpy" --sse-bin "$sse_bin"
    --js-dir "$scratch/js" --wasm "$scratch/js/wasm/creditpool_bg.wasm" --wasm-source js/wasm/creditpool_bg.wasm
    --scratch "$scratch" --newest-py "$newest_py" --newest-js "$newest_js")
[ -n "$record" ] && args+=(--record "$record")
"$python" benches/run_all.py "${quick[@]}" "${args[@]}"
