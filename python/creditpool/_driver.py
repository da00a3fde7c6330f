"""The one attempt player: drives the core's ``MessagesCall`` or ``AgentRun``
by the protocol of ``docs/ARCHITECTURE.md``, for both the sync and the async
clients.

``play(machine)`` is a generator that decides nothing: it asks the machine
what to do (``next_action``), yields the I/O that needs (``Send``,
``ReadBody``, ``ReadChunk``, ``Sleep``, ``ApplyPool``, ``RunTools``), reports
what came back (``handle_*``), and yields ``Emit`` with the stream events the
machine handed out (and the ``stream_retry`` event a wait carries). Two thin
shells perform the I/O: ``drive`` with httpx2's sync client and ``adrive``
with its async client. Each shell is itself a generator of event dicts.

What the shells report is what the transport saw: a response head, bytes,
the end of a body, a read that timed out (``Timeout``: the player then sleeps
until the machine's deadline, if it is not past yet, and calls
``handle_timeout``), or any other failure as ``{"type": "connection"}`` (a
connect timeout as ``{"type": "timeout", "phase": "connect"}``). The core
decides what each means: a connection lost mid-stream is a cut stream, a
timeout is a read or idle timeout, the retry policy decides what follows.
"""

from __future__ import annotations

import inspect
import io
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, AsyncIterator, Awaitable, Callable, Generator, Iterator, Union

import httpx2

from . import _creditpool
from ._config import Timeouts
from ._transport import build_httpx_request, connection_detail, header_pairs, log, now_ms

if TYPE_CHECKING:
    from ._client import AsyncClient, Client

__all__ = [
    "Send",
    "Head",
    "ReadBody",
    "ReadChunk",
    "Release",
    "Sleep",
    "ApplyPool",
    "RunTools",
    "Emit",
    "Timeout",
    "Failed",
    "play",
    "drive",
    "adrive",
    "take_result",
    "take_output",
    "internal_error",
    "call_io",
    "acall_io",
    "Endpoint",
]

Machine = Union[_creditpool.MessagesCall, _creditpool.AgentRun]


def internal_error(message: str) -> _creditpool.InternalError:
    """A bug in creditpool found on the Python side: ``InternalError`` with
    the core's code for it, ``internal_error``."""
    e = _creditpool.InternalError(message)
    e.code = "internal_error"
    return e


@dataclass(frozen=True)
class Send:
    """Send this request (the core's ``HttpRequest`` dict); answer ``Head``,
    ``Timeout`` or ``Failed``."""

    http: dict[str, Any]


@dataclass(frozen=True)
class Head:
    """A response's status and headers arrived."""

    status: int
    headers: list[tuple[str, str]]


@dataclass(frozen=True)
class ReadBody:
    """Read the whole body, decoded, but no more than ``limit`` bytes and
    one (the core then reports ``too_large`` without the rest in memory);
    answer ``bytes``, ``Timeout`` or ``Failed``."""

    limit: int


@dataclass(frozen=True)
class ReadChunk:
    """Read the next chunk of the body; answer ``bytes``, ``None`` (the body
    ended), ``Timeout`` or ``Failed``."""


@dataclass(frozen=True)
class Release:
    """The attempt is over: let go of the response."""


@dataclass(frozen=True)
class Sleep:
    """Sleep this many seconds."""

    seconds: float


@dataclass(frozen=True)
class ApplyPool:
    """Apply this pool operation to the pool store; answer its result."""

    op: dict[str, Any]


@dataclass(frozen=True)
class RunTools:
    """Run these tool calls; answer their results (built with
    ``AgentRun.tool_result``)."""

    calls: list[dict[str, Any]]


@dataclass(frozen=True)
class Emit:
    """Hand these events to the consumer."""

    events: list[dict[str, Any]]


@dataclass(frozen=True)
class Timeout:
    """The transport waited for the next input as long as it was told to."""


@dataclass(frozen=True)
class Failed:
    """The transport failed: the core's ``Failure``; for a failed connection,
    also where the request went (``base_url``) and what the OS said
    (``detail``), which the core words."""

    failure: dict[str, Any]
    base_url: str = ""
    detail: str = ""


Step = Union[Send, ReadBody, ReadChunk, Release, Sleep, ApplyPool, RunTools, Emit]
Player = Generator[Step, Any, None]


def play(machine: Machine, clock: Callable[[], int] = now_ms) -> Player:
    """Drives ``machine`` to its end (``next_action`` says done)."""
    while True:
        now = clock()
        action = machine.next_action(now)
        kind = action["type"]
        if kind == "done":
            return
        if kind == "wait":
            until = int(action["until_ms"])
            retry = action.get("retry")
            log.debug("waiting %d ms (%s)", max(0, until - now), action.get("reason", "retry"))
            if retry is not None:
                yield Emit([retry])
            yield Sleep(max(0, until - now) / 1000)
        elif kind == "pool":
            result = yield ApplyPool(action["op"])
            _agent(machine).handle_pool(result, clock())
        elif kind == "call_tools":
            results = yield RunTools(list(action["calls"]))
            _agent(machine).handle_tool_results(results)
        else:
            yield from _attempt(machine, action["request"], clock)


def _agent(machine: Machine) -> _creditpool.AgentRun:
    if not isinstance(machine, _creditpool.AgentRun):
        raise internal_error("a pool or tools action from a call")
    return machine


def _attempt(machine: Machine, http: dict[str, Any], clock: Callable[[], int]) -> Player:
    """One attempt: send, read the head, then the body as the machine says."""
    log.debug("%s %s", http["method"], http["path"])
    reply = yield Send(http)
    if isinstance(reply, Head):
        log.debug("response %d", reply.status)
        how = machine.handle_head(reply.status, reply.headers, clock())
        if how == "whole":
            body = yield ReadBody(machine.max_body_bytes)
            if isinstance(body, (Timeout, Failed)):
                yield from _failed(machine, body, clock)
            else:
                machine.handle_body(body, clock())
        else:
            while machine.is_reading():
                chunk = yield ReadChunk()
                if isinstance(chunk, (Timeout, Failed)):
                    yield from _failed(machine, chunk, clock)
                    break
                if chunk is None:
                    events = machine.handle_end(clock())
                else:
                    events = machine.handle_chunk(chunk, clock())
                if events:
                    yield Emit(events)
                if chunk is None:
                    break
                yield from _poll_pool(machine, clock)
    else:
        yield from _failed(machine, reply, clock)
    yield Release()


def _failed(machine: Machine, what: Any, clock: Callable[[], int]) -> Player:
    """The transport failed or timed out."""
    if isinstance(what, Failed):
        if what.base_url and what.failure.get("type") == "connection":
            machine.handle_connection_error(what.base_url, what.detail, clock())
        else:
            machine.handle_transport_error(what.failure, clock())
        return
    # The transport waited as long as it was told: the machine says whether
    # its deadline has passed. If the transport woke early, wait out the rest
    # (renewing the lease meanwhile); after sleeping until the deadline, the
    # time is the deadline at least.
    now = clock()
    for _ in range(100):
        if machine.handle_timeout(now):
            break
        yield from _poll_pool(machine, clock)
        deadline = machine.deadline()
        if deadline is None:
            break
        now = clock()
        if deadline > now:
            yield Sleep((deadline - now) / 1000)
        now = max(clock(), deadline)
    yield from _poll_pool(machine, clock)


def _poll_pool(machine: Machine, clock: Callable[[], int]) -> Player:
    """While a run reads: the pool operations it asks for (lease renewal)."""
    if not isinstance(machine, _creditpool.AgentRun):
        return
    for _ in range(16):
        now = clock()
        op = machine.poll_pool(now)
        if op is None:
            return
        result = yield ApplyPool(op)
        machine.handle_pool(result, clock())


# ----- the shells -----


def _failure(exc: httpx2.HTTPError, base_url: str = "") -> Timeout | Failed:
    """What the transport saw: a read that timed out, a connect timeout, or
    a failed connection (whatever the phase: the core knows it), with where
    it went and what the OS said."""
    if isinstance(exc, httpx2.ReadTimeout):
        return Timeout()
    if isinstance(exc, (httpx2.ConnectTimeout, httpx2.PoolTimeout)):
        return Failed({"type": "timeout", "phase": "connect"})
    return Failed({"type": "connection"}, base_url, connection_detail(exc))


class _Decoder:
    """A body's bytes decoded as they arrive (``gzip`` and ``deflate`` here,
    in pieces of at most ``STEP`` bytes; any other encoding by httpx2's
    decoder), so that a compression bomb is never inflated whole: a reader
    stops as soon as it has what it may keep."""

    STEP = 64 * 1024

    def __init__(self, response: httpx2.Response) -> None:
        enc = [e.strip().lower() for e in response.headers.get("content-encoding", "").split(",") if e.strip()]
        enc = [e for e in enc if e != "identity"]
        self._zlib: Any = None
        self._maybe_raw = False
        self._other: Any = None
        self._started = False
        if enc in (["gzip"], ["x-gzip"]):
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif enc == ["deflate"]:
            self._zlib = zlib.decompressobj()
            self._maybe_raw = True  # zlib-wrapped or raw deflate: the first bytes tell
        elif enc:
            self._other = response._get_content_decoder()

    def decode(self, raw: bytes) -> Iterator[bytes]:
        """The decoded pieces of ``raw``."""
        if self._zlib is None:
            out = self._other.decode(raw) if self._other is not None else raw
            if out:
                yield out
            return
        data = raw
        while data:
            try:
                out = self._zlib.decompress(data, self.STEP)
            except zlib.error as e:
                if self._maybe_raw and not self._started:
                    self._maybe_raw = False
                    self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise httpx2.DecodingError(f"the body could not be decoded: {e}") from None
            self._started = True
            if out:
                yield out
            data = self._zlib.unconsumed_tail

    def flush(self) -> Iterator[bytes]:
        """What the decoder still holds at the end of the body."""
        out = self._zlib.flush() if self._zlib is not None else self._other.flush() if self._other is not None else b""
        if out:
            yield out


def _decoded(response: httpx2.Response) -> Iterator[bytes]:
    """The response's body, decoded, piece by piece."""
    if response.is_stream_consumed:  # already in memory (a response made from bytes)
        yield from response.iter_bytes()
        return
    decoder = _Decoder(response)
    for raw in response.iter_raw():
        yield from decoder.decode(raw)
    yield from decoder.flush()


async def _adecoded(response: httpx2.Response) -> AsyncIterator[bytes]:
    """``_decoded`` for the async client."""
    if response.is_stream_consumed:
        async for piece in response.aiter_bytes():
            yield piece
        return
    decoder = _Decoder(response)
    async for raw in response.aiter_raw():
        for piece in decoder.decode(raw):
            yield piece
    for piece in decoder.flush():
        yield piece


def _take(buf: io.BytesIO, piece: bytes, limit: int) -> bool:
    """Adds what ``buf`` may keep of ``piece`` (up to ``limit + 1`` bytes in
    all, checked before the piece is added); True once it holds more than
    ``limit``. A ``BytesIO`` because its ``getvalue()`` hands over the
    buffer it filled as ``bytes`` without copying it (the body is then held
    once, not twice, when the core reads it)."""
    room = limit + 1 - buf.tell()
    buf.write(piece if len(piece) <= room else memoryview(piece)[:room])
    return buf.tell() > limit


class Endpoint:
    """Where a shell sends: an httpx2 client, a base URL (a request's
    ``path`` is appended) and the timeouts. ``Client`` and ``AsyncClient``
    are endpoints; a webhook is one too."""

    def __init__(self, http: Any, base_url: str, timeouts: Timeouts) -> None:
        self._http = http
        self.base_url = base_url
        self.timeouts = timeouts


SyncIO = Callable[[Step], Any]
"""Performs one step that is not transport (sleep, pool, tools)."""


def drive(client: "Client | Endpoint", player: Player, other: SyncIO) -> Iterator[dict[str, Any]]:
    """Plays ``player`` with a sync client: yields the events it emits.
    ``other`` performs sleeps, pool operations and tool runs."""
    response: httpx2.Response | None = None
    chunks: Iterator[bytes] | None = None
    value: Any = None
    try:
        while True:
            try:
                step = player.send(value)
            except StopIteration:
                return
            value = None
            if isinstance(step, Send):
                try:
                    response = client._http.send(build_httpx_request(client._http, client.base_url, step.http, client.timeouts), stream=True)
                    chunks = _decoded(response)
                    value = Head(response.status_code, header_pairs(response.headers))
                except httpx2.HTTPError as exc:
                    value = _failure(exc, client.base_url)
            elif isinstance(step, ReadBody):
                try:
                    assert response is not None
                    assert chunks is not None
                    buf = io.BytesIO()
                    for piece in chunks:
                        if _take(buf, piece, step.limit):
                            break
                    value = buf.getvalue()
                    del buf
                except httpx2.HTTPError as exc:
                    value = _failure(exc, client.base_url)
            elif isinstance(step, ReadChunk):
                try:
                    assert chunks is not None
                    value = next(chunks, None)
                except httpx2.HTTPError as exc:
                    value = _failure(exc, client.base_url)
            elif isinstance(step, Release):
                if response is not None:
                    response.close()
                response, chunks = None, None
            elif isinstance(step, Emit):
                yield from step.events
            else:
                value = other(step)
    finally:
        if response is not None:
            response.close()
        player.close()


AsyncIO = Callable[[Step], Awaitable[Any]]


async def adrive(client: "AsyncClient | Endpoint", player: Player, other: AsyncIO) -> AsyncIterator[dict[str, Any]]:
    """Plays ``player`` with an async client (see ``drive``)."""
    response: httpx2.Response | None = None
    chunks: AsyncIterator[bytes] | None = None
    value: Any = None
    try:
        while True:
            try:
                step = player.send(value)
            except StopIteration:
                return
            value = None
            if isinstance(step, Send):
                try:
                    response = await client._http.send(build_httpx_request(client._http, client.base_url, step.http, client.timeouts), stream=True)
                    chunks = _adecoded(response)
                    value = Head(response.status_code, header_pairs(response.headers))
                except httpx2.HTTPError as exc:
                    value = _failure(exc, client.base_url)
            elif isinstance(step, ReadBody):
                try:
                    assert response is not None
                    assert chunks is not None
                    buf = io.BytesIO()
                    async for piece in chunks:
                        if _take(buf, piece, step.limit):
                            break
                    value = buf.getvalue()
                    del buf
                except httpx2.HTTPError as exc:
                    value = _failure(exc, client.base_url)
            elif isinstance(step, ReadChunk):
                try:
                    assert chunks is not None
                    value = await anext(chunks, None)
                except httpx2.HTTPError as exc:
                    value = _failure(exc, client.base_url)
            elif isinstance(step, Release):
                if response is not None:
                    await response.aclose()
                response, chunks = None, None
            elif isinstance(step, Emit):
                for ev in step.events:
                    yield ev
            else:
                value = other(step)
                if inspect.isawaitable(value):
                    value = await value
    finally:
        if response is not None:
            await response.aclose()
        player.close()


def call_io(client: "Client") -> SyncIO:
    """The non-transport I/O of a call: sleeping."""

    def other(step: Step) -> Any:
        if isinstance(step, Sleep):
            client._sleep(step.seconds)
            return None
        raise internal_error(f"a call asked for {step!r}")

    return other


def acall_io(client: "AsyncClient") -> AsyncIO:
    """The non-transport I/O of a call, async."""

    async def other(step: Step) -> Any:
        if isinstance(step, Sleep):
            await client._sleep(step.seconds)
            return None
        raise internal_error(f"a call asked for {step!r}")

    return other


def take_output(call: _creditpool.MessagesCall) -> dict[str, Any]:
    """The result of a ``count_tokens`` or webhook call (``take_output``), or
    its failure raised."""
    result = call.take_output()
    if result is None:
        raise internal_error("the call ended without a result")
    return result


def take_result(call: _creditpool.MessagesCall) -> dict[str, Any]:
    """The call's result (``message``, ``tool_input_issues``, ``attempts``,
    ``request_id``, ``rate_limit``), or its failure raised by the core's
    mapping (``code``, ``attempts``, ``give_up_reason``, ``partial``)."""
    result = call.take_result()
    if result is None:
        raise internal_error("the call ended without a result")
    return result
