#!/usr/bin/env bash
# Times the official `anthropic` SDK's stream accumulation and message parsing
# against this package's (benches/python/bench_stream.py), in a venv of its own
# (.venv-bench) holding this package and the SDK at the version the Python
# tests use (anthropic==2.17.0, the newest on PyPI in December 2026; the
# pyproject's test extra), or the one ANTHROPIC_SDK names.
#
#   bash benches/python/run.sh               # extra args go to the script (--runs 9, --cases create, ...)
#   ANTHROPIC_SDK=anthropic==2.13.0 bash benches/python/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=.venv-bench
python=${PYTHON:-python3}
sdk=${ANTHROPIC_SDK:-anthropic==2.17.0}

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
echo "--- installing ./python and $sdk into $venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$sdk" ./python
echo "--- bench_stream.py"
exec "$venv/bin/python" -W ignore::DeprecationWarning benches/python/bench_stream.py "$@"
