"""``Client`` and ``AsyncClient`` over a scripted transport: requests as the
core builds them, typed results, retries decided by the core (the client only
sleeps), streams with the final message at the end, timeouts and errors."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

import creditpool as cp
from fakeapi import KEY, FakeAPI, fake_client, Reply, Sleeps, error_body, message, sse, text_stream_events

MODEL = "claude-sonnet-4-5"
MSGS = [{"role": "user", "content": "Hi"}]


def make(api: FakeAPI, **kw: Any) -> tuple[cp.Client, Sleeps]:
    """A client on the fake API that records its sleeps."""
    client, sleeps = fake_client(api, **kw)
    assert isinstance(client, cp.Client)
    return client, sleeps


def test_create_sends_what_the_core_builds_and_returns_a_typed_message() -> None:
    api = FakeAPI(Reply(body=message("Hi there", usage={"input_tokens": 1000, "output_tokens": 200})))
    client, sleeps = make(api, betas=["beta-one", "beta-two"])
    msg = client.messages.create(model=MODEL, max_tokens=64, messages=MSGS, system="Be brief.")
    req = api.requests[0]
    assert (req.method, req.url.path) == ("POST", "/v1/messages")
    assert req.headers["x-api-key"] == KEY
    assert req.headers["anthropic-version"] == "2023-06-01"
    assert req.headers["anthropic-beta"] == "beta-one,beta-two"
    assert api.body() == {"model": MODEL, "max_tokens": 64, "messages": MSGS, "system": "Be brief.", "credit_pool": "programmatic"}
    assert isinstance(msg, cp.Message)
    assert (msg.text, msg.stop_reason, msg.usage.output_tokens) == ("Hi there", "end_turn", 200)
    assert isinstance(msg.content[0], cp.TextBlock)
    assert sleeps.calls == []
    cost = client.cost(msg)
    # 1,000 x $3/MTok + 200 x $15/MTok = 3,000,000 + 3,000,000 nano-USD
    assert (cost.total, str(cost.total_usd), str(cost.total)) == (cp.nanos(6_000_000), "0.006", "$0.006")


def test_pool_selector_can_be_custom_or_off() -> None:
    api = FakeAPI(Reply(body=message()), Reply(body=message()))
    client, _ = make(api, pool_selector=cp.PoolSelector(field="pool", value={"id": 7}))
    client.messages.create(model=MODEL, max_tokens=8, messages=MSGS)
    assert api.body()["pool"] == {"id": 7} and "credit_pool" not in api.body()
    client2 = cp.Client(api_key=KEY, base_url="http://api.test", http_client=httpx2.Client(transport=api.transport()), pool_selector=False)
    client2.messages.create(model=MODEL, max_tokens=8, messages=MSGS)
    assert "credit_pool" not in api.body() and "pool" not in api.body()


def test_key_from_environment_and_missing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    api = FakeAPI(Reply(body=message()))
    client = cp.Client(base_url="http://api.test", http_client=httpx2.Client(transport=api.transport()))
    client.messages.create(model=MODEL, max_tokens=8, messages=MSGS)
    assert api.requests[0].headers["x-api-key"] == KEY
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    with pytest.raises(cp.RequestBuildError) as e:
        cp.Client()
    assert e.value.kind == "missing_api_key"
    assert isinstance(e.value, ValueError)


def test_retries_follow_the_core_and_the_client_only_sleeps() -> None:
    api = FakeAPI(
        Reply(529, error_body("overloaded_error")),
        Reply(429, error_body("rate_limit_error"), headers={"retry-after-ms": "1234"}),
        Reply(body=message("ok")),
    )
    client, sleeps = make(api)
    msg = client.messages.create(model=MODEL, max_tokens=8, messages=MSGS)
    assert msg.text == "ok"
    assert len(api.requests) == 3
    # First: backoff of attempt 0 (500 ms less up to 25 % jitter); then the server's delay, exactly.
    assert 0.375 <= sleeps.calls[0] <= 0.5
    assert 1.2 <= sleeps.calls[1] <= 1.234


def test_not_retryable_status_raises_its_class_at_once() -> None:
    api = FakeAPI(Reply(400, error_body("invalid_request_error", "max_tokens: too big")))
    client, sleeps = make(api)
    with pytest.raises(cp.BadRequestError) as e:
        client.messages.create(model=MODEL, max_tokens=8, messages=MSGS)
    err = e.value
    assert (err.status, err.error_type, err.message, err.request_id) == (400, "invalid_request_error", "max_tokens: too big", "req_1")
    assert isinstance(err, cp.APIError) and isinstance(err, cp.CreditpoolError)
    assert sleeps.calls == []


@pytest.mark.parametrize(
    ("status", "kind", "cls"),
    [
        (401, "authentication_error", cp.AuthenticationError),
        (403, "permission_error", cp.PermissionDeniedError),
        (404, "not_found_error", cp.NotFoundError),
        (402, "billing_error", cp.BillingError),
        (413, "request_too_large", cp.RequestTooLargeError),
    ],
)
def test_error_classes(status: int, kind: str, cls: type[cp.APIError]) -> None:
    api = FakeAPI(Reply(status, error_body(kind)))
    client, _ = make(api)
    with pytest.raises(cls):
        client.messages.create(model=MODEL, max_tokens=8, messages=MSGS)


def test_attempts_exhausted_raises_the_last_error() -> None:
    api = FakeAPI(*[Reply(529, error_body("overloaded_error")) for _ in range(3)])
    client, sleeps = make(api, max_retries=2)
    with pytest.raises(cp.OverloadedError):
        client.messages.create(model=MODEL, max_tokens=8, messages=MSGS)
    assert len(api.requests) == 3 and len(sleeps.calls) == 2


def test_x_should_retry_false_wins() -> None:
    api = FakeAPI(Reply(500, error_body("api_error"), headers={"x-should-retry": "false"}))
    client, sleeps = make(api)
    with pytest.raises(cp.InternalServerError):
        client.messages.create(model=MODEL, max_tokens=8, messages=MSGS)
    assert sleeps.calls == []


def test_connection_errors_and_timeouts_are_retried_then_raised() -> None:
    api = FakeAPI(Reply(raise_exc=httpx2.ConnectError("refused")), Reply(raise_exc=httpx2.ReadTimeout("slow")))
    client, sleeps = make(api, max_retries=1)
    with pytest.raises(cp.APITimeoutError) as e:
        client.messages.create(model=MODEL, max_tokens=8, messages=MSGS)
    assert e.value.phase == "read" and e.value.code == "read_timeout"
    assert isinstance(e.value, cp.APIConnectionError)
    # The backoff, then the rest of the read timeout: the fake transport gave
    # up at once, and the driver waits until the core's deadline before it
    # reports the time passing (the core decides it is a timeout).
    assert len(sleeps.calls) == 2 and abs(sleeps.calls[1] - 600) < 1


def test_capabilities_are_checked_before_anything_is_sent() -> None:
    api = FakeAPI()
    client, _ = make(api)
    with pytest.raises(cp.CapabilityError) as e:
        client.messages.create(model="claude-sonnet-5", max_tokens=8, messages=MSGS, temperature=0.5)
    assert (e.value.kind, e.value.model) == ("sampling_parameter", "claude-sonnet-5")
    assert api.requests == []


def test_count_tokens() -> None:
    api = FakeAPI(Reply(body={"input_tokens": 42}))
    client, _ = make(api)
    assert client.messages.count_tokens(model=MODEL, messages=MSGS) == 42
    assert api.requests[0].url.path == "/v1/messages/count_tokens"
    assert "credit_pool" not in api.body()


def test_stream_yields_typed_events_then_the_final_message() -> None:
    api = FakeAPI(Reply(body=sse(*text_stream_events("Hello, world"))))
    client, _ = make(api)
    with client.messages.stream(model=MODEL, max_tokens=64, messages=MSGS) as stream:
        events = list(stream)
    assert api.body()["stream"] is True
    assert api.requests[0].headers["accept"] == "text/event-stream"
    types = [e.type for e in events]
    assert types[0] == "message_start" and types[-2] == "message_stop" and types[-1] == "final_message"
    final = events[-1]
    assert isinstance(final, cp.FinalMessageEvent)
    assert (final.message.text, final.message.usage.output_tokens) == ("Hello, world", 7)
    deltas = [e.delta for e in events if isinstance(e, cp.ContentBlockDeltaEvent)]
    assert all(isinstance(d, cp.TextDelta) for d in deltas)


def test_stream_chunked_anywhere_gives_the_same_message() -> None:
    body = sse(*text_stream_events("chunked ünïcode text"))
    chunks = [body[i : i + 7] for i in range(0, len(body), 7)]
    api = FakeAPI(Reply(chunks=chunks))
    client, _ = make(api)
    stream = client.messages.stream(model=MODEL, max_tokens=64, messages=MSGS)
    assert "".join(stream.text_stream) == "chunked ünïcode text"
    assert stream.final_message().text == "chunked ünïcode text"


def test_mid_stream_overloaded_error_is_retried_with_a_retry_event() -> None:
    first = text_stream_events("lost")[:3] + [{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}]
    api = FakeAPI(Reply(body=sse(*first)), Reply(body=sse(*text_stream_events("second try"))))
    client, sleeps = make(api)
    events = list(client.messages.stream(model=MODEL, max_tokens=64, messages=MSGS))
    retries = [e for e in events if isinstance(e, cp.StreamRetryEvent)]
    assert len(retries) == 1 and retries[0].code == "overloaded_error" and retries[0].attempt == 0
    assert len(sleeps.calls) == 1
    final = events[-1]
    assert isinstance(final, cp.FinalMessageEvent) and final.message.text == "second try"


def test_mid_stream_error_not_retryable_is_raised_as_its_class() -> None:
    first = text_stream_events("abcdef")[:4] + [{"type": "error", "error": {"type": "invalid_request_error", "message": "nope"}}]
    api = FakeAPI(Reply(body=sse(*first)))
    client, _ = make(api)
    with pytest.raises(cp.BadRequestError) as e:
        list(client.messages.stream(model=MODEL, max_tokens=64, messages=MSGS))
    assert e.value.status is None and e.value.error_type == "invalid_request_error"
    assert e.value.attempts == 1
    assert e.value.give_up_reason == {"type": "not_retryable_stream_error", "error_type": "invalid_request_error"}


def test_cut_stream_is_incomplete_with_partial_when_retries_are_off() -> None:
    api = FakeAPI(Reply(body=sse(*text_stream_events("abcdef", stop=False))))
    client, _ = make(api, max_retries=0)
    with pytest.raises(cp.StreamIncompleteError) as e:
        list(client.messages.stream(model=MODEL, max_tokens=64, messages=MSGS))
    assert e.value.partial is not None and e.value.partial["content"][0]["text"] == "abcdef"


def test_stalled_stream_hits_the_idle_timeout() -> None:
    head = sse(*text_stream_events("abcdef")[:4])
    api = FakeAPI(Reply(chunks=[head], then_raise=httpx2.ReadTimeout("idle")))
    client, _ = make(api, max_retries=0, timeout=cp.Timeouts(stream_idle=0.5))
    with pytest.raises(cp.APITimeoutError) as e:
        list(client.messages.stream(model=MODEL, max_tokens=64, messages=MSGS))
    assert e.value.phase == "idle"
    assert getattr(e.value, "partial")["content"][0]["text"] == "abc"
    assert api.requests[0].extensions["timeout"]["read"] == 0.5


def test_stream_http_error_status_is_retried_then_succeeds() -> None:
    api = FakeAPI(Reply(529, error_body("overloaded_error")), Reply(body=sse(*text_stream_events("fine"))))
    client, sleeps = make(api)
    events = list(client.messages.stream(model=MODEL, max_tokens=64, messages=MSGS))
    assert not any(isinstance(e, cp.StreamRetryEvent) for e in events)
    assert events[-1].message.text == "fine"  # type: ignore[union-attr]
    assert len(sleeps.calls) == 1


def test_tool_use_stream_assembles_the_input() -> None:
    start = message("", content=[])
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": start},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {}}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": '{"sku": "A-'}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": '1", "qty": 3}'}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}},
        {"type": "message_stop"},
    ]
    api = FakeAPI(Reply(body=sse(*events)))
    client, _ = make(api)
    msg = client.messages.stream(model=MODEL, max_tokens=64, messages=MSGS).final_message()
    assert msg.stop_reason == "tool_use"
    (call,) = msg.tool_uses
    assert (call.id, call.name, call.input) == ("toolu_1", "lookup", {"sku": "A-1", "qty": 3})


def test_typed_blocks_and_messages_can_be_sent_back() -> None:
    api = FakeAPI(Reply(body=message("first")), Reply(body=message("second")))
    client, _ = make(api)
    first = client.messages.create(model=MODEL, max_tokens=8, messages=MSGS)
    client.messages.create(model=MODEL, max_tokens=8, messages=[*MSGS, {"role": "assistant", "content": first.content}, {"role": "user", "content": "more"}])
    assert api.body()["messages"][1] == {"role": "assistant", "content": [{"type": "text", "text": "first"}]}


def test_unknown_fields_and_blocks_survive() -> None:
    body = message(content=[{"type": "hologram", "frames": 3}, {"type": "text", "text": "x", "new_field": 1}])
    body["container"] = {"id": "c1"}
    api = FakeAPI(Reply(body=body))
    client, _ = make(api)
    msg = client.messages.create(model=MODEL, max_tokens=8, messages=MSGS)
    assert isinstance(msg.content[0], cp.UnknownBlock) and msg.content[0]["frames"] == 3
    assert msg.content[1]["new_field"] == 1 and msg["container"] == {"id": "c1"}
    assert msg.to_dict() == json.loads(json.dumps(body))


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio."""
    return "asyncio"


def amake(api: FakeAPI, **kw: Any) -> tuple[cp.AsyncClient, Sleeps]:
    """An async client on the fake API that records its sleeps."""
    client = cp.AsyncClient(api_key=KEY, base_url="http://api.test", http_client=httpx2.AsyncClient(transport=api.transport()), **kw)
    sleeps = Sleeps()
    client._sleep = sleeps.asleep
    client._clock = sleeps.clock
    return client, sleeps


@pytest.mark.anyio
async def test_async_create_with_retry() -> None:
    api = FakeAPI(Reply(529, error_body("overloaded_error")), Reply(body=message("async ok")))
    client, sleeps = amake(api)
    msg = await client.messages.create(model=MODEL, max_tokens=8, messages=MSGS)
    assert msg.text == "async ok" and len(sleeps.calls) == 1


@pytest.mark.anyio
async def test_async_stream_and_errors() -> None:
    api = FakeAPI(Reply(chunks=[sse(*text_stream_events("async stream"))]), Reply(401, error_body("authentication_error")))
    client, _ = amake(api)
    async with client.messages.stream(model=MODEL, max_tokens=8, messages=MSGS) as stream:
        types = [e.type async for e in stream]
    assert types[-1] == "final_message"
    assert (await stream.final_message()).text == "async stream"
    with pytest.raises(cp.AuthenticationError):
        await client.messages.create(model=MODEL, max_tokens=8, messages=MSGS)
