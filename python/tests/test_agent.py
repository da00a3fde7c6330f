"""``Agent`` against the real simulator binary (``creditpool-sim``): tool loops
sync and async, concurrent tool calls, streaming, refusals, rate limits and
budgets, and fault injection with many agents in threads sharing one pool,
whose ledger must then equal the simulator's usage log."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.request
from typing import Any

import pytest

import creditpool as cp

MODEL = "claude-haiku-4-5"
USD = 1_000_000_000


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def _post(url: str, body: Any) -> Any:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


INVENTORY: list[dict[str, Any]] = [{"name": "Desk lamp", "price": 35}, {"name": "Mug", "price": 12}, {"name": "Chair", "price": 89}]


@cp.tool
def search_database(query: str) -> list[dict[str, Any]]:
    """Query the product inventory database.

    Args:
        query: What to look for.
    """
    return [p for p in INVENTORY if p["price"] < 50]


def _ledger_matches_usage_log(pool: cp.Pool, sim: str) -> None:
    """Every settle in the ledger is one complete response in the
    simulator's log, with the same usage, and nothing else was settled but
    attempts the API may have billed without saying how much (settled at
    their worst case, flagged ``estimated`` by the core)."""
    usage = {e["request_id"]: e for e in _get(sim + "/_sim/usage") if e["outcome"] == "complete"}
    settles = [e for e in pool.ledger() if e.kind == "settle" and not e.get("estimated")]
    assert sorted(e.request_id or "" for e in settles) == sorted(usage), (settles, usage)
    for e in settles:
        logged = usage[e.request_id or ""]
        tokens = e["tokens"]
        assert (tokens["input"], tokens["output"]) == (logged["usage"]["input_tokens"], logged["usage"]["output_tokens"])
        assert e.agent == logged["user_id"]
        assert e.model == logged["model"]


def test_agent_runs_the_tool_loop_and_accounts_for_it(sim: str) -> None:
    pool = cp.Pool(cp.nanos(USD))
    with cp.Client(api_key="sk-sim", base_url=sim) as client:
        agent = cp.Agent(client, [search_database], pool, "inventory", model=MODEL, max_tokens=400)
        outcome = agent.run("Find products under $50")
    assert outcome.ok and outcome.status == "completed" and outcome.error is None
    assert outcome.raise_for_status() is outcome
    assert "Desk lamp" in outcome.final_text and "Chair" not in outcome.final_text
    assert [t.tool_calls for t in outcome.turns] == [["search_database"], []]
    assert outcome.total_cost == sum((t.cost.total for t in outcome.turns), cp.Money.ZERO) == pool.settled
    assert outcome.total_cost_usd == outcome.total_cost.dollars
    assert outcome.usage.input_tokens == sum(t.usage.input_tokens for t in outcome.turns)
    assert outcome.tool_costs["search_database"] + outcome.conversation_cost == outcome.total_cost
    assert pool.reserved == cp.nanos(0)
    assert all(t.reserved >= t.cost.total for t in outcome.turns), "each reservation bounded its cost"
    assert outcome.transcript[-1]["role"] == "assistant"
    _ledger_matches_usage_log(pool, sim)


def test_independent_tool_calls_run_concurrently(sim: str) -> None:
    """Two calls in one turn: each waits for the other at a barrier, which
    only passes if they run at the same time."""
    _post(sim + "/_sim/scenario", {"steps": [
        {"tool_use": [{"name": "lookup", "input": {"item": "lamp"}}, {"name": "lookup", "input": {"item": "mug"}}]},
        {"text": "Both found."},
    ]})
    barrier = threading.Barrier(2, timeout=20)

    @cp.tool
    def lookup(item: str) -> str:
        """Look an item up."""
        barrier.wait()
        return item.upper()

    with cp.Client(api_key="sk-sim", base_url=sim) as client:
        outcome = cp.Agent(client, [lookup], cp.Pool(cp.nanos(USD)), "a", model=MODEL).run("Look up a lamp and a mug")
    assert outcome.ok, outcome.error
    results = [b for b in outcome.transcript[2]["content"]]
    assert [b["content"] for b in results] == ["LAMP", "MUG"]


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio."""
    return "asyncio"


@pytest.mark.anyio
async def test_async_agent_gathers_tool_calls(sim: str) -> None:
    _post(sim + "/_sim/scenario", {"steps": [
        {"tool_use": [{"name": "fetch", "input": {"n": 1}}, {"name": "fetch", "input": {"n": 2}}, {"name": "fetch", "input": {"n": "three"}}]},
        {"text": "Done."},
    ]})
    arrived = 0
    both = asyncio.Event()

    @cp.tool
    async def fetch(n: int) -> int:
        """Fetch a number."""
        nonlocal arrived
        arrived += 1
        if arrived == 2:
            both.set()
        await asyncio.wait_for(both.wait(), 20)
        return n * 10

    pool = cp.Pool(cp.nanos(USD))
    async with cp.AsyncClient(api_key="sk-sim", base_url=sim) as client:
        agent = cp.Agent(client, [fetch], pool, "async-agent", model=MODEL, stream=True)
        outcome = await agent.arun("Fetch three numbers")
    assert outcome.ok, outcome.error
    blocks = outcome.transcript[2]["content"]
    assert [b["content"] for b in blocks[:2]] == ["10", "20"]
    # The bad input never reached the tool: the core answered it.
    assert blocks[2]["is_error"] is True and arrived == 2
    _ledger_matches_usage_log(pool, sim)


def test_streaming_agent_sees_events_and_survives_a_cut(sim: str) -> None:
    _post(sim + "/_sim/scenario", {"steps": [{"cut_after_bytes": 300}, {"text": "Streamed answer."}]})
    events: list[cp.StreamEvent] = []
    pool = cp.Pool(cp.nanos(USD))
    with cp.Client(api_key="sk-sim", base_url=sim, retry_policy={"initial_backoff_ms": 5}) as client:
        outcome = cp.Agent(client, None, pool, "s", model=MODEL, stream=True, on_event=events.append).run("Hi")
    assert outcome.ok and outcome.final_text == "Streamed answer."
    assert outcome.turns[0].attempts == 2
    assert any(isinstance(e, cp.ContentBlockDeltaEvent) for e in events)
    # The cut attempt had been answered (a 2xx head): the core never releases
    # it for free but settles its worst case, flagged estimated.
    assert [(e.kind, bool(e.get("estimated"))) for e in pool.ledger()] == [("settle", True), ("settle", False)]
    _ledger_matches_usage_log(pool, sim)


def test_refusals_end_the_run_typed_and_cost_nothing(sim: str) -> None:
    with cp.Client(api_key="sk-sim", base_url=sim) as client:
        tiny = cp.Agent(client, [search_database], cp.Pool(cp.nanos(1_000)), "a", model=MODEL).run("Find products under $50")
        capped_pool = cp.Pool(cp.nanos(USD), agents={"capped": cp.AgentPolicy(cap=cp.nanos(1_000))})
        capped = cp.Agent(client, [search_database], capped_pool, "capped", model=MODEL).run("Find products")
        budget = cp.Agent(client, [search_database], cp.Pool(cp.nanos(USD)), "b", model=MODEL, max_spend=cp.nanos(1_000)).run("Find products")
    assert tiny.status == "pool_refused" and isinstance(tiny.error, cp.PoolExhaustedError)
    assert capped.status == "pool_refused" and isinstance(capped.error, cp.AgentCapError)
    assert budget.status == "budget_exhausted" and isinstance(budget.error, cp.BudgetExhaustedError)
    assert budget.error.remaining == cp.nanos(1_000)
    with pytest.raises(cp.PoolExhaustedError):
        tiny.raise_for_status()
    assert _get(sim + "/_sim/usage") == [], "nothing was sent"
    assert capped_pool.report().agents[0]["refusals"] == 1


def test_a_rate_limited_agent_waits_for_the_pool(sim: str) -> None:
    now = [1_795_000_000_000]
    slept: list[float] = []
    pool = cp.Pool(cp.nanos(USD), agents={"slow": cp.AgentPolicy(requests_per_minute=1)}, clock=lambda: now[0])
    with cp.Client(api_key="sk-sim", base_url=sim) as client:

        def sleep(seconds: float) -> None:
            slept.append(seconds)
            now[0] += int(seconds * 1000)

        client._sleep = sleep
        outcome = cp.Agent(client, [search_database], pool, "slow", model=MODEL).run("Find products under $50")
    assert outcome.ok
    assert len(slept) == 1 and 50 <= slept[0] <= 60, slept


def test_api_errors_fail_the_run_typed(sim: str) -> None:
    _post(sim + "/_sim/scenario", {"steps": [{"error": {"status": 401}}]})
    pool = cp.Pool(cp.nanos(USD))
    with cp.Client(api_key="sk-sim", base_url=sim) as client:
        outcome = cp.Agent(client, None, pool, "a", model=MODEL).run("Hi")
    assert outcome.status == "failed" and isinstance(outcome.error, cp.AuthenticationError)
    assert outcome.error.status == 401
    assert (pool.settled, pool.reserved) == (cp.Money.ZERO, cp.Money.ZERO)
    assert [e.kind for e in pool.ledger()] == ["release"]


def test_many_agents_under_faults_share_a_pool(sim: str, tmp_path: Any) -> None:
    """Six agents in threads, 40 % of responses replaced by faults (429, 529,
    500, cut bodies): each run ends completed or failed with a typed error,
    the pool never goes over its limit, and its ledger equals the
    simulator's log of complete responses."""
    _post(sim + "/_sim/scenario", {"steps": [], "fault_rate": 0.4, "seed": 11, "fault_retry_after": 0})
    limit = cp.usd("0.012")  # about ten tool-loop runs of the 18, so some are refused
    pool = cp.Pool(limit, directory=tmp_path, agents={f"agent-{i}": cp.AgentPolicy(cap=cp.usd("0.004")) for i in range(6)})
    outcomes: list[cp.AgentOutcome] = []
    violations: list[Any] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.001):
            t = pool.totals()
            if t["settled"] + t["reserved"] > limit.nanos:
                violations.append(t)

    def work(i: int) -> None:
        with cp.Client(api_key="sk-sim", base_url=sim, retry_policy={"initial_backoff_ms": 1, "max_backoff_ms": 5, "max_retries": 1}) as client:
            agent = cp.Agent(client, [search_database], pool, f"agent-{i}", model=MODEL, max_tokens=300, stream=i % 2 == 0)
            for _ in range(3):
                outcomes.append(agent.run("Find products under $50"))

    watcher = threading.Thread(target=watch)
    watcher.start()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    watcher.join()
    assert len(outcomes) == 18
    statuses = {o.status for o in outcomes}
    assert statuses <= {"completed", "failed", "pool_refused"}, statuses
    # Which requests draw a fault depends on the threads' order; a refusal
    # does not (the runs need more than the limit).
    assert statuses <= {"completed", "failed", "pool_refused"} and {"completed", "pool_refused"} <= statuses, statuses
    for o in outcomes:
        if o.status == "completed":
            assert o.error is None and "Desk lamp" in o.final_text
        elif o.status == "failed":
            assert isinstance(o.error, (cp.APIError, cp.StreamError, cp.APIConnectionError)), repr(o.error)
            assert o.error.code is not None and o.error.code == o["code"]
        else:
            assert isinstance(o.error, cp.PoolRefusedError)
    assert not violations, violations[:3]
    totals = pool.totals()
    assert totals["reserved"] == 0 and totals["settled"] <= limit.nanos
    assert totals["settled"] == sum(o.total_cost.nanos for o in outcomes)
    _ledger_matches_usage_log(pool, sim)
    file_settles = [e for e in cp.iter_ledger_file(tmp_path) if e.kind == "settle"]
    assert [e.to_dict() for e in file_settles] == [e.to_dict() for e in pool.ledger() if e.kind == "settle"]


def test_max_turns_ends_the_run_typed(sim: str) -> None:
    with cp.Client(api_key="sk-sim", base_url=sim) as client:
        outcome = cp.Agent(client, [search_database], cp.Pool(cp.nanos(USD)), "a", model=MODEL, max_turns=1).run("Find products under $50")
    assert outcome.status == "max_turns" and isinstance(outcome.error, cp.MaxTurnsError)
    assert outcome.error.max_turns == 1 and len(outcome.turns) == 1
    # The tool ran; its result is in the transcript for a later run to continue.
    assert outcome.transcript[-1]["content"][0]["type"] == "tool_result"


def test_an_exception_in_the_driver_cancels_and_releases(sim: str) -> None:
    pool = cp.Pool(cp.nanos(USD))

    def explode(event: cp.StreamEvent) -> None:
        raise KeyboardInterrupt

    with cp.Client(api_key="sk-sim", base_url=sim) as client:
        agent = cp.Agent(client, None, pool, "a", model=MODEL, stream=True, on_event=explode)
        with pytest.raises(KeyboardInterrupt):
            agent.run("Hi")
    # The request had been answered: the cancel settles its worst case,
    # flagged estimated (never released for free).
    assert pool.reserved == cp.Money.ZERO and pool.settled > cp.Money.ZERO
    assert [(e.kind, bool(e.get("estimated"))) for e in pool.ledger()] == [("settle", True)]


def test_agent_with_the_wrong_client_kind_is_a_type_error() -> None:
    client = cp.AsyncClient(api_key="sk-sim", base_url="http://127.0.0.1:9")
    with pytest.raises(TypeError):
        cp.Agent(client, None, None, "a", model=MODEL).run("Hi")
    with pytest.raises(cp.UnknownModelError):
        cp.Agent(cp.Client(api_key="k", base_url="http://127.0.0.1:9"), None, None, "a", model="no-such-model").run("Hi")
