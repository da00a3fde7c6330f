"""Streamed responses: an iterator (sync) or async iterator (async) of typed
events that ends with a ``FinalMessageEvent``.

The bytes go to the core's ``MessageStream``, which decodes the SSE framing and
accumulates the final message; a failure is offered to the core's retry policy,
and the binding only sleeps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Iterator

import httpx2

from . import _creditpool
from ._creditpool import CreditpoolError
from ._transport import (
    build_httpx_request,
    describe_decision,
    error_failure,
    header_pairs,
    jitter_seed,
    log,
    now_ms,
    transport_failure,
)
from ._types import (
    ContentBlockDeltaEvent,
    FinalMessageEvent,
    Message,
    StreamEvent,
    StreamRetryEvent,
    TextDelta,
    event_from_dict,
)

if TYPE_CHECKING:
    from ._client import AsyncClient, Client

__all__ = ["MessageStream", "AsyncMessageStream"]


class _Attempt:
    """What one attempt of a stream left behind when it failed."""

    def __init__(self, failure: dict[str, Any] | None, error: CreditpoolError, headers: list[tuple[str, str]] | None) -> None:
        self.failure = failure
        self.error = error
        self.headers = headers


def _finish_failed(stream: _creditpool.MessageStream, exc: httpx2.HTTPError, headers: list[tuple[str, str]]) -> _Attempt:
    """A transport failure after the body began: the idle timeout, or the
    stream cut short (reported with the message so far)."""
    failure, error = transport_failure(exc, in_body=True)
    partial = None
    try:
        partial = stream.message()
    except CreditpoolError:
        pass
    if failure["type"] == "connection":
        error = _creditpool.StreamIncompleteError(f"the stream was cut: {type(exc).__name__}")
        error.reason = "connection"
        failure = {"type": "stream_truncated"}
    error.partial = partial  # type: ignore[attr-defined]
    error.__cause__ = exc
    return _Attempt(failure, error, headers)


def _decide(policy: _creditpool.RetryPolicy, attempt: int, failed: _Attempt) -> dict[str, Any]:
    """The core's decision for a failed attempt (give up when retrying cannot help)."""
    if failed.failure is None:
        return {"decision": "give_up", "reason": {"type": "not_retryable"}}
    decision: dict[str, Any] = policy.decide(attempt, failed.failure, failed.headers, jitter_seed(), now_ms())
    log.debug("stream attempt %d failed (%s): %s", attempt, failed.failure.get("type"), describe_decision(decision))
    return decision


class MessageStream:
    """A streamed response, returned by ``Client.messages.stream(...)``.

    Iterate for the events; the last one is a ``FinalMessageEvent``. Use it as
    a context manager so that the connection is released even when the loop
    stops early. ``final_message()`` reads whatever is left and returns the
    message; ``text_stream`` yields only the text.
    """

    def __init__(self, client: "Client", http: dict[str, Any]) -> None:
        """Prepares the stream; nothing is sent before iteration starts."""
        self._client = client
        self._http = http
        self._iter: Iterator[StreamEvent] | None = None
        self._response: httpx2.Response | None = None
        self._final: FinalMessageEvent | None = None

    def __enter__(self) -> "MessageStream":
        """Returns the stream."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Releases the connection."""
        self.close()

    def close(self) -> None:
        """Releases the connection, if one is open."""
        if self._response is not None:
            self._response.close()
            self._response = None

    def __iter__(self) -> Iterator[StreamEvent]:
        """The events, ending with a ``FinalMessageEvent``."""
        if self._iter is None:
            self._iter = self._run()
        return self._iter

    @property
    def text_stream(self) -> Iterator[str]:
        """Only the text deltas."""
        for ev in self:
            if isinstance(ev, ContentBlockDeltaEvent):
                d = ev.delta
                if isinstance(d, TextDelta):
                    yield d.text

    def final_message(self) -> Message:
        """Reads the rest of the stream and returns the final message."""
        for _ in self:
            pass
        if self._final is None:
            raise CreditpoolError("the stream ended without a final message")
        return self._final.message

    def _run(self) -> Iterator[StreamEvent]:
        client = self._client
        sleep: Callable[[float], None] = client._sleep
        attempt = 0
        delivered = False
        while True:
            failed: _Attempt
            try:
                request = build_httpx_request(client._http, client.base_url, self._http, client.timeouts)
                log.debug("%s %s stream attempt %d", self._http["method"], self._http["path"], attempt)
                response = client._http.send(request, stream=True)
            except httpx2.HTTPError as exc:
                failure, error = transport_failure(exc, in_body=False)
                error.__cause__ = exc
                failed = _Attempt(failure, error, None)
            else:
                self._response = response
                headers = header_pairs(response.headers)
                log.debug("stream response %d request-id %s", response.status_code, response.headers.get("request-id"))
                if not 200 <= response.status_code < 300:
                    body = response.read()
                    self.close()
                    try:
                        _creditpool.parse_message(response.status_code, headers, body)
                        error = CreditpoolError(f"HTTP {response.status_code}")
                    except CreditpoolError as e:
                        error = e
                    failed = _Attempt(error_failure(error, response.status_code), error, headers)
                else:
                    stream = _creditpool.MessageStream()
                    try:
                        try:
                            for chunk in response.iter_bytes():
                                for ev in stream.events(chunk):
                                    delivered = True
                                    yield event_from_dict(ev)
                            for ev in stream.events(b"", True):
                                delivered = True
                                yield event_from_dict(ev)
                            done = stream.finish()
                        finally:
                            self.close()
                        self._final = FinalMessageEvent(Message(done["message"]), done["tool_input_issues"])
                        yield self._final
                        return
                    except httpx2.HTTPError as exc:
                        failed = _finish_failed(stream, exc, headers)
                    except CreditpoolError as e:
                        failed = _Attempt(error_failure(e, None), e, headers)
            decision = _decide(client._retry, attempt, failed)
            if decision["decision"] != "retry":
                raise failed.error
            delay_ms = int(decision["delay_ms"])
            sleep(delay_ms / 1000)
            if delivered:
                yield StreamRetryEvent({"type": "stream_retry", "attempt": attempt, "delay_ms": delay_ms, "reason": decision["reason"]})
                delivered = False
            attempt += 1


class AsyncMessageStream:
    """The async form of ``MessageStream``, returned by
    ``AsyncClient.messages.stream(...)``: ``async for`` the events, ``async
    with`` to release the connection, ``await final_message()``."""

    def __init__(self, client: "AsyncClient", http: dict[str, Any]) -> None:
        """Prepares the stream; nothing is sent before iteration starts."""
        self._client = client
        self._http = http
        self._iter: AsyncIterator[StreamEvent] | None = None
        self._response: httpx2.Response | None = None
        self._final: FinalMessageEvent | None = None

    async def __aenter__(self) -> "AsyncMessageStream":
        """Returns the stream."""
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Releases the connection."""
        await self.aclose()

    async def aclose(self) -> None:
        """Releases the connection, if one is open."""
        if self._response is not None:
            await self._response.aclose()
            self._response = None

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        """The events, ending with a ``FinalMessageEvent``."""
        if self._iter is None:
            self._iter = self._run()
        return self._iter

    async def text_stream(self) -> AsyncIterator[str]:
        """Only the text deltas."""
        async for ev in self:
            if isinstance(ev, ContentBlockDeltaEvent):
                d = ev.delta
                if isinstance(d, TextDelta):
                    yield d.text

    async def final_message(self) -> Message:
        """Reads the rest of the stream and returns the final message."""
        async for _ in self:
            pass
        if self._final is None:
            raise CreditpoolError("the stream ended without a final message")
        return self._final.message

    async def _run(self) -> AsyncIterator[StreamEvent]:
        client = self._client
        attempt = 0
        delivered = False
        while True:
            failed: _Attempt
            try:
                request = build_httpx_request(client._http, client.base_url, self._http, client.timeouts)
                log.debug("%s %s stream attempt %d", self._http["method"], self._http["path"], attempt)
                response = await client._http.send(request, stream=True)
            except httpx2.HTTPError as exc:
                failure, error = transport_failure(exc, in_body=False)
                error.__cause__ = exc
                failed = _Attempt(failure, error, None)
            else:
                self._response = response
                headers = header_pairs(response.headers)
                log.debug("stream response %d request-id %s", response.status_code, response.headers.get("request-id"))
                if not 200 <= response.status_code < 300:
                    body = await response.aread()
                    await self.aclose()
                    try:
                        _creditpool.parse_message(response.status_code, headers, body)
                        error = CreditpoolError(f"HTTP {response.status_code}")
                    except CreditpoolError as e:
                        error = e
                    failed = _Attempt(error_failure(error, response.status_code), error, headers)
                else:
                    stream = _creditpool.MessageStream()
                    try:
                        try:
                            async for chunk in response.aiter_bytes():
                                for ev in stream.events(chunk):
                                    delivered = True
                                    yield event_from_dict(ev)
                            for ev in stream.events(b"", True):
                                delivered = True
                                yield event_from_dict(ev)
                            done = stream.finish()
                        finally:
                            await self.aclose()
                        self._final = FinalMessageEvent(Message(done["message"]), done["tool_input_issues"])
                        yield self._final
                        return
                    except httpx2.HTTPError as exc:
                        failed = _finish_failed(stream, exc, headers)
                    except CreditpoolError as e:
                        failed = _Attempt(error_failure(e, None), e, headers)
            decision = _decide(client._retry, attempt, failed)
            if decision["decision"] != "retry":
                raise failed.error
            delay_ms = int(decision["delay_ms"])
            await client._sleep(delay_ms / 1000)
            if delivered:
                yield StreamRetryEvent({"type": "stream_retry", "attempt": attempt, "delay_ms": delay_ms, "reason": decision["reason"]})
                delivered = False
            attempt += 1

