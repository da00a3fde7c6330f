"""The official SDK's tool runner (anthropic 2.17: ``client.beta.messages.tool_runner``)
sends its turns on a message thread: a create with the whole conversation,
then continues with only the new messages. Through ``creditpool.middleware``
against the simulator (which speaks threads): the ledger equals the
simulator's usage log request by request; each continue is reserved at the
thread's bound (computed here by hand from the bytes sent and the responses,
far below the context window, never below what the simulator billed); an
expired thread answers 404, the middleware releases, the SDK replays with a
new create, and the books stay exact; ``unknown_thread="refuse"`` raises the
typed error before anything is sent."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import anthropic
import pytest
from anthropic import beta_tool

import creditpool as cp
from creditpool import _middleware
from creditpool._transport import now_ms

from test_middleware import Recorder, _assert_ledger_matches_usage_log, _get

MODEL = "claude-haiku-4-5"
MAX_TOKENS = 300
PRICES = cp.PriceTable()
# Claude Haiku 4.5: $1 / $5 per MTok; a 200,000-token context window, whose
# unknown-thread bound is at the 1-hour cache-write rate ($2 / MTok).
IN, OUT, WRITE_1H, WINDOW = 1000, 5000, 2000, 200_000
# An unknown thread's create may have had tools: the default 10 web searches
# and 5 minutes of code-execution container time are added to its hold.
UNKNOWN_TOOLS = 10 * 10_000_000 + 4_166_667
TTL_MS = 300_000


def _post(url: str, body: Any) -> Any:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def _scenario(sim: str, tool_turns: int) -> None:
    steps: list[dict[str, Any]] = [{"tool_use": {"name": "get_weather", "input": {"city": f"City {i}"}}} for i in range(tool_turns)]
    steps.append({"text": "All done: the weather is fine everywhere."})
    _post(sim + "/_sim/scenario", {"steps": steps})


class Clock:
    """The middleware's clock and the simulator's, moved forward together."""

    def __init__(self, sim: str) -> None:
        self.sim = sim
        self.offset = 0

    def __call__(self) -> int:
        return now_ms() + self.offset

    def advance(self, ms: int) -> None:
        self.offset += ms
        _post(self.sim + "/_sim/clock", {"advance_ms": ms})


class Spy(anthropic.Middleware):
    """Records the body the SDK built for each Messages request (what the meter reads)."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def handle(self, request: Any, call_next: Any) -> Any:
        if _creditpool_applies(request):
            self.bodies.append(_middleware._body(request))
        return call_next(request)


def _creditpool_applies(request: Any) -> bool:
    return bool(cp._creditpool.meter_applies(request.method, str(request.url)))


def _sent_len(body: bytes) -> int:
    """The bytes of the body the middleware sends: the SDK's, with the selector (compact JSON)."""
    d = json.loads(body)
    d["credit_pool"] = "programmatic"
    return len(json.dumps(d, separators=(",", ":"), ensure_ascii=False).encode())


def _content_len(message: Any) -> int:
    return len(json.dumps([b.to_dict() for b in message.content], separators=(",", ":"), ensure_ascii=False).encode())


def _thread_after(bound: int, usage: dict[str, Any], content_len: int) -> int:
    """The thread's input bound after a response: the core's rule (meter.rs)."""
    billed_in = usage["input_tokens"] + (usage.get("cache_creation_input_tokens") or 0) + (usage.get("cache_read_input_tokens") or 0)
    return int(max(bound, billed_in) + usage["output_tokens"] + content_len)


def _run(client: anthropic.Anthropic, calls: list[str], on_call: Any = None) -> list[Any]:
    @beta_tool
    def get_weather(city: str) -> str:
        """Get the current weather in a city."""
        calls.append(city)
        if on_call is not None:
            on_call(len(calls))
        return f"{city}: 21 degrees and sunny"

    runner = client.beta.messages.tool_runner(
        model=MODEL, max_tokens=MAX_TOKENS, tools=[get_weather], messages=[{"role": "user", "content": "What is the weather in three cities?"}]
    )
    return list(runner)


def _nanos(v: Any) -> int:
    """Nano-USD from a figure the pool or the price table gives (an int, or a ``Money``)."""
    return int(getattr(v, "nanos", v))


def _money_kinds(store: Recorder) -> list[str]:
    """The operations on the books of money (the thread book's left out)."""
    return [k for k in store.kinds() if not k.startswith("thread_")]


def _reserves(store: Recorder) -> list[int]:
    return [_nanos(o["amount"]) for o in store.ops if o["op"] == "reserve"]


def test_a_tool_run_on_a_thread_reserves_each_continue_at_the_threads_bound(sim: str) -> None:
    _scenario(sim, 3)
    pool = cp.Pool(limit=cp.usd(10))
    store = Recorder(pool)
    spy = Spy()
    calls: list[str] = []
    with anthropic.Anthropic(api_key="sk-sim", base_url=sim, middleware=[spy, cp.middleware(store, agent="researcher")]) as client:
        messages = _run(client, calls)
    assert calls == ["City 0", "City 1", "City 2"]
    assert [m.stop_reason for m in messages] == ["tool_use", "tool_use", "tool_use", "end_turn"]
    log = _get(sim + "/_sim/usage")
    # The runner threaded its turns: one create, then continues with only the new messages.
    assert [u.get("thread") for u in log] == ["create", "continue", "continue", "continue"]
    assert all("system" not in json.loads(b) and "tools" not in json.loads(b) for b in spy.bodies[1:])
    # The book of threads is the pool's: each continue looks its thread up
    # before it reserves; each response on the thread is recorded after its settle.
    assert store.kinds() == ["reserve", "settle", "thread_record"] + ["thread_lookup", "reserve", "settle", "thread_record"] * 3
    records = [o for o in store.ops if o["op"] == "thread_record"]
    lookups = [o for o in store.ops if o["op"] == "thread_lookup"]
    assert [o["message_id"] for o in records[:3]] == [o["message_id"] for o in lookups] == [m.id for m in messages[:3]]
    _assert_ledger_matches_usage_log(pool, sim)

    reserves = _reserves(store)
    unknown = WINDOW * WRITE_1H + MAX_TOKENS * OUT + UNKNOWN_TOOLS
    # The create: its body (and the tool-use system prompt) bounds its input.
    bound = (reserves[0] - MAX_TOKENS * OUT) // IN
    assert bound * IN + MAX_TOKENS * OUT == reserves[0]
    assert bound >= _sent_len(spy.bodies[0])
    for k in range(1, 4):
        # Each continue: the thread so far (the previous bound, the input it
        # billed, its output and its content), plus the continue's own body.
        thread = _thread_after(bound, log[k - 1]["billed"], _content_len(messages[k - 1]))
        bound = thread + _sent_len(spy.bodies[k])
        assert reserves[k] == bound * IN + MAX_TOKENS * OUT, f"continue {k}"
        assert reserves[k] < unknown // 100
        billed = _nanos(PRICES.cost(log[k]["model"], log[k]["billed"])["total"])
        assert reserves[k] >= billed
        # The simulator billed the whole thread as input, more than the continue's body holds.
        assert log[k]["billed"]["input_tokens"] > log[k]["body_bytes"] // 4
    assert pool.reserved == cp.nanos(0)


def test_an_expired_thread_answers_404_and_the_sdks_replay_stays_exact(sim: str) -> None:
    _scenario(sim, 3)
    pool = cp.Pool(limit=cp.usd(10))
    store = Recorder(pool)
    spy = Spy()
    clock = Clock(sim)
    calls: list[str] = []

    def expire_after_second(n: int) -> None:
        if n == 2:
            clock.advance(TTL_MS + 1)

    mw = cp.middleware(store, agent="researcher", clock=clock)
    with anthropic.Anthropic(api_key="sk-sim", base_url=sim, middleware=[spy, mw]) as client:
        messages = _run(client, calls, expire_after_second)
    assert calls == ["City 0", "City 1", "City 2"]
    assert messages[-1].stop_reason == "end_turn"
    log = _get(sim + "/_sim/usage")
    # create, continue, (continue -> 404, not billed), create (the SDK's replay), continue.
    assert [u.get("thread") for u in log] == ["create", "continue", "create", "continue"]
    sent = [json.loads(b).get("thread", {}).get("type") for b in spy.bodies]
    assert sent == ["create", "continue", "continue", "create", "continue"]
    assert _money_kinds(store) == ["reserve", "settle", "reserve", "settle", "reserve", "release", "reserve", "settle", "reserve", "settle"]
    _assert_ledger_matches_usage_log(pool, sim)
    releases = [e for e in pool.ledger() if e.kind == "release"]
    assert len(releases) == 1

    reserves = _reserves(store)
    # The continue of the expired thread: the middleware's book expired it too
    # (same clock), so it was reserved at the whole context window, then released.
    assert reserves[2] == WINDOW * WRITE_1H + MAX_TOKENS * OUT + UNKNOWN_TOOLS
    # The replay's own continue is tight again, from the replayed create.
    replay_bound = (reserves[3] - MAX_TOKENS * OUT) // IN
    thread = _thread_after(replay_bound, log[2]["billed"], _content_len(messages[2]))
    assert reserves[4] == (thread + _sent_len(spy.bodies[4])) * IN + MAX_TOKENS * OUT
    assert reserves[4] >= _nanos(PRICES.cost(log[3]["model"], log[3]["billed"])["total"])
    assert pool.reserved == cp.nanos(0)


def test_a_thread_the_sim_lost_but_the_book_knows_is_released_and_replayed(sim: str) -> None:
    """The simulator forgets the thread (a reset of its threads) while the
    pool's book still knows it: the continue is reserved tight, the 404
    releases it, and the SDK's replay is booked exactly."""
    _scenario(sim, 2)
    pool = cp.Pool(limit=cp.usd(10))
    store = Recorder(pool)

    def lose_threads(n: int) -> None:
        if n == 1:
            # Only the simulator's clock moves: the middleware's book does not expire the thread.
            _post(sim + "/_sim/clock", {"advance_ms": TTL_MS + 1})

    calls: list[str] = []
    with anthropic.Anthropic(api_key="sk-sim", base_url=sim, middleware=[cp.middleware(store, agent="researcher")]) as client:
        messages = _run(client, calls, lose_threads)
    assert messages[-1].stop_reason == "end_turn"
    assert _money_kinds(store) == ["reserve", "settle", "reserve", "release", "reserve", "settle", "reserve", "settle"]
    reserves = _reserves(store)
    assert reserves[1] < (WINDOW * WRITE_1H) // 100, "the book still knew the thread: a tight hold"
    _assert_ledger_matches_usage_log(pool, sim)
    assert pool.reserved == cp.nanos(0)


def test_unknown_thread_refuse_raises_the_typed_error_before_anything_is_sent(sim: str) -> None:
    pool = cp.Pool(limit=cp.usd(10))
    store = Recorder(pool)
    mw = cp.middleware(store, agent="researcher", unknown_thread="refuse")
    with anthropic.Anthropic(api_key="sk-sim", base_url=sim, middleware=[mw]) as client:
        with pytest.raises(cp.UnknownThreadError) as info:
            client.beta.messages.create(
                model=MODEL,
                max_tokens=50,
                messages=[{"role": "user", "content": "hi"}],
                thread={"type": "continue", "previous_message_id": "msg_from_another_process"},
                betas=["message-threads-2026-08-12"],
            )
    e = info.value
    assert e.code == "unknown_thread"
    assert e.previous_message_id == "msg_from_another_process"
    assert e.expired is False
    assert e.__cause__ is None
    assert _get(sim + "/_sim/usage") == []
    # Only the lookup in the pool's book of threads: nothing reserved.
    assert store.kinds() == ["thread_lookup"]
    # The default: reserved at the whole context window, and the 404 releases it.
    store2 = Recorder(cp.Pool(limit=cp.usd(10)))
    with anthropic.Anthropic(api_key="sk-sim", base_url=sim, middleware=[cp.middleware(store2, agent="researcher")]) as client:
        with pytest.raises(anthropic.NotFoundError):
            client.beta.messages.create(
                model=MODEL,
                max_tokens=50,
                messages=[{"role": "user", "content": "hi"}],
                thread={"type": "continue", "previous_message_id": "msg_from_another_process"},
                betas=["message-threads-2026-08-12"],
            )
    assert store2.kinds() == ["thread_lookup", "reserve", "release"]
    assert _reserves(store2) == [WINDOW * WRITE_1H + 50 * OUT + UNKNOWN_TOOLS]


def test_an_unknown_thread_option_value_is_refused_when_the_middleware_is_made() -> None:
    with pytest.raises(cp.InvalidOptionsError):
        cp.middleware(cp.Pool(limit=cp.usd(1)), agent="researcher", unknown_thread="ignore")


def test_an_in_process_thread_book_keeps_the_threads_out_of_the_pool_store(sim: str) -> None:
    """``threads=ThreadBook()``: the book is the middleware's own (no thread
    operation reaches the store), with the same tight bounds as the pool's."""
    _scenario(sim, 2)
    via_pool = Recorder(cp.Pool(limit=cp.usd(10)))
    with anthropic.Anthropic(api_key="sk-sim", base_url=sim, middleware=[cp.middleware(via_pool, agent="researcher")]) as client:
        _run(client, [])
    _scenario(sim, 2)
    local = Recorder(cp.Pool(limit=cp.usd(10)))
    mw = cp.middleware(local, agent="researcher", threads=cp.ThreadBook())
    with anthropic.Anthropic(api_key="sk-sim", base_url=sim, middleware=[mw]) as client:
        _run(client, [])
    assert local.kinds() == ["reserve", "settle"] * 3
    assert _reserves(local) == _reserves(via_pool)
    assert _reserves(local)[1] < (WINDOW * WRITE_1H) // 100
    with pytest.raises(cp.InvalidOptionsError):
        cp.middleware(local, agent="researcher", threads="pool")  # type: ignore[arg-type]
