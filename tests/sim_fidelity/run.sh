#!/usr/bin/env bash
# Fidelity check: runs the official anthropic Python SDK, unchanged, against
# creditpool-sim. Creates .venv-fidelity at the repository root once (pinned
# versions in requirements.txt; reinstalled only when that file changes),
# builds the simulator, and runs pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/../.."

here=tests/sim_fidelity
venv=${FIDELITY_VENV:-.venv-fidelity}
python=${PYTHON:-python3}

if [ ! -x "$venv/bin/python" ]; then
    if ! "$python" -m venv "$venv" 2>/dev/null; then
        rm -rf "$venv"
        source scripts/lib/apt.sh
        apt_ensure python3-venv
        python3 -m venv "$venv"
    fi
fi
stamp="$venv/.fidelity-requirements"
if ! cmp -s "$here/requirements.txt" "$stamp"; then
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$here/requirements.txt"
    cp "$here/requirements.txt" "$stamp"
fi

locked=()
[ "${CI:-}" = true ] && locked=(--locked)
cargo build -q -p creditpool-sim "${locked[@]}"
export CREDITPOOL_SIM_BIN="$PWD/target/debug/creditpool-sim"

"$venv/bin/python" -c 'from importlib.metadata import version; print("fidelity: official anthropic SDK", version("anthropic"), "(unchanged)")'
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider "$here" "$@"
