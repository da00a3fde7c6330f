"""``examples/python/inventory_agent.py`` runs against the simulator: the one
given by ``ANTHROPIC_BASE_URL`` (or the deprecated ``CREDITPOOL_BASE_URL``),
and one it starts itself; and it says where it sends requests."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT, _sim_binary

EXAMPLE = ROOT / "examples" / "python" / "inventory_agent.py"


def _run(env: dict[str, str], *, stderr: list[str] | None = None) -> str:
    base = {k: v for k, v in os.environ.items() if k not in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "CREDITPOOL_BASE_URL")}
    out = subprocess.run([sys.executable, str(EXAMPLE)], env={**base, **env}, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    if stderr is not None:
        stderr.append(out.stderr)
    return out.stdout


def _check(stdout: str) -> None:
    assert "Desk lamp" in stdout and "Office chair" not in stdout, stdout
    assert "ALERT creditpool \"inventory-team\": 25% of the limit spent" in stdout, stdout
    assert "refused by the pool (agent_cap)" in stdout and "refused by the pool (pool_exhausted)" in stdout, stdout
    report = stdout.split("Usage report", 1)[1]
    for line in ("agent shopper:", "agent analyst:", "agent intern: $0.00 in 0 requests, 1 refused", "tool search_database:"):
        assert line in report, report


def test_inventory_agent_against_a_running_simulator(sim: str) -> None:
    # The official SDKs' variable; with a key set too (the newcomer's setup),
    # the example says it talks to that server, not "the Anthropic API".
    stdout = _run({"ANTHROPIC_BASE_URL": sim, "ANTHROPIC_API_KEY": "sk-from-env"})
    _check(stdout)
    assert f"Running against the server at {sim.rstrip('/')} (ANTHROPIC_BASE_URL)" in stdout, stdout
    assert "Anthropic API" not in stdout.splitlines()[0], stdout


def test_inventory_agent_still_reads_the_deprecated_variable(sim: str) -> None:
    err: list[str] = []
    stdout = _run({"CREDITPOOL_BASE_URL": sim}, stderr=err)
    _check(stdout)
    assert f"the server at {sim.rstrip('/')} (CREDITPOOL_BASE_URL)" in stdout, stdout
    assert "CREDITPOOL_BASE_URL is deprecated; set ANTHROPIC_BASE_URL" in err[0], err[0]


def test_inventory_agent_starts_the_simulator() -> None:
    stdout = _run({"CREDITPOOL_SIM": str(_sim_binary())})
    _check(stdout)
    assert "Running against the simulator at http://127.0.0.1:" in stdout and ", started here" in stdout, stdout
