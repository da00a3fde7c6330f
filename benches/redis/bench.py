"""Reserve+settle pairs per second through a Redis pool from Python: one
client (the sync ``RedisPool``), then CONCURRENCY coroutines on the asyncio
store (``AsyncRedisPool``, one connection each from redis-py's pool).
Run by benches/redis/run.sh. Prints one JSON line per mode.

    python bench.py REDIS_URL PAIRS CONCURRENCY
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

import creditpool as cp



def sync_pairs(pool: cp.RedisPool, agent: str, n: int) -> None:
    for _ in range(n):
        r = pool.apply({"op": "reserve", "agent": agent, "amount": 1_000, "now_ms": 0})
        assert r["result"] == "reserved", r
        pool.apply({"op": "settle", "id": r["id"], "cost": 900, "now_ms": 0})


async def async_pairs(pool: cp.AsyncRedisPool, agent: str, n: int) -> None:
    for _ in range(n):
        r = await pool.apply({"op": "reserve", "agent": agent, "amount": 1_000, "now_ms": 0})
        assert r["result"] == "reserved", r
        await pool.apply({"op": "settle", "id": r["id"], "cost": 900, "now_ms": 0})


def main() -> None:
    url, n, concurrency = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    name = f"bench-py-{os.getpid()}"
    pool = cp.RedisPool.connect(url, name=name, limit=cp.usd(1_000_000))
    sync_pairs(pool, "warmup", 200)
    start = time.perf_counter()
    sync_pairs(pool, "a", n)
    secs = time.perf_counter() - start
    print(json.dumps({"lang": "python", "clients": 1, "pairs": n, "seconds": round(secs, 3), "pairs_per_s": round(n / secs)}))

    async def concurrent() -> None:
        apool = await cp.AsyncRedisPool.join(url, name=name)
        per = n // concurrency
        start = time.perf_counter()
        await asyncio.gather(*(async_pairs(apool, f"c{i}", per) for i in range(concurrency)))
        secs = time.perf_counter() - start
        print(json.dumps({"lang": "python-asyncio", "clients": concurrency, "pairs": per * concurrency, "seconds": round(secs, 3), "pairs_per_s": round(per * concurrency / secs)}))
        await apool.aclose()

    asyncio.run(concurrent())
    pool.close()


if __name__ == "__main__":
    main()
