"""What the binding does around the core: turn the core's HTTP values into
httpx2 requests and response headers into pairs, the clock, jitter seeds, and
plain JSON data. No decision is taken here (what a transport failure means is
the core's: see ``_driver``).
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any, Mapping

import httpx2

from ._config import Timeouts

__all__ = [
    "log",
    "now_ms",
    "jitter_seed",
    "build_httpx_request",
    "header_pairs",
    "plain",
]

log = logging.getLogger("creditpool")
"""The package's logger. It logs methods, paths, statuses, request IDs and retry
decisions at DEBUG; never a header value or a body."""


def now_ms() -> int:
    """The current Unix time in milliseconds (the core's clock input)."""
    return time.time_ns() // 1_000_000


def jitter_seed() -> int:
    """A fresh seed for the core's backoff jitter (below 2**53)."""
    return secrets.randbits(53)


def build_httpx_request(client: httpx2.Client | httpx2.AsyncClient, base_url: str, http: Mapping[str, Any], timeouts: Timeouts) -> httpx2.Request:
    """The httpx2 request for the core's ``HttpRequest`` dict. A stream's read
    timeout is the idle timeout: the longest wait for the next bytes."""
    read = timeouts.stream_idle if http["stream"] else timeouts.read
    timeout = httpx2.Timeout(connect=timeouts.connect, read=read, write=timeouts.write, pool=timeouts.pool)
    return client.build_request(
        str(http["method"]),
        base_url.rstrip("/") + str(http["path"]) if http["path"] else base_url,
        headers=list(http["headers"]),
        content=bytes(http["body"]),
        timeout=timeout,
    )


def connection_detail(exc: BaseException) -> str:
    """What the operating system said about a failed connection (the first
    ``OSError`` in the exception's chain, as ``Connection refused (os error
    111)``), else the exception's own text; the core words it with the
    origin, and drops a detail that holds a URL."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno is not None and e.strerror:
            return f"{e.strerror} (os error {e.errno})"
        e = e.__cause__ or e.__context__
    return str(exc) or type(exc).__name__


def header_pairs(headers: httpx2.Headers) -> list[tuple[str, str]]:
    """Response headers as ``(name, value)`` pairs, repeated names kept."""
    return list(headers.multi_items())


def plain(value: Any) -> Any:
    """``value`` with typed views (``Message``, blocks, ...) and tools turned
    into plain JSON data, recursively."""
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return plain(to_dict())
    definition = getattr(value, "definition", None)
    if isinstance(definition, dict) and not isinstance(value, Mapping):
        return definition
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value
