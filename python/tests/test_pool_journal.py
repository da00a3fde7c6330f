"""Issue 15: ``Pool(directory=...)`` keeps a write-ahead journal (every
operation, as the core's ``PoolOp`` JSON) and rewrites its snapshot only now
and then; on start the core replays the journal after the snapshot
(``recovery::recover``). These tests crash it where it matters: after the
journal append and before any snapshot (``kill -9``), with a torn last
journal line, in the middle of writing a snapshot, and with an older
snapshot put back; and they check the group commit (an operation returns
only once an ``fsync`` covers it; one ``fsync`` per operation at most)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import creditpool as cp
from poolhelp import T0, USD, FakeClock
from poolhelp import crash as _crash
from poolhelp import ledger_lines as _lines
from creditpool._persistence import PoolDirectory


_WORKER = """
import sys, time
import creditpool as cp
pool = cp.Pool(cp.nanos(10**12), directory=sys.argv[1], fsync=False, snapshot_interval_ms=10**9)
held = pool.reserve("a", cp.nanos(5_000))
pool.settle(pool.reserve("a", cp.nanos(5_000)), cp.nanos(1_234))
pool.release(pool.reserve("b", cp.nanos(700)))
print(held.id, flush=True)
time.sleep(600)
"""


@pytest.mark.skipif(os.name != "posix", reason="needs SIGKILL")
def test_kill_9_after_the_journal_append_and_before_any_snapshot_loses_nothing(tmp_path: Path) -> None:
    """The only snapshot on disk is the one written at open; everything after
    it is in the journal. The open reservation comes back open (its request
    may have been billed: its worker can still settle it), the settle is
    counted, the ledger is whole."""
    child = subprocess.Popen([sys.executable, "-c", _WORKER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    held = int(child.stdout.readline())
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL
    assert json.loads((tmp_path / "snapshot.json").read_text())["state"]["next_reservation_id"] == 1, "no snapshot after open"
    pool = cp.Pool(directory=tmp_path)
    assert (pool.settled, pool.reserved) == (cp.nanos(1_234), cp.nanos(5_000))
    assert [(e["seq"], e["kind"], e["cost"]) for e in _lines(tmp_path)] == [(1, "settle", 1_234), (2, "release", 0)]
    s = pool.settle(held, cp.nanos(4_000))
    assert not s.duplicate and s.cost == cp.nanos(4_000)
    pool.close()
    assert not (tmp_path / "journal.jsonl").exists(), "a closed pool leaves nothing to replay"
    again = cp.Pool(directory=tmp_path)
    assert (again.settled, again.reserved) == (cp.nanos(5_234), cp.nanos(0))
    assert [e["seq"] for e in _lines(tmp_path)] == [1, 2, 3]
    again.close()


def test_a_torn_last_journal_line_is_an_operation_that_never_returned(tmp_path: Path) -> None:
    pool = cp.Pool(cp.nanos(10 * USD), directory=tmp_path, clock=FakeClock())
    pool.settle(pool.reserve("a", cp.nanos(USD)), cp.nanos(100))
    r = pool.reserve("a", cp.nanos(USD))
    _crash(pool)
    journal = tmp_path / "journal.jsonl"
    whole = journal.read_bytes()
    torn = json.dumps({"op": "settle", "id": r.id, "cost": 300, "now_ms": T0}) + "\n"
    journal.write_bytes(whole + torn[:25].encode())
    restored = cp.Pool(directory=tmp_path, clock=FakeClock())
    assert (restored.settled, restored.reserved) == (cp.nanos(100), cp.nanos(USD)), "the torn settle never happened"
    assert [e["seq"] for e in _lines(tmp_path)] == [1]
    assert restored.settle(r, cp.nanos(300)).cost == cp.nanos(300)
    restored.close()
    assert cp.Pool(directory=tmp_path, clock=FakeClock()).settled == cp.nanos(400)


def test_a_crash_while_writing_a_snapshot_replays_nothing_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The new snapshot replaced the old one, but the process died before the
    new journal replaced the old: the old journal ends with the new
    snapshot's marker, so none of its operations is applied again."""
    pool = cp.Pool(cp.nanos(10 * USD), directory=tmp_path, clock=FakeClock(), snapshot_every=4, snapshot_interval_ms=10**9)
    pool.settle(pool.reserve("a", cp.nanos(USD)), cp.nanos(100))
    pool.settle(pool.reserve("a", cp.nanos(USD)), cp.nanos(200))  # the 4th operation: a snapshot
    held = pool.reserve("a", cp.nanos(USD))

    def die(self: PoolDirectory, marker: str | None) -> None:
        raise SystemExit("killed")

    monkeypatch.setattr(PoolDirectory, "start_journal", die)
    pool.settle(pool.reserve("a", cp.nanos(USD)), cp.nanos(50))
    with pytest.raises(SystemExit):
        pool.tick()  # the 4th since: dies in the snapshot
    monkeypatch.undo()
    _crash(pool)
    journal = (tmp_path / "journal.jsonl").read_text().splitlines()
    assert '"op"' not in journal[-1], "the old journal ends with the new snapshot's marker"
    restored = cp.Pool(directory=tmp_path, clock=FakeClock())
    assert (restored.settled, restored.reserved) == (cp.nanos(350), cp.nanos(USD))
    assert [(e["seq"], e["cost"]) for e in _lines(tmp_path)] == [(1, 100), (2, 200), (3, 50)]
    assert restored.settle(held, cp.nanos(1)).cost == cp.nanos(1)
    restored.close()


def test_operations_after_a_snapshot_whose_journal_could_not_start_are_replayed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The new snapshot is written but the new journal cannot be started (the
    process lives on): later operations go on after the marker in the old
    journal, and a crash then replays exactly those."""
    pool = cp.Pool(cp.nanos(10 * USD), directory=tmp_path, clock=FakeClock(), snapshot_every=2, snapshot_interval_ms=10**9)

    def failing(self: PoolDirectory, marker: str | None) -> None:
        from creditpool._errors import store_error

        raise store_error("could not write journal.jsonl: No space left on device")

    monkeypatch.setattr(PoolDirectory, "start_journal", failing)
    pool.settle(pool.reserve("a", cp.nanos(USD)), cp.nanos(100))  # a snapshot; its new journal fails
    held = pool.reserve("a", cp.nanos(USD))  # journaled after the marker, in the old journal
    monkeypatch.undo()
    _crash(pool)
    assert json.loads((tmp_path / "snapshot.json").read_text())["state"]["settled"] == 100
    restored = cp.Pool(directory=tmp_path, clock=FakeClock())
    assert (restored.settled, restored.reserved) == (cp.nanos(100), cp.nanos(USD))
    assert restored.settle(held, cp.nanos(7)).cost == cp.nanos(7)
    assert [(e["seq"], e["cost"]) for e in _lines(tmp_path)] == [(1, 100), (2, 7)]
    restored.close()


def test_an_older_snapshot_put_back_is_refused(tmp_path: Path) -> None:
    pool = cp.Pool(cp.nanos(10 * USD), directory=tmp_path, clock=FakeClock(), snapshot_every=2, snapshot_interval_ms=10**9)
    old = (tmp_path / "snapshot.json").read_text()
    pool.reserve("a", cp.nanos(USD))
    pool.reserve("a", cp.nanos(USD))  # a newer snapshot, and a journal after it
    pool.reserve("a", cp.nanos(USD))
    _crash(pool)
    (tmp_path / "snapshot.json").write_text(old)
    with pytest.raises(cp.PoolSnapshotError) as e:
        cp.Pool(directory=tmp_path, clock=FakeClock())
    assert e.value.code == "invalid_snapshot" and "does not follow this snapshot" in str(e.value)


def test_a_journal_without_its_snapshot_is_refused(tmp_path: Path) -> None:
    pool = cp.Pool(cp.nanos(10 * USD), directory=tmp_path, clock=FakeClock())
    pool.reserve("a", cp.nanos(USD))
    _crash(pool)
    (tmp_path / "snapshot.json").unlink()
    with pytest.raises(cp.PoolSnapshotError, match="journal.jsonl holds operations"):
        cp.Pool(cp.nanos(USD), directory=tmp_path, clock=FakeClock())


def test_every_operation_is_journaled_as_the_cores_op(tmp_path: Path) -> None:
    clock = FakeClock()
    pool = cp.Pool(cp.nanos(10 * USD), directory=tmp_path, clock=clock, snapshot_interval_ms=10**9)
    r = pool.reserve("a", cp.nanos(USD), lease_ms=60_000)
    pool.apply({"op": "extend", "id": r.id, "lease_ms": 120_000, "now_ms": T0 + 1})
    pool.set_limit(cp.nanos(20 * USD))
    pool.set_agent_policy("b", cp.AgentPolicy(cap=cp.nanos(USD)))
    pool.settle(r, cp.nanos(5), attribution={"model": "claude-sonnet-4-5", "request_id": "req_1"})
    pool.report()
    pool.tick()
    ops = [json.loads(line) for line in (tmp_path / "journal.jsonl").read_text().splitlines()]
    assert [o.get("op") for o in ops] == [None, "reserve", "extend", "set_limit", "set_agent", "settle", "tick"]
    assert ops[1] == {"op": "reserve", "agent": "a", "amount": USD, "now_ms": T0, "lease_ms": 60_000}
    assert ops[5]["attribution"]["request_id"] == "req_1"
    before = pool.snapshot()
    _crash(pool)
    assert cp.Pool(directory=tmp_path, clock=clock).snapshot() == before, "the replay rebuilds the same pool"


def test_fsync_group_commit_returns_only_once_synced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``fsync=True`` every operation returns only after an ``fsync`` of
    the journal covered it, and there is at most one journal ``fsync`` per
    operation (threads share them)."""
    pool = cp.Pool(cp.nanos(10**15), directory=tmp_path, fsync=True, snapshot_interval_ms=10**9)
    journal = tmp_path / "journal.jsonl"
    lock = threading.Lock()
    state = {"synced_ops": 0, "journal_syncs": 0, "returned": 0}
    failures: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        real_fsync(fd)
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(journal))
        except OSError:
            same = False
        if same:
            with open(journal, "rb") as f:
                ops = f.read().count(b'"op"')
            with lock:
                state["journal_syncs"] += 1
                state["synced_ops"] = max(state["synced_ops"], ops)

    monkeypatch.setattr(os, "fsync", fsync)

    def work() -> None:
        for _ in range(15):
            pool.settle(pool.reserve("a", cp.nanos(10)), cp.nanos(3))
            with lock:
                state["returned"] += 2
                if state["synced_ops"] < state["returned"]:
                    failures.append(f"{state['returned']} operations returned, {state['synced_ops']} synced")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures[:3]
    assert state["returned"] == 240
    assert 1 <= state["journal_syncs"] <= 240, state
    assert pool.settled == cp.nanos(360)
    pool.close()
    assert cp.Pool(directory=tmp_path).settled == cp.nanos(360)


def test_an_in_memory_pool_keeps_a_bounded_window_and_fires_its_alerts_on_the_fast_path() -> None:
    """The in-memory pool drains nothing per operation: entries move to a
    native window (built into dicts only when ``ledger()`` is called), and
    an operation that queues an alert hands it to the callbacks."""
    fired: list[int | None] = []
    pool = cp.Pool(cp.nanos(1_000), thresholds=[50, 90], ledger_window=3, on_alert=lambda a: fired.append(a.percent))
    for i in range(6):
        pool.settle(pool.reserve("a", cp.nanos(100)), cp.nanos(100 if i < 5 else 0))
        if i == 4:
            assert fired == [50], "the settle that crossed 50 % fired its alert"
    assert [(e.seq, e.cost) for e in pool.ledger()] == [(4, cp.nanos(100)), (5, cp.nanos(100)), (6, cp.nanos(0))]
    assert [a.percent for a in pool.alerts()] == [50]
    assert json.loads(pool.snapshot())["pending_ledger"] == [], "entries left the native pool"
    pool.close()
