"""``creditpool.middleware`` inside the official ``anthropic`` SDK (the version
pinned in the test dependencies), against the real simulator: the pool's
ledger equals the simulator's usage log request by request, a refusal never
reaches the simulator and raises the typed error, a retried call reserves
once, an abandoned stream is settled by the core's rules while the caller's
events are the SDK's own, and other endpoints pass through untouched."""

from __future__ import annotations

import json
import socket
import urllib.request
from typing import Any

import anthropic
import pytest

import creditpool as cp
from creditpool import _middleware

MODEL = "claude-haiku-4-5"
PRICES = cp.PriceTable()


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def _post(url: str, body: Any) -> Any:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


class Recorder:
    """A pool store that applies every operation to a ``Pool`` and records it."""

    def __init__(self, pool: cp.Pool) -> None:
        self.pool = pool
        self.ops: list[dict[str, Any]] = []

    def apply(self, op: dict[str, Any]) -> dict[str, Any]:
        self.ops.append(op)
        return self.pool.apply(op)

    def kinds(self) -> list[str]:
        return [str(o["op"]) for o in self.ops]


class AsyncRecorder(Recorder):
    """``Recorder`` as an ``AsyncPoolStore`` (a store behind the network)."""

    async def apply(self, op: dict[str, Any]) -> dict[str, Any]:  # type: ignore[override]
        return Recorder.apply(self, op)


def _pool(limit: cp.Money = cp.usd(10)) -> cp.Pool:
    return cp.Pool(limit=limit)


def _client(sim: str, store: Any, **kwargs: Any) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="sk-sim", base_url=sim, middleware=[cp.middleware(store, agent="researcher")], **kwargs)


def _assert_ledger_matches_usage_log(pool: cp.Pool, sim: str) -> None:
    """Every request the simulator billed has one settle with its request id
    and exactly its price; nothing is settled that the simulator did not see."""
    log = _get(sim + "/_sim/usage")
    settles = [e for e in pool.ledger() if e.kind == "settle"]
    assert [e.request_id for e in settles] == [u["request_id"] for u in log]
    for entry, usage in zip(settles, log):
        assert not entry.to_dict().get("estimated", False)
        assert entry.cost == cp.nanos(PRICES.cost(usage["model"], usage["billed"])["total"])
        assert entry.agent == "researcher"
    assert pool.reserved == cp.nanos(0)


def test_create_settles_from_the_usage_and_adds_the_selector(sim: str) -> None:
    pool = _pool()
    store = Recorder(pool)
    with _client(sim, store) as client:
        msg = client.messages.create(model=MODEL, max_tokens=200, messages=[{"role": "user", "content": "Hello there"}])
    assert isinstance(msg, anthropic.types.Message) and msg.stop_reason == "end_turn"
    assert store.kinds() == ["reserve", "settle"]
    log = _get(sim + "/_sim/usage")
    assert log[0]["credit_pool"] == "programmatic"
    assert log[0]["usage"]["output_tokens"] == msg.usage.output_tokens
    _assert_ledger_matches_usage_log(pool, sim)
    # The reservation was the core's worst case for the body that was sent.
    assert store.ops[0]["amount"] >= store.ops[1]["cost"]


def test_pool_selector_is_configurable_and_can_be_off(sim: str) -> None:
    pool = _pool()
    off = cp.middleware(pool, agent="researcher", pool_selector=False)
    custom = cp.middleware(pool, agent="researcher", pool_selector={"field": "credit_pool", "value": "team-a"})
    with anthropic.Anthropic(api_key="sk-sim", base_url=sim, middleware=[off]) as client:
        client.messages.create(model=MODEL, max_tokens=50, messages=[{"role": "user", "content": "Hi"}])
    with anthropic.Anthropic(api_key="sk-sim", base_url=sim, middleware=[custom]) as client:
        client.messages.create(model=MODEL, max_tokens=50, messages=[{"role": "user", "content": "Hi"}])
    log = _get(sim + "/_sim/usage")
    assert [u.get("credit_pool") for u in log] == [None, "team-a"]
    _assert_ledger_matches_usage_log(pool, sim)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_async_client_with_an_async_store(sim: str) -> None:
    pool = _pool()
    store = AsyncRecorder(pool)
    async with anthropic.AsyncAnthropic(api_key="sk-sim", base_url=sim, middleware=[cp.middleware(store, agent="researcher")]) as client:
        msg = await client.messages.create(model=MODEL, max_tokens=200, messages=[{"role": "user", "content": "Hello async"}])
        async with client.messages.stream(model=MODEL, max_tokens=200, messages=[{"role": "user", "content": "Stream async"}]) as stream:
            final = await stream.get_final_message()
    assert msg.stop_reason == "end_turn" and final.stop_reason == "end_turn"
    assert store.kinds() == ["reserve", "settle", "reserve", "settle"]
    _assert_ledger_matches_usage_log(pool, sim)


def _events(client: anthropic.Anthropic, prompt: str, stop_after: int | None = None) -> list[str]:
    seen: list[str] = []
    with client.messages.stream(model=MODEL, max_tokens=300, messages=[{"role": "user", "content": prompt}]) as stream:
        for event in stream:
            seen.append(event.type + ":" + getattr(getattr(event, "delta", None), "text", ""))
            if stop_after is not None and len(seen) >= stop_after:
                break
    return seen


def test_stream_settles_from_a_copy_and_the_caller_sees_the_sdks_events(sim: str) -> None:
    prompt = "Tell me a short story about a lighthouse"
    with anthropic.Anthropic(api_key="sk-sim", base_url=sim) as plain:
        expected = _events(plain, prompt)
    _post(sim + "/_sim/reset", {})
    pool = _pool()
    store = Recorder(pool)
    with _client(sim, store) as client:
        got = _events(client, prompt)
    assert got == expected and len(got) > 4
    assert store.kinds() == ["reserve", "settle"]
    _assert_ledger_matches_usage_log(pool, sim)


def test_an_abandoned_stream_is_settled_at_its_worst_case_flagged_estimated(sim: str) -> None:
    prompt = "Tell me a long story about a lighthouse keeper and the sea"
    # Paced events: the caller leaves long before the message_stop is sent.
    step = {"text": "The keeper climbed the stairs every night and lit the lamp for the ships at sea.", "event_delay_ms": 20}
    _post(sim + "/_sim/scenario", {"steps": [step, step]})
    with anthropic.Anthropic(api_key="sk-sim", base_url=sim) as plain:
        expected = _events(plain, prompt, stop_after=3)
    pool = _pool()
    store = Recorder(pool)
    with _client(sim, store) as client:
        got = _events(client, prompt, stop_after=3)
    assert got == expected
    assert store.kinds() == ["reserve", "settle"]
    (entry,) = pool.ledger()
    assert entry.kind == "settle" and entry.to_dict().get("estimated") is True
    assert entry.cost == cp.nanos(store.ops[0]["amount"])
    assert pool.reserved == cp.nanos(0)


def test_a_529_then_a_success_reserves_once_and_settles_once(sim: str) -> None:
    _post(sim + "/_sim/scenario", {"steps": [{"error": {"status": 529, "headers": {"retry-after-ms": "10"}}}]})
    pool = _pool()
    store = Recorder(pool)
    with _client(sim, store) as client:
        msg = client.messages.create(model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "Hi"}])
    assert msg.stop_reason == "end_turn"
    assert store.kinds() == ["reserve", "settle"]
    _assert_ledger_matches_usage_log(pool, sim)


def test_a_429_on_every_attempt_releases_the_hold_once_the_sdk_gives_up(sim: str) -> None:
    error = {"error": {"status": 429, "headers": {"retry-after-ms": "10"}}}
    _post(sim + "/_sim/scenario", {"steps": [error, error, error]})
    pool = _pool()
    store = Recorder(pool)
    with _client(sim, store) as client:
        with pytest.raises(anthropic.RateLimitError):
            client.messages.create(model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "Hi"}])
    assert store.kinds() == ["reserve", "release"]
    assert pool.reserved == cp.Money.ZERO and pool.settled == cp.Money.ZERO
    assert _get(sim + "/_sim/usage") == []


def test_a_refused_request_never_reaches_the_simulator_and_raises_the_typed_refusal(sim: str) -> None:
    pool = _pool(limit=cp.nanos(1000))
    store = Recorder(pool)
    with _client(sim, store) as client:
        with pytest.raises(cp.PoolExhaustedError) as info:
            client.messages.create(model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "Hi"}])
        with pytest.raises(cp.PoolExhaustedError):
            with client.messages.stream(model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "Hi"}]) as s:
                s.get_final_message()
    # Raised as it is: not wrapped as a connection error, not retried.
    assert type(info.value) is cp.PoolExhaustedError and not isinstance(info.value, anthropic.APIError)
    assert info.value.code == "pool_exhausted"
    assert store.kinds() == ["reserve", "reserve"]
    assert _get(sim + "/_sim/usage") == []
    assert pool.ledger() == [] and pool.reserved == cp.nanos(0)


def test_count_tokens_and_other_endpoints_pass_through_untouched(sim: str) -> None:
    pool = _pool()
    store = Recorder(pool)
    with _client(sim, store) as client:
        counted = client.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "Count me"}])
    assert counted.input_tokens > 0
    assert store.ops == []


def test_a_connection_that_never_opens_releases_once_the_sdk_gives_up() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pool = _pool()
    store = Recorder(pool)
    mw = cp.middleware(store, agent="researcher", max_retries=1)
    with anthropic.Anthropic(api_key="sk-sim", base_url=f"http://127.0.0.1:{port}", middleware=[mw], max_retries=1) as client:
        with pytest.raises(anthropic.APIConnectionError):
            client.messages.create(model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "Hi"}])
    assert store.kinds() == ["reserve", "release"]
    assert pool.reserved == cp.Money.ZERO and pool.settled == cp.Money.ZERO


def test_with_middleware_and_a_per_client_copy(sim: str) -> None:
    pool = _pool()
    with anthropic.Anthropic(api_key="sk-sim", base_url=sim) as base:
        client = base.with_middleware(cp.middleware(pool, agent="researcher"))
        client.messages.create(model=MODEL, max_tokens=50, messages=[{"role": "user", "content": "Hi"}])
        base.messages.create(model=MODEL, max_tokens=50, messages=[{"role": "user", "content": "Not metered"}])
    log = _get(sim + "/_sim/usage")
    assert len(log) == 2 and len(pool.ledger()) == 1
    assert pool.ledger()[0].request_id == log[0]["request_id"]


def test_a_body_the_core_cannot_price_is_a_typed_error_before_anything_is_sent(sim: str) -> None:
    pool = _pool()
    store = Recorder(pool)
    with _client(sim, store) as client:
        with pytest.raises(cp.UnknownModelError):
            client.messages.create(model="claude-imaginary-9", max_tokens=50, messages=[{"role": "user", "content": "Hi"}])
    assert store.ops == [] and _get(sim + "/_sim/usage") == []


def test_an_sdk_without_the_middleware_hook_is_a_typed_error_naming_the_minimum(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(anthropic, "Middleware")
    monkeypatch.setattr(_middleware, "_CLASS", None)
    with pytest.raises(cp.SdkUnsupportedError) as info:
        cp.middleware(_pool(), agent="researcher")
    assert info.value.code == "sdk_unsupported"
    assert info.value.minimum == cp.MIN_SDK_VERSION == "2.17.0"
    assert "anthropic>=2.17.0" in str(info.value)


def test_options_are_read_strictly() -> None:
    with pytest.raises(cp.RequestBuildError):
        cp.middleware(_pool(), agent="researcher", pool_selector={"field": "model", "value": "x"})
    with pytest.raises(cp.InvalidOptionsError):
        cp.middleware(object(), agent="researcher")  # type: ignore[arg-type]


def test_a_thread_continue_request_is_reserved_at_the_models_context_window(sim: str) -> None:
    """Its body holds only the new messages while the API bills the stored
    thread: the hold is the model's whole context window at the 1-hour
    cache-write rate (claude-haiku-4-5: 200,000 tokens at 2000 nano-USD)."""
    pool = _pool()
    store = Recorder(pool)
    thread = {"thread": {"type": "continue", "previous_message_id": "msg_previous"}}
    with _client(sim, store) as client:
        try:
            client.messages.create(model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "And then?"}], extra_body=thread)
        except anthropic.APIStatusError:
            pass  # the simulator does not speak threads yet; the hold is released
    # The pool's book of threads was asked first: it does not know the thread.
    assert store.ops[0] == {"op": "thread_lookup", "message_id": "msg_previous", "now_ms": store.ops[0]["now_ms"]}
    assert store.ops[1]["op"] == "reserve"
    assert store.ops[1]["amount"] == 200_000 * 2000 + 100 * 5000 + 10 * 10_000_000 + 4_166_667  # window, output, the unknown create's 10 searches and 5 container minutes
    assert pool.reserved == cp.nanos(0)


def test_an_async_store_with_the_sync_client_is_a_typed_error_before_anything_is_sent(sim: str) -> None:
    store = AsyncRecorder(_pool())
    with _client(sim, store) as client:
        with pytest.raises(cp.InvalidOptionsError, match="AsyncAnthropic"):
            client.messages.create(model=MODEL, max_tokens=50, messages=[{"role": "user", "content": "Hi"}])
    assert _get(sim + "/_sim/usage") == []


def test_a_stream_dropped_unclosed_is_settled_by_the_rules(sim: str) -> None:
    """The caller reads a few events of ``create(stream=True)`` and drops the
    stream without closing it: the copy is settled when it is collected."""
    import gc

    step = {"text": "The keeper climbed the stairs every night and lit the lamp for the ships at sea.", "event_delay_ms": 20}
    _post(sim + "/_sim/scenario", {"steps": [step]})
    pool = _pool()
    store = Recorder(pool)
    with _client(sim, store) as client:
        stream = client.messages.create(model=MODEL, max_tokens=300, messages=[{"role": "user", "content": "Tell me"}], stream=True)
        it = iter(stream)
        types = [next(it).type for _ in range(3)]
        assert types[0] == "message_start"
        del it, stream
        gc.collect()
        # Settled on collection, with the client still open.
        assert store.kinds() == ["reserve", "settle"]
    (entry,) = pool.ledger()
    assert entry.to_dict().get("estimated") is True and entry.cost == cp.nanos(store.ops[0]["amount"])
    assert pool.reserved == cp.nanos(0)
