"""``messages.create`` returns the core's parsed message unconverted (a
``Message`` over ``_creditpool.LazyMessage``): its parts become Python objects
on first read. These tests hold that laziness changes nothing a caller can
see: ``to_dict()`` is the body as ``json.loads`` reads it and exactly what the
eager conversion (``_creditpool.parse_message``) builds, key order included,
whatever was read first; typed access, equality, repr, pickling and copies are
those of ``Message(dict)``; parts keep their identity; the message outlives its
client; and threads reading one message at once all get the same objects."""

from __future__ import annotations

import copy
import gc
import json
import pickle
import threading
from typing import Any, Callable

import httpx2
import pytest

import creditpool as cp
from creditpool import _creditpool
from fakeapi import KEY

MODEL = "claude-sonnet-4-5"
MSGS = [{"role": "user", "content": "Hi"}]

NESTED_INPUT: dict[str, Any] = {
    "query": "rows",
    "limit": 9223372036854775807,
    "offset": -9223372036854775808,
    "max_u64": 18446744073709551615,
    "ratio": 0.1,
    "tiny": 1e-7,
    "neg": -2.5,
    "flags": [True, False, None],
    "deep": {"a": [[{"b": [{"c": {"d": [1, [2, [3, {"e": "f"}]]]}}]}]]},
    "empty": {"list": [], "dict": {}, "str": ""},
    "ключ": "値 \u00e9 \U0001f600 \u2028 \u0000 \"quoted\" \\ back",
}

EVERY_BLOCK: list[dict[str, Any]] = [
    {"type": "thinking", "thinking": "Let me think \U0001f914", "signature": "sig_abc=="},
    {"type": "redacted_thinking", "data": "opaque+/=="},
    {
        "type": "text",
        "text": "According to the source, h\u00e9llo.",
        "citations": [{"type": "web_search_result_location", "url": "https://example.com/", "title": "Ex", "encrypted_index": "ei", "cited_text": "h\u00e9llo"}],
    },
    {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "h\u00e9llo"}},
    {
        "type": "web_search_tool_result",
        "tool_use_id": "srvtoolu_1",
        "content": [{"type": "web_search_result", "url": "https://example.com/", "title": "Ex", "encrypted_content": "ec", "page_age": None}],
    },
    {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": NESTED_INPUT},
    {"type": "tool_use", "id": "toolu_2", "name": "noargs", "input": {}},
    # Block types from a newer API, kept verbatim.
    {"type": "mcp_tool_use", "id": "mcptoolu_1", "name": "fetch", "server_name": "srv", "input": {"url": "https://example.com/", "n": [1, 2.5, None]}},
    {"type": "future_block_v9", "payload": {"deep": [[[{"x": 1.5, "y": "\U0001f600"}]]]}, "count": 18446744073709551615},
    {"type": "text", "text": ""},
]


def body_of(content: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "id": "msg_lazy",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": content,
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": 2048, "output_tokens": 150000},
        **extra,
    }


def bench_body(tool_blocks: int = 3, rows: int = 700) -> dict[str, Any]:
    """The final message of benches/python/bench_stream.py (fewer blocks)."""
    content: list[dict[str, Any]] = [{"type": "text", "text": "".join(f"word{i} and some more text, " for i in range(4000))}]
    for b in range(1, tool_blocks + 1):
        table = [{"sku": f"SKU-{b}-{r:05}", "name": 'Widget "deluxe" \u00e9dition', "price_cents": r * 37, "tags": ["a", "b\nc"]} for r in range(rows)]
        content.append({"type": "tool_use", "id": f"toolu_{b}", "name": "upsert_rows", "input": {"table": "inventory", "rows": table}})
    return body_of(content)


BODIES: dict[str, bytes] = {
    "bench": json.dumps(bench_body(), separators=(",", ":"), ensure_ascii=False).encode(),
    "every_block": json.dumps(body_of(EVERY_BLOCK), ensure_ascii=False).encode(),
    "every_block_ascii": json.dumps(body_of(EVERY_BLOCK)).encode(),
    "unknown_fields": json.dumps(
        body_of(EVERY_BLOCK[-3:], container={"id": "cntr_1", "expires_at": "2026-12-05T00:00:00Z"}, stop_details=None, zeta=[{"\u00fc": 1}], a_first=18446744073709551615)
    ).encode(),
    "no_content": json.dumps(body_of([])).encode(),
}


def client_for(body: bytes) -> cp.Client:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "application/json", "request-id": "req_1"}, content=body)

    return cp.Client(api_key=KEY, base_url="http://api.test", http_client=httpx2.Client(transport=httpx2.MockTransport(handler)), max_retries=0)


def create(body: bytes) -> cp.Message:
    with client_for(body) as client:
        return client.messages.create(model=MODEL, max_tokens=8, messages=MSGS)


def eager(body: bytes) -> Any:
    """The message as the one-pass conversion builds it."""
    return _creditpool.parse_message(200, {}, body)


def same(a: Any, b: Any) -> bool:
    """Equal, with every dict's keys in the same order and every int an int."""
    return json.dumps(a) == json.dumps(b) and repr(a) == repr(b)


# The ways a caller may first touch a message, before ``to_dict()``.
FIRST_READS: dict[str, Callable[[cp.Message], object]] = {
    "nothing": lambda m: None,
    "usage": lambda m: m.usage.output_tokens,
    "last_block": lambda m: m.content[-1].to_dict() if m.content else None,
    "tool_inputs": lambda m: [b.input for b in m.tool_uses],
    "text": lambda m: m.text,
    "unknown_field": lambda m: m.get("container"),
    "every_part": lambda m: ([b.to_dict() for b in m.content], [m.get(k) for k in ("id", "type", "role", "model", "stop_reason", "stop_sequence", "usage")]),
}


@pytest.mark.parametrize("first", sorted(FIRST_READS))
@pytest.mark.parametrize("name", sorted(BODIES))
def test_to_dict_is_the_body_and_the_eager_conversion_whatever_was_read_first(name: str, first: str) -> None:
    body = BODIES[name]
    msg = create(body)
    FIRST_READS[first](msg)
    d = msg.to_dict()
    assert d == json.loads(body)
    assert same(d, eager(body))
    assert msg.to_dict() is d
    # Every part read before is the one the dict holds.
    for i, block in enumerate(msg.content):
        assert block.to_dict() is d["content"][i]
    assert msg.usage.to_dict() is d["usage"]


@pytest.mark.parametrize("name", sorted(BODIES))
def test_typed_access_before_to_dict_is_that_of_the_eager_message(name: str) -> None:
    body = BODIES[name]
    lazy = create(body)
    ref = cp.Message(eager(body))
    assert [type(b) for b in lazy.content] == [type(b) for b in ref.content]
    assert [b.type for b in lazy.content] == [b.type for b in ref.content]
    for lb, rb in zip(lazy.content, ref.content):
        for attr in ("text", "citations", "id", "name", "input", "thinking", "signature", "data", "tool_use_id", "content"):
            if hasattr(type(rb), attr):
                assert same(getattr(lb, attr), getattr(rb, attr)), attr
        assert lb == rb and repr(lb) == repr(rb)
    for attr in ("id", "type", "role", "model", "stop_reason", "stop_sequence", "text"):
        assert getattr(lazy, attr) == getattr(ref, attr), attr
    assert lazy.usage == ref.usage and lazy.usage.output_tokens == 150000
    assert [b.to_dict() for b in lazy.tool_uses] == [b.to_dict() for b in ref.tool_uses]
    for key in list(json.loads(body)) + ["nope", "usage"]:
        assert (key in lazy) == (key in ref)
        assert same(lazy.get(key, "dflt"), ref.get(key, "dflt"))
    with pytest.raises(KeyError):
        lazy["nope"]
    assert 5 not in lazy
    assert lazy == ref and ref == lazy and repr(lazy) == repr(ref)


def test_every_block_type_keeps_its_class_and_unknown_blocks_are_kept_verbatim() -> None:
    msg = create(BODIES["every_block"])
    kinds = [type(b) for b in msg.content]
    assert kinds == [cp.ThinkingBlock, cp.RedactedThinkingBlock, cp.TextBlock, cp.ServerToolUseBlock, cp.WebSearchToolResultBlock, cp.ToolUseBlock, cp.ToolUseBlock, cp.UnknownBlock, cp.UnknownBlock, cp.TextBlock]
    future = msg.content[8]
    assert future.type == "future_block_v9" and future["count"] == 18446744073709551615 and isinstance(future["count"], int)
    assert future.to_dict() == EVERY_BLOCK[8]
    tool = msg.content[5]
    assert isinstance(tool, cp.ToolUseBlock)
    assert tool.input == NESTED_INPUT
    assert tool.input["ключ"] == NESTED_INPUT["ключ"] and isinstance(tool.input["max_u64"], int)
    assert [b.id for b in msg.tool_uses] == ["toolu_1", "toolu_2"]
    assert msg.content[0].signature == "sig_abc==" if isinstance(msg.content[0], cp.ThinkingBlock) else False


def test_mutations_of_the_dict_show_through_the_views_as_for_a_plain_message() -> None:
    for msg in (create(BODIES["every_block"]), cp.Message(json.loads(BODIES["every_block"]))):
        block = msg.content[2]
        d = msg.to_dict()
        d["stop_reason"] = "end_turn"
        d["usage"]["output_tokens"] = 7
        d["content"][2]["text"] = "changed"
        d["new"] = 1
        assert (msg.stop_reason, msg.usage.output_tokens, msg["new"], "new" in msg) == ("end_turn", 7, 1, True)
        assert isinstance(block, cp.TextBlock) and block.text == "changed"


@pytest.mark.parametrize("deep", [False, True])
def test_pickle_and_copies_are_those_of_a_plain_message(deep: bool) -> None:
    body = BODIES["every_block"]
    msg = create(body)
    tool = msg.content[5]
    back = pickle.loads(pickle.dumps(msg))
    assert type(back) is cp.Message and back == msg and same(back.to_dict(), eager(body))
    block = pickle.loads(pickle.dumps(tool))
    assert type(block) is cp.ToolUseBlock and block == tool and block.input == NESTED_INPUT
    fresh = create(body)
    c = copy.deepcopy(fresh) if deep else copy.copy(fresh)
    assert type(c) is cp.Message and c == fresh
    assert (c.to_dict() is fresh.to_dict()) is not deep


def test_the_message_outlives_its_client() -> None:
    client = client_for(BODIES["every_block"])
    msg = client.messages.create(model=MODEL, max_tokens=8, messages=MSGS)
    client.close()
    del client
    gc.collect()
    assert msg.content[5].input == NESTED_INPUT
    assert msg.to_dict() == json.loads(BODIES["every_block"])


def test_a_cycle_through_a_lazy_block_is_collected() -> None:
    freed: list[bool] = []

    class Probe:
        def __del__(self) -> None:
            freed.append(True)

    msg = create(BODIES["every_block"])
    block = msg.content[0]
    # The block's dict (held by the native message) holds the view (which
    # holds the native message): only the cycle collector can free them.
    held = block.to_dict()
    held["view"] = block
    held["probe"] = Probe()
    del msg, block, held
    gc.collect()
    assert freed == [True]


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio."""
    return "asyncio"


@pytest.mark.anyio
async def test_async_create_gives_the_same_message() -> None:
    body = BODIES["unknown_fields"]

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "application/json"}, content=body)

    async with cp.AsyncClient(api_key=KEY, base_url="http://api.test", http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler)), max_retries=0) as client:
        msg = await client.messages.create(model=MODEL, max_tokens=8, messages=MSGS)
    assert [type(b) for b in msg.content] == [cp.UnknownBlock, cp.UnknownBlock, cp.TextBlock]
    assert same(msg.to_dict(), eager(body)) and msg.to_dict() == json.loads(body)


def test_threads_reading_one_message_get_the_same_objects() -> None:
    for _ in range(5):
        msg = create(BODIES["bench"])
        n = 8
        barrier = threading.Barrier(n)
        seen: list[tuple[int, list[int], int]] = []
        errors: list[BaseException] = []

        def read(k: int) -> None:
            try:
                barrier.wait()
                # Half start with the blocks (last first), half with the whole dict.
                if k % 2:
                    ids = [id(b.to_dict()) for b in reversed(msg.content)][::-1]
                    whole = id(msg.to_dict())
                else:
                    whole = id(msg.to_dict())
                    ids = [id(b.to_dict()) for b in msg.content]
                seen.append((whole, ids, id(msg["usage"])))
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=read, args=(k,)) for k in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        d = msg.to_dict()
        assert seen == [(id(d), [id(b) for b in d["content"]], id(d["usage"]))] * n
        assert d == json.loads(BODIES["bench"])


def test_a_failed_call_still_raises_and_a_plain_message_is_unchanged() -> None:
    with pytest.raises(cp.ResponseParseError):
        create(b'{"id": "msg_1", "type": "message", "content": [{"type": "text"}]}')
    plain = cp.Message({"content": [{"type": "text", "text": "x"}]})
    assert plain.text == "x" and plain.to_dict() == {"content": [{"type": "text", "text": "x"}]}
    with pytest.raises(AttributeError, match="'TextBlock' object has no attribute 'nope'"):
        getattr(plain.content[0], "nope")
    with pytest.raises(AttributeError, match="'Message' object has no attribute 'nope'"):
        getattr(plain, "nope")
