"""Every Python block the docs mark runnable runs as written, against the
simulator (issue 13: "the docs' quickstarts still run as written").

A block is runnable when the line before its opening fence is
``<!-- docs-test: run -->``; README.md and docs/PYTHON.md are read. Each runs
in a fresh directory as its own process, with the official SDKs' variables
pointing at the simulator (``ANTHROPIC_BASE_URL``, ``ANTHROPIC_API_KEY``) and
nothing else: a block that needs more than the docs say fails here. The
same markers are run for JS by js/test/docs-quickstarts.test.js and for Rust
by crates/creditpool/tests/readme.rs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

MARKER = "<!-- docs-test: run -->"
FENCE = re.compile(r"<!-- docs-test: run -->\n```(\w+)[^\n]*\n(.*?)\n```", re.S)
DOCS = ["README.md", "docs/PYTHON.md"]


def runnable_blocks(doc: str, languages: tuple[str, ...]) -> list[tuple[str, str]]:
    """``(doc:line, code)`` for each marked block in one of ``languages``."""
    text = (ROOT / doc).read_text(encoding="utf-8")
    out = []
    for m in FENCE.finditer(text):
        if m.group(1) in languages:
            line = text.count("\n", 0, m.start()) + 2
            out.append((f"{doc}:{line}", m.group(2) + "\n"))
    return out


BLOCKS = [b for doc in DOCS for b in runnable_blocks(doc, ("py", "python"))]


def test_the_quickstarts_are_marked() -> None:
    # The client, agent and SDK-middleware quickstarts: a marker that goes
    # missing would silently stop a block from being run.
    assert len(BLOCKS) >= 3, BLOCKS
    text = (ROOT / "docs" / "PYTHON.md").read_text(encoding="utf-8")
    # Every marker is followed by a fence this test reads.
    assert text.count(MARKER) == len(runnable_blocks("docs/PYTHON.md", ("py", "python")))


@pytest.mark.parametrize("where,code", BLOCKS, ids=[w for w, _ in BLOCKS])
def test_a_marked_block_runs_as_written(where: str, code: str, sim: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CREDITPOOL_"))}
    env.update(ANTHROPIC_BASE_URL=sim, ANTHROPIC_API_KEY="sk-sim-docs")
    script = tmp_path / "block.py"
    script.write_text(code, encoding="utf-8")
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"{where} does not run as written:\n{out.stderr}"
