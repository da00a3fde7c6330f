#!/usr/bin/env python3
"""Stream accumulation and message parsing: the official ``anthropic`` SDK
against this package, on the same bytes, in the same run.

Both clients get the same recorded response through an ``httpx2``
``MockTransport`` (the SDK's 2.x client is built on httpx2, as ours is), in
the same 16 KiB chunks, and each is timed from the request to the final
message:

* ``stream``: a long tool-use stream (the recipe of the Rust bench
  ``crates/creditpool-core/benches/sse.rs``: a text block of 4,000
  ``text_delta``s, then tool_use blocks whose ~64 KiB inputs arrive as
  80-byte ``input_json_delta``s, with pings), iterated event by event to the
  final message (SDK: ``messages.stream`` and ``get_final_message``; ours:
  ``messages.stream`` and ``final_message``);
* ``stream, text only``: the same text deltas without the tool_use blocks;
* ``create``: the same final message as one JSON body (``messages.create``);
  ours hands over the core's parsed message unconverted, its parts made
  Python objects on first read;
* ``create_dict``: the same, then the whole message read (ours:
  ``to_dict()``, every part converted; the SDK's message is complete when
  ``create`` returns, so its side is ``create`` alone).

Runs alternate (SDK, ours, SDK, ours, ...) and the medians are compared.
``--tool-blocks`` and ``--input-kib`` size the stream; ``--runs`` the
repetitions; ``--cases`` picks some of ``stream,text,create,create_dict``. Prints a
Markdown table with the ratios.

    python benches/python/bench_stream.py            # or: bash benches/python/run.sh
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from typing import Any, Callable, Iterator

import anthropic
import httpx2

import creditpool

CHUNK = 16 * 1024
MODEL = "claude-sonnet-4-6"


def _event(out: list[str], name: str, data: dict[str, Any]) -> None:
    out.append(f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'), ensure_ascii=False)}\n\n")


def long_tool_stream(tool_blocks: int, input_kib: int, text_deltas: int) -> tuple[bytes, dict[str, Any]]:
    """The stream's bytes, and the final message it accumulates to."""
    out: list[str] = []
    start: dict[str, Any] = {"id": "msg_bench", "type": "message", "role": "assistant", "model": MODEL, "content": [], "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 2048, "output_tokens": 1}}
    _event(out, "message_start", {"type": "message_start", "message": start})
    _event(out, "content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
    text = []
    for i in range(text_deltas):
        piece = f"word{i} and some more text, "
        text.append(piece)
        _event(out, "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}})
        if i % 500 == 0:
            _event(out, "ping", {"type": "ping"})
    _event(out, "content_block_stop", {"type": "content_block_stop", "index": 0})
    content: list[dict[str, Any]] = [{"type": "text", "text": "".join(text)}]
    rows_per_kib = 64 / 700  # the Rust bench: 700 rows make about 64 KiB
    for b in range(1, tool_blocks + 1):
        rows = [{"sku": f"SKU-{b}-{r:05}", "name": 'Widget "deluxe" \u00e9dition', "price_cents": r * 37, "tags": ["a", "b\nc"]} for r in range(max(1, int(input_kib / rows_per_kib)))]
        tool_input = {"table": "inventory", "rows": rows}
        raw = json.dumps(tool_input, separators=(",", ":"), ensure_ascii=False)
        _event(out, "content_block_start", {"type": "content_block_start", "index": b, "content_block": {"type": "tool_use", "id": f"toolu_{b}", "name": "upsert_rows", "input": {}}})
        for at in range(0, len(raw), 80):
            _event(out, "content_block_delta", {"type": "content_block_delta", "index": b, "delta": {"type": "input_json_delta", "partial_json": raw[at : at + 80]}})
        _event(out, "content_block_stop", {"type": "content_block_stop", "index": b})
        content.append({"type": "tool_use", "id": f"toolu_{b}", "name": "upsert_rows", "input": tool_input})
    stop = "tool_use" if tool_blocks else "end_turn"
    _event(out, "message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None}, "usage": {"output_tokens": 150000}})
    _event(out, "message_stop", {"type": "message_stop"})
    final = {**start, "content": content, "stop_reason": stop, "usage": {"input_tokens": 2048, "output_tokens": 150000}}
    return "".join(out).encode(), final


def _chunks(data: bytes) -> Iterator[bytes]:
    for at in range(0, len(data), CHUNK):
        yield data[at : at + CHUNK]


def transport(body: bytes, streaming: bool) -> httpx2.MockTransport:
    """Answers every request with ``body``, in 16 KiB chunks."""
    ctype = "text/event-stream" if streaming else "application/json"

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": ctype, "request-id": "req_bench"}, content=_chunks(body))

    return httpx2.MockTransport(handler)


REQUEST: dict[str, Any] = {"model": MODEL, "max_tokens": 20_000, "messages": [{"role": "user", "content": "Upsert the rows."}]}


def sdk_stream(body: bytes) -> Callable[[], Any]:
    client = anthropic.Anthropic(api_key="sk-bench", base_url="http://bench.test", http_client=httpx2.Client(transport=transport(body, True)), max_retries=0)

    def run() -> Any:
        with client.messages.stream(**REQUEST) as stream:
            for _ in stream:
                pass
            return stream.get_final_message()

    return run


def ours_stream(body: bytes) -> Callable[[], Any]:
    client = creditpool.Client(api_key="sk-bench", base_url="http://bench.test", http_client=httpx2.Client(transport=transport(body, True)), max_retries=0, pool_selector=False)

    def run() -> Any:
        with client.messages.stream(**REQUEST) as stream:
            for _ in stream:
                pass
            return stream.final_message()

    return run


def sdk_create(body: bytes) -> Callable[[], Any]:
    client = anthropic.Anthropic(api_key="sk-bench", base_url="http://bench.test", http_client=httpx2.Client(transport=transport(body, False)), max_retries=0)
    return lambda: client.messages.create(**REQUEST)


def ours_create(body: bytes) -> Callable[[], Any]:
    client = creditpool.Client(api_key="sk-bench", base_url="http://bench.test", http_client=httpx2.Client(transport=transport(body, False)), max_retries=0, pool_selector=False)
    return lambda: client.messages.create(**REQUEST)


def ours_create_dict(body: bytes) -> Callable[[], Any]:
    create = ours_create(body)

    def run() -> Any:
        msg = create()
        msg.to_dict()
        return msg

    return run


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def compare(name: str, sdk: Callable[[], Any], ours: Callable[[], Any], runs: int, check: Callable[[Any, Any], None]) -> tuple[str, float, float]:
    # One warm-up each, checked: both must read the same message.
    check(sdk(), ours())
    ts: list[float] = []
    to: list[float] = []
    for _ in range(runs):
        ts.append(timed(sdk)[0])
        to.append(timed(ours)[0])
    return name, statistics.median(ts), statistics.median(to)


def same_message(expected: dict[str, Any], stop_reason: str = "tool_use") -> Callable[[Any, Any], None]:
    def check(sdk_msg: Any, our_msg: Any) -> None:
        mine = our_msg.to_dict()
        theirs = sdk_msg.model_dump(mode="json", exclude_none=True)
        for block_s, block_o, block_e in zip(theirs["content"], mine["content"], expected["content"]):
            for key in ("type", "text", "input", "name", "id"):
                assert block_s.get(key) == block_o.get(key) == block_e.get(key), key
        assert len(theirs["content"]) == len(mine["content"]) == len(expected["content"])
        assert theirs["stop_reason"] == mine["stop_reason"] == stop_reason

    return check


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--tool-blocks", type=int, default=8)
    ap.add_argument("--input-kib", type=int, default=64)
    ap.add_argument("--text-deltas", type=int, default=4000)
    ap.add_argument("--cases", default="stream,text,create,create_dict", help="comma-separated: stream, text, create, create_dict (default all)")
    args = ap.parse_args()
    cases = set(args.cases.split(","))

    stream_body, final = long_tool_stream(args.tool_blocks, args.input_kib, args.text_deltas)
    json_body = json.dumps(final, separators=(",", ":"), ensure_ascii=False).encode()
    n_events = stream_body.count(b"\n\n")
    print(f"anthropic {anthropic.__version__}, creditpool {creditpool.__version__}, httpx2 {httpx2.__version__}, Python {platform.python_version()} ({platform.machine()})")
    print(f"stream: {n_events} events, {len(stream_body) / 1e6:.2f} MB ({args.tool_blocks} tool_use blocks of ~{args.input_kib} KiB input in 80-byte deltas, {args.text_deltas} text deltas); final message {len(json_body) / 1e6:.2f} MB; {args.runs} runs each, interleaved, medians")
    print()
    check = same_message(final)
    text_body, text_final = long_tool_stream(0, args.input_kib, args.text_deltas)
    rows = []
    if "stream" in cases:
        rows.append(compare("stream: iterate every event to the final message", sdk_stream(stream_body), ours_stream(stream_body), args.runs, check))
    if "text" in cases:
        rows.append(compare("stream, text only (the same text deltas, no tool_use)", sdk_stream(text_body), ours_stream(text_body), args.runs, same_message(text_final, "end_turn")))
    if "create" in cases:
        rows.append(compare("create: parse the final message (one JSON body)", sdk_create(json_body), ours_create(json_body), args.runs, check))
    if "create_dict" in cases:
        rows.append(compare("create, then the whole message read (ours: to_dict())", sdk_create(json_body), ours_create_dict(json_body), args.runs, check))
    print("| case | anthropic SDK | creditpool | SDK / creditpool |")
    print("| --- | --- | --- | --- |")
    for name, s, o in rows:
        print(f"| {name} | {s * 1000:.1f} ms | {o * 1000:.1f} ms | {s / o:.1f}x |")


if __name__ == "__main__":
    main()
