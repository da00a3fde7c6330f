"""Fault soak (issue 10): 1,000 agent runs (``AsyncClient``, ``arun``) on one
``Pool`` against ``creditpool-sim``, a fifth of the requests faulted (429, 529,
500, cut streams, idle stalls, mid-stream ``error`` events), one run in eight
cancelled part-way (its asyncio task cancelled). Every run ends finished or
failed with one of the package's error classes; for every request ID the
ledger counts at least what the simulator billed (exactly when the response
completed); the pool never committed past its limit; no reservation is left.

The seed is ``CREDITPOOL_SOAK_SEED`` (default 20261205); a failure names it."""

from __future__ import annotations

import asyncio
import json
import os
import random
import urllib.request
from collections import Counter
from typing import Any

import pytest

import creditpool as cp

MODEL = "claude-haiku-4-5"
RUNS = 1000
CONCURRENCY = 16
LIMIT = 1_200_000_000
SEED = int(os.environ.get("CREDITPOOL_SOAK_SEED", "20261205"))


def _post(url: str, body: Any) -> Any:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def _usage_log(sim: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(sim + "/_sim/usage", timeout=30) as resp:
        assert resp.headers["x-creditpool-sim-open"] == "0", "responses still open"
        log: list[dict[str, Any]] = json.loads(resp.read())
        return log


def search_database(query: str) -> str:
    """Query the product inventory database."""
    return f"3 products match {query}: mug $12.50, lamp $34.99, cable $11.99"


class _Watched:
    """A pool store over ``pool`` that records the most ever committed
    (settled plus reserved) after each operation the agents apply."""

    def __init__(self, pool: cp.Pool) -> None:
        self.pool = pool
        self.peak = 0

    def apply(self, op: dict[str, Any]) -> dict[str, Any]:
        result = self.pool.apply(op)
        totals = self.pool.totals()
        self.peak = max(self.peak, int(totals["settled"]) + int(totals["reserved"]))
        return result


@pytest.mark.parametrize("strict_ids", [False, True])
def test_a_thousand_runs_under_faults_keep_the_books(sim: str, strict_ids: bool) -> None:
    """With ``strict_ids``, a response whose head reached the client (cut, or
    failed with an ``error`` event) must also be settled under its own
    request ID, so that the ledger can be reconciled per request."""
    try:
        _soak(sim, SEED, strict_ids)
    except BaseException:
        print(f"fault soak failed with seed {SEED} (rerun: CREDITPOOL_SOAK_SEED={SEED} pytest -k fault_soak)")
        raise


def _soak(sim: str, seed: int, strict_ids: bool) -> None:
    _post(sim + "/_sim/scenario", {
        "fault_rate": 0.2, "seed": seed, "fault_retry_after": 0,
        "fault_kinds": ["rate_limit", "overloaded", "server_error", "cut", "stream_error", "stall"],
        "fault_stall_ms": 400, "steps": [],
    })
    rng = random.Random(seed)
    plans = [(rng.random() < 0.5, rng.uniform(0.0, 0.04) if rng.random() < 0.125 else None) for _ in range(RUNS)]
    pool = cp.Pool(cp.nanos(LIMIT), pool_id="soak", ledger_window=100_000)
    store = _Watched(pool)
    timeouts = cp.Timeouts(read=2.0, stream_idle=0.08)
    tools = [cp.tool(search_database)]
    ends: Counter[str] = Counter()

    async def main() -> None:
        async with cp.AsyncClient(api_key="sk-soak", base_url=sim, timeout=timeouts, retry_policy={"max_retries": 2, "initial_backoff_ms": 1, "max_backoff_ms": 5}) as client:
            agents = {s: cp.Agent(client, tools, store, "stream" if s else "json", model=MODEL, max_tokens=300, max_turns=3, stream=s) for s in (False, True)}
            queue = list(enumerate(plans))

            async def worker() -> None:
                while queue:
                    i, (streaming, cancel_after) = queue.pop()
                    task = asyncio.ensure_future(agents[streaming].arun(f"Find products under ${10 + i % 90}"))
                    try:
                        if cancel_after is None:
                            outcome = await task
                        else:
                            # Cancelling the task part-way is the run's cancellation.
                            outcome = await asyncio.wait_for(task, cancel_after)
                    except asyncio.TimeoutError:
                        assert task.cancelled(), f"run {i}: the task was not cancelled"
                        ends["cancelled"] += 1
                        continue
                    except cp.CreditpoolError as e:
                        assert type(e) is not cp.CreditpoolError, f"run {i}: an untyped error {e!r}"
                        ends[f"raised:{type(e).__name__}"] += 1
                        continue
                    if outcome.status == "failed":
                        err = outcome.error
                        assert isinstance(err, cp.CreditpoolError) and type(err) is not cp.CreditpoolError, f"run {i}: {err!r}"
                        ends[f"failed:{type(err).__name__}"] += 1
                    else:
                        assert outcome.status in ("completed", "pool_refused", "max_turns", "stopped"), f"run {i}: {outcome.status}"
                        if outcome.status == "pool_refused":
                            assert isinstance(outcome.error, cp.PoolRefusedError), repr(outcome.error)
                        ends[outcome.status] += 1

            await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))

    asyncio.run(main())
    assert sum(ends.values()) == RUNS, ends

    log = _usage_log(sim)
    table = cp.PriceTable()

    def price(usage: dict[str, Any]) -> int:
        return int(table.cost(MODEL, usage)["total"])

    ledger = [e.to_dict() for e in pool.ledger()]
    settles = [e for e in ledger if e["kind"] == "settle"]
    by_request: dict[str, list[dict[str, Any]]] = {}
    for e in settles:
        if e.get("request_id"):
            by_request.setdefault(e["request_id"], []).append(e)
    outcomes: Counter[str] = Counter()
    unmatched, unmatched_billed = 0, 0
    for entry in log:
        rid, outcome = entry["request_id"], entry["outcome"]
        outcomes[outcome] += 1
        billed = price(entry["billed"])
        found = by_request.get(rid, [])
        assert len(found) <= 1, f"{rid}: settled {len(found)} times"
        if not found:
            # Cancelled before the response's head arrived: the settle does not know the ID.
            unmatched += 1
            unmatched_billed += billed
            continue
        settle = found[0]
        assert settle["cost"] >= billed, f"{rid} ({outcome}): the ledger counted {settle['cost']}, the simulator billed {billed}"
        if not settle.get("estimated"):
            assert outcome == "complete", f"{rid}: an exact settle for a response that did not complete"
            assert settle["cost"] == price(entry["usage"]), f"{rid}: an exact settle differs from the usage"
    if strict_ids:
        # Only a run cancelled before its answer's head reached the core can
        # leave a billed response that no settle names.
        assert unmatched <= ends["cancelled"], f"{unmatched} billed responses match no settle's request ID, but only {ends['cancelled']} runs were cancelled"
    anonymous = [e for e in settles if not e.get("request_id")]
    assert unmatched <= len(anonymous), f"{unmatched} billed responses match no settle ({len(anonymous)} settles without a request ID)"
    assert sum(e["cost"] for e in anonymous) >= unmatched_billed
    logged = {e["request_id"] for e in log}
    assert set(by_request) <= logged, "a settle names a request the simulator never billed"

    totals = pool.totals()
    assert 0 < store.peak <= LIMIT, f"committed {store.peak}, past the limit {LIMIT}"
    assert totals["reserved"] == 0 and totals["open"] == 0, totals
    assert totals["overrun"] == 0, totals
    assert totals["settled"] == sum(e["cost"] for e in ledger) <= LIMIT, totals
    assert all(e["kind"] != "expire" for e in ledger), "a reservation expired"
    seqs = [e["seq"] for e in ledger]
    assert seqs == list(range(1, len(seqs) + 1)), "the ledger has gaps"
    print(f"fault soak seed {seed}: {RUNS} runs {dict(ends)}; {len(log)} responses {dict(outcomes)}; settled {totals['settled']}")
    assert ends["completed"] > RUNS // 4, ends
    assert ends["cancelled"] > 0 and ends["pool_refused"] > 0, ends
    for kind in ("complete", "cut", "stream_error"):
        assert outcomes[kind] > 0, outcomes


@pytest.fixture(autouse=True)
def _reset_after(sim: str) -> Any:
    """Leaves the shared simulator without faults for the tests after this one."""
    yield
    _post(sim + "/_sim/reset", {})
