"""docs/PYTHON.md's quickstarts run as written, against the simulator: the
first python block (clients, streams, tools) and the second (an agent on a
credit pool)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from conftest import ROOT


def _blocks() -> list[str]:
    text = (ROOT / "docs" / "PYTHON.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 2, "docs/PYTHON.md lost a quickstart"
    return blocks


def _run(code: str, sim: str) -> str:
    env = {**os.environ, "ANTHROPIC_BASE_URL": sim, "ANTHROPIC_API_KEY": "sk-sim-docs"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_quickstart_runs_against_the_simulator(sim: str) -> None:
    stdout = _run(_blocks()[0], sim)
    lines = stdout.splitlines()
    assert any(re.fullmatch(r"\d+ in, \d+ out: \$[\d.]+", line) for line in lines), stdout
    # The rule model called search_database, got its results, and quoted them.
    assert "search_database" in stdout and "products under $50 #1" in stdout, stdout


def test_agent_quickstart_runs_against_the_simulator(sim: str) -> None:
    stdout = _run(_blocks()[1], sim)
    assert stdout.startswith("completed - Here is what search_database returned"), stdout
    assert "Desk lamp" in stdout and "2 turns, $0.00" in stdout, stdout
    assert "agent researcher:" in stdout and "in 2 requests, 0 refused (cap $2.00)" in stdout, stdout
