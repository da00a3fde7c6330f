"""What the pool tests share: amounts, a fixed start time, a clock the test
moves, the ledger file's lines, and a simulated crash of a directory pool."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import creditpool as cp

USD = 1_000_000_000
"""One dollar in nano-USD."""

T0 = 1_795_000_000_000
"""A fixed clock (2026-11-18): tests pass ``now_ms`` or a fake clock."""


class FakeClock:
    """A clock the test moves."""

    def __init__(self, start: int = T0) -> None:
        self.now = start

    def __call__(self) -> int:
        return self.now


def ledger_lines(directory: Path) -> list[dict[str, Any]]:
    """The entries of a pool directory's ``ledger.jsonl``."""
    return [json.loads(line) for line in (directory / "ledger.jsonl").read_text().splitlines()]


def crash(pool: cp.Pool) -> None:
    """The process dies here: the directory's lock goes, nothing more is
    written (no last snapshot, the journal stays)."""
    pool._fast = False
    pool._live = False
    pool._closed = True
    assert pool._store is not None
    pool._store.close()
