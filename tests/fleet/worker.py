"""One Python worker of the mixed-language fleet test (tests/fleet/fleet.py):
joins the Redis pool another process created, runs agents against
creditpool-sim until its time is up, and delivers the pool's alerts through
the outbox's consumer group (appending each alert's idempotency key to a file,
the receiver).

    python worker.py REDIS_URL POOL SIM_URL WORKER_ID DELIVERIES_FILE SECONDS AGENTS
"""

from __future__ import annotations

import sys
import threading
import time

import creditpool as cp

CLAIM_IDLE_MS = 1_000  # an alert taken by a worker that died is claimed after this


def deliver(pool: cp.RedisPool, worker: str, path: str) -> None:
    batch = pool.next_alerts(worker, min_idle_ms=CLAIM_IDLE_MS)
    ids = []
    for stream_id, alert in batch:
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{alert['payload']['idempotency_key']}\t{worker}\n")
        ids.append(stream_id)
    pool.ack(ids)


def main() -> None:
    url, name, sim, worker, path, seconds, agents = sys.argv[1:8]
    deadline = time.monotonic() + float(seconds)
    pool = cp.RedisPool.join(url, name=name)

    @cp.tool
    def search_database(query: str) -> str:
        """Query the product inventory database.

        Args:
            query: What to look for.
        """
        return f"2 products match {query}"

    client = cp.Client(api_key="sk-fleet", base_url=sim, retry_policy={"max_retries": 6, "initial_backoff_ms": 5, "max_backoff_ms": 50})
    runs: list[str] = []
    errors: list[str] = []

    def slot(i: int) -> None:
        n = 0
        while time.monotonic() < deadline:
            n += 1
            agent_id = f"{worker}-{i}-{n}"
            try:
                outcome = cp.Agent(client, [search_database], pool, agent_id, model="claude-haiku-4-5", max_tokens=200, lease_ms=1_500).run("Find products under $50")
            except Exception as e:  # noqa: BLE001 - reported, the run goes on
                errors.append(repr(e))
                continue
            runs.append(outcome.status)
            if outcome.status == "pool_refused":
                time.sleep(0.1)

    threads = [threading.Thread(target=slot, args=(i,)) for i in range(int(agents))]
    print(f"ready {worker}", flush=True)
    for t in threads:
        t.start()
    while time.monotonic() < deadline:
        try:
            deliver(pool, worker, path)
        except cp.PoolStoreError as e:
            print(f"{worker}: alert delivery: {e}", file=sys.stderr)
        time.sleep(0.1)
    for t in threads:
        t.join()
    deliver(pool, worker, path)
    for failure in errors:
        print(f"{worker}: agent: {failure}", file=sys.stderr)
    print(f"done {worker} runs={len(runs)}", flush=True)
    client.close()
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
