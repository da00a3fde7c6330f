"""``Client`` and ``AsyncClient``: the Messages API over httpx2.

The core builds every request (headers, key, version, betas, pool selector),
reads every response, decides every retry and checks every request against the
model's capabilities; these classes send, receive and sleep.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any, Awaitable, Callable, Iterable, Mapping, Sequence

import anyio
import httpx2

from . import _creditpool
from ._config import PoolSelectorOption, Timeouts, selector_option
from ._creditpool import CreditpoolError
from ._driver import acall_io, adrive, call_io, drive, internal_error, play, take_output
from ._streaming import AsyncMessageStream, MessageStream
from ._transport import jitter_seed, now_ms, plain
from ._types import Cost, Message

__all__ = ["Client", "AsyncClient", "Messages", "AsyncMessages"]


class _Base:
    """What both clients share: configuration and the core's objects."""

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None,
        timeout: float | Timeouts | None,
        max_retries: int | None,
        retry_policy: Mapping[str, Any] | None,
        pool_selector: PoolSelectorOption,
        betas: Sequence[str],
        anthropic_version: str | None,
        default_headers: Mapping[str, str] | None,
        price_overrides: Sequence[Mapping[str, Any]] | None,
        total_timeout: float | None = None,
    ) -> None:
        options: dict[str, Any] = {
            "betas": list(betas),
            "pool_selector": selector_option(pool_selector),
            "extra_headers": [[k, v] for k, v in (default_headers or {}).items()],
        }
        if anthropic_version is not None:
            options["anthropic_version"] = anthropic_version
        key = api_key if api_key is not None else os.environ.get(_creditpool.API_KEY_ENV, "")
        # The key lives only inside the core's builder, which never shows it.
        self._builder = _creditpool.RequestBuilder(key, options)
        del key
        policy = dict(retry_policy or {})
        if max_retries is not None:
            policy["max_retries"] = max_retries
        self._retry = _creditpool.RetryPolicy(policy)
        self._retry_policy: dict[str, Any] = self._retry.to_dict()
        # The core's rule: given, else a non-empty variable, else the API.
        self.base_url: str = _creditpool.resolve_base_url(base_url, os.environ.get(_creditpool.BASE_URL_ENV))
        """Where requests go."""
        self.timeouts: Timeouts = Timeouts.of(timeout)
        if total_timeout is not None:
            self.timeouts = dataclasses.replace(self.timeouts, total=float(total_timeout))
        """Timeouts in seconds, the stream idle timeout included."""
        self.prices = _creditpool.PriceTable(list(overrides_list(price_overrides)))
        """The price table used for ``cost`` and capability checks."""
        self._clock: Callable[[], int] = now_ms
        """The clock the driver reads (Unix ms); tests replace it."""

    def __repr__(self) -> str:
        """The base URL and options; never the key."""
        return f"{type(self).__name__}(base_url={self.base_url!r}, api_key=****, options={self._builder.options()!r})"

    def _call_options(self, stream: bool | None) -> dict[str, Any]:
        """The core's ``CallOptions`` from the client's configuration: the
        retry policy, the timeouts and a fresh jitter seed (``stream`` only
        when given). A stream's head is bounded by ``stream_idle``, as httpx2's
        read timeout bounds every read of a streamed request."""
        options: dict[str, Any] = {
            "retry": self._retry_policy,
            "idle_timeout_ms": int(self.timeouts.stream_idle * 1000),
            "read_timeout_ms": int((self.timeouts.read if stream is False else min(self.timeouts.read, self.timeouts.stream_idle)) * 1000),
            "jitter_seed": jitter_seed(),
        }
        if self.timeouts.total is not None:
            options["total_timeout_ms"] = int(self.timeouts.total * 1000)
        if stream is not None:
            options["stream"] = stream
        return options

    def _new_call(self, params: Mapping[str, Any], stream: bool) -> _creditpool.MessagesCall:
        """The core's call for a request: checked (the core's preflight:
        tools and the model's capabilities), built, with the client's
        options."""
        return _creditpool.MessagesCall(self._builder, plain(dict(params)), self._call_options(stream))

    def _count_tokens_call(self, params: Mapping[str, Any]) -> _creditpool.MessagesCall:
        """The core's ``count_tokens`` call, retried like any call."""
        return _creditpool.MessagesCall.count_tokens(self._builder, plain(dict(params)), self._call_options(False))

    def cost(self, message: Message | Mapping[str, Any], *, batch: bool = False) -> Cost:
        """What a message cost, per component, in int nano-USD."""
        # A Message's three fields, read without converting the rest.
        data = message if isinstance(message, Message) else plain(message)
        options: dict[str, Any] = {"stop_reason": data.get("stop_reason"), "batch": batch}
        return Cost(self.prices.cost(str(data.get("model", "")), plain(data.get("usage")) or {}, options))


def take_message(call: _creditpool.MessagesCall) -> Message:
    """The call's message, or its failure raised (as ``take_result``). The
    message is the core's, handed over unconverted: its parts become Python
    objects when first read (``Message`` over a ``LazyMessage``)."""
    result = call.take_result(lazy=True)
    if result is None:
        raise internal_error("the call ended without a result")
    return Message._lazy(result["message"])


def overrides_list(overrides: Sequence[Mapping[str, Any]] | None) -> Iterable[dict[str, Any]]:
    """Price overrides as the core reads them."""
    for o in overrides or ():
        yield {"model": o["model"], "prices": dict(o["prices"])}


class Client(_Base):
    """A synchronous Messages API client.

    The key comes from ``api_key`` or ``ANTHROPIC_API_KEY`` and never appears
    in a ``repr``, a log record or an exception. ``http_client`` may be your own
    ``httpx2.Client`` (then closing it is yours). ``total_timeout`` (seconds,
    default none) bounds each call as a whole, every attempt and retry wait
    included: past it the call raises ``APITimeoutError`` (code
    ``total_timeout``), not retried.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | Timeouts | None = None,
        max_retries: int | None = None,
        retry_policy: Mapping[str, Any] | None = None,
        pool_selector: PoolSelectorOption = None,
        betas: Sequence[str] = (),
        anthropic_version: str | None = None,
        default_headers: Mapping[str, str] | None = None,
        price_overrides: Sequence[Mapping[str, Any]] | None = None,
        total_timeout: float | None = None,
        http_client: httpx2.Client | None = None,
    ) -> None:
        """Configures the client; see the class documentation."""
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            pool_selector=pool_selector,
            betas=betas,
            anthropic_version=anthropic_version,
            default_headers=default_headers,
            price_overrides=price_overrides,
            total_timeout=total_timeout,
        )
        self._owns_http = http_client is None
        self._http: httpx2.Client = http_client if http_client is not None else httpx2.Client()
        self._sleep: Callable[[float], None] = time.sleep
        self.messages = Messages(self)
        """``create``, ``stream`` and ``count_tokens``."""

    def close(self) -> None:
        """Closes the HTTP client if this client created it."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> "Client":
        """Returns the client."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Closes the client."""
        self.close()


class Messages:
    """``client.messages``."""

    def __init__(self, client: Client) -> None:
        """Bound to a client."""
        self._client = client

    def create(self, *, model: str, max_tokens: int, messages: Sequence[Any], **params: Any) -> Message:
        """Sends a request and returns the message. Other parameters
        (``system``, ``tools``, ``tool_choice``, ``temperature``, ...) are sent
        as given; tools made with ``@tool`` are accepted as they are. A name
        the Messages API does not have raises ``UnknownParameterError``
        (with the closest known one) before anything is sent; fields newer
        than this library go in ``extra_body={...}``, sent as given."""
        c = self._client
        call = c._new_call({"model": model, "max_tokens": max_tokens, "messages": messages, **params}, False)
        for _ in drive(c, play(call, c._clock), call_io(c)):
            pass
        return take_message(call)

    def stream(self, *, model: str, max_tokens: int, messages: Sequence[Any], **params: Any) -> MessageStream:
        """A streamed request: iterate the returned ``MessageStream`` for the
        events; the last one holds the final message."""
        c = self._client
        return MessageStream(c, c._new_call({"model": model, "max_tokens": max_tokens, "messages": messages, **params}, True))

    def count_tokens(self, *, model: str, messages: Sequence[Any], **params: Any) -> int:
        """The exact input tokens of a request (``/v1/messages/count_tokens``)."""
        c = self._client
        call = c._count_tokens_call({"model": model, "max_tokens": 1, "messages": messages, **params})
        for _ in drive(c, play(call, c._clock), call_io(c)):
            pass
        return int(take_output(call)["input_tokens"])


async def _anyio_sleep(seconds: float) -> None:
    await anyio.sleep(seconds)


class AsyncClient(_Base):
    """An asynchronous Messages API client (asyncio or trio, through anyio).

    Same options as ``Client``; ``http_client`` may be your own
    ``httpx2.AsyncClient``.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | Timeouts | None = None,
        max_retries: int | None = None,
        retry_policy: Mapping[str, Any] | None = None,
        pool_selector: PoolSelectorOption = None,
        betas: Sequence[str] = (),
        anthropic_version: str | None = None,
        default_headers: Mapping[str, str] | None = None,
        price_overrides: Sequence[Mapping[str, Any]] | None = None,
        total_timeout: float | None = None,
        http_client: httpx2.AsyncClient | None = None,
    ) -> None:
        """Configures the client; see the class documentation."""
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            pool_selector=pool_selector,
            betas=betas,
            anthropic_version=anthropic_version,
            default_headers=default_headers,
            price_overrides=price_overrides,
            total_timeout=total_timeout,
        )
        self._owns_http = http_client is None
        self._http: httpx2.AsyncClient = http_client if http_client is not None else httpx2.AsyncClient()
        self._sleep: Callable[[float], Awaitable[None]] = _anyio_sleep
        self.messages = AsyncMessages(self)
        """``create``, ``stream`` and ``count_tokens``."""

    async def aclose(self) -> None:
        """Closes the HTTP client if this client created it."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> "AsyncClient":
        """Returns the client."""
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Closes the client."""
        await self.aclose()


class AsyncMessages:
    """``client.messages`` of an ``AsyncClient``."""

    def __init__(self, client: AsyncClient) -> None:
        """Bound to a client."""
        self._client = client

    async def create(self, *, model: str, max_tokens: int, messages: Sequence[Any], **params: Any) -> Message:
        """Sends a request and returns the message (see ``Messages.create``)."""
        c = self._client
        call = c._new_call({"model": model, "max_tokens": max_tokens, "messages": messages, **params}, False)
        async for _ in adrive(c, play(call, c._clock), acall_io(c)):
            pass
        return take_message(call)

    def stream(self, *, model: str, max_tokens: int, messages: Sequence[Any], **params: Any) -> AsyncMessageStream:
        """A streamed request: ``async for`` the events of the returned
        ``AsyncMessageStream``; the last one holds the final message."""
        c = self._client
        return AsyncMessageStream(c, c._new_call({"model": model, "max_tokens": max_tokens, "messages": messages, **params}, True))

    async def count_tokens(self, *, model: str, messages: Sequence[Any], **params: Any) -> int:
        """The exact input tokens of a request."""
        c = self._client
        call = c._count_tokens_call({"model": model, "max_tokens": 1, "messages": messages, **params})
        async for _ in adrive(c, play(call, c._clock), acall_io(c)):
            pass
        return int(take_output(call)["input_tokens"])
