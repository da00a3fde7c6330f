"""``creditpool.middleware`` under pydantic-ai: an ``Agent`` whose
``AnthropicModel`` is built on an ``AsyncAnthropic`` client carrying the
middleware (the versions pinned in the test dependencies), against the real
simulator. The pool's ledger equals the simulator's usage log request by
request, each request is reserved and settled once, and a refusal surfaces
from ``Agent.run`` as our typed error with nothing sent.

What pydantic-ai does with the client, which these tests pin down:
- it sends every turn with ``client.beta.messages.create`` (``POST
  /v1/messages?beta=true``), which the middleware meters like ``/v1/messages``;
- without a ``max_tokens`` setting it asks for the model's whole output
  (64,000 for claude-haiku-4-5), the SDK refuses that without streaming, and
  pydantic-ai then streams the request behind the scenes: the reservation is
  the worst case for that ``max_tokens``, settled from the stream's copy;
- it does not catch errors other than the SDK's ``APIStatusError`` /
  ``APIConnectionError`` and ``httpx2`` transport errors, so the pool's
  refusal reaches the caller of ``Agent.run`` as itself, unwrapped.
"""

from __future__ import annotations

from typing import Any

import anthropic
import pytest
from pydantic_ai import Agent
from pydantic_ai.exceptions import AgentRunError, ModelAPIError
from pydantic_ai.messages import ToolCallPart, ToolReturnPart
from pydantic_ai.models.anthropic import AnthropicModel, AnthropicModelSettings
from pydantic_ai.providers.anthropic import AnthropicProvider
from test_middleware import MODEL, Recorder, _assert_ledger_matches_usage_log, _get, _post

import creditpool as cp

#: A ``max_tokens`` setting (a JSON response) or none (pydantic-ai streams).
SETTINGS: dict[str, AnthropicModelSettings] = {"json": {"max_tokens": 300}, "streamed": {}}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _client(sim: str, store: Any) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(api_key="sk-sim", base_url=sim, middleware=[cp.middleware(store, agent="researcher")])


def _agent(client: anthropic.AsyncAnthropic, settings: AnthropicModelSettings, with_tool: bool = False) -> tuple[Agent[None, str], list[str]]:
    """An agent whose model is built on ``client``; with ``with_tool``, the
    tool ``search_database``, whose calls are recorded in the list returned."""
    model = AnthropicModel(MODEL, provider=AnthropicProvider(anthropic_client=client))
    agent: Agent[None, str] = Agent(model, model_settings=settings)
    calls: list[str] = []
    if with_tool:

        @agent.tool_plain
        def search_database(query: str) -> str:
            """Search the product database."""
            calls.append(query)
            return "a desk lamp for $35 and a mug for $12"

    return agent, calls


@pytest.mark.anyio
@pytest.mark.parametrize("mode", sorted(SETTINGS))
async def test_a_plain_prompt_is_reserved_and_settled_once(sim: str, mode: str) -> None:
    pool = cp.Pool(limit=cp.nanos(10**10))
    store = Recorder(pool)
    async with _client(sim, store) as client:
        agent, _ = _agent(client, SETTINGS[mode])
        result = await agent.run("Hello there")
    assert "Hello there" in result.output
    log = _get(sim + "/_sim/usage")
    assert len(log) == 1
    assert log[0]["stream"] is (mode == "streamed")
    assert log[0]["max_tokens"] == (300 if mode == "json" else 64000)
    assert log[0]["credit_pool"] == "programmatic"
    assert store.kinds() == ["reserve", "settle"]
    assert store.ops[0]["amount"] >= store.ops[1]["cost"]
    _assert_ledger_matches_usage_log(pool, sim)
    # pydantic-ai reads the same usage the pool settled from.
    assert result.usage.output_tokens == log[0]["usage"]["output_tokens"]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", sorted(SETTINGS))
async def test_a_tool_run_settles_each_turn_from_its_own_usage(sim: str, mode: str) -> None:
    """The simulator's rule model calls ``search_database`` for the prompt,
    then answers from its result: two requests, each reserved and settled."""
    pool = cp.Pool(limit=cp.nanos(10**10))
    store = Recorder(pool)
    async with _client(sim, store) as client:
        agent, calls = _agent(client, SETTINGS[mode], with_tool=True)
        result = await agent.run("Find products under $50")
    assert calls == ["products under $50"]
    parts = [p for m in result.all_messages() for p in m.parts]
    assert [p.tool_name for p in parts if isinstance(p, ToolCallPart)] == ["search_database"]
    assert [p.tool_name for p in parts if isinstance(p, ToolReturnPart)] == ["search_database"]
    assert "desk lamp for $35" in result.output
    log = _get(sim + "/_sim/usage")
    assert len(log) == 2 and all(u["stream"] is (mode == "streamed") for u in log)
    assert store.kinds() == ["reserve", "settle", "reserve", "settle"]
    _assert_ledger_matches_usage_log(pool, sim)
    # The second turn carries the tool's result, so it reads more input.
    assert log[1]["billed"]["input_tokens"] > log[0]["billed"]["input_tokens"]


def _assert_refused_as_itself(info: pytest.ExceptionInfo[cp.PoolExhaustedError]) -> None:
    """What the user of ``Agent.run`` sees: our ``PoolExhaustedError`` (a
    ``PoolRefusedError``) itself, with no cause or context: neither the SDK
    nor pydantic-ai wraps it, retries it or turns it into a model error."""
    e = info.value
    assert type(e) is cp.PoolExhaustedError and isinstance(e, cp.PoolRefusedError)
    assert e.code == "pool_exhausted" and e.reason == "pool_exhausted"
    assert e.requested is not None and e.available is not None and e.available < e.requested
    assert not isinstance(e, (anthropic.APIError, ModelAPIError, AgentRunError))
    assert e.__cause__ is None and e.__context__ is None


@pytest.mark.anyio
@pytest.mark.parametrize("mode", sorted(SETTINGS))
async def test_a_pool_too_small_makes_the_run_raise_the_typed_refusal_and_sends_nothing(sim: str, mode: str) -> None:
    pool = cp.Pool(limit=cp.nanos(1000))
    store = Recorder(pool)
    async with _client(sim, store) as client:
        agent, _ = _agent(client, SETTINGS[mode])
        with pytest.raises(cp.PoolExhaustedError) as info:
            await agent.run("Hello there")
    _assert_refused_as_itself(info)
    assert info.value.requested == cp.nanos(store.ops[0]["amount"])
    assert store.kinds() == ["reserve"]
    assert _get(sim + "/_sim/usage") == []
    assert pool.ledger() == [] and pool.reserved == cp.nanos(0)


@pytest.mark.anyio
async def test_a_refusal_on_the_second_turn_keeps_the_first_turns_books(sim: str) -> None:
    """The pool holds enough for the first turn of a tool run, not for the
    second: the run raises the refusal after the tool ran; the first turn is
    settled exactly and the second never reaches the simulator."""
    settings = SETTINGS["json"]
    probe = Recorder(cp.Pool(limit=cp.nanos(10**10)))
    async with _client(sim, probe) as client:
        agent, _ = _agent(client, settings, with_tool=True)
        await agent.run("Find products under $50")
    first_hold, first_cost, second_hold = probe.ops[0]["amount"], probe.ops[1]["cost"], probe.ops[2]["amount"]
    limit = first_cost + second_hold - 1
    assert limit >= first_hold and len(_get(sim + "/_sim/usage")) == 2

    _post(sim + "/_sim/reset", {})
    pool = cp.Pool(limit=cp.nanos(limit))
    store = Recorder(pool)
    async with _client(sim, store) as client:
        agent, calls = _agent(client, settings, with_tool=True)
        with pytest.raises(cp.PoolExhaustedError) as info:
            await agent.run("Find products under $50")
    _assert_refused_as_itself(info)
    assert calls == ["products under $50"]
    assert store.kinds() == ["reserve", "settle", "reserve"]
    assert store.ops[2]["amount"] == second_hold
    assert len(_get(sim + "/_sim/usage")) == 1
    _assert_ledger_matches_usage_log(pool, sim)
