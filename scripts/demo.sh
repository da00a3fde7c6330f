#!/usr/bin/env bash
# Runs the demo: agents with tools drawing on a credit pool. Uses the
# simulator, or the real API when ANTHROPIC_API_KEY is set.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run -q -p creditpool-core --example demo -- "$@"
