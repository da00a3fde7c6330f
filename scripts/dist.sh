#!/usr/bin/env bash
# Builds the release artifacts into dist/:
#   - the Python wheel: abi3, so one wheel serves CPython 3.11 and every later
#     version on this platform (pyo3's abi3-py311); installing it needs no Rust;
#   - the npm tarball, with the WebAssembly module built by scripts/build-wasm.sh;
#     installing it needs no Rust either.
# cargo's progress is shown as it builds (pip hides it; maturin does not).
# scripts/test-dist.sh installs each into a fresh environment without a Rust
# toolchain and runs an example with it.
#
#   bash scripts/dist.sh            # both
#   bash scripts/dist.sh python     # the wheel only
#   bash scripts/dist.sh npm        # the tarball only
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
what=${1:-all}
case $what in all | python | npm) ;; *) echo "usage: bash scripts/dist.sh [all|python|npm]" >&2; exit 2 ;; esac
mkdir -p dist

locked=()
[ "${CI:-}" = true ] && locked=(--locked)

if [ "$what" != npm ]; then
    # maturin in a venv of its own (the version range python/pyproject.toml asks for).
    venv=target/dist-venv
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    if ! "$venv/bin/python" -c 'import maturin' 2>/dev/null; then
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'maturin>=1.9,<2'
    fi
    rm -f dist/creditpool-*.whl
    echo "--- building the abi3 wheel (maturin build --release; cargo's progress below)"
    (cd python && "$root/$venv/bin/maturin" build --release --strip --out "$root/dist" "${locked[@]}")
fi

if [ "$what" != python ]; then
    bash scripts/build-wasm.sh
    rm -f dist/creditpool-*.tgz
    echo "--- packing the npm tarball (npm pack)"
    (cd js && npm pack --silent --pack-destination "$root/dist" >/dev/null)
fi

echo "--- dist/"
ls -l dist/
