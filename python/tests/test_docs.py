"""docs/PYTHON.md's quickstart runs as written, against the simulator."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from conftest import ROOT


def test_quickstart_runs_against_the_simulator(sim: str) -> None:
    text = (ROOT / "docs" / "PYTHON.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "docs/PYTHON.md has no python block"
    env = {**os.environ, "ANTHROPIC_BASE_URL": sim, "ANTHROPIC_API_KEY": "sk-sim-docs"}
    out = subprocess.run([sys.executable, "-c", blocks[0]], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert any("nano-USD = $" in line for line in lines), out.stdout
    # The rule model called search_database, got its results, and quoted them.
    assert "search_database" in out.stdout and "products under $50 #1" in out.stdout, out.stdout
