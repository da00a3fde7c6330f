"""``Pool``: refusals as typed exceptions, persistence that survives a crash,
alert callbacks, signed webhooks with retries, and threads that share one pool
without overshooting its limit."""

from __future__ import annotations

import copy
import gc
import hashlib
import hmac
import http.server
import json
import os
import pickle
import random
import threading
import weakref
from pathlib import Path
from typing import Any, Iterator

import pytest

import creditpool as cp
from poolhelp import T0, USD, FakeClock
from poolhelp import crash as _crash
from poolhelp import ledger_lines as _lines
from creditpool import _creditpool
from creditpool._persistence import PoolDirectory


def test_reserve_settle_release_and_report() -> None:
    pool = cp.Pool(cp.nanos(10 * USD), agents={"a": cp.AgentPolicy(cap=cp.nanos(3 * USD)), "b": cp.AgentPolicy()}, clock=FakeClock())
    r = pool.reserve("a", cp.nanos(2 * USD))
    assert (r.id, r.amount) == (1, cp.nanos(2 * USD))
    assert pool.reserved == cp.nanos(2 * USD)
    s = pool.settle(r, cp.nanos(USD // 2), attribution={"model": "claude-haiku-4-5", "request_id": "req_1"})
    assert (s.cost, s.refunded, s.overrun, s.duplicate) == (cp.nanos(USD // 2), cp.nanos(USD + USD // 2), cp.Money.ZERO, False)
    assert pool.settle(r, cp.nanos(123)).duplicate
    r2 = pool.reserve("b", cp.nanos(USD))
    assert pool.release(r2).amount == cp.nanos(USD)
    assert pool.release(r2.id).duplicate
    assert (pool.settled, pool.reserved, pool.available) == (cp.nanos(USD // 2), cp.Money.ZERO, cp.nanos(10 * USD - USD // 2))
    report = pool.report()
    assert report.settled == cp.nanos(USD // 2) and report.requests == 1
    assert [a["agent"] for a in report.agents] == ["a"]  # b released all it held: not active
    assert report.agents[0]["cap"] == cp.nanos(3 * USD)
    assert report.models[0]["model"] == "claude-haiku-4-5"
    assert "agent a: $0.50 in 1 requests" in report.text()
    kinds = [(e.kind, e.agent, e.cost) for e in pool.ledger()]
    assert kinds == [("settle", "a", cp.nanos(USD // 2)), ("release", "b", cp.Money.ZERO)]
    assert pool.ledger()[0].request_id == "req_1"


def test_refusals_are_typed() -> None:
    clock = FakeClock()
    pool = cp.Pool(
        cp.usd("1.00"),
        agents={"capped": cp.AgentPolicy(cap=cp.nanos(USD // 10)), "slow": cp.AgentPolicy(requests_per_minute=1)},
        unknown_agents=cp.AgentPolicy(),  # "x" is not named: allowed explicitly
        clock=clock,
    )
    with pytest.raises(cp.PoolExhaustedError) as exhausted:
        pool.reserve("x", cp.nanos(2 * USD))
    e = exhausted.value
    assert (e.reason, e.requested, e.available, e.retry_at) == ("pool_exhausted", cp.nanos(2 * USD), cp.nanos(USD), None)
    assert isinstance(e, cp.PoolRefusedError) and e.details == {"reason": "pool_exhausted", "requested": 2 * USD, "available": USD}
    with pytest.raises(cp.AgentCapError) as capped:
        pool.reserve("capped", cp.nanos(USD // 5))
    assert (capped.value.agent, capped.value.cap, capped.value.spent) == ("capped", cp.nanos(USD // 10), cp.Money.ZERO)
    pool.reserve("slow", cp.nanos(1))
    with pytest.raises(cp.PoolRateLimitedError) as limited:
        pool.reserve("slow", cp.nanos(1))
    rl = limited.value
    assert rl.which == "requests" and rl.retry_at_ms is not None and rl.retry_at_ms > clock.now
    assert rl.retry_at == rl.retry_at_ms / 1000
    clock.now = rl.retry_at_ms
    pool.reserve("slow", cp.nanos(1))  # admitted at the instant the refusal named
    with pytest.raises(cp.UnknownReservationError) as unknown:
        pool.settle(99, cp.nanos(1))
    assert unknown.value.id == 99
    strict = cp.Pool(cp.nanos(USD), config={"allow_unknown_agents": False}, agents={"known": {}}, clock=clock)
    with pytest.raises(cp.UnknownAgentError):
        strict.reserve("stranger", cp.nanos(1))
    with pytest.raises(cp.PoolConfigError) as bad:
        cp.Pool(cp.nanos(USD), thresholds=[75, 50])
    assert "ascending" in str(bad.value.reason)
    assert isinstance(bad.value, ValueError)
    with pytest.raises(cp.InvalidOptionsError):
        cp.Pool(cp.nanos(USD), config={"leese_ms": 5})
    with pytest.raises(cp.PoolConfigError):
        pool.set_agent_policy("x", {"weight": 0})
    with pytest.raises(ValueError):
        cp.usd("0.0000000001")


def test_limit_changes_and_alerts_fire_once_in_order() -> None:
    seen: list[cp.Alert] = []
    pool = cp.Pool(cp.nanos(10 * USD), thresholds=[50, 90], on_alert=seen.append, clock=FakeClock())
    pool.settle(pool.reserve("a", cp.nanos(6 * USD)), cp.nanos(6 * USD))
    assert [(a.kind, a.percent) for a in seen] == [("threshold", 50)]
    assert seen[0].settled == cp.nanos(6 * USD) and "50% of the limit spent" in seen[0].text
    pool.settle(pool.reserve("a", cp.nanos(USD)), cp.nanos(USD))
    assert len(seen) == 1
    pool.set_limit(cp.nanos(7 * USD))  # 7 of 7: 90 % is now behind the spend
    assert [a.percent for a in seen] == [50, 90]
    with pytest.raises(cp.PoolExhaustedError):
        pool.reserve("a", cp.nanos(1))
    pool.set_limit(cp.nanos(20 * USD))
    pool.reserve("a", cp.nanos(1))
    assert [a.idempotency_key for a in pool.alerts()] == [a.idempotency_key for a in seen]


def test_a_failing_callback_does_not_break_the_pool(caplog: pytest.LogCaptureFixture) -> None:
    def boom(alert: cp.Alert) -> None:
        raise RuntimeError("callback bug")

    pool = cp.Pool(cp.nanos(USD), thresholds=[10], on_alert=boom, clock=FakeClock())
    pool.settle(pool.reserve("a", cp.nanos(USD)), cp.nanos(USD))
    assert pool.settled == cp.nanos(USD)
    assert any("callback" in r.getMessage() for r in caplog.records)


# ----- persistence -----


def test_persistence_restores_the_pool_and_keeps_every_entry(tmp_path: Path) -> None:
    clock = FakeClock()
    pool = cp.Pool(cp.nanos(10 * USD), directory=tmp_path, clock=clock)
    r1 = pool.reserve("a", cp.nanos(USD))
    pool.settle(r1, cp.nanos(USD // 4))
    r2 = pool.reserve("b", cp.nanos(USD))
    open_id = pool.reserve("a", cp.nanos(USD)).id
    pool.release(r2)
    assert [e["kind"] for e in _lines(tmp_path)] == ["settle", "release"]
    snapshot_before = pool.snapshot()
    with pytest.raises(cp.PoolError):
        cp.Pool(directory=tmp_path)  # one Pool per directory at a time
    pool.close()

    again = cp.Pool(directory=tmp_path, clock=clock)  # the directory's snapshot wins
    assert again.snapshot() == snapshot_before
    assert (again.settled, again.reserved) == (cp.nanos(USD // 4), cp.nanos(USD))
    again.settle(open_id, cp.nanos(USD // 2))
    assert [e["seq"] for e in _lines(tmp_path)] == [1, 2, 3]
    assert sum(e["cost"] for e in _lines(tmp_path)) == again.settled.nanos
    again.close()
    # Opening it again appends nothing.
    cp.Pool(directory=tmp_path, clock=clock).close()
    assert [e["seq"] for e in _lines(tmp_path)] == [1, 2, 3]
    assert [e.seq for e in cp.iter_ledger_file(tmp_path)] == [1, 2, 3]


def test_a_crash_between_snapshot_and_ledger_append_loses_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    pool = cp.Pool(cp.nanos(10 * USD), directory=tmp_path, clock=clock)
    pool.settle(pool.reserve("a", cp.nanos(USD)), cp.nanos(100))
    r = pool.reserve("a", cp.nanos(USD))

    def crash(self: PoolDirectory, data: bytes) -> None:
        raise SystemExit("power cut")

    monkeypatch.setattr(PoolDirectory, "append_ledger_lines", crash)
    with pytest.raises(SystemExit):
        pool.settle(r, cp.nanos(300))
    monkeypatch.undo()
    _crash(pool)  # the process died: its lock on the directory went with it
    assert [e["seq"] for e in _lines(tmp_path)] == [1]  # the entry never reached the file
    restored = cp.Pool(directory=tmp_path, clock=clock)
    assert restored.settled == cp.nanos(400)
    assert [(e["seq"], e["cost"]) for e in _lines(tmp_path)] == [(1, 100), (2, 300)]


def test_a_torn_last_line_is_dropped_and_rewritten(tmp_path: Path) -> None:
    clock = FakeClock()
    pool = cp.Pool(cp.nanos(10 * USD), directory=tmp_path, clock=clock)
    pool.settle(pool.reserve("a", cp.nanos(USD)), cp.nanos(100))
    pool.settle(pool.reserve("a", cp.nanos(USD)), cp.nanos(200))
    _crash(pool)
    ledger = tmp_path / "ledger.jsonl"
    text = ledger.read_text()
    # The crash left the second line half written; the journal holds the
    # operation that made it, so the replay makes it again.
    ledger.write_text(text.splitlines(keepends=True)[0] + text.splitlines()[1][:20])
    restored = cp.Pool(directory=tmp_path, clock=clock)
    assert [(e["seq"], e["cost"]) for e in _lines(tmp_path)] == [(1, 100), (2, 200)]
    assert restored.settled == cp.nanos(300)


def test_a_snapshots_pending_entries_are_appended_on_start(tmp_path: Path) -> None:
    """A directory whose snapshot holds entries the ledger lacks (as the Rust
    ``SharedPool`` leaves one after a failed append, with no journal): the
    entries are appended on start, a torn last line dropped first."""
    clock = FakeClock()
    pool = cp.Pool(cp.nanos(10 * USD), directory=tmp_path, clock=clock)
    pool.settle(pool.reserve("a", cp.nanos(USD)), cp.nanos(100))
    pool.settle(pool.reserve("a", cp.nanos(USD)), cp.nanos(200))
    pool.close()
    assert not (tmp_path / "journal.jsonl").exists()
    ledger = tmp_path / "ledger.jsonl"
    text = ledger.read_text()
    snap = json.loads((tmp_path / "snapshot.json").read_text())
    snap["pending_ledger"] = [json.loads(text.splitlines()[1])]
    (tmp_path / "snapshot.json").write_text(json.dumps(snap))
    ledger.write_text(text.splitlines(keepends=True)[0] + text.splitlines()[1][:20])
    restored = cp.Pool(directory=tmp_path, clock=clock)
    assert [(e["seq"], e["cost"]) for e in _lines(tmp_path)] == [(1, 100), (2, 200)]
    assert restored.settled == cp.nanos(300)
    restored.close()


def test_a_ledger_without_its_snapshot_is_refused(tmp_path: Path) -> None:
    (tmp_path / "ledger.jsonl").write_text('{"seq": 1}\n')
    with pytest.raises(cp.PoolSnapshotError):
        cp.Pool(cp.nanos(USD), directory=tmp_path)
    (tmp_path / "snapshot.json").write_text('{"version": 99}')
    with pytest.raises(cp.PoolSnapshotError):
        cp.Pool(cp.nanos(USD), directory=tmp_path)


# ----- webhooks -----


class Receiver(http.server.BaseHTTPRequestHandler):
    """Records POSTs; answers the statuses queued in ``plan`` first, then 200."""

    plan: list[int] = []
    got: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        type(self).got.append(({k.lower(): v for k, v in self.headers.items()}, body))
        status = type(self).plan.pop(0) if type(self).plan else 200
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.plan = []
    Receiver.got = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def test_webhooks_are_signed_and_retried(receiver: str) -> None:
    Receiver.plan = [500, 503]
    secret = "whsec-test"
    hook = cp.Webhook(receiver, secret, retry_policy={"initial_backoff_ms": 5, "max_backoff_ms": 20})
    assert secret not in repr(hook)
    with cp.Pool(cp.nanos(10 * USD), thresholds=[50], webhooks=[hook], clock=FakeClock()) as pool:
        pool.settle(pool.reserve("a", cp.nanos(5 * USD)), cp.nanos(5 * USD))
        assert pool.flush(timeout=30)
        results = list(pool.webhook_results)
    assert len(results) == 1 and results[0].delivered and results[0].attempts == 3
    assert len(Receiver.got) == 3
    headers, body = Receiver.got[-1]
    assert all(b == body for _, b in Receiver.got), "every attempt sends the same bytes"
    t = headers["x-creditpool-timestamp"]
    expected = "sha256=" + hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert headers["x-creditpool-signature"] == expected
    assert cp.verify_webhook_signature(secret.encode(), body, expected, t)
    payload = json.loads(body)
    assert payload["type"] == "creditpool.alert" and payload["percent"] == 50
    assert headers["x-creditpool-idempotency-key"] == payload["idempotency_key"] == results[0].idempotency_key
    assert headers["content-type"] == "application/json"


def test_a_silent_endpoint_blocks_neither_other_deliveries_nor_close(receiver: str) -> None:
    """Issue 10 item 15: deliveries run on several threads, so a webhook
    that never answers holds one of them only; ``close(timeout)`` returns
    (False: a delivery was still under way) instead of waiting for it."""
    release = threading.Event()
    entered = threading.Event()

    class Silent(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            entered.set()
            release.wait(60)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    silent = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Silent)
    threading.Thread(target=silent.serve_forever, daemon=True).start()
    try:
        Receiver.plan = []
        hooks = [cp.Webhook(f"http://127.0.0.1:{silent.server_address[1]}/hook", "s1", timeout=60, max_retries=0), cp.Webhook(receiver, "s2")]
        pool = cp.Pool(cp.nanos(10 * USD), thresholds=[50], webhooks=hooks, clock=FakeClock())
        pool.settle(pool.reserve("a", cp.nanos(5 * USD)), cp.nanos(5 * USD))
        assert entered.wait(30), "the silent endpoint was reached"
        # The other webhook is delivered although the first never answers.
        assert not pool.flush(timeout=0.2)
        for _ in range(300):
            if pool.webhook_results:
                break
            threading.Event().wait(0.1)
        assert [r.url for r in pool.webhook_results if r.delivered] == [hooks[1].origin]
        assert len(Receiver.got) == 1
        assert pool.close(timeout=0.2) is False
    finally:
        release.set()
        silent.shutdown()
        silent.server_close()


def test_a_late_delivery_is_signed_with_its_own_time(receiver: str) -> None:
    """Issue 10 item 11: the alert happened 10 minutes before its delivery
    (and its retry); each attempt carries its own timestamp, so a receiver's
    5-minute age check accepts it, while the body keeps the alert's time."""
    import time as _time

    Receiver.plan = [503]
    secret = b"whsec-late"
    alert_at = int(_time.time() * 1000) - 600_000
    hook = cp.Webhook(receiver, secret, retry_policy={"initial_backoff_ms": 5, "max_backoff_ms": 20})
    with cp.Pool(cp.nanos(10 * USD), thresholds=[50], webhooks=[hook], clock=FakeClock(alert_at)) as pool:
        pool.settle(pool.reserve("a", cp.nanos(5 * USD)), cp.nanos(5 * USD))
        assert pool.flush(timeout=30)
    assert len(Receiver.got) == 2
    stamps = []
    for headers, body in Receiver.got:
        t = headers["x-creditpool-timestamp"]
        stamps.append(int(t))
        assert int(t) > alert_at // 1000 + 300, "signed with the delivery's time, not the alert's"
        assert cp.verify_webhook_signature(secret, body, headers["x-creditpool-signature"], t)
        assert json.loads(body)["occurred_at_ms"] == alert_at
        # A replay of this delivery 6 minutes on fails the receiver's check.
        assert not cp.verify_webhook_signature(secret, body, headers["x-creditpool-signature"], t, now_ms=int(t) * 1000 + 360_000)
    assert stamps[1] >= stamps[0]


def test_a_webhook_that_keeps_failing_is_given_up(receiver: str) -> None:
    Receiver.plan = [500] * 10
    hook = cp.Webhook(receiver, b"s", max_retries=1, retry_policy={"initial_backoff_ms": 1})
    pool = cp.Pool(cp.nanos(USD), thresholds=[50], webhooks=[hook], clock=FakeClock())
    pool.settle(pool.reserve("a", cp.nanos(USD)), cp.nanos(USD))
    pool.close()
    assert [(r.delivered, r.attempts, r.status) for r in pool.webhook_results] == [(False, 2, 500)]


# ----- threads -----


def test_threads_share_a_pool_without_overshoot(tmp_path: Path) -> None:
    limit = 50 * USD
    pool = cp.Pool(cp.nanos(limit), directory=tmp_path, fsync=False, agents={f"t{i}": cp.AgentPolicy(cap=cp.nanos(15 * USD)) for i in range(6)})
    violations: list[str] = []
    refused: list[str] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            t = pool.totals()
            if t["settled"] + t["reserved"] > limit:
                violations.append(repr(t))

    def work(i: int) -> None:
        rng = random.Random(i)
        for _ in range(150):
            amount = rng.randint(1, 3 * USD)
            try:
                r = pool.reserve(f"t{i}", cp.nanos(amount))
            except cp.PoolRefusedError as e:
                refused.append(e.reason or "")
                continue
            if rng.random() < 0.2:
                pool.release(r)
            else:
                pool.settle(r, cp.nanos(rng.randint(0, amount)))

    watcher = threading.Thread(target=watch)
    watcher.start()
    workers = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    stop.set()
    watcher.join()
    assert not violations, violations[:3]
    t = pool.totals()
    assert t["reserved"] == 0 and t["overrun"] == 0 and t["settled"] <= limit
    assert refused, "the pool ran full"
    assert set(refused) <= {"pool_exhausted", "agent_cap"}
    entries = _lines(tmp_path)
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    assert sum(e["cost"] for e in entries) == t["settled"]
    pool.close()
    assert cp.Pool(directory=tmp_path).settled == cp.nanos(t["settled"])
    assert all(a["settled"] <= cp.nanos(15 * USD) for a in pool.report().agents)


def test_native_pool_repr_and_apply() -> None:
    p = _creditpool.Pool({"limit": 100}, T0)
    assert p.apply({"op": "reserve", "agent": "a", "amount": 60, "now_ms": T0})["result"] == "reserved"
    assert p.apply({"op": "reserve", "agent": "a", "amount": 60, "now_ms": T0}) == {"result": "refused", "reason": "pool_exhausted", "requested": 60, "available": 40}
    assert "limit=" in repr(p)
    with pytest.raises(cp.InvalidOptionsError):
        p.apply({"op": "explode"})


def test_native_results_are_the_cores_json() -> None:
    """The hot paths build their result dicts directly: they must equal the
    core's serde form (``apply``) field for field, in every outcome."""
    fast, ref = _creditpool.Pool({"limit": 1_000}, T0), _creditpool.Pool({"limit": 1_000}, T0)
    r = fast.reserve("a", 400, T0, 30_000)
    assert {"result": "reserved", **r} == ref.apply({"op": "reserve", "agent": "a", "amount": 400, "now_ms": T0, "lease_ms": 30_000})
    for cost in (300, 300):  # settled, then duplicate
        got = fast.settle(r["id"], cost, T0 + 1, {"model": "claude-sonnet-4-5"})
        assert got == ref.apply({"op": "settle", "id": r["id"], "cost": cost, "now_ms": T0 + 1, "attribution": {"model": "claude-sonnet-4-5"}})
    r2 = fast.reserve("a", 100, T0 + 2)
    ref.apply({"op": "reserve", "agent": "a", "amount": 100, "now_ms": T0 + 2})
    assert fast.settle(r2["id"], 900, T0 + 3) == ref.apply({"op": "settle", "id": r2["id"], "cost": 900, "now_ms": T0 + 3})  # an overrun
    assert fast.snapshot_json() == ref.snapshot_json()


# ----- the in-memory hot path (issue 15) -----


def test_reservation_and_settlement_views_are_the_native_results() -> None:
    """``Reservation`` and ``Settlement`` are native views: made from the
    native pool's dicts (pinned to the core's serde form above) they give
    them back exactly, and their fields read them."""
    native = _creditpool.Pool({"limit": 1_000}, T0)
    d = native.reserve("a", 400, T0, 30_000)
    r = cp.Reservation(d)
    assert r.to_dict() == d and (r.id, r.amount, r.expires_at_ms) == (d["id"], cp.nanos(400), T0 + 30_000)
    assert r["amount"] == 400 and "expires_at_ms" in r and "cost" not in r and r.get("cost", 7) == 7
    with pytest.raises(KeyError):
        r["cost"]
    settled = native.settle(d["id"], 900, T0 + 1)  # an overrun
    s = cp.Settlement(settled)
    assert s.to_dict() == settled and repr(s) == f"Settlement({settled!r})"
    assert (s.duplicate, s.id, s.cost, s.refunded, s.overrun, s.late) == (False, d["id"], cp.nanos(900), cp.nanos(0), cp.nanos(500), False)
    dup = cp.Settlement(native.settle(d["id"], 900, T0 + 2))
    assert dup.to_dict() == {"result": "duplicate", "id": d["id"]} and dup.duplicate and dup.cost == cp.nanos(0) and not dup.late
    assert r == cp.Reservation(d) and r != cp.Reservation({**d, "amount": 1}) and r != d and s != dup
    assert hash(r) != hash(cp.Reservation(d)) and len({r, r}) == 1  # identity hash, as the other views
    assert pickle.loads(pickle.dumps(r)) == r and pickle.loads(pickle.dumps(dup)) == dup and copy.copy(s) == s
    with pytest.raises(cp.InvalidOptionsError):
        cp.Settlement({"result": "refused", "id": 1})
    with pytest.raises(cp.InvalidOptionsError):
        cp.Reservation({"id": -1, "amount": 1, "expires_at_ms": 0})


def test_the_in_memory_fast_path_keeps_every_rule() -> None:
    """A ``Pool`` in memory on the system clock takes ``reserve`` and
    ``settle`` straight to the native pool; what that path does not take as
    it is goes to the Python methods, which check and raise as always."""
    seen: list[cp.Alert] = []
    pool = cp.Pool(cp.nanos(10 * USD), thresholds=[50], on_alert=seen.append, agents={"a": cp.AgentPolicy()})
    assert type(pool.reserve).__name__ == "builtin_function_or_method"  # the native path is in place
    r = pool.reserve("a", cp.nanos(6 * USD))
    assert isinstance(r, cp.Reservation) and r.amount == cp.nanos(6 * USD)
    s = pool.settle(r, cp.nanos(6 * USD), attribution={"model": "claude-sonnet-4-5"})
    assert isinstance(s, cp.Settlement) and s.cost == cp.nanos(6 * USD)
    assert [a.percent for a in seen] == [50] and [a.percent for a in pool.alerts()] == [50]  # alerts handed out
    assert pool.settle(r.id, cp.nanos(1)).duplicate  # an int ID
    assert pool.ledger()[-1].to_dict()["model"] == "claude-sonnet-4-5"
    # Everything else through the Python methods, with their checks:
    assert pool.reserve("a", "$1", lease_ms=5_000).amount == cp.usd(1)
    t = pool.reserve("a", cp.nanos(1), now_ms=pool.totals()["cycle"]["start_ms"] + 1)
    assert pool.settle(t, cp.nanos(1), now_ms=t.expires_at_ms - 1).cost == cp.nanos(1)
    for call, what in (
        (lambda: pool.reserve("a", 5), "amount"),  # type: ignore[arg-type]
        (lambda: pool.reserve("a", cp.nanos(1), lease_ms=-1), "lease_ms"),
        (lambda: pool.settle(True, cp.nanos(1)), "reservation"),
        (lambda: pool.settle(r, 0.5), "cost"),  # type: ignore[arg-type]
        (lambda: cp.Pool(cp.usd(1)).reserve("a", 0.25), "amount"),  # type: ignore[arg-type]
    ):
        with pytest.raises(cp.InvalidOptionsError) as e:
            call()
        assert e.value.what == what
    with pytest.raises(cp.UnknownAgentError):
        pool.reserve("b", cp.nanos(1))
    with pytest.raises(cp.PoolExhaustedError) as exhausted:
        pool.reserve("a", cp.nanos(10 * USD))
    assert exhausted.value.requested == cp.nanos(10 * USD)
    with pytest.raises(cp.UnknownReservationError):
        pool.settle(10_000, cp.nanos(1))
    pool.close()
    with pytest.raises(cp.PoolStoreError, match="closed"):
        pool.reserve("a", cp.nanos(1))
    with pytest.raises(cp.PoolStoreError, match="closed"):
        pool.settle(r, cp.nanos(1))


def test_the_fast_path_gives_way_to_a_clock_and_to_overrides() -> None:
    clock = FakeClock()
    timed = cp.Pool(cp.nanos(USD), lease_ms=1_000, clock=clock)
    assert timed.reserve("a", cp.nanos(1)).expires_at_ms == clock() + 1_000  # the pool's clock, not the system's
    calls: list[str] = []

    class Counting(cp.Pool):
        def reserve(self, agent: str, amount: cp.AmountLike, **kw: Any) -> cp.Reservation:
            calls.append(agent)
            return super().reserve(agent, amount, **kw)

    counting = Counting(cp.nanos(USD))
    counting.settle(counting.reserve("x", cp.nanos(1)), cp.nanos(1))
    assert calls == ["x"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_an_in_memory_pool_used_after_fork_refuses() -> None:
    pool = cp.Pool(cp.nanos(10 * USD))
    r = pool.reserve("a", cp.nanos(USD))
    pid = os.fork()
    if pid == 0:  # the child: report through the exit code only
        code = 1
        try:
            pool.settle(r, cp.nanos(1))
        except cp.PoolStoreError as e:
            code = 0 if ("fork" in str(e) and e.code == "file_io") else 2
        except BaseException:
            code = 3
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert pool.settle(r, cp.nanos(1)).cost == cp.nanos(1)  # the parent carries on


def test_an_in_memory_pool_is_freed() -> None:
    """The fast path's methods hold their pool: a dropped pool is still
    collected, and a closed one freed as soon as it is dropped."""
    pool = cp.Pool(cp.nanos(USD))
    pool.reserve("a", cp.nanos(1))
    ref = weakref.ref(pool)
    del pool
    gc.collect()
    assert ref() is None
    closed = cp.Pool(cp.nanos(USD))
    kept = closed.reserve  # a bound method keeps its pool, as any does
    closed.close()
    with pytest.raises(cp.PoolStoreError, match="closed"):
        kept("a", cp.nanos(1))
    del kept
    ref = weakref.ref(closed)
    gc.disable()
    try:
        del closed
        assert ref() is None
    finally:
        gc.enable()
