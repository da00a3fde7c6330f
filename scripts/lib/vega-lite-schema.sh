#!/usr/bin/env bash
# Installs the pinned Vega-Lite (with the Vega runtime and vega-embed, for the
# offline HTML checks) into target/vega-lite/ and prints the path of the
# Vega-Lite JSON schema. Idempotent: does nothing when the pinned versions are
# already there. Needs npm.
#
#   VEGA_LITE_SCHEMA="$(bash scripts/lib/vega-lite-schema.sh)" \
#       cargo test -p creditpool-core --test activity_schema
#
# The bundles for an offline page are then under target/vega-lite/node_modules/:
# vega/build/vega.min.js, vega-lite/build/vega-lite.min.js and
# vega-embed/build/vega-embed.min.js.
set -euo pipefail
cd "$(dirname "$0")/../.."
VEGA_LITE_VERSION=5.23.0
VEGA_VERSION=5.32.0
VEGA_EMBED_VERSION=6.29.0
prefix="${CARGO_TARGET_DIR:-target}/vega-lite"
schema="$prefix/node_modules/vega-lite/build/vega-lite-schema.json"
installed() {
    node -p "require('./$prefix/node_modules/$1/package.json').version" 2>/dev/null || true
}
if [ "$(installed vega-lite)" != "$VEGA_LITE_VERSION" ] || [ "$(installed vega)" != "$VEGA_VERSION" ] ||
    [ "$(installed vega-embed)" != "$VEGA_EMBED_VERSION" ] || [ ! -f "$schema" ]; then
    mkdir -p "$prefix"
    npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$prefix" \
        "vega-lite@$VEGA_LITE_VERSION" "vega@$VEGA_VERSION" "vega-embed@$VEGA_EMBED_VERSION" >&2
fi
[ -f "$schema" ] || { echo "vega-lite-schema.sh: $schema is missing after npm install" >&2; exit 1; }
echo "$(cd "$(dirname "$schema")" && pwd)/$(basename "$schema")"
