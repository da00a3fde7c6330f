"""The pool's hard edges: a ledger write that fails leaves no gap and no
half line, a restart checks the ledger against the snapshot, a pool used
after ``fork()`` or ``close()`` refuses, amounts must be exact money, the
in-memory ledger is a bounded window, and webhook secrets are checked."""

from __future__ import annotations

import errno
import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import creditpool as cp
from poolhelp import T0, USD, FakeClock
from poolhelp import crash as _crash
from poolhelp import ledger_lines as _lines


# ----- item 4: ledger writes that fail -----


class FailingWrite:
    """``os.write`` that fails with ENOSPC on the ledger's next write, after
    writing ``partial`` bytes of it (a torn write), then works again."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, ledger: Path, partial: int = 0) -> None:
        self.real = os.write
        self.ledger = ledger
        self.partial = partial
        self.armed = True
        monkeypatch.setattr(os, "write", self)

    def __call__(self, fd: int, data: bytes) -> int:
        if self.armed and self.ledger.exists() and os.path.samestat(os.fstat(fd), os.stat(self.ledger)):
            self.armed = False
            if self.partial:
                self.real(fd, data[: self.partial])
            raise OSError(errno.ENOSPC, "No space left on device")
        return self.real(fd, data)


@pytest.mark.parametrize("partial", [0, 7])
def test_a_failed_ledger_write_raises_and_leaves_no_gap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, partial: int) -> None:
    pool = cp.Pool(cp.nanos(10 * USD), directory=tmp_path, clock=FakeClock())
    pool.settle(pool.reserve("a", cp.nanos(USD)), cp.nanos(100))
    r = pool.reserve("a", cp.nanos(USD))
    failing = FailingWrite(monkeypatch, tmp_path / "ledger.jsonl", partial)
    with pytest.raises(cp.PoolStoreError) as e:
        pool.settle(r, cp.nanos(300))
    assert e.value.code == "file_io" and "No space left" in str(e.value)
    assert not failing.armed
    # Nothing half written: the file ends with a whole line.
    assert (tmp_path / "ledger.jsonl").read_bytes().endswith(b"}\n")
    assert [x["seq"] for x in _lines(tmp_path)] == [1]
    # The next operation writes the missing entry first, in order.
    pool.settle(pool.reserve("a", cp.nanos(USD)), cp.nanos(50))
    assert [(x["seq"], x["cost"]) for x in _lines(tmp_path)] == [(1, 100), (2, 300), (3, 50)]
    pool.close()
    again = cp.Pool(directory=tmp_path, clock=FakeClock())
    assert again.settled == cp.nanos(450)
    assert [x["seq"] for x in _lines(tmp_path)] == [1, 2, 3]
    again.close()


def test_a_failed_write_then_a_crash_loses_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The append failed and the process died before the next operation:
    the journal holds the settle, whose entry the replay makes again."""
    pool = cp.Pool(cp.nanos(10 * USD), directory=tmp_path, clock=FakeClock())
    r = pool.reserve("a", cp.nanos(USD))
    FailingWrite(monkeypatch, tmp_path / "ledger.jsonl")
    with pytest.raises(cp.PoolStoreError):
        pool.settle(r, cp.nanos(300))
    monkeypatch.undo()
    _crash(pool)
    assert (tmp_path / "ledger.jsonl").read_bytes() == b""
    restored = cp.Pool(directory=tmp_path, clock=FakeClock())
    assert restored.settled == cp.nanos(300) and [(x["seq"], x["cost"]) for x in _lines(tmp_path)] == [(1, 300)]
    restored.close()


def test_an_entry_whose_write_failed_stays_in_the_pool_and_its_snapshot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Write, then acknowledge: after a failed append the entry is still in
    the native pool, so a snapshot taken then (moved to another directory,
    or written by ``close``) still holds it as pending."""
    pool = cp.Pool(cp.nanos(10 * USD), directory=tmp_path, clock=FakeClock())
    r = pool.reserve("a", cp.nanos(USD))
    FailingWrite(monkeypatch, tmp_path / "ledger.jsonl")
    with pytest.raises(cp.PoolStoreError):
        pool.settle(r, cp.nanos(300))
    monkeypatch.undo()
    pending = json.loads(pool.snapshot())["pending_ledger"]
    assert [(e["seq"], e["cost"]) for e in pending] == [(1, 300)]
    # The next operation writes it first, then acknowledges it.
    pool.tick()
    assert [(x["seq"], x["cost"]) for x in _lines(tmp_path)] == [(1, 300)]
    assert json.loads(pool.snapshot())["pending_ledger"] == []
    pool.close()
    again = cp.Pool(directory=tmp_path, clock=FakeClock())
    assert again.settled == cp.nanos(300) and [x["seq"] for x in _lines(tmp_path)] == [1]
    again.close()


def test_a_hand_truncated_last_line_is_dropped_and_restored(tmp_path: Path) -> None:
    pool = cp.Pool(cp.nanos(10 * USD), directory=tmp_path, clock=FakeClock())
    pool.settle(pool.reserve("a", cp.nanos(USD)), cp.nanos(100))
    pool.settle(pool.reserve("a", cp.nanos(USD)), cp.nanos(200))
    _crash(pool)
    ledger = tmp_path / "ledger.jsonl"
    data = ledger.read_bytes()
    # The journal still holds the second settle: its entry comes back.
    ledger.write_bytes(data[:-15])
    restored = cp.Pool(directory=tmp_path, clock=FakeClock())
    assert ledger.read_bytes() == data and restored.settled == cp.nanos(300)
    restored.reserve("a", cp.nanos(USD))
    restored.close()  # the last snapshot: nothing left to replay
    ledger.write_bytes(data[:-15])
    with pytest.raises(cp.PoolSnapshotError) as e:
        cp.Pool(directory=tmp_path, clock=FakeClock())
    assert e.value.code == "invalid_snapshot" and "entries 2 to 2 are missing" in str(e.value)


def test_a_ledger_with_a_gap_or_a_bad_line_is_refused(tmp_path: Path) -> None:
    pool = cp.Pool(cp.nanos(10 * USD), directory=tmp_path, clock=FakeClock())
    for cost in (100, 200, 300):
        pool.settle(pool.reserve("a", cp.nanos(USD)), cp.nanos(cost))
    pool.close()
    ledger = tmp_path / "ledger.jsonl"
    good = ledger.read_text().splitlines(keepends=True)
    ledger.write_text(good[0] + good[2])
    with pytest.raises(cp.PoolSnapshotError, match="seq 3, expected 2"):
        cp.Pool(directory=tmp_path)
    ledger.write_text(good[0] + "not json\n" + good[2])
    with pytest.raises(cp.PoolSnapshotError, match="line 2 is not a ledger entry"):
        cp.Pool(directory=tmp_path)
    ledger.write_text("".join(good))
    cp.Pool(directory=tmp_path, clock=FakeClock()).close()


def test_a_snapshot_that_disagrees_with_the_ledger_is_refused(tmp_path: Path) -> None:
    pool = cp.Pool(cp.nanos(10 * USD), directory=tmp_path, clock=FakeClock())
    pool.settle(pool.reserve("a", cp.nanos(USD)), cp.nanos(100))
    pool.settle(pool.reserve("a", cp.nanos(USD)), cp.nanos(200))
    pool.close()
    ledger = tmp_path / "ledger.jsonl"
    good = ledger.read_text()
    lines = good.splitlines(keepends=True)
    second = json.loads(lines[1])
    second["cost"] = 999
    ledger.write_text(lines[0] + json.dumps(second) + "\n")
    with pytest.raises(cp.PoolSnapshotError, match="disagree"):
        cp.Pool(directory=tmp_path)
    # A ledger that runs past the snapshot (an older snapshot put back).
    third = dict(second, seq=3, cost=0)
    ledger.write_text(good + json.dumps(third) + "\n")
    with pytest.raises(cp.PoolSnapshotError, match="older than the ledger"):
        cp.Pool(directory=tmp_path)
    ledger.write_text(good)
    cp.Pool(directory=tmp_path, clock=FakeClock()).close()


# ----- item 5: fork and close -----


def test_a_closed_pool_refuses_operations(tmp_path: Path) -> None:
    for directory in (None, tmp_path):
        pool = cp.Pool(cp.nanos(10 * USD), directory=directory, clock=FakeClock())
        r = pool.reserve("a", cp.nanos(USD))
        pool.close()
        with pytest.raises(cp.PoolStoreError, match="closed"):
            pool.reserve("a", cp.nanos(USD))
        with pytest.raises(cp.PoolStoreError):
            pool.settle(r, cp.nanos(1))
        with pytest.raises(cp.PoolStoreError):
            pool.apply({"op": "release", "id": r.id, "now_ms": T0})


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_pool_used_after_fork_refuses(tmp_path: Path) -> None:
    pool = cp.Pool(cp.nanos(10 * USD), directory=tmp_path, clock=FakeClock())
    pool.settle(pool.reserve("a", cp.nanos(USD)), cp.nanos(100))
    pid = os.fork()
    if pid == 0:  # the child: report through the exit code only
        code = 1
        try:
            pool.reserve("a", cp.nanos(USD))
        except cp.PoolStoreError as e:
            code = 0 if ("fork" in str(e) and e.code == "file_io") else 2
        except BaseException:
            code = 3
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    pool.settle(pool.reserve("a", cp.nanos(USD)), cp.nanos(200))  # the parent carries on
    assert [x["seq"] for x in _lines(tmp_path)] == [1, 2]
    pool.close()


def test_snapshot_temporary_files_are_unique_per_writer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names: list[str] = []
    real = os.replace

    def spy(src: Any, dst: Any) -> None:
        names.append(Path(src).name)
        real(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    pool = cp.Pool(cp.nanos(10 * USD), directory=tmp_path, clock=FakeClock())
    pool.reserve("a", cp.nanos(USD))
    pool.close()
    # Opening writes a snapshot and starts a journal; closing writes the last snapshot.
    assert len(names) == 3 and len(set(names)) == 3, names
    assert all(n.startswith((f"snapshot.json.{os.getpid()}.", f"journal.jsonl.{os.getpid()}.")) and n.endswith(".tmp") for n in names), names
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# ----- item 6: amounts by type (issue 13 item 1: one money type) -----


@pytest.mark.parametrize(
    "call, argument",
    [
        (lambda: cp.Pool(1.5), "limit"),  # type: ignore[arg-type]
        (lambda: cp.Pool(cp.usd(1)).reserve("a", 0.25), "amount"),  # type: ignore[arg-type]
        (lambda: cp.Pool(cp.usd(1)).settle(1, 0.1), "cost"),  # type: ignore[arg-type]
        (lambda: cp.Pool(cp.usd(1)).set_limit(2.0), "limit"),  # type: ignore[arg-type]
        (lambda: cp.Pool(cp.usd(1), agents={"a": cp.AgentPolicy(cap=0.5)}), "cap"),  # type: ignore[arg-type]
        (lambda: cp.Pool(cp.usd(1), agents={"a": cp.AgentPolicy(credits_per_minute=1e3)}), "credits_per_minute"),  # type: ignore[arg-type]
    ],
)
def test_float_amounts_are_refused_with_the_way_to_write_them(call: Any, argument: str) -> None:
    with pytest.raises(cp.InvalidOptionsError) as e:
        call()
    assert e.value.code == "invalid_options"
    assert e.value.argument == argument  # type: ignore[attr-defined]
    assert str(e.value).startswith(f"{argument}=") and "a bare number is not an amount of money; write usd(" in str(e.value)


def test_float_max_spend_is_refused() -> None:
    client = cp.Client(api_key="k", base_url="http://api.test")
    with pytest.raises(cp.InvalidOptionsError, match=r"max_spend=0\.5: .*usd\(0\.5\)"):
        cp.Agent(client, [], cp.Pool(cp.usd(1)), "a", model="claude-haiku-4-5", max_spend=0.5)  # type: ignore[arg-type]
    client.close()


@pytest.mark.parametrize("amount", [-1, 2**64, 10**30, Decimal("-0.01"), "-1", "$-1", Decimal("2")])
def test_anything_but_money_is_typed(amount: Any) -> None:
    pool = cp.Pool(cp.usd(1))
    with pytest.raises(cp.InvalidOptionsError, match="amount"):
        pool.reserve("a", amount)
    with pytest.raises(cp.InvalidOptionsError):
        cp.Pool(amount)


@pytest.mark.parametrize("amount", [2**64, 10**30])
def test_huge_money_is_typed(amount: int) -> None:
    with pytest.raises(cp.InvalidOptionsError, match="largest amount"):
        cp.nanos(amount)


def test_exact_amounts_still_work() -> None:
    pool = cp.Pool(cp.usd(Decimal("2")), clock=FakeClock())
    r = pool.reserve("a", cp.usd("0.50"))
    assert r.amount == cp.nanos(USD // 2)
    assert pool.settle(r, cp.nanos(3)).cost == cp.nanos(3)
    assert pool.limit == cp.usd(2)
    assert pool.reserve("a", "$0.25").amount == cp.usd("0.25")  # a string with its dollar sign


# ----- item 8: the in-memory ledger window -----


def test_the_in_memory_ledger_is_a_bounded_window(tmp_path: Path) -> None:
    pool = cp.Pool(cp.nanos(10 * USD), directory=tmp_path, fsync=False, ledger_window=5, clock=FakeClock())
    assert cp.Pool(cp.nanos(USD)).ledger_window == 10_000
    for i in range(12):
        pool.settle(pool.reserve("a", cp.nanos(100)), cp.nanos(i + 1))
    assert [e.seq for e in pool.ledger()] == [8, 9, 10, 11, 12]
    assert [e.seq for e in cp.iter_ledger_file(tmp_path)] == list(range(1, 13)), "the file is the record"
    pool.close()
    with pytest.raises(cp.InvalidOptionsError):
        cp.Pool(cp.nanos(USD), ledger_window=-1)


# ----- item 11: webhook secrets -----


@pytest.mark.parametrize("secret", ["", b""])
def test_an_empty_webhook_secret_is_refused(secret: str | bytes) -> None:
    with pytest.raises(cp.InvalidOptionsError, match="must not be empty") as e:
        cp.Webhook("https://hooks.example/x", secret)
    assert e.value.code == "invalid_options"
    assert isinstance(e.value, ValueError)


def test_a_webhook_url_must_be_http() -> None:
    with pytest.raises(cp.InvalidOptionsError, match="http or https"):
        cp.Webhook("hooks.example/x", "s")
    assert repr(cp.Webhook("https://user:pw@hooks.example:8443/a/b?c=d", "s")) == "Webhook('https://hooks.example:8443', secret=****)"


def test_a_failed_snapshot_write_loses_nothing_and_the_next_one_catches_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """A snapshot (here after every operation) that cannot be written does
    not fail the operation, which the journal already holds; the temporary
    file goes, and the next snapshot is written."""
    pool = cp.Pool(cp.nanos(10 * USD), directory=tmp_path, clock=FakeClock(), snapshot_every=1)
    r = pool.reserve("a", cp.nanos(USD))
    real = os.replace
    calls = {"n": 0}

    def full_disk(src: Any, dst: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(src, dst)

    monkeypatch.setattr(os, "replace", full_disk)
    before = (tmp_path / "snapshot.json").read_text()
    with caplog.at_level("WARNING", logger="creditpool"):
        assert pool.settle(r, cp.nanos(300)).cost == cp.nanos(300)
    assert "snapshot.json" in caplog.text
    assert (tmp_path / "snapshot.json").read_text() == before, "the snapshot was not replaced"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")], "the temporary file is removed"
    assert [(x["seq"], x["cost"]) for x in _lines(tmp_path)] == [(1, 300)]
    pool.settle(pool.reserve("a", cp.nanos(USD)), cp.nanos(50))
    assert json.loads((tmp_path / "snapshot.json").read_text())["state"]["settled"] == 350, "the next snapshot caught up"
    assert [(x["seq"], x["cost"]) for x in _lines(tmp_path)] == [(1, 300), (2, 50)]
    _crash(pool)
    assert cp.Pool(directory=tmp_path, clock=FakeClock()).settled == cp.nanos(350)


# ----- crash tests: kill -9 in the middle of settles -----

_SETTLER = """
import sys
import creditpool as cp
pool = cp.Pool(cp.nanos(10**18), directory=sys.argv[1])
i = 0
while True:
    i += 1
    r = pool.reserve("a", cp.nanos(5_000))
    if i % 7 == 0:
        pool.release(r)
    else:
        pool.settle(r, cp.nanos(1 + (i * 37) % 4_000))
    print(i, pool.settled.nanos, flush=True)
"""


@pytest.mark.skipif(not hasattr(os, "kill") or os.name != "posix", reason="needs SIGKILL")
def test_kill_9_in_the_middle_of_settles_leaves_consistent_books(tmp_path: Path) -> None:
    """A process settling as fast as it can on ``Pool(directory=...)`` is
    killed with SIGKILL at varying points, eight times over the same
    directory. Each time the books must reopen consistent (ledger ``seq``
    contiguous from 1, its settled costs summing to the pool's settled, every
    settle the dead process saw return still there); a refusal, even a typed
    one, fails the test, since the next round goes on from the reopened books."""
    import signal
    import subprocess
    import sys

    for round_, kill_after in enumerate([1, 3, 17, 40, 5, 90, 2, 150]):
        child = subprocess.Popen([sys.executable, "-c", _SETTLER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None
        last_settled = 0
        seen = 0
        for line in child.stdout:
            seen, last_settled = (int(x) for x in line.split())
            if seen >= kill_after:
                break
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        assert child.returncode == -signal.SIGKILL, f"round {round_}: the settler died by itself ({child.returncode})"
        try:
            pool = cp.Pool(directory=tmp_path)
        except (cp.PoolSnapshotError, cp.PoolStoreError) as e:
            pytest.fail(f"round {round_}: the books were refused after a kill -9 (typed, but nothing can go on): {e}")
        try:
            entries = _lines(tmp_path)
            assert [x["seq"] for x in entries] == list(range(1, len(entries) + 1)), f"round {round_}: the ledger's seq has a gap"
            assert sum(x.get("cost", 0) for x in entries) == pool.settled.nanos, f"round {round_}: the ledger and the snapshot disagree"
            assert pool.settled >= cp.nanos(last_settled), f"round {round_}: a settle that returned ({last_settled}) was lost ({pool.settled})"
            totals = pool.totals()
            assert totals["settled"] + totals["reserved"] + totals["available"] == totals["limit"], totals
        finally:
            pool.close()
