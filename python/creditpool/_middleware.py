"""The pool inside the official SDK: ``creditpool.middleware(pool, agent=...)``.

The official ``anthropic`` SDK (``anthropic.Anthropic(middleware=[...])``,
``AsyncAnthropic``, ``client.with_options(middleware=[...])``) runs its
middleware once per HTTP attempt, inside its own retry loop. This middleware
is a driver of the core's ``Meter`` (``creditpool_core::meter``), which holds
every rule: which requests are metered (``POST /v1/messages``; everything
else passes through untouched), the pool selector added to the body, the
worst case reserved before the first attempt, one hold kept across the SDK's
retries of a call, and how each attempt ends (settled from the JSON
``usage`` or from a copy of the stream; released when certainly unbilled;
settled at the worst case, flagged estimated, when it may have been billed).

What this file does is I/O only: it hands the core the body the SDK built and
what came back, applies the pool operations the core asks for to the pool
store, sleeps when the pool's rate limit says so, and raises the core's typed
refusal before anything is sent. A stream is read as a copy: each chunk the
caller reads is handed to the core as it passes; the caller's events, their
order and their timing are the SDK's. A stream the caller closes, breaks out
of or drops half-way is settled by the core's rules for a cut stream.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
import time
import weakref
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Iterator, Literal, Mapping, Union

import httpx2

from . import _creditpool
from ._driver import _Decoder
from ._store import AsyncPoolStore, PoolStore
from ._transport import now_ms

if TYPE_CHECKING:
    from anthropic import Middleware
    from anthropic._middleware import AsyncCallNext, CallNext
    from anthropic._request import APIRequest
    from anthropic._response import APIResponse, AsyncAPIResponse

__all__ = ["middleware", "MIN_SDK_VERSION"]

MIN_SDK_VERSION: str = _creditpool.MIN_PYTHON_SDK
"""The lowest ``anthropic`` version the middleware works with (the core's
``meter::MIN_PYTHON_SDK``)."""

Store = Union[PoolStore, AsyncPoolStore]

#: Calls whose hold is kept for a retry of the SDK, by idempotency key. A
#: call the SDK gave up on while it was held is forgotten past this many (its
#: hold then lapses at the end of its lease: never less than billed).
_MAX_OPEN_CALLS = 1024


def _unsupported(found: str | None) -> _creditpool.SdkUnsupportedError:
    what = "is not installed" if found is None else f"{found} has no middleware hook"
    e = _creditpool.SdkUnsupportedError(
        f"creditpool.middleware needs the official SDK anthropic>={MIN_SDK_VERSION} (pip install 'creditpool[sdk]'); "
        f"the installed anthropic {what}"
    )
    e.code = "sdk_unsupported"
    e.minimum = MIN_SDK_VERSION
    return e


def _middleware_base() -> type[Any]:
    """``anthropic.Middleware``, or the typed error that names the minimum version."""
    try:
        import anthropic
    except ImportError:
        raise _unsupported(None) from None
    base = getattr(anthropic, "Middleware", None)
    if not isinstance(base, type):
        raise _unsupported(str(getattr(anthropic, "__version__", "(unknown version)")))
    return base


def _transport_failure(exc: BaseException) -> str:
    """What the transport saw: ``not_sent`` when the connection never opened,
    else ``lost`` (the request may have left). The core decides what each means."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout)):
            return "not_sent"
        cur = cur.__cause__ or cur.__context__
    return "lost"


def _attempt_raised(books: "_Books", exc: BaseException) -> None:
    """Tells the meter how an attempt that raised ended: a connection error
    of the SDK is a transport failure, anything else (a cancellation) an
    abandoned call. The core decides what each means for the books."""
    import anthropic

    if isinstance(exc, anthropic.APIConnectionError):
        books.meter.handle_transport_error(_transport_failure(exc), books.clock())
    else:
        books.meter.abandon(books.clock())


def _body(request: APIRequest) -> bytes:
    """The JSON body the SDK sends for ``request`` (its data and ``extra_body``), as UTF-8."""
    data: Any = request.json
    extra = request.options.extra_json
    if isinstance(data, Mapping) and isinstance(extra, Mapping):
        data = {**data, **extra}
    elif data is None:
        data = extra
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str).encode()


class _Books:
    """One SDK call's ``Meter`` and the store its operations go to. Shared by
    the attempts of the call and by a stream's copy; holds no reference to
    the stream, so that a dropped stream can still be settled."""

    def __init__(self, meter: _creditpool.Meter, store: Store, clock: Callable[[], int]) -> None:
        self.meter = meter
        self.store = store
        self.clock = clock
        self.lock = threading.Lock()

    def drain(self) -> str:
        """Applies every pool operation the meter asks for; sleeps through a
        rate limit; returns the next other action's type (a refusal raises)."""
        with self.lock:
            while True:
                action = self.meter.next_action(self.clock())
                kind = action["type"]
                if kind == "pool":
                    result = self.store.apply(action["op"])
                    if inspect.isawaitable(result):
                        close = getattr(result, "close", None)
                        if callable(close):
                            close()
                        e = _creditpool.InvalidOptionsError("an async pool store (AsyncPoolStore) needs the async client, anthropic.AsyncAnthropic")
                        e.code = "invalid_options"
                        raise e
                    self.meter.handle_pool(result, self.clock())
                elif kind == "wait":
                    time.sleep(max(0, int(action["until_ms"]) - self.clock()) / 1000)
                else:
                    return str(kind)

    async def adrain(self) -> str:
        """``drain`` for the async client (the store may be async)."""
        while True:
            action = self.meter.next_action(self.clock())
            kind = action["type"]
            if kind == "pool":
                result = self.store.apply(action["op"])
                if inspect.isawaitable(result):
                    result = await result
                self.meter.handle_pool(result, self.clock())
            elif kind == "wait":
                await asyncio.sleep(max(0, int(action["until_ms"]) - self.clock()) / 1000)
            else:
                return str(kind)


class _Copy:
    """Hands the core a copy of each chunk of a stream as the caller reads it."""

    def __init__(self, books: _Books, response: httpx2.Response) -> None:
        self.books = books
        self.decoder = _Decoder(response)
        self.over = False

    def feed(self, raw: bytes) -> None:
        if self.over:
            return
        try:
            pieces = list(self.decoder.decode(raw))
        except httpx2.DecodingError:
            pieces = []
            self.over = True
        for piece in pieces:
            self.books.meter.handle_chunk(piece, self.books.clock())

    def finish(self, ended: bool) -> None:
        """The body ended (``ended``), or the caller left it: the core settles."""
        if self.over and ended:
            ended = False
        if ended:
            for piece in self.decoder.flush():
                self.books.meter.handle_chunk(piece, self.books.clock())
            self.books.meter.handle_end(self.books.clock())
        else:
            self.books.meter.abandon(self.books.clock())
        self.over = True


def _abandon_sync(books: _Books, copy: _Copy) -> None:
    if not copy.over:
        copy.finish(False)
        books.drain()


def _abandon_async(books: _Books, copy: _Copy, loop: asyncio.AbstractEventLoop) -> None:
    """A stream of the async client dropped unclosed: settle it on its loop."""
    if copy.over:
        return
    copy.finish(False)
    try:
        loop.call_soon_threadsafe(lambda: loop.create_task(books.adrain()))
    except RuntimeError:  # the loop is closed: a sync store can still be written
        if not inspect.iscoroutinefunction(getattr(books.store, "apply", None)):
            books.drain()


class _SyncCopyStream(httpx2.SyncByteStream):
    """The response's byte stream, passed through unchanged; each chunk is
    copied to the core before the caller gets it."""

    def __init__(self, inner: Any, books: _Books, copy: _Copy) -> None:
        self._inner = inner
        self._books = books
        self._copy = copy
        self._finalizer = weakref.finalize(self, _abandon_sync, books, copy)

    def __iter__(self) -> Iterator[bytes]:
        ended = False
        try:
            for raw in self._inner:
                self._copy.feed(raw)
                if self._books.meter.is_reading():
                    self._books.drain()
                yield raw
            ended = True
        finally:
            if not self._copy.over:
                self._copy.finish(ended)
                self._books.drain()

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._finalizer.detach()
            if not self._copy.over:
                self._copy.finish(False)
                self._books.drain()


class _AsyncCopyStream(httpx2.AsyncByteStream):
    """``_SyncCopyStream`` for the async client."""

    def __init__(self, inner: Any, books: _Books, copy: _Copy) -> None:
        self._inner = inner
        self._books = books
        self._copy = copy
        self._finalizer = weakref.finalize(self, _abandon_async, books, copy, asyncio.get_running_loop())

    async def __aiter__(self) -> AsyncIterator[bytes]:
        ended = False
        try:
            async for raw in self._inner:
                self._copy.feed(raw)
                if self._books.meter.is_reading():
                    await self._books.adrain()
                yield raw
            ended = True
        finally:
            if not self._copy.over:
                self._copy.finish(ended)
                await self._books.adrain()

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            self._finalizer.detach()
            if not self._copy.over:
                self._copy.finish(False)
                await self._books.adrain()


class _Pool:
    """What every SDK middleware object of creditpool shares: the config,
    the store, the prices and the calls held for a retry."""

    def __init__(
        self, store: Store, config: dict[str, Any], prices: _creditpool.PriceTable, clock: Callable[[], int], threads: _creditpool.ThreadBook | None = None
    ) -> None:
        if not callable(getattr(store, "apply", None)):
            e = _creditpool.InvalidOptionsError("pool must be a pool store: a creditpool.Pool, or an object with apply(op)")
            e.code = "invalid_options"
            raise e
        self.store = store
        self.config = config
        self.prices = prices
        self.clock = clock
        self.open: OrderedDict[str, _Books] = OrderedDict()
        self.lock = threading.Lock()
        # The book of message threads: the pool store's (the core asks for
        # thread_lookup / thread_record operations), or an in-process one.
        if threads is not None and not isinstance(threads, _creditpool.ThreadBook):
            e = _creditpool.InvalidOptionsError("threads must be a creditpool ThreadBook, or None for the pool store's book")
            e.code = "invalid_options"
            raise e
        self.threads: _creditpool.ThreadBook | Literal["pool"] = threads if threads is not None else "pool"
        # Checks the config now, with the core's own reading of it.
        _creditpool.Meter(config, b'{"model":"claude-haiku-4-5","max_tokens":1,"messages":[]}', prices, self.threads, clock())

    def books(self, request: APIRequest) -> _Books:
        """The call's books: the ones held for this retry, or new ones."""
        key = request.options.idempotency_key
        with self.lock:
            if key is not None and request.retries_taken > 0 and key in self.open:
                return self.open.pop(key)
        meter = _creditpool.Meter(self.config, _body(request), self.prices, self.threads, self.clock())
        return _Books(meter, self.store, self.clock)

    def keep(self, request: APIRequest, books: _Books, state: str) -> None:
        """Keeps the books of a call that the SDK will retry (the hold stays)."""
        key = request.options.idempotency_key
        if state != "idle" or key is None:
            return
        with self.lock:
            self.open[key] = books
            while len(self.open) > _MAX_OPEN_CALLS:
                self.open.popitem(last=False)

    @staticmethod
    def begin(books: _Books, request: APIRequest) -> Any:
        mr = request.max_retries
        books.meter.begin_attempt(request.retries_taken, mr if isinstance(mr, int) else None, books.clock())

    @staticmethod
    def outgoing(books: _Books, request: APIRequest) -> APIRequest:
        if not books.meter.body_changed:
            return request
        return request.copy(body=json.loads(books.meter.body))


def _handle(pool: _Pool, request: APIRequest, call_next: CallNext) -> APIResponse[Any]:
    books = pool.books(request)
    pool.begin(books, request)
    books.drain()  # a refusal raises here: nothing is sent
    try:
        response = call_next(pool.outgoing(books, request))
    except BaseException as exc:
        _attempt_raised(books, exc)
        pool.keep(request, books, books.drain())
        raise
    raw = response.http_response
    read = books.meter.handle_head(raw.status_code, list(raw.headers.multi_items()), books.clock())
    if read == "chunks":
        copy = _Copy(books, raw)
        raw.stream = _SyncCopyStream(raw.stream, books, copy)
        return response
    try:
        body = raw.read()
    except httpx2.HTTPError as exc:
        books.meter.handle_transport_error(_transport_failure(exc), books.clock())
        pool.keep(request, books, books.drain())
        raise
    books.meter.handle_body(body, books.clock())
    pool.keep(request, books, books.drain())
    return response


async def _ahandle(pool: _Pool, request: APIRequest, call_next: AsyncCallNext) -> AsyncAPIResponse[Any]:
    books = pool.books(request)
    pool.begin(books, request)
    await books.adrain()  # a refusal raises here: nothing is sent
    try:
        response = await call_next(pool.outgoing(books, request))
    except BaseException as exc:
        _attempt_raised(books, exc)
        pool.keep(request, books, await books.adrain())
        raise
    raw = response.http_response
    read = books.meter.handle_head(raw.status_code, list(raw.headers.multi_items()), books.clock())
    if read == "chunks":
        copy = _Copy(books, raw)
        raw.stream = _AsyncCopyStream(raw.stream, books, copy)
        return response
    try:
        body = await raw.aread()
    except httpx2.HTTPError as exc:
        books.meter.handle_transport_error(_transport_failure(exc), books.clock())
        pool.keep(request, books, await books.adrain())
        raise
    books.meter.handle_body(body, books.clock())
    pool.keep(request, books, await books.adrain())
    return response


_CLASS: type[Any] | None = None


def _middleware_class() -> type[Any]:
    global _CLASS
    if _CLASS is None:
        base = _middleware_base()

        class CreditpoolMiddleware(base):  # type: ignore[misc, valid-type]
            """creditpool's middleware for ``anthropic.Anthropic`` and
            ``anthropic.AsyncAnthropic``: see ``creditpool.middleware``."""

            def __init__(self, pool: _Pool) -> None:
                self._pool = pool

            def handle(self, request: APIRequest, call_next: CallNext) -> APIResponse[Any]:
                if not _creditpool.meter_applies(request.method, str(request.url)):
                    return call_next(request)
                return _handle(self._pool, request, call_next)

            async def handle_async(self, request: APIRequest, call_next: AsyncCallNext) -> AsyncAPIResponse[Any]:
                if not _creditpool.meter_applies(request.method, str(request.url)):
                    return await call_next(request)
                return await _ahandle(self._pool, request, call_next)

            def __repr__(self) -> str:
                return f"<creditpool middleware agent={self._pool.config['agent']!r}>"

        _CLASS = CreditpoolMiddleware
    return _CLASS


def middleware(
    pool: Store,
    agent: str = "default",
    *,
    pool_selector: bool | Mapping[str, Any] | None = None,
    lease_ms: int | None = None,
    estimate: Mapping[str, Any] | None = None,
    max_retries: int | None = None,
    unknown_thread: str | None = None,
    container_minutes: int | None = None,
    prices: _creditpool.PriceTable | None = None,
    clock: Callable[[], int] = now_ms,
    threads: _creditpool.ThreadBook | None = None,
) -> Middleware:
    """A middleware for the official SDK that draws every Messages call on ``pool``.

    ``anthropic.Anthropic(middleware=[creditpool.middleware(pool, agent="researcher")])``
    (or ``AsyncAnthropic``, or ``client.with_options(middleware=[...])``).
    ``pool`` is any pool store: a ``creditpool.Pool``, or an object whose
    ``apply(op)`` applies the core's pool operations (async with the async
    client). Each ``POST /v1/messages`` reserves its worst case before its
    first attempt (a refusal raises the typed ``PoolRefusedError`` subclass
    before anything is sent), keeps that hold across the SDK's retries, and
    settles from the response's usage or from a copy of the stream; other
    endpoints (``count_tokens``, ...) pass through untouched.

    ``pool_selector``: ``None`` for the default (``"credit_pool":
    "programmatic"``), ``False`` for none, or ``{"field", "value"}``.
    ``max_retries``: the client's, when it is not the SDK's default (2).

    Message threads (the tool runner's turns): a ``thread: {"type":
    "continue"}`` request is reserved at the whole thread's input bound
    (what the API bills it), not at the model's context window. The book of
    threads is the pool store's (the core's ``thread_record`` and
    ``thread_lookup`` operations): with a ``RedisPool`` every process
    sharing the pool bounds the continues of threads the others created.
    ``threads=ThreadBook()`` keeps an in-process book instead (a store
    without the thread operations: its continues are bounded as unknown).
    A continue the book does not know (never seen, or expired 5 minutes
    after its thread's last request) is reserved at the context window, or,
    with ``unknown_thread="refuse"``, raises ``UnknownThreadError`` before
    anything is sent. The SDK's replay after a 404 ``thread_not_found`` is a
    new create. Raises ``SdkUnsupportedError`` when the installed ``anthropic`` has no
    middleware hook, naming the minimum version.

    Code execution: a request whose code execution is billed by container
    time (no ``web_search``/``web_fetch`` tool dated 20260209 or later beside
    it) is reserved, and settled when the tool ran or files were preloaded,
    at ``container_minutes`` of container time (default the 5-minute billing
    minimum; raise it for long-running code). The response does not report
    container time, so such a settle is flagged estimated. Below 5 or above
    30 days raises ``InvalidOptionsError`` (code
    ``invalid_container_minutes``) here, when the middleware is made.
    """
    cls = _middleware_class()
    config: dict[str, Any] = {"agent": agent}
    if pool_selector is not None:
        config["pool_selector"] = pool_selector
    if lease_ms is not None:
        config["lease_ms"] = lease_ms
    if estimate is not None:
        config["estimate"] = estimate
    if max_retries is not None:
        config["max_retries"] = max_retries
    if unknown_thread is not None:
        config["unknown_thread"] = unknown_thread
    if container_minutes is not None:
        config["container_minutes"] = container_minutes
    table = prices if prices is not None else _creditpool.PriceTable()
    return cls(_Pool(pool, config, table, clock, threads))  # type: ignore[no-any-return]
