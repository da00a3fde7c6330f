"""Streamed responses: an iterator (sync) or async iterator (async) of typed
events that ends with a ``FinalMessageEvent``.

Everything is decided by the core's ``MessagesCall``, played by ``_driver``: the SSE
decoding, the accumulated message, retries of a failed stream (announced by a
``StreamRetryEvent``: discard what the failed attempt showed) and the result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, AsyncIterator, Iterator

from . import _creditpool
from ._driver import acall_io, adrive, call_io, drive, internal_error, play, take_result
from ._types import ContentBlockDeltaEvent, FinalMessageEvent, Message, StreamEvent, TextDelta, event_from_dict

if TYPE_CHECKING:
    from ._client import AsyncClient, Client

__all__ = ["MessageStream", "AsyncMessageStream"]


class MessageStream:
    """A streamed response, returned by ``Client.messages.stream(...)``.

    Iterate for the events; the last one is a ``FinalMessageEvent``. Use it as
    a context manager so that the connection is released even when the loop
    stops early. ``final_message()`` reads whatever is left and returns the
    message; ``text_stream`` yields only the text.
    """

    def __init__(self, client: "Client", call: _creditpool.MessagesCall) -> None:
        """Prepares the stream; nothing is sent before iteration starts."""
        self._client = client
        self._call = call
        self._iter: Iterator[StreamEvent] | None = None
        self._final: FinalMessageEvent | None = None

    def __enter__(self) -> "MessageStream":
        """Returns the stream."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Releases the connection."""
        self.close()

    def close(self) -> None:
        """Stops the stream and releases its connection."""
        if self._iter is not None and hasattr(self._iter, "close"):
            self._iter.close()

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
            raise internal_error("the stream ended without a final message")
        return self._final.message

    def _run(self) -> Iterator[StreamEvent]:
        for ev in drive(self._client, play(self._call, self._client._clock), call_io(self._client)):
            yield event_from_dict(ev)
        result = take_result(self._call)
        self._final = FinalMessageEvent(Message(result["message"]), result["tool_input_issues"])
        yield self._final


class AsyncMessageStream:
    """The async form of ``MessageStream``, returned by
    ``AsyncClient.messages.stream(...)``: ``async for`` the events, ``async
    with`` to release the connection, ``await final_message()``."""

    def __init__(self, client: "AsyncClient", call: _creditpool.MessagesCall) -> None:
        """Prepares the stream; nothing is sent before iteration starts."""
        self._client = client
        self._call = call
        self._iter: AsyncIterator[StreamEvent] | None = None
        self._final: FinalMessageEvent | None = None

    async def __aenter__(self) -> "AsyncMessageStream":
        """Returns the stream."""
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Releases the connection."""
        await self.aclose()

    async def aclose(self) -> None:
        """Stops the stream and releases its connection."""
        if self._iter is not None and hasattr(self._iter, "aclose"):
            await self._iter.aclose()

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
            raise internal_error("the stream ended without a final message")
        return self._final.message

    async def _run(self) -> AsyncIterator[StreamEvent]:
        async for ev in adrive(self._client, play(self._call, self._client._clock), acall_io(self._client)):
            yield event_from_dict(ev)
        result = take_result(self._call)
        self._final = FinalMessageEvent(Message(result["message"]), result["tool_input_issues"])
        yield self._final
