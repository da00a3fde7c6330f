"""``examples/python/sdk_middleware.py`` (the official SDK with creditpool's
middleware) runs against the simulator, and its ledger lines are the
simulator's requests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request

from conftest import ROOT

EXAMPLE = ROOT / "examples" / "python" / "sdk_middleware.py"


def test_the_sdk_middleware_example_runs_against_the_simulator(sim: str) -> None:
    env = {**os.environ, "ANTHROPIC_BASE_URL": sim, "ANTHROPIC_API_KEY": "sk-sim-example"}
    out = subprocess.run([sys.executable, str(EXAMPLE)], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    with urllib.request.urlopen(sim + "/_sim/usage", timeout=10) as resp:
        log = json.loads(resp.read())
    settles = [line for line in lines if line.startswith("ledger: settle researcher ")]
    assert [line.split()[3] for line in settles] == [u["request_id"] for u in log] and len(log) == 2, out.stdout
    assert any(line.startswith("count_tokens: ") for line in lines), out.stdout
    assert "pool: settled $" in out.stdout and "reserved $0.00" in out.stdout, out.stdout
    assert lines[-1] == "refused by the pool (pool_exhausted)", out.stdout
