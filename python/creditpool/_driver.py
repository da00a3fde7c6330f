"""Driving the core's ``MessagesCall`` state machine over httpx2.

The core decides what to send, how to read the response, whether and when to
retry and what the result is; the driver sends, reads, reports and sleeps.
Each driver is a generator of event dicts (empty for a non-streamed call): the
stream's events as they are decoded, and, when an attempt that had already
handed out events fails and the core retries, a synthetic ``stream_retry``
event. The result is then taken from the call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, AsyncIterator, Iterator

import httpx2

from . import _creditpool
from ._transport import build_httpx_request, describe_decision, header_pairs, log, now_ms, transport_failure

if TYPE_CHECKING:
    from ._client import AsyncClient, Client

__all__ = ["CallState", "drive", "adrive", "finish"]


class CallState:
    """One call and what the driver noted along the way."""

    def __init__(self, call: _creditpool.MessagesCall) -> None:
        """Wraps a call."""
        self.call = call
        self.clock_floor = 0
        """After a wait, the clock the core sees is at least its end (so that
        a sleep that returns early, or a test's fake sleep, cannot stall)."""
        self.delivered = False
        """Whether the current attempt has handed out events."""
        self.partial: dict[str, Any] | None = None
        """The message so far when a stream's transport failed."""

    def now(self) -> int:
        """The clock for the core."""
        return max(now_ms(), self.clock_floor)

    def retry_event(self, until_ms: int, now: int) -> dict[str, Any] | None:
        """The ``stream_retry`` event for a wait that follows delivered events."""
        if not self.delivered:
            return None
        self.delivered = False
        last = self.call.last_attempt() or {}
        decision = last.get("decision") or {}
        return {
            "type": "stream_retry",
            "attempt": self.call.attempt - 1,
            "delay_ms": max(0, until_ms - now),
            "reason": decision.get("reason") or {},
            "error": last.get("error"),
        }

    def log_wait(self, until_ms: int, now: int) -> None:
        """Logs the core's decision to wait."""
        last = self.call.last_attempt() or {}
        log.debug("attempt %d failed: %s; waiting %d ms", self.call.attempt - 1, describe_decision(last.get("decision") or {}), max(0, until_ms - now))


def drive(client: "Client", state: CallState) -> Iterator[dict[str, Any]]:
    """Runs a call to its end with a sync client."""
    call = state.call
    while True:
        now = state.now()
        action = call.next_action(now)
        kind = action["type"]
        if kind == "done":
            return
        if kind == "wait":
            until = int(action["until_ms"])
            state.log_wait(until, now)
            ev = state.retry_event(until, now)
            client._sleep(max(0, until - now) / 1000)
            state.clock_floor = until
            if ev is not None:
                yield ev
            continue
        http = action["request"]
        log.debug("%s %s attempt %d", http["method"], http["path"], call.attempt)
        try:
            response = client._http.send(build_httpx_request(client._http, client.base_url, http, client.timeouts), stream=True)
        except httpx2.HTTPError as exc:
            call.handle_transport_error(transport_failure(exc, in_body=False)[0], state.now())
            continue
        try:
            log.debug("response %d request-id %s", response.status_code, response.headers.get("request-id"))
            how = call.handle_head(response.status_code, header_pairs(response.headers), state.now())
            if how == "whole":
                call.handle_body(response.read(), state.now())
            else:
                for chunk in response.iter_bytes():
                    events = call.handle_chunk(chunk, state.now())
                    if events:
                        state.delivered = True
                        yield from events
                    if not call.is_reading():
                        break
                if call.is_reading():
                    events = call.handle_end(state.now())
                    if events:
                        state.delivered = True
                        yield from events
        except httpx2.HTTPError as exc:
            if _cut_stream(call, exc):
                # The body ended early: the core reads that as a cut stream
                # (StreamIncompleteError, with the message so far).
                events = call.handle_end(state.now())
                if events:
                    state.delivered = True
                    yield from events
            else:
                state.partial = call.partial_message()
                call.handle_transport_error(transport_failure(exc, in_body=True)[0], state.now())
        finally:
            response.close()


async def adrive(client: "AsyncClient", state: CallState) -> AsyncIterator[dict[str, Any]]:
    """Runs a call to its end with an async client."""
    call = state.call
    while True:
        now = state.now()
        action = call.next_action(now)
        kind = action["type"]
        if kind == "done":
            return
        if kind == "wait":
            until = int(action["until_ms"])
            state.log_wait(until, now)
            ev = state.retry_event(until, now)
            await client._sleep(max(0, until - now) / 1000)
            state.clock_floor = until
            if ev is not None:
                yield ev
            continue
        http = action["request"]
        log.debug("%s %s attempt %d", http["method"], http["path"], call.attempt)
        try:
            response = await client._http.send(build_httpx_request(client._http, client.base_url, http, client.timeouts), stream=True)
        except httpx2.HTTPError as exc:
            call.handle_transport_error(transport_failure(exc, in_body=False)[0], state.now())
            continue
        try:
            log.debug("response %d request-id %s", response.status_code, response.headers.get("request-id"))
            how = call.handle_head(response.status_code, header_pairs(response.headers), state.now())
            if how == "whole":
                call.handle_body(await response.aread(), state.now())
            else:
                async for chunk in response.aiter_bytes():
                    events = call.handle_chunk(chunk, state.now())
                    if events:
                        state.delivered = True
                        for ev in events:
                            yield ev
                    if not call.is_reading():
                        break
                if call.is_reading():
                    events = call.handle_end(state.now())
                    if events:
                        state.delivered = True
                        for ev in events:
                            yield ev
        except httpx2.HTTPError as exc:
            if _cut_stream(call, exc):
                events = call.handle_end(state.now())
                if events:
                    state.delivered = True
                    for ev in events:
                        yield ev
            else:
                state.partial = call.partial_message()
                call.handle_transport_error(transport_failure(exc, in_body=True)[0], state.now())
        finally:
            await response.aclose()


def _cut_stream(call: _creditpool.MessagesCall, exc: httpx2.HTTPError) -> bool:
    """Whether a transport error means a stream's body ended early (the peer
    closed or reset the connection mid-body), as opposed to a timeout."""
    return call.deadline() is not None and isinstance(exc, (httpx2.RemoteProtocolError, httpx2.ReadError))


def finish(state: CallState) -> dict[str, Any]:
    """The call's result (``message``, ``tool_input_issues``, ``attempts``,
    ``request_id``, ``rate_limit``), or its failure raised with ``attempts``,
    ``give_up_reason`` and, when a stream's transport failed, ``partial``."""
    try:
        result = state.call.take_result()
    except _creditpool.CreditpoolError as e:
        if state.partial is not None and getattr(e, "partial", None) is None:
            e.partial = state.partial  # type: ignore[attr-defined]
        raise
    if result is None:
        raise _creditpool.InternalError("the call ended without a result")
    return result
