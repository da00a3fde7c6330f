#!/usr/bin/env bash
# Times the official `anthropic` SDK's stream accumulation and message parsing
# against this package's (benches/python/bench_stream.py), in a venv of its own
# (.venv-bench) holding this package and the SDK at the version that the
# simulator's fidelity check pins (tests/sim_fidelity/requirements.txt).
#
#   bash benches/python/run.sh               # extra args go to the script (--runs 9, ...)
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=.venv-bench
python=${PYTHON:-python3}
sdk=$(grep -E '^anthropic==' tests/sim_fidelity/requirements.txt)

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
echo "--- installing ./python and $sdk into $venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$sdk" ./python
echo "--- bench_stream.py"
exec "$venv/bin/python" -W ignore::DeprecationWarning benches/python/bench_stream.py "$@"
