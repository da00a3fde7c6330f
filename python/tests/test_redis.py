"""``RedisPool`` (the ``creditpool[redis]`` extra) against a real
``redis-server`` (Debian's package, installed by scripts/setup.sh) that each
test module starts itself on 127.0.0.1 with a free port and a temp dir: every
``pool_scenario`` vector in the given-clock mode, as
``crates/creditpool/tests/redis_vectors.rs`` runs them (with the same expected
difference: ``fair_share`` is refused at connect); the configuration
conflict; a reserve whose answer was lost, resent with the same idempotency
key; a killed connection; a flushed script; an agent against creditpool-sim."""

from __future__ import annotations

import builtins
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

import creditpool as cp
from creditpool import _creditpool as native
from vectorlib import Case, json_diff, load_kind

import redis  # the creditpool[redis] extra; scripts/test-python.sh installs it

REDIS_SERVER = shutil.which("redis-server")

EXPECTED_DIFFERENCES = {
    "fair_share": "a configuration with fair_share is refused at connect (fair_share_unsupported_on_redis): "
    "a fair-share check would scan every agent inside the atomic script on each reserve",
}
USD = 1_000_000_000
_names = itertools.count()


def _unique(prefix: str) -> str:
    return f"{prefix}-{os.getpid()}-{next(_names)}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_redis(directory: str) -> tuple[subprocess.Popen[bytes], str]:
    assert REDIS_SERVER is not None, "redis-server is not on PATH (scripts/setup.sh installs it)"
    port = _free_port()
    proc = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "no", "--dir", directory],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    probe = redis.Redis.from_url(url)
    for _ in range(500):
        try:
            if probe.ping():
                break
        except redis.exceptions.ConnectionError:
            if proc.poll() is not None:
                pytest.fail(f"redis-server exited with {proc.returncode}")
            time.sleep(0.01)
    else:
        proc.kill()
        pytest.fail("redis-server did not answer PING")
    probe.close()
    return proc, url


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A redis-server of this module's own, stopped (and its dir removed) after."""
    directory = tempfile.mkdtemp(prefix="creditpool-redis-")
    proc, url = _start_redis(directory)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(directory, ignore_errors=True)


def _report(pool: cp.RedisPool) -> dict[str, Any]:
    r = pool.apply({"op": "report", "now_ms": 0})
    assert r["result"] == "report", r
    return r


# ----- the vectors -----

POOL_CASES = load_kind("pool_scenario")


def _redis_run(url: str, inp: dict[str, Any], with_ledger: bool) -> dict[str, Any]:
    created = int(inp.get("created_at_ms") or 0)
    try:
        pool = cp.RedisPool.connect(url, name=_unique("vec"), config=inp["config"], clock="given", created_at_ms=created)
    except cp.PoolConfigError as e:
        return {"error": {"error": "invalid_config", "reason": e.reason}}
    secret = inp.get("webhook_secret")
    results: list[Any] = []
    events: list[Any] = []
    ledger: list[Any] = []
    after_alert = after_entry = "-"
    with pool:
        for i, op in enumerate(inp["ops"]):
            results.append(pool.apply_keyed(op, None))
            for after_alert, alert in pool.alerts(after_alert):
                ev: dict[str, Any] = {"after_op": i, "payload": alert["payload"]}
                if isinstance(secret, str):
                    at = int(inp.get("webhook_delivered_at_ms") or created)
                    delivery = native.webhook_delivery(alert, secret.encode(), at)
                    headers = dict(delivery["headers"])
                    ev["body"] = bytes(delivery["body"]).decode()
                    ev["timestamp"] = int(headers[native.WEBHOOK_TIMESTAMP_HEADER])
                    ev["signature"] = headers[native.WEBHOOK_SIGNATURE_HEADER]
                events.append(ev)
            for after_entry, entry in pool.ledger(after_entry):
                ledger.append(entry)
    out: dict[str, Any] = {"results": results, "events": events}
    if with_ledger:
        out["ledger"] = ledger
    return out


@pytest.mark.parametrize("case", POOL_CASES, ids=[c.id for c in POOL_CASES])
def test_every_pool_scenario_vector_runs_on_redis(redis_url: str, case: Case) -> None:
    if "fair_share" in case.input["config"]:
        # The one expected difference: refused at connect, with its typed error.
        with pytest.raises(cp.PoolConfigError) as info:
            cp.RedisPool.connect(redis_url, name=_unique("fs"), config=case.input["config"], clock="given")
        assert info.value.code == "fair_share_unsupported_on_redis"
        assert "fair_share" in EXPECTED_DIFFERENCES
        return
    with_ledger = isinstance(case.expected, dict) and "ledger" in case.expected
    d = json_diff("", _redis_run(redis_url, case.input, with_ledger), case.expected)
    assert d is None, d


def test_the_vectors_ran() -> None:
    assert len(POOL_CASES) >= 25
    assert sum("fair_share" not in c.input["config"] for c in POOL_CASES) >= 20


# ----- joining -----


def test_join_reads_the_stored_configuration_and_a_conflict_is_typed(redis_url: str) -> None:
    name = _unique("join")
    first = cp.RedisPool.connect(redis_url, name=name, limit=cp.nanos(5 * USD), agents={"a": cp.AgentPolicy(cap=cp.nanos(USD))})
    assert isinstance(first, cp.PoolStore)
    # The same configuration joins.
    same = cp.RedisPool.connect(redis_url, name=name, limit=cp.nanos(5 * USD), agents={"a": cp.AgentPolicy(cap=cp.nanos(USD))})
    assert same.config["limit"] == 5 * USD
    joined = cp.RedisPool.join(redis_url, name=name)
    assert joined.config == first.config
    with pytest.raises(cp.RedisConfigConflictError) as info:
        cp.RedisPool.connect(redis_url, name=name, limit=cp.nanos(7 * USD))
    assert info.value.code == "redis_config_conflict"
    assert isinstance(info.value, cp.PoolError)
    stored, given = info.value.stored, info.value.given
    assert stored is not None and stored["limit"] == 5 * USD
    assert given is not None and given["limit"] == 7 * USD
    # Nothing changed; an explicit update replaces it.
    assert cp.RedisPool.join(redis_url, name=name).config["limit"] == 5 * USD
    cp.RedisPool.connect(redis_url, name=name, limit=cp.nanos(7 * USD), update=True)
    assert cp.RedisPool.join(redis_url, name=name).config["limit"] == 7 * USD
    with pytest.raises(cp.PoolStoreError) as missing:
        cp.RedisPool.join(redis_url, name=_unique("nothing-here"))
    assert missing.value.code == "redis_pool_missing"
    with pytest.raises(cp.PoolConfigError):
        cp.RedisPool.connect(redis_url, name="bad{name}", limit=cp.nanos(USD))


def test_two_pool_objects_share_one_limit(redis_url: str) -> None:
    name = _unique("shared")
    a = cp.RedisPool.connect(redis_url, name=name, limit=cp.nanos(3 * USD))
    b = cp.RedisPool.join(redis_url, name=name)
    r1 = a.apply({"op": "reserve", "agent": "x", "amount": 2 * USD, "now_ms": 0})
    assert r1["result"] == "reserved", r1
    r2 = b.apply({"op": "reserve", "agent": "y", "amount": 2 * USD, "now_ms": 0})
    assert r2["result"] == "refused" and r2["reason"] == "pool_exhausted", r2
    s = b.apply({"op": "settle", "id": r1["id"], "cost": USD, "now_ms": 0})
    assert s["result"] == "settled", s
    rep = _report(a)
    assert rep["settled"] == USD and rep["reserved"] == 0
    assert [e["kind"] for _, e in a.ledger()] == ["settle"]


def test_the_ledger_stream_is_trimmed_through_an_archived_entry(redis_url: str) -> None:
    pool = cp.RedisPool.connect(redis_url, name=_unique("trim"), limit=cp.nanos(10 * USD))
    for _ in range(4):
        r = pool.apply({"op": "reserve", "agent": "a", "amount": USD, "now_ms": 0})
        assert pool.apply({"op": "settle", "id": r["id"], "cost": USD // 2, "now_ms": 0})["result"] == "settled"
    entries = pool.ledger()
    archived = entries[1][0]
    assert pool.trim_ledger(archived) == 2
    assert [e["seq"] for _, e in pool.ledger()] == [3, 4]
    assert pool.trim_ledger(archived) == 0
    assert _report(pool)["settled"] == 2 * USD
    with pytest.raises(cp.InvalidOptionsError) as e:
        pool.trim_ledger("last week")
    assert e.value.code == "redis_invalid_stream_id"
    pool.close()


# ----- faults -----


def test_a_reserve_whose_answer_was_lost_is_resent_with_its_key_and_reserves_once(redis_url: str) -> None:
    pool = cp.RedisPool.connect(redis_url, name=_unique("lost"), limit=cp.nanos(10 * USD))
    real_send = pool._send
    lost = {"n": 0}

    def lose_first_answer(argv: Any) -> Any:
        reply = real_send(argv)  # the server ran it...
        if lost["n"] == 0 and argv[0] in (b"FCALL", b"EVALSHA"):
            lost["n"] += 1
            raise redis.exceptions.ConnectionError("connection dropped before the answer")  # ...the answer never came
        return reply

    pool._send = lose_first_answer  # type: ignore[method-assign]
    r = pool.apply({"op": "reserve", "agent": "a", "amount": 4 * USD, "now_ms": 0})
    assert lost["n"] == 1
    assert r["result"] == "reserved", r
    rep = _report(pool)
    assert rep["reserved"] == 4 * USD, rep  # once, not twice
    # The same key again answers the same reservation; a new key reserves anew.
    key = pool.next_key()
    again1 = pool.apply_keyed({"op": "reserve", "agent": "a", "amount": USD, "now_ms": 0}, key)
    again2 = pool.apply_keyed({"op": "reserve", "agent": "a", "amount": USD, "now_ms": 0}, key)
    assert again1 == again2 and again1["id"] != r["id"]
    assert _report(pool)["reserved"] == 5 * USD


def test_a_killed_connection_is_resent_on_a_new_one(redis_url: str) -> None:
    pool = cp.RedisPool.connect(redis_url, name=_unique("killed"), limit=cp.nanos(10 * USD))
    r = pool.apply({"op": "reserve", "agent": "a", "amount": USD, "now_ms": 0})
    admin = redis.Redis.from_url(redis_url)
    own = pool.client.execute_command("CLIENT", "ID")
    admin.execute_command("CLIENT", "KILL", "ID", own)  # type: ignore[no-untyped-call]
    s = pool.apply({"op": "settle", "id": r["id"], "cost": USD // 2, "now_ms": 0})
    assert s["result"] == "settled", s
    assert pool.client.execute_command("CLIENT", "ID") != own
    assert _report(pool)["settled"] == USD // 2
    admin.close()


@pytest.mark.parametrize("mode", ["function", "eval"])
def test_a_flushed_script_is_reloaded(redis_url: str, mode: str) -> None:
    pool = cp.RedisPool.connect(redis_url, name=_unique("flush"), limit=cp.nanos(10 * USD), script_mode=mode)
    assert pool.script_mode == mode
    pool.client.execute_command("FUNCTION", "FLUSH")
    pool.client.execute_command("SCRIPT", "FLUSH")
    r = pool.apply({"op": "reserve", "agent": "a", "amount": USD, "now_ms": 0})
    assert r["result"] == "reserved", r


def test_an_unreachable_server_is_a_store_error() -> None:
    with pytest.raises(cp.PoolStoreError) as info:
        cp.RedisPool.connect(f"redis://127.0.0.1:{_free_port()}/0", name="x", limit=cp.nanos(USD))
    assert info.value.code == "pool_store"


def test_a_missing_redis_py_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_redis(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "redis" or name.startswith("redis."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_redis)
    with pytest.raises(cp.MissingExtraError) as info:
        cp.RedisPool.connect("redis://127.0.0.1:1/0", name="x", limit=cp.nanos(USD))
    assert info.value.extra == "redis"
    assert "creditpool[redis]" in str(info.value)


# ----- alerts -----


def test_alerts_are_delivered_once_by_a_consumer_group(redis_url: str) -> None:
    pool = cp.RedisPool.connect(redis_url, name=_unique("alerts"), limit=cp.nanos(USD), thresholds=[50])
    r = pool.apply({"op": "reserve", "agent": "a", "amount": USD, "now_ms": 0})
    pool.apply({"op": "settle", "id": r["id"], "cost": 3 * USD // 4, "now_ms": 0})
    first = pool.next_alerts("worker-1")
    assert [a["percent"] for _, a in first] == [50], first
    # Unacknowledged, it is not handed to another consumer before the idle time...
    assert pool.next_alerts("worker-2") == []
    # ...and a dead worker's alert is claimed by another after it (idle 0 here).
    claimed = pool.next_alerts("worker-2", min_idle_ms=0)
    assert [i for i, _ in claimed] == [i for i, _ in first]
    pool.ack([i for i, _ in claimed])
    assert pool.next_alerts("worker-3", min_idle_ms=0) == []


# ----- an agent -----


def test_an_agent_runs_on_a_redis_pool_unchanged(redis_url: str, sim: str) -> None:
    import urllib.request

    steps = {"steps": [{"tool_use": [{"name": "search_database", "input": {"query": "mugs"}}]}, {"error": {"status": 529}}, {"text": "One mug, $12.50."}]}
    req = urllib.request.Request(sim + "/_sim/scenario", data=json.dumps(steps).encode(), method="POST", headers={"content-type": "application/json"})
    urllib.request.urlopen(req, timeout=10).close()

    @cp.tool
    def search_database(query: str) -> str:
        """Query the product inventory database.

        Args:
            query: What to look for.
        """
        return f"3 products match {query}"

    pool = cp.RedisPool.connect(redis_url, name=_unique("agent"), limit=cp.nanos(USD))
    with cp.Client(api_key="sk-sim", base_url=sim, retry_policy={"initial_backoff_ms": 5}) as client:
        outcome = cp.Agent(client, [search_database], pool, "researcher", model="claude-haiku-4-5", max_tokens=300).run("Find mugs")
    assert outcome.ok, outcome.error
    rep = _report(pool)
    assert rep["settled"] == outcome.total_cost.nanos > 0
    assert rep["reserved"] == 0
    kinds = [e["kind"] for _, e in pool.ledger()]
    assert kinds.count("settle") == 2 and kinds.count("release") == 1, kinds
    # Another process sees the same totals.
    code = (
        "import creditpool as cp, json, sys\n"
        f"p = cp.RedisPool.join({redis_url!r}, name={pool.name!r})\n"
        "r = p.apply({'op': 'report', 'now_ms': 0})\n"
        "print(json.dumps([r['settled'], r['reserved']]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=Path(__file__).parent)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [outcome.total_cost.nanos, 0]
