#!/usr/bin/env bash
# Builds dist/ (scripts/dist.sh) and installs each artifact into a fresh
# environment whose PATH has no Rust toolchain, then runs the inventory example
# with it against the simulator:
#   - the wheel into a new virtualenv (pip install dist/creditpool-*.whl);
#   - the npm tarball into a new npm project (npm install dist/creditpool-*.tgz),
#     where `npx tsc` also type-checks a TypeScript file that imports it.
# Needs the simulator binary (cargo build -p creditpool-sim), built here first.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

locked=()
[ "${CI:-}" = true ] && locked=(--locked)
bash scripts/dist.sh
cargo build -q -p creditpool-sim "${locked[@]}"
sim=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/debug/creditpool-sim
[ -x "$sim" ] || { echo "test-dist: no simulator at $sim" >&2; exit 1; }

wheel=$(ls dist/creditpool-*-abi3-*.whl)
tarball=$(ls dist/creditpool-*.tgz)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A PATH holding only the tools an install needs (Node, npm, a shell and
# coreutils), so that no cargo, rustc or rustup can be found (Debian's rustc-web,
# which the wasm build may install, lives in /usr/bin beside the rest).
bare_path=$work/bin
mkdir -p "$bare_path"
for tool in node npm npx sh bash env cat ls mkdir rm cp mv ln sed grep dirname basename uname readlink chmod tr head tail sort; do
    ln -s "$(command -v "$tool")" "$bare_path/$tool"
done
no_rust() {
    env -u CARGO_HOME -u RUSTUP_HOME -u RUSTUP_TOOLCHAIN -u CARGO -u CARGO_TARGET_DIR -u RUSTC \
        -u ANTHROPIC_API_KEY -u ANTHROPIC_BASE_URL -u CREDITPOOL_BASE_URL \
        PATH="$bare_path" CREDITPOOL_SIM="$sim" "$@"
}
if no_rust bash -c 'command -v cargo || command -v rustc' >/dev/null; then
    echo "test-dist: cargo or rustc is still on the bare PATH ($bare_path); the test would not prove anything" >&2
    exit 1
fi

check_output() {  # what the inventory example prints when its agents ran on the pool
    local out=$1 lang=$2
    shift 2
    for want in "$@"; do
        if ! grep -qF "$want" "$out"; then
            echo "test-dist: the $lang example from the installed artifact did not print '$want'; its output:" >&2
            cat "$out" >&2
            exit 1
        fi
    done
}

echo "--- the wheel in a fresh virtualenv, without Rust: $wheel"
python3 -m venv "$work/venv"
no_rust "$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$root/$wheel"
# Run from outside the repository so that `import creditpool` can only find the installed wheel.
(cd "$work" && no_rust "$work/venv/bin/python" -c 'import creditpool, sys; assert creditpool.__file__.startswith(sys.prefix), creditpool.__file__')
(cd "$work" && no_rust "$work/venv/bin/python" "$root/examples/python/inventory_agent.py") > "$work/py.out"
check_output "$work/py.out" Python "Desk lamp" "refused by the pool (agent_cap)" "Usage report" "agent shopper:"

echo "--- the npm tarball in a fresh project, without Rust: $tarball"
mkdir "$work/app"
typescript=$(node -p "require('$root/js/package.json').devDependencies.typescript")
(cd "$work/app" && no_rust npm init -y >/dev/null && no_rust npm pkg set type=module && no_rust npm install --silent --no-audit --no-fund "$root/$tarball" "typescript@$typescript")
# The example as a user would write it: importing the package by its name.
sed "s#'\.\./\.\./js/src/node\.js'#'creditpool'#" examples/js/inventory.mjs > "$work/app/inventory.mjs"
cp examples/js/inventory-data.js "$work/app/"
grep -q "from 'creditpool'" "$work/app/inventory.mjs" || { echo "test-dist: examples/js/inventory.mjs no longer imports ../../js/src/node.js; update this script" >&2; exit 1; }
(cd "$work/app" && no_rust node inventory.mjs) > "$work/js.out"
check_output "$work/js.out" JS "Desk lamp" "completed: 2 turns" "pool_refused (pool_exhausted)" "pool: settled"
cat > "$work/app/check.ts" <<'EOF'
import { Client, Pool, Agent } from 'creditpool';
const client: Client = new Client({ apiKey: 'sk-sim', baseURL: 'http://127.0.0.1:1' });
export const kinds: [typeof Pool, typeof Agent, Client] = [Pool, Agent, client];
EOF
(cd "$work/app" && no_rust npx tsc --noEmit --strict --module nodenext --moduleResolution nodenext --target es2022 check.ts)

echo "--- dist/ artifacts install and run without a Rust toolchain"
