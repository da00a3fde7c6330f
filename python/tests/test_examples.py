"""``examples/python/inventory_agent.py`` runs against the simulator: the one
given by ``CREDITPOOL_BASE_URL``, and one it starts itself."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT, _sim_binary

EXAMPLE = ROOT / "examples" / "python" / "inventory_agent.py"


def _run(env: dict[str, str]) -> str:
    env = {k: v for k, v in {**os.environ, **env}.items() if k != "ANTHROPIC_API_KEY"}
    out = subprocess.run([sys.executable, str(EXAMPLE)], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def _check(stdout: str) -> None:
    assert "Desk lamp" in stdout and "Office chair" not in stdout, stdout
    assert "ALERT creditpool \"inventory-team\": 25% of the limit spent" in stdout, stdout
    assert "refused by the pool (agent_cap)" in stdout and "refused by the pool (pool_exhausted)" in stdout, stdout
    report = stdout.split("Usage report", 1)[1]
    for line in ("agent shopper:", "agent analyst:", "agent intern: $0.00 in 0 requests, 1 refused", "tool search_database:"):
        assert line in report, report


def test_inventory_agent_against_a_running_simulator(sim: str) -> None:
    _check(_run({"CREDITPOOL_BASE_URL": sim}))


def test_inventory_agent_starts_the_simulator() -> None:
    _check(_run({"CREDITPOOL_SIM": str(_sim_binary()), "CREDITPOOL_BASE_URL": ""}))
