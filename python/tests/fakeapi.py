"""A scripted, in-process stand-in for the Messages API over
``httpx2.MockTransport``: each request gets the next scripted reply, and every
request is recorded. (Tests against the real simulator binary live apart.)"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable, Iterator

import httpx2

KEY = "sk-test-SECRET-0123456789abcdef"
"""The API key used by the tests; it must never show up anywhere."""


def message(text: str = "Hello!", *, model: str = "claude-sonnet-4-5", stop_reason: str = "end_turn", content: list[dict[str, Any]] | None = None, usage: dict[str, Any] | None = None) -> dict[str, Any]:
    """A message body."""
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content if content is not None else [{"type": "text", "text": text}],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage or {"input_tokens": 10, "output_tokens": 5},
    }


def sse(*events: dict[str, Any]) -> bytes:
    """An SSE body of events."""
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


def text_stream_events(text: str = "Hello, world", *, model: str = "claude-sonnet-4-5", stop: bool = True) -> list[dict[str, Any]]:
    """The events of a streamed text answer, split in two deltas."""
    start = message("", model=model, stop_reason="end_turn", content=[])
    start["stop_reason"] = None
    half = len(text) // 2
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": start},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "ping"},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text[:half]}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text[half:]}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": 7}},
    ]
    if stop:
        events.append({"type": "message_stop"})
    return events


def error_body(kind: str, message: str = "boom") -> dict[str, Any]:
    """An API error body."""
    return {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_body"}


@dataclass
class Reply:
    """One scripted reply: a status, headers and a body, or an exception to
    raise, or body chunks followed by an exception (a stream that fails)."""

    status: int = 200
    body: bytes | dict[str, Any] = b""
    headers: dict[str, str] = field(default_factory=dict)
    raise_exc: Exception | None = None
    chunks: list[bytes] | None = None
    then_raise: Exception | None = None


class _Chunks(httpx2.SyncByteStream, httpx2.AsyncByteStream):
    def __init__(self, chunks: list[bytes], then_raise: Exception | None) -> None:
        self.chunks = chunks
        self.then_raise = then_raise

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        if self.then_raise is not None:
            raise self.then_raise

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for c in self.chunks:
            yield c
        if self.then_raise is not None:
            raise self.then_raise


class FakeAPI:
    """Replies in order; records every request."""

    def __init__(self, *replies: Reply) -> None:
        """The script."""
        self.replies = list(replies)
        self.requests: list[httpx2.Request] = []

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        """The MockTransport handler."""
        self.requests.append(request)
        if not self.replies:
            raise AssertionError("no scripted reply left")
        r = self.replies.pop(0)
        if r.raise_exc is not None:
            raise r.raise_exc
        headers = {"request-id": f"req_{len(self.requests)}", **r.headers}
        if r.chunks is not None:
            headers.setdefault("content-type", "text/event-stream")
            return httpx2.Response(r.status, headers=headers, stream=_Chunks(r.chunks, r.then_raise))
        body = json.dumps(r.body).encode() if isinstance(r.body, dict) else r.body
        return httpx2.Response(r.status, headers=headers, content=body)

    def transport(self) -> httpx2.MockTransport:
        """A transport for ``httpx2.Client(transport=...)``."""
        return httpx2.MockTransport(self.handler)

    def body(self, i: int = -1) -> Any:
        """The JSON body of a recorded request."""
        return json.loads(self.requests[i].content)


class Sleeps:
    """Records the client's sleeps instead of sleeping, and is the client's
    clock: a sleep moves it on (install with ``client._sleep = sleeps`` and
    ``client._clock = sleeps.clock``)."""

    def __init__(self) -> None:
        """No sleeps yet; the clock starts at the real time."""
        self.calls: list[float] = []
        self.now = time.time_ns() // 1_000_000

    def clock(self) -> int:
        """The fake Unix time in ms."""
        return self.now

    def __call__(self, seconds: float) -> None:
        """Records one sleep."""
        self.calls.append(seconds)
        self.now += round(seconds * 1000)

    async def asleep(self, seconds: float) -> None:
        """Records one sleep (async)."""
        self(seconds)


def fake_client(api: FakeAPI, **kw: Any) -> tuple[Any, Sleeps]:
    """A ``creditpool.Client`` on the fake API that records its sleeps."""
    import creditpool as cp

    client = cp.Client(api_key=KEY, base_url="http://api.test", http_client=httpx2.Client(transport=api.transport()), **kw)
    sleeps = Sleeps()
    client._sleep = sleeps
    client._clock = sleeps.clock
    return client, sleeps


SleepFn = Callable[[float], None]
