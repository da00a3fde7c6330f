#!/usr/bin/env bash
# Builds and installs the Python package (python/, native module from
# bindings/python) into .venv at the repository root, then runs its tests, a
# strict mypy check of the package, and mypy.stubtest of the native module's
# stubs. Idempotent: the venv, the test dependencies and the build are reused
# until their inputs change.
#
#   PYTHON=python3.12 bash scripts/test-python.sh   # another interpreter
#   bash scripts/test-python.sh -k stream           # extra args go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
python=${PYTHON:-python3}
test_deps=("pytest>=8" "mypy>=1.10" "pydantic>=2" "vl-convert-python>=1.9" "anthropic==2.17.0" "redis>=5" "pydantic-ai-slim[anthropic]==2.78.0")  # vl-convert: the creditpool[charts] extra (SVG, PNG, offline HTML) is tested too; anthropic: the SDK the middleware (creditpool[sdk]) is tested with; redis: redis-py for creditpool[redis]; pydantic-ai-slim: an Agent on a client carrying the middleware

if [ ! -x "$venv/bin/python" ]; then
    echo "--- creating $venv"
    "$python" -m venv "$venv"
fi
vpy="$venv/bin/python"

# Test dependencies: installed once per change of the list.
deps_stamp="$venv/.creditpool-test-deps"
if [ "$(cat "$deps_stamp" 2>/dev/null || true)" != "${test_deps[*]}" ]; then
    echo "--- installing test dependencies: ${test_deps[*]}"
    "$vpy" -m pip install --quiet --disable-pip-version-check "${test_deps[@]}"
    echo "${test_deps[*]}" > "$deps_stamp"
fi

# The package: rebuilt only when a file it is built from changed.
inputs_hash=$(
    git ls-files --cached --others --exclude-standard -- \
        Cargo.toml Cargo.lock crates/creditpool-core bindings/python python/pyproject.toml python/README.md python/creditpool \
        | LC_ALL=C sort | while IFS= read -r f; do [ -f "$f" ] && printf '%s\n' "$f" && cat "$f"; done | sha256sum | cut -d' ' -f1
)
build_stamp="$venv/.creditpool-build"
if [ "$(cat "$build_stamp" 2>/dev/null || true)" != "$inputs_hash" ] || ! "$vpy" -c "import creditpool._creditpool" 2>/dev/null; then
    echo "--- building and installing ./python (pip, maturin through build isolation)"
    "$vpy" -m pip install --quiet --disable-pip-version-check --force-reinstall ./python
    echo "$inputs_hash" > "$build_stamp"
else
    echo "--- ./python unchanged since the last build; not rebuilding"
fi

locked=()
[ "${CI:-}" = true ] && locked=(--locked)
echo "--- cargo build -p creditpool-sim (the tests start it)"
cargo build -q -p creditpool-sim "${locked[@]}"

echo "--- mypy --strict (package, tests, examples)"
"$vpy" -m mypy --strict --cache-dir "$venv/.mypy_cache" python/creditpool python/tests examples/python

echo "--- mypy.stubtest creditpool._creditpool"
"$vpy" -m mypy.stubtest creditpool._creditpool

echo "--- pytest"
"$venv/bin/pytest" -q -p no:cacheprovider python/tests "$@"
