"""The official anthropic Python SDK, unchanged, against creditpool-sim.

If these pass, the simulator's JSON, streams, errors and headers are shaped
closely enough for the SDK's own parsing, accumulation and retry logic."""

import anthropic
import pytest

MODEL = "claude-haiku-4-5"
SEARCH_TOOL = {
    "name": "search_database",
    "description": "Query the product inventory database.",
    "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
}
PROMPT = "Find products under $50"


def test_plain_text(sim):
    client = sim.client()
    message = client.messages.create(model=MODEL, max_tokens=200, messages=[{"role": "user", "content": "Say hello"}])
    assert message.type == "message"
    assert message.role == "assistant"
    assert message.model == MODEL
    assert message.stop_reason == "end_turn"
    assert message.content[0].type == "text"
    assert "simulator" in message.content[0].text
    assert 0 < message.usage.input_tokens
    assert 0 < message.usage.output_tokens <= 200
    assert message._request_id == "req_sim_000001"
    [entry] = sim.usage()
    assert entry["usage"]["output_tokens"] == message.usage.output_tokens


def test_tool_use_round_trip(sim):
    client = sim.client()
    messages = [{"role": "user", "content": PROMPT}]
    first = client.messages.create(model=MODEL, max_tokens=300, tools=[SEARCH_TOOL], messages=messages)
    assert first.stop_reason == "tool_use"
    [call] = [b for b in first.content if b.type == "tool_use"]
    assert call.name == "search_database"
    assert call.input == {"query": "products under $50"}
    messages += [
        {"role": "assistant", "content": first.content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "Desk lamp ($35), Mug ($12)"}]},
    ]
    second = client.messages.create(model=MODEL, max_tokens=300, tools=[SEARCH_TOOL], messages=messages)
    assert second.stop_reason == "end_turn"
    assert "Desk lamp ($35), Mug ($12)" in second.content[0].text


def test_extra_body_pool_selector_is_accepted_and_echoed(sim):
    client = sim.client()
    raw = client.messages.with_raw_response.create(
        model=MODEL, max_tokens=50, messages=[{"role": "user", "content": "hi"}], extra_body={"credit_pool": "programmatic"}
    )
    assert raw.headers["x-creditpool-credit-pool"] == "programmatic"
    assert raw.headers["request-id"].startswith("req_sim_")
    assert raw.parse().stop_reason in ("end_turn", "max_tokens")
    assert sim.usage()[0]["credit_pool"] == "programmatic"


def test_streaming_get_final_message(sim):
    client = sim.client()
    with client.messages.stream(model=MODEL, max_tokens=300, tools=[SEARCH_TOOL], messages=[{"role": "user", "content": PROMPT}]) as stream:
        streamed_text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    assert streamed_text == final.content[0].text
    [call] = [b for b in final.content if b.type == "tool_use"]
    assert call.input == {"query": "products under $50"}
    [entry] = sim.usage()
    assert entry["stream"] is True
    assert entry["usage"]["input_tokens"] == final.usage.input_tokens
    assert entry["usage"]["output_tokens"] == final.usage.output_tokens


def test_429_then_success_with_the_sdks_own_retry(sim):
    sim.scenario([{"error": {"status": 429, "retry_after": 1}}])
    client = sim.client(max_retries=2)
    raw = client.messages.with_raw_response.create(model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "hi"}])
    assert raw.retries_taken == 1
    assert raw.parse().stop_reason == "end_turn"
    assert len(sim.usage()) == 1


def test_429_without_retries_shows_retry_after(sim):
    sim.scenario([{"error": {"status": 429, "retry_after": 1}}])
    with pytest.raises(anthropic.RateLimitError) as info:
        sim.client(max_retries=0).messages.create(model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "hi"}])
    assert info.value.status_code == 429
    assert info.value.response.headers["retry-after"] == "1"
    assert info.value.body["error"]["type"] == "rate_limit_error"
    assert info.value.request_id == "req_sim_000001"


def test_529_is_an_overloaded_error(sim):
    sim.scenario([{"error": {"status": 529}}])
    with pytest.raises(anthropic.InternalServerError) as info:
        sim.client(max_retries=0).messages.create(model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "hi"}])
    assert info.value.status_code == 529


def test_401_raises_authentication_error(sim):
    with pytest.raises(anthropic.AuthenticationError) as info:
        sim.client(api_key="sk-wrong").messages.create(model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "hi"}])
    assert info.value.status_code == 401
    assert info.value.body["error"]["type"] == "authentication_error"
    assert sim.usage() == []


def test_400_raises_bad_request_error(sim):
    with pytest.raises(anthropic.BadRequestError) as info:
        sim.client().messages.create(model=MODEL, max_tokens=0, messages=[{"role": "user", "content": "hi"}])
    assert "max_tokens" in info.value.body["error"]["message"]


def test_mid_stream_overloaded_error_raises(sim):
    sim.scenario([{"stream_error": {"after_deltas": 1}}])
    with pytest.raises(anthropic.APIStatusError) as info:
        with sim.client(max_retries=0).messages.stream(model=MODEL, max_tokens=200, messages=[{"role": "user", "content": "Tell me a story"}]) as stream:
            for _ in stream:
                pass
    assert "overloaded_error" in str(info.value)


def test_count_tokens(sim):
    counted = sim.client().messages.count_tokens(model=MODEL, tools=[SEARCH_TOOL], messages=[{"role": "user", "content": PROMPT}])
    assert counted.input_tokens > 0
    assert sim.usage() == []
