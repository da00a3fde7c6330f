"""``Client(total_timeout=...)`` (issue 10, item 13): one deadline for a whole
call, every attempt and retry wait included, decided by the core."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

import creditpool as cp
from fakeapi import FakeAPI, fake_client, Reply, Sleeps, error_body, message, sse, text_stream_events

MODEL = "claude-sonnet-4-5"
MSGS = [{"role": "user", "content": "Hi"}]


def make(api: FakeAPI, **kw: Any) -> tuple[cp.Client, Sleeps]:
    """A client on the fake API that records its sleeps."""
    client, sleeps = fake_client(api, **kw)
    assert isinstance(client, cp.Client)
    return client, sleeps


def test_a_retry_that_would_end_after_the_deadline_is_not_made() -> None:
    api = FakeAPI(Reply(529, error_body("overloaded_error")), Reply(body=message("ok")))
    client, sleeps = make(api, total_timeout=0.2)
    with pytest.raises(cp.OverloadedError) as e:
        client.messages.create(model=MODEL, max_tokens=8, messages=MSGS)
    assert e.value.give_up_reason == {"type": "total_timeout", "total_timeout_ms": 200}
    assert len(api.requests) == 1 and sleeps.calls == []


def test_no_answer_times_out_at_the_total_deadline_not_the_read_timeout() -> None:
    api = FakeAPI(Reply(raise_exc=httpx2.ReadTimeout("slow")))
    client, sleeps = make(api, total_timeout=5)
    with pytest.raises(cp.APITimeoutError) as e:
        client.messages.create(model=MODEL, max_tokens=8, messages=MSGS)
    assert (e.value.code, e.value.phase) == ("total_timeout", "total")
    assert len(api.requests) == 1
    assert len(sleeps.calls) == 1 and abs(sleeps.calls[0] - 5) < 0.01


def test_within_the_deadline_retries_go_on() -> None:
    api = FakeAPI(Reply(529, error_body("overloaded_error")), Reply(body=message("ok")))
    client, _ = make(api, timeout=cp.Timeouts(total=30))
    assert client.messages.create(model=MODEL, max_tokens=8, messages=MSGS).text == "ok"
    assert len(api.requests) == 2


def test_a_stream_cut_by_the_deadline_keeps_its_partial_message() -> None:
    events = text_stream_events("Hello, world", model=MODEL, stop=False)
    api = FakeAPI(Reply(chunks=[sse(*events)], then_raise=httpx2.ReadTimeout("stalled")))
    client, _ = make(api, total_timeout=3)
    with pytest.raises(cp.APITimeoutError) as e:
        with client.messages.stream(model=MODEL, max_tokens=8, messages=MSGS) as s:
            for _ in s:
                pass
    assert e.value.code == "total_timeout"
    assert e.value.partial is not None
    assert len(api.requests) == 1
