#!/usr/bin/env bash
# Builds the npm package's wasm: bindings/wasm for wasm32-unknown-unknown
# (profile wasm-release), then wasm-bindgen --target web into js/wasm/, then
# wasm-opt when a recent enough one is installed. Installs wasm-bindgen-cli at exactly the
# version of the wasm-bindgen crate in Cargo.lock if that is not the one on
# PATH. Skips the glue and optimisation steps when the wasm did not change.
#
# One build serves Node and browsers: js/src/node.js hands the .wasm bytes
# (read with node:fs) to the glue's initSync, js/src/browser.js lets the glue
# fetch them (see docs/JS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/wasm-toolchain.sh

locked=()
[ "${CI:-}" = true ] && locked=(--locked)

out=js/wasm
profile=wasm-release
wasm_toolchain_ensure
wasm_cargo build --profile "$profile" -p creditpool-wasm "${locked[@]}"
input="$WASM_TARGET_DIR/$WASM_TARGET/$profile/creditpool_wasm.wasm"

# wasm-bindgen-cli must be the exact version of the crate the module was
# built with. No --locked: the registry lags one of the CLI's locked deps.
version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
[ -n "$version" ] || { echo "build-wasm: no wasm-bindgen in Cargo.lock" >&2; exit 1; }
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$version" ]; then
    echo "build-wasm: installing wasm-bindgen-cli $version"
    cargo install wasm-bindgen-cli --version "$version"
fi

stamp="$WASM_TARGET_DIR/js-package.stamp"
hash=$( (sha256sum "$input"; wasm-bindgen --version; wasm-opt --version 2>/dev/null || true) | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ] && [ -f "$out/creditpool_bg.wasm" ]; then
    echo "build-wasm: $out is up to date"
    exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/creditpool-wasm.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
wasm-bindgen --target web --out-name creditpool --out-dir "$tmp" "$input"
# wasm-opt shrinks the module by about 40 %. Binaryen before 116 (Debian
# bookworm ships 108) rewrites wasm-bindgen's externref table into one the
# glue cannot fill, even with no pass at all, so it is used only from 116 on,
# and its output must still load in Node (else the plain module is kept).
opt_version=$(wasm-opt --version 2>/dev/null | awk '{print $3}' || true)
if [ -n "$opt_version" ] && [ "${opt_version%%.*}" -ge 116 ] 2>/dev/null; then
    echo "build-wasm: wasm-opt $opt_version"
    wasm-opt -Oz \
        --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int \
        --enable-mutable-globals --enable-reference-types --enable-multivalue \
        "$tmp/creditpool_bg.wasm" -o "$tmp/opt.wasm"
    if node --input-type=module -e "
        import { readFileSync } from 'node:fs';
        const glue = await import(process.argv[1] + '/creditpool.js');
        glue.initSync({ module: readFileSync(process.argv[1] + '/opt.wasm') });
        glue.version();" "$tmp" 2>/dev/null; then
        mv "$tmp/opt.wasm" "$tmp/creditpool_bg.wasm"
    else
        echo "build-wasm: the module wasm-opt $opt_version produced does not load; keeping the plain one"
        rm -f "$tmp/opt.wasm"
    fi
elif [ -n "$opt_version" ]; then
    echo "build-wasm: wasm-opt $opt_version is too old for externref tables (needs 116+); not optimising"
else
    echo "build-wasm: no wasm-opt (binaryen 116+); the module is not size-optimised"
fi
rm -rf "$out"
mkdir -p "$out"
cp -r "$tmp"/. "$out"/
echo "$hash" >"$stamp"
echo "build-wasm: $(du -k "$out/creditpool_bg.wasm" | cut -f1) KiB wasm in $out ($WASM_TOOLCHAIN)"
