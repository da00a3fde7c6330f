"""Code execution container time through ``creditpool.middleware`` (the
rule is the core's: ``crates/creditpool-core/src/pricing/container.rs``):
``container_minutes`` reaches the core, a value below the billing minimum is a
typed error before anything is sent, and a container-billed request is
reserved with its container time (a free one without)."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

import creditpool as cp
from test_middleware import Recorder, _get

MODEL = "claude-haiku-4-5"
CODE_EXECUTION = {"type": "code_execution_20250825", "name": "code_execution"}
# $0.05 per container-hour = 50,000,000 nano-USD; N minutes: ceil(N x 50,000,000 / 60).
FIVE_MINUTES = 4_166_667
AN_HOUR = 50_000_000


def _reserved(sim: str, tools: list[dict[str, Any]], **options: Any) -> int:
    """The amount the middleware reserved for one call with these tools."""
    store = Recorder(cp.Pool(limit=cp.usd(10)))
    client = anthropic.Anthropic(api_key="sk-sim", base_url=sim, max_retries=0, middleware=[cp.middleware(store, agent="researcher", **options)])
    with client:
        try:
            client.messages.create(model=MODEL, max_tokens=100, tools=tools, messages=[{"role": "user", "content": "Sum 1..10 in Python"}])  # type: ignore[arg-type]
        except anthropic.APIStatusError:
            pass  # the simulator may not run server tools; the hold is released
    assert store.ops[0]["op"] == "reserve"
    assert store.pool.reserved == cp.nanos(0)
    return int(store.ops[0]["amount"])


@pytest.mark.parametrize("minutes", [4, 0, 43_201])
def test_container_minutes_out_of_range_is_a_typed_error_when_the_middleware_is_made(sim: str, minutes: int) -> None:
    store = Recorder(cp.Pool(limit=cp.usd(10)))
    with pytest.raises(cp.InvalidOptionsError) as info:
        cp.middleware(store, agent="researcher", container_minutes=minutes)
    assert info.value.code == "invalid_container_minutes"
    assert f"container_minutes = {minutes}" in str(info.value)
    assert store.ops == [] and _get(sim + "/_sim/usage") == []


def test_a_container_billed_request_reserves_its_container_minutes(sim: str) -> None:
    default = _reserved(sim, [CODE_EXECUTION])
    an_hour = _reserved(sim, [CODE_EXECUTION], container_minutes=60)
    # The same body: only the container time differs.
    assert an_hour - default == AN_HOUR - FIVE_MINUTES


def test_beside_web_search_20260209_code_execution_reserves_no_container_time(sim: str) -> None:
    # Free: container_minutes changes nothing.
    search = {"type": "web_search_20260209", "name": "web_search", "max_uses": 1}
    assert _reserved(sim, [CODE_EXECUTION, search]) == _reserved(sim, [CODE_EXECUTION, search], container_minutes=60)
    # The older web search tool does not make it free.
    old = {"type": "web_search_20250305", "name": "web_search", "max_uses": 1}
    assert _reserved(sim, [CODE_EXECUTION, old], container_minutes=60) - _reserved(sim, [CODE_EXECUTION, old]) == AN_HOUR - FIVE_MINUTES
