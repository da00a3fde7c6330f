"""What the binding does around the core: turn the core's HTTP values into
httpx2 requests, and turn what went wrong into the core's ``Failure`` values
and our exceptions. No decision is taken here; the core's retry policy takes
them all.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any, Mapping, Sequence

import httpx2

from ._config import Timeouts
from ._creditpool import APIConnectionError, APIError, APITimeoutError, CreditpoolError, StreamIncompleteError

__all__ = [
    "log",
    "now_ms",
    "jitter_seed",
    "build_httpx_request",
    "transport_failure",
    "error_failure",
    "header_pairs",
    "plain",
    "describe_decision",
    "first_header",
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
        base_url.rstrip("/") + str(http["path"]),
        headers=list(http["headers"]),
        content=bytes(http["body"]),
        timeout=timeout,
    )


def transport_failure(exc: httpx2.HTTPError, *, in_body: bool) -> tuple[dict[str, Any], CreditpoolError]:
    """The core ``Failure`` and our exception for an httpx2 error. A read
    timeout once the body has begun is the stream's idle timeout."""
    if isinstance(exc, httpx2.TimeoutException):
        if isinstance(exc, httpx2.ConnectTimeout) or isinstance(exc, httpx2.PoolTimeout):
            phase = "connect"
        elif in_body:
            phase = "idle"
        else:
            phase = "read"
        err: CreditpoolError = APITimeoutError(f"{phase} timeout: {type(exc).__name__}")
        err.phase = phase  # type: ignore[attr-defined]
        return {"type": "timeout", "phase": phase}, err
    return {"type": "connection"}, APIConnectionError(f"connection failed: {type(exc).__name__}: {exc}")


def error_failure(err: CreditpoolError, status: int | None) -> dict[str, Any] | None:
    """The core ``Failure`` for one of our exceptions raised by the core while
    reading a response, or None when retrying cannot help (a malformed body or
    stream)."""
    if isinstance(err, APIError):
        if err.status is not None:
            return {"type": "http", "status": err.status}
        return {
            "type": "stream_error",
            "error": {"kind": err.error_type, "message": err.message or "", "request_id": err.request_id},
        }
    if isinstance(err, StreamIncompleteError):
        return {"type": "stream_truncated"}
    if status is not None and status >= 300:
        return {"type": "http", "status": status}
    return None


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


def describe_decision(decision: Mapping[str, Any]) -> str:
    """A short log line for a retry decision."""
    if decision.get("decision") == "retry":
        return f"retry in {decision.get('delay_ms')} ms ({decision.get('source')}, {decision.get('reason', {}).get('type')})"
    return f"give up ({decision.get('reason', {}).get('type')})"


def first_header(pairs: Sequence[tuple[str, str]], name: str) -> str | None:
    """The first value of a header, by case-insensitive name."""
    lower = name.lower()
    for k, v in pairs:
        if k.lower() == lower:
            return v
    return None

