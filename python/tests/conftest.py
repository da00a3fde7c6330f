"""Shared fixtures: the offline simulator ``creditpool-sim`` on an ephemeral
port, one process per test session, reset before each test that uses it."""

from __future__ import annotations

import os
import subprocess
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]
"""The repository root."""


def _sim_binary() -> Path:
    env = os.environ.get("CREDITPOOL_SIM")
    return Path(env) if env else ROOT / "target" / "debug" / "creditpool-sim"


@pytest.fixture(scope="session")
def sim_process() -> Iterator[str]:
    """Starts ``creditpool-sim --port 0`` and yields its base URL (the first
    stdout line is ``listening on http://127.0.0.1:PORT``). Closing its stdin
    stops it."""
    exe = _sim_binary()
    if not exe.exists():
        pytest.fail(f"{exe} is missing: build it with `cargo build -p creditpool-sim` (scripts/test-python.sh does)")
    proc = subprocess.Popen([str(exe), "--port", "0"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        prefix = "listening on "
        assert line.startswith(prefix), f"unexpected first line from creditpool-sim: {line!r}"
        yield line[len(prefix) :]
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.terminate()
            proc.wait(timeout=10)


@pytest.fixture
def sim(sim_process: str) -> str:
    """The simulator's base URL, reset to its starting state."""
    req = urllib.request.Request(sim_process + "/_sim/reset", data=b"", method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200
    return sim_process
