#!/usr/bin/env bash
# Builds the npm package's wasm: bindings/wasm for wasm32-unknown-unknown
# (profile wasm-release; with -Zbuild-std, std is built with its
# optimize_for_size feature), then wasm-bindgen --target web into js/wasm/
# (without the name and producers sections), then wasm-opt -Oz (binaryen 116+,
# from PATH or the npm package binaryen). Installs wasm-bindgen-cli at exactly
# the version of the wasm-bindgen crate in Cargo.lock if that is not the one on
# PATH. Skips the glue and optimisation steps when the wasm did not change.
# Prints the module's size, raw and gzip -9 (benches/RESULTS.md "wasm size":
# about 2.83 MB raw, 0.9986 MB gzip -9 on December 5 2026 with std built from
# source; it grows with the core, and rustup's prebuilt std adds about 60 KB
# gzip -9).
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
# std's smaller sorts and number formatting: 170 KB raw, 60 KB gzip -9 less,
# no measurable cost in the stream bench (benches/RESULTS.md "wasm size:
# opt-level 2 and a std optimised for size"). Used where std is built from
# source (the debian-web toolchain); rustup's prebuilt std has no features.
export WASM_STD_FEATURES=optimize_for_size
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

# wasm-opt: the one on PATH if it is binaryen 116 or later, else the npm
# package binaryen (its wasm-opt runs under Node), installed once into
# $WASM_TARGET_DIR/binaryen at the version pinned here.
binaryen_version=132.0.0
wasm_opt=(wasm-opt)
opt_version=$(wasm-opt --version 2>/dev/null | awk '{print $3}' || true)
if ! { [ -n "$opt_version" ] && [ "${opt_version%%.*}" -ge 116 ] 2>/dev/null; }; then
    npm_opt="$WASM_TARGET_DIR/binaryen/node_modules/binaryen/bin/wasm-opt"
    if [ ! -x "$npm_opt" ] && command -v npm >/dev/null; then
        echo "build-wasm: installing wasm-opt from the npm package binaryen@$binaryen_version"
        npm install --silent --no-save --no-audit --no-fund --prefix "$WASM_TARGET_DIR/binaryen" "binaryen@$binaryen_version" >&2 || true
    fi
    if [ -x "$npm_opt" ]; then
        wasm_opt=(node "$npm_opt")
        opt_version=$("${wasm_opt[@]}" --version 2>/dev/null | awk '{print $3}' || true)
    fi
fi

# The shipped module's size, raw and as served compressed (gzip -9).
report_size() {
    local raw gz
    raw=$(wc -c <"$out/creditpool_bg.wasm")
    gz=$(gzip -9c "$out/creditpool_bg.wasm" | wc -c)
    echo "build-wasm: $out/creditpool_bg.wasm is $raw bytes ($((raw / 1024)) KiB), $gz bytes gzip -9 ($((gz / 1024)) KiB)"
}

stamp="$WASM_TARGET_DIR/js-package.stamp"
hash=$( (sha256sum "$input"; wasm-bindgen --version; echo "$opt_version"; sha256sum "$0") | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ] && [ -f "$out/creditpool_bg.wasm" ]; then
    echo "build-wasm: $out is up to date"
    report_size
    exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/creditpool-wasm.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# No name section (function names, 1.4 MB raw) and no producers section ship.
wasm-bindgen --target web --out-name creditpool --out-dir "$tmp" \
    --remove-name-section --remove-producers-section "$input"
# wasm-opt -Oz --converge (passes repeated while they still shrink it: about 1.5 KB
# gzip) shrinks the module by about 8 % raw (gzip -9 stays within 1 %). Binaryen before 116 (Debian
# bookworm ships 108) rewrites wasm-bindgen's externref table into one the
# glue cannot fill, even with no pass at all, so it is used only from 116 on,
# and its output must still load in Node (else the plain module is kept).
if [ -n "$opt_version" ] && [ "${opt_version%%.*}" -ge 116 ] 2>/dev/null; then
    echo "build-wasm: wasm-opt $opt_version"
    "${wasm_opt[@]}" -Oz --converge \
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
report_size
