"""The clients against the real simulator binary (``creditpool-sim``): JSON
and SSE, tool use, the pool selector and usage as the simulator logged it,
and faults from scripted scenarios retried by the core's policy."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

import creditpool as cp

MODEL = "claude-haiku-4-5"


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def _post(url: str, body: Any) -> Any:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def test_create_and_stream_agree_with_the_usage_log(sim: str) -> None:
    with cp.Client(api_key="sk-sim", base_url=sim) as client:
        msg = client.messages.create(model=MODEL, max_tokens=200, messages=[{"role": "user", "content": "Hello there"}], metadata={"user_id": "agent-a"})
        events = list(client.messages.stream(model=MODEL, max_tokens=200, messages=[{"role": "user", "content": "Hello again"}]))
    final = events[-1]
    assert isinstance(final, cp.FinalMessageEvent)
    log = _get(sim + "/_sim/usage")
    assert [e["stream"] for e in log] == [False, True]
    assert log[0]["credit_pool"] == "programmatic" and log[0]["user_id"] == "agent-a"
    assert log[0]["usage"]["output_tokens"] == msg.usage.output_tokens
    assert log[1]["usage"]["output_tokens"] == final.message.usage.output_tokens
    assert log[1]["usage"]["input_tokens"] == final.message.usage.input_tokens


def test_scripted_faults_are_retried(sim: str) -> None:
    _post(sim + "/_sim/scenario", {"steps": [
        {"error": {"status": 529}},
        {"error": {"status": 429, "headers": {"retry-after-ms": "20"}}},
    ]})
    with cp.Client(api_key="sk-sim", base_url=sim, retry_policy={"initial_backoff_ms": 10}) as client:
        msg = client.messages.create(model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "Hi"}])
    assert msg.stop_reason == "end_turn"
    assert len(_get(sim + "/_sim/usage")) == 1


def test_stream_errors_and_cuts_are_retried(sim: str) -> None:
    _post(sim + "/_sim/scenario", {"steps": [
        {"stream_error": {"after_deltas": 1, "type": "overloaded_error"}},
        {"cut_after_bytes": 400},
        {"text": "Recovered after two failures."},
    ]})
    with cp.Client(api_key="sk-sim", base_url=sim, retry_policy={"initial_backoff_ms": 10}) as client:
        events = list(client.messages.stream(model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "Hi"}]))
    retries = [e for e in events if isinstance(e, cp.StreamRetryEvent)]
    assert [r.code for r in retries] == ["overloaded_error", "stream_incomplete"]
    final = events[-1]
    assert isinstance(final, cp.FinalMessageEvent) and final.message.text == "Recovered after two failures."


def test_a_request_the_api_refuses_is_a_bad_request(sim: str) -> None:
    with cp.Client(api_key="sk-sim", base_url=sim, pool_selector=False) as client:
        with pytest.raises(cp.BadRequestError):
            client.messages.create(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": ""}])


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio."""
    return "asyncio"


@pytest.mark.anyio
async def test_async_tool_loop(sim: str) -> None:
    @cp.tool
    async def search_database(query: str) -> list[str]:
        """Search the product database.

        Args:
            query: What to look for.
        """
        return [query.upper()]

    tools = cp.Toolbox([search_database])
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Search the database for blue mugs"}]
    async with cp.AsyncClient(api_key="sk-sim", base_url=sim) as client:
        for _ in range(5):
            reply = await client.messages.create(model=MODEL, max_tokens=400, messages=messages, tools=tools.definitions)
            messages.append({"role": "assistant", "content": reply.content})
            if reply.stop_reason != "tool_use":
                break
            messages.append({"role": "user", "content": await tools.arespond(reply)})
    assert reply.stop_reason == "end_turn"
    assert "BLUE MUGS" in reply.text.upper()
