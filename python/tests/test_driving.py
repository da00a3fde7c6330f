"""The decisions that moved into the core, seen through the package against
the simulator (``creditpool-sim``): a connection lost mid-stream reads as a
cut stream, every error carries the core's ``code`` and the class the core's
table gives it, an agent draws through any ``PoolStore`` with balanced
operations, and a tool that raises is worded by the core."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

import creditpool as cp
from creditpool import _creditpool as native

MODEL = "claude-haiku-4-5"
USD = 1_000_000_000


def _post(url: str, body: Any) -> Any:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def _class_matches_code(e: cp.CreditpoolError) -> None:
    assert e.code is not None
    assert type(e).__name__ == native.class_for_code(e.code), (type(e).__name__, e.code)


def test_a_stream_cut_mid_body_is_a_cut_stream_with_the_partial_message(sim: str) -> None:
    _post(sim + "/_sim/scenario", {"steps": [{"cut_after_bytes": 700}]})
    with cp.Client(api_key="sk-sim", base_url=sim, max_retries=0) as client:
        with pytest.raises(cp.StreamIncompleteError) as e:
            list(client.messages.stream(model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "Hi"}]))
    assert e.value.code == "stream_incomplete"
    _class_matches_code(e.value)
    assert e.value.partial is not None and e.value.partial["type"] == "message"
    assert e.value.attempts == 1


def test_a_cut_stream_is_retried_with_the_cores_notice(sim: str) -> None:
    _post(sim + "/_sim/scenario", {"steps": [{"cut_after_bytes": 700}, {"text": "Second try."}]})
    with cp.Client(api_key="sk-sim", base_url=sim, retry_policy={"initial_backoff_ms": 5}) as client:
        events = list(client.messages.stream(model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "Hi"}]))
    retries = [e for e in events if isinstance(e, cp.StreamRetryEvent)]
    assert [(r.attempt, r.code) for r in retries] == [(0, "stream_incomplete")]
    assert retries[0].message
    final = events[-1]
    assert isinstance(final, cp.FinalMessageEvent) and final.message.text == "Second try."


@pytest.mark.parametrize(("status", "cls", "code"), [(401, cp.AuthenticationError, "authentication_error"), (529, cp.OverloadedError, "overloaded_error")])
def test_an_api_error_has_the_cores_code_and_class(sim: str, status: int, cls: type[cp.CreditpoolError], code: str) -> None:
    _post(sim + "/_sim/scenario", {"steps": [{"error": {"status": status}}]})
    with cp.Client(api_key="sk-sim", base_url=sim, max_retries=0) as client:
        with pytest.raises(cls) as e:
            client.messages.create(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "Hi"}])
    assert e.value.code == code
    _class_matches_code(e.value)


def test_a_failed_agent_run_has_the_cores_code_and_class(sim: str) -> None:
    _post(sim + "/_sim/scenario", {"steps": [{"error": {"status": 401}}]})
    with cp.Client(api_key="sk-sim", base_url=sim) as client:
        outcome = cp.Agent(client, None, cp.Pool(cp.nanos(USD)), "a", model=MODEL).run("Hi")
    assert outcome.status == "failed" and isinstance(outcome.error, cp.AuthenticationError)
    assert outcome.error.code == outcome["code"] == "authentication_error"
    _class_matches_code(outcome.error)


def test_preflight_errors_carry_codes() -> None:
    with cp.Client(api_key="k", base_url="http://127.0.0.1:9") as client:
        with pytest.raises(cp.CapabilityError) as e:
            client.messages.create(model="claude-sonnet-5", max_tokens=8, messages=[{"role": "user", "content": "Hi"}], temperature=0.5)
    assert e.value.code is not None and e.value.code.startswith("capability_")
    _class_matches_code(e.value)
    for code, class_name in native.error_codes():
        assert native.class_for_code(code) == class_name
        assert issubclass(getattr(cp, class_name), cp.CreditpoolError)


class RecordingStore:
    """A pool store that forwards to a ``Pool`` and records every operation."""

    def __init__(self, pool: cp.Pool) -> None:
        self.pool = pool
        self.ops: list[dict[str, Any]] = []
        self.results: list[dict[str, Any]] = []

    def apply(self, op: dict[str, Any]) -> dict[str, Any]:
        self.ops.append(op)
        result = self.pool.apply(op)
        self.results.append(result)
        return result


class AsyncRecordingStore(RecordingStore):
    """The same, with a coroutine ``apply``."""

    async def apply(self, op: dict[str, Any]) -> dict[str, Any]:  # type: ignore[override]
        return super().apply(op)


@cp.tool
def search_database(query: str) -> list[dict[str, Any]]:
    """Query the product inventory database.

    Args:
        query: What to look for.
    """
    return [{"name": "Desk lamp", "price": 35}]


def _balanced(store: RecordingStore) -> None:
    kinds = [op["op"] for op in store.ops]
    reserved = [r["id"] for r in store.results if r["result"] == "reserved"]
    closed = [r["id"] for r in store.results if r["result"] in ("settled", "released")]
    assert kinds.count("reserve") == len(reserved) == len(closed) >= 1, kinds
    assert sorted(reserved) == sorted(closed)
    assert store.pool.reserved == cp.nanos(0)


def test_an_agent_draws_through_a_custom_pool_store(sim: str) -> None:
    _post(sim + "/_sim/scenario", {"steps": [{"error": {"status": 529}}]})
    store = RecordingStore(cp.Pool(cp.nanos(USD)))
    assert isinstance(store, cp.PoolStore)
    with cp.Client(api_key="sk-sim", base_url=sim, retry_policy={"initial_backoff_ms": 5}) as client:
        outcome = cp.Agent(client, [search_database], store, "inventory", model=MODEL, max_tokens=400).run("Find products under $50")
    assert outcome.ok, outcome.error
    _balanced(store)
    assert [op["op"] for op in store.ops][:3] == ["reserve", "release", "reserve"]
    assert store.pool.settled == outcome.total_cost > cp.Money.ZERO


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio."""
    return "asyncio"


@pytest.mark.anyio
async def test_an_async_agent_awaits_an_async_pool_store(sim: str) -> None:
    store = AsyncRecordingStore(cp.Pool(cp.nanos(USD)))
    assert isinstance(store, cp.AsyncPoolStore)
    async with cp.AsyncClient(api_key="sk-sim", base_url=sim) as client:
        outcome = await cp.Agent(client, [search_database], store, "inventory", model=MODEL, stream=True).arun("Find products under $50")
    assert outcome.ok, outcome.error
    _balanced(store)
    assert all(op["op"] in ("reserve", "settle", "release", "extend") for op in store.ops)


def test_a_tool_that_raises_is_worded_by_the_core(sim: str) -> None:
    _post(sim + "/_sim/scenario", {"steps": [{"tool_use": [{"name": "flaky", "input": {"item": "lamp"}}]}, {"text": "Sorry."}]})

    @cp.tool
    def flaky(item: str) -> str:
        """Look an item up."""
        raise RuntimeError(f"{item} is out of stock")

    with cp.Client(api_key="sk-sim", base_url=sim) as client:
        outcome = cp.Agent(client, [flaky], cp.Pool(cp.nanos(USD)), "a", model=MODEL).run("Look up a lamp")
    assert outcome.ok, outcome.error
    result = outcome.transcript[2]["content"][0]
    assert result["is_error"] is True
    # The core's default words do not show the exception's text (issue 13).
    assert result["content"] == 'The tool "flaky" failed. Its error is not shown; try another way, or answer without it.'


def test_custom_texts_reach_the_model(sim: str) -> None:
    _post(sim + "/_sim/scenario", {"steps": [{"tool_use": [{"name": "flaky", "input": {"item": "lamp"}}]}, {"text": "Sorry."}]})

    @cp.tool
    def flaky(item: str) -> str:
        """Look an item up."""
        raise RuntimeError("no")

    with cp.Client(api_key="sk-sim", base_url=sim) as client:
        agent = cp.Agent(client, [flaky], None, "a", model=MODEL, texts={"tool_failed": "{name} broke: {error}"})
        outcome = agent.run("Look up a lamp")
    assert outcome.transcript[2]["content"][0]["content"] == "flaky broke: no"


def test_tool_result_content_is_the_cores_rule() -> None:
    assert cp.tool_result_content("text") == "text"
    assert cp.tool_result_content(None) == ""
    assert cp.tool_result_content({"a": 1}) == '{"a":1}'
    assert cp.tool_result_content([{"type": "text", "text": "hi"}]) == [{"type": "text", "text": "hi"}]
