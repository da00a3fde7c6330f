# shellcheck shell=bash source-path=SCRIPTDIR
# Sourced by scripts that build for wasm32-unknown-unknown.
#
#   wasm_toolchain_ensure   pick the toolchain (installing it if needed) and
#                           set WASM_TOOLCHAIN to "rustup" or "debian-web"
#   wasm_cargo SUBCMD ARGS  run `cargo SUBCMD` for the wasm target with the
#                           picked toolchain, in target dir $WASM_TARGET_DIR
#
# Rustup's wasm32 target is used when installed. Otherwise Debian's rustc-web
# (Rust 1.96, which ships the std sources but no prebuilt wasm std) is linked
# as the rustup toolchain "debian-web" and std is built from source with
# -Zbuild-std. Outputs land in $WASM_TARGET_DIR/$WASM_TARGET/<profile>/ either way.
# See docs/TOOLCHAIN.md.
#
# WASM_STD_FEATURES (optional, set by the caller): features of the std built
# from source (-Zbuild-std-features), e.g. "optimize_for_size"; only on the
# debian-web path (rustup's prebuilt std cannot take features).

WASM_TARGET=wasm32-unknown-unknown
WASM_TARGET_DIR=${WASM_TARGET_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/target/wasm}
WASM_DEBIAN_PACKAGES=(rustc-web cargo-web rust-web-src rust-web-llvm lld-22)
WASM_TOOLCHAIN=

source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

wasm_toolchain_ensure() {
    if rustup target list --installed | grep -x "$WASM_TARGET" >/dev/null; then
        WASM_TOOLCHAIN=rustup
    else
        apt_ensure "${WASM_DEBIAN_PACKAGES[@]}"
        if ! rustup toolchain list | grep "^debian-web" >/dev/null; then
            rustup toolchain link debian-web /usr
        fi
        WASM_TOOLCHAIN=debian-web
    fi
    echo "wasm32 toolchain: $WASM_TOOLCHAIN"
}

wasm_cargo() {
    local sub=$1
    shift
    [ -n "$WASM_TOOLCHAIN" ] || wasm_toolchain_ensure
    if [ "$WASM_TOOLCHAIN" = rustup ]; then
        cargo "$sub" --target "$WASM_TARGET" --target-dir "$WASM_TARGET_DIR" "$@"
    else
        local std_features=()
        [ -n "${WASM_STD_FEATURES:-}" ] && std_features=("-Zbuild-std-features=$WASM_STD_FEATURES")
        RUSTC_BOOTSTRAP=1 cargo +debian-web "$sub" -Zbuild-std=std,panic_abort "${std_features[@]}" \
            --target "$WASM_TARGET" --target-dir "$WASM_TARGET_DIR" "$@"
    fi
}
