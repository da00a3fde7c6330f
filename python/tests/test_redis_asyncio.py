"""``AsyncRedisPool`` (``redis.asyncio``) against a real ``redis-server`` this
module starts itself (test_redis.py's helper): every ``pool_scenario`` vector
in the given-clock mode with the same expected difference as the sync store;
the sync and asyncio stores sharing one pool; a lost answer resent with its
idempotency key; a flushed script in both modes; alerts through the consumer
group; ``Agent.arun`` on an ``AsyncClient`` against creditpool-sim; and
``Pool.connect``, the one-line spelling."""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import urllib.request
from typing import Any, Iterator

import pytest

import creditpool as cp
from vectorlib import Case, json_diff, load_kind

import redis  # the creditpool[redis] extra

from test_redis import EXPECTED_DIFFERENCES, USD, _start_redis, _unique

POOL_CASES = load_kind("pool_scenario")


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    directory = tempfile.mkdtemp(prefix="creditpool-redis-async-")
    proc, url = _start_redis(directory)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(directory, ignore_errors=True)


async def _run(url: str, inp: dict[str, Any], with_ledger: bool) -> dict[str, Any]:
    created = int(inp.get("created_at_ms") or 0)
    try:
        pool = await cp.AsyncRedisPool.connect(url, name=_unique("avec"), config=inp["config"], clock="given", created_at_ms=created)
    except cp.PoolConfigError as e:
        return {"error": {"error": "invalid_config", "reason": e.reason}}
    secret = inp.get("webhook_secret")
    results: list[Any] = []
    events: list[Any] = []
    ledger: list[Any] = []
    after_alert = after_entry = "-"
    async with pool:
        for i, op in enumerate(inp["ops"]):
            results.append(await pool.apply_keyed(op, None))
            for after_alert, alert in await pool.alerts(after_alert):
                ev: dict[str, Any] = {"after_op": i, "payload": alert["payload"]}
                if isinstance(secret, str):
                    at = int(inp.get("webhook_delivered_at_ms") or created)
                    delivery = cp._creditpool.webhook_delivery(alert, secret.encode(), at)
                    headers = dict(delivery["headers"])
                    ev["body"] = bytes(delivery["body"]).decode()
                    ev["timestamp"] = int(headers[cp._creditpool.WEBHOOK_TIMESTAMP_HEADER])
                    ev["signature"] = headers[cp._creditpool.WEBHOOK_SIGNATURE_HEADER]
                events.append(ev)
            for after_entry, entry in await pool.ledger(after_entry):
                ledger.append(entry)
    out: dict[str, Any] = {"results": results, "events": events}
    if with_ledger:
        out["ledger"] = ledger
    return out


@pytest.mark.parametrize("case", POOL_CASES, ids=[c.id for c in POOL_CASES])
def test_every_pool_scenario_vector_runs_on_the_asyncio_store(redis_url: str, case: Case) -> None:
    if "fair_share" in case.input["config"]:
        with pytest.raises(cp.PoolConfigError) as info:
            asyncio.run(cp.AsyncRedisPool.connect(redis_url, name=_unique("afs"), config=case.input["config"], clock="given"))
        assert info.value.code == "fair_share_unsupported_on_redis"
        assert "fair_share" in EXPECTED_DIFFERENCES
        return
    with_ledger = isinstance(case.expected, dict) and "ledger" in case.expected
    d = json_diff("", asyncio.run(_run(redis_url, case.input, with_ledger)), case.expected)
    assert d is None, d


def test_the_sync_and_asyncio_stores_share_one_pool(redis_url: str) -> None:
    name = _unique("mixed")
    sync = cp.Pool.connect(redis_url, name=name, limit=cp.usd(3))  # the one-line spelling
    assert isinstance(sync, cp.RedisPool)

    async def main() -> None:
        pool = await cp.AsyncRedisPool.join(redis_url, name=name)
        assert isinstance(pool, cp.AsyncPoolStore)
        assert pool.config == sync.config
        r1 = await pool.apply({"op": "reserve", "agent": "x", "amount": 2 * USD, "now_ms": 0})
        assert r1["result"] == "reserved", r1
        r2 = sync.apply({"op": "reserve", "agent": "y", "amount": 2 * USD, "now_ms": 0})
        assert r2["result"] == "refused" and r2["reason"] == "pool_exhausted", r2
        s = await pool.apply({"op": "settle", "id": r1["id"], "cost": USD, "now_ms": 0})
        assert s["result"] == "settled", s
        assert [e["kind"] for _, e in await pool.ledger()] == ["settle"]
        with pytest.raises(cp.RedisConfigConflictError) as info:
            await cp.AsyncRedisPool.connect(redis_url, name=name, limit=cp.usd(7))
        stored = info.value.stored
        assert stored is not None and stored["limit"] == 3 * USD
        await pool.aclose()

    asyncio.run(main())
    rep = sync.apply({"op": "report", "now_ms": 0})
    assert rep["settled"] == USD and rep["reserved"] == 0
    sync.close()


def test_a_lost_answer_is_resent_with_its_key_and_reserves_once(redis_url: str) -> None:
    async def main() -> None:
        pool = await cp.AsyncRedisPool.connect(redis_url, name=_unique("alost"), limit=cp.usd(10))
        real_send = pool._send
        lost = {"n": 0}

        async def lose_first_answer(argv: Any) -> Any:
            reply = await real_send(argv)  # the server ran it...
            if lost["n"] == 0 and argv[0] in (b"FCALL", b"EVALSHA"):
                lost["n"] += 1
                raise redis.exceptions.ConnectionError("connection dropped before the answer")
            return reply

        pool._send = lose_first_answer  # type: ignore[method-assign]
        r = await pool.apply({"op": "reserve", "agent": "a", "amount": 4 * USD, "now_ms": 0})
        assert lost["n"] == 1 and r["result"] == "reserved", r
        rep = await pool.apply({"op": "report", "now_ms": 0})
        assert rep["reserved"] == 4 * USD, rep
        await pool.aclose()

    asyncio.run(main())


@pytest.mark.parametrize("mode", ["function", "eval"])
def test_a_flushed_script_is_reloaded(redis_url: str, mode: str) -> None:
    async def main() -> None:
        pool = await cp.AsyncRedisPool.connect(redis_url, name=_unique("aflush"), limit=cp.usd(10), script_mode=mode)
        assert pool.script_mode == mode
        await pool.client.execute_command("FUNCTION", "FLUSH")
        await pool.client.execute_command("SCRIPT", "FLUSH")
        r = await pool.apply({"op": "reserve", "agent": "a", "amount": USD, "now_ms": 0})
        assert r["result"] == "reserved", r
        await pool.aclose()

    asyncio.run(main())


def test_an_unreachable_server_is_a_store_error() -> None:
    from test_redis import _free_port

    with pytest.raises(cp.PoolStoreError) as info:
        asyncio.run(cp.AsyncRedisPool.connect(f"redis://127.0.0.1:{_free_port()}/0", name="x", limit=cp.usd(1)))
    assert info.value.code == "pool_store"


def test_alerts_are_claimed_from_a_dead_consumer(redis_url: str) -> None:
    async def main() -> None:
        pool = await cp.AsyncRedisPool.connect(redis_url, name=_unique("aalerts"), limit=cp.usd(1), thresholds=[50])
        r = await pool.apply({"op": "reserve", "agent": "a", "amount": USD, "now_ms": 0})
        await pool.apply({"op": "settle", "id": r["id"], "cost": 3 * USD // 4, "now_ms": 0})
        first = await pool.next_alerts("worker-1")
        assert len(first) == 1
        assert await pool.next_alerts("worker-2") == []
        claimed = await pool.next_alerts("worker-2", min_idle_ms=0)
        assert [i for i, _ in claimed] == [i for i, _ in first]
        await pool.ack([i for i, _ in claimed])
        assert await pool.next_alerts("worker-3", min_idle_ms=0) == []
        await pool.aclose()

    asyncio.run(main())


def test_an_async_agent_runs_on_the_asyncio_store(redis_url: str, sim: str) -> None:
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

    async def main() -> None:
        pool = await cp.AsyncRedisPool.connect(redis_url, name=_unique("aagent"), limit=cp.usd(1))
        async with cp.AsyncClient(api_key="sk-sim", base_url=sim, retry_policy={"initial_backoff_ms": 5}) as client:
            outcome = await cp.Agent(client, [search_database], pool, "researcher", model="claude-haiku-4-5", max_tokens=300).arun("Find mugs")
        assert outcome.ok, outcome.error
        rep = await pool.apply({"op": "report", "now_ms": 0})
        assert rep["settled"] == outcome.total_cost.nanos > 0
        assert rep["reserved"] == 0
        kinds = [e["kind"] for _, e in await pool.ledger()]
        assert kinds.count("settle") == 2 and kinds.count("release") == 1, kinds
        await pool.aclose()

    asyncio.run(main())
