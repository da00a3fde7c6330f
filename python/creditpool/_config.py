"""Client configuration values: timeouts and the pool selector."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

__all__ = ["Timeouts", "PoolSelector", "PoolSelectorOption", "DEFAULT_BASE_URL"]

from ._creditpool import DEFAULT_BASE_URL as DEFAULT_BASE_URL  # the core's

# ``DEFAULT_BASE_URL``: where requests go unless ``base_url`` or
# ``ANTHROPIC_BASE_URL`` says otherwise (``resolve_base_url``: the core's rule).


@dataclass(frozen=True)
class Timeouts:
    """Timeouts in seconds.

    ``read`` bounds the wait for a non-streaming response. ``stream_idle`` bounds
    the silence between two reads of a stream (the API sends ``ping`` events
    while it works, so a longer silence means a stalled stream); it also bounds
    the wait for a stream's response headers. A timeout is a failure the core's
    retry policy decides on like any other.
    """

    connect: float = 10.0
    """Establishing the connection."""
    read: float = 600.0
    """Waiting for a non-streaming response."""
    write: float = 600.0
    """Sending the request body."""
    pool: float = 10.0
    """Waiting for a free connection from the HTTP client's pool."""
    stream_idle: float = 90.0
    """The longest silence between two reads of a stream."""
    total: float | None = None
    """An overall deadline for one call, every attempt, retry wait and stream
    included (the core's ``total_timeout_ms``); ``None`` (the default) for
    none. Past it the call raises ``APITimeoutError`` (code
    ``total_timeout``, phase ``"total"``), never retried; a retry whose wait
    would end after it is not made."""

    @classmethod
    def of(cls, value: "float | Timeouts | None") -> "Timeouts":
        """``None`` for the defaults, a number for every phase but ``connect``
        and ``pool``, or a ``Timeouts``."""
        if value is None:
            return cls()
        if isinstance(value, Timeouts):
            return value
        t = float(value)
        return cls(read=t, write=t, stream_idle=t)


@dataclass(frozen=True)
class PoolSelector:
    """The body field that selects the credit pool (default
    ``"credit_pool": "programmatic"``)."""

    field: str = "credit_pool"
    """The body field's name."""
    value: Any = "programmatic"
    """Its value (any JSON)."""

    def to_option(self) -> dict[str, Any]:
        """The core's ``pool_selector`` option."""
        return {"field": self.field, "value": self.value}


PoolSelectorOption = Union[PoolSelector, bool, dict[str, Any], None]
"""``None`` or ``True`` for the default selector, ``False`` for none, a
``PoolSelector`` or ``{"field": ..., "value": ...}`` for another."""


def selector_option(value: PoolSelectorOption) -> Any:
    """The core's ``pool_selector`` option for a ``PoolSelectorOption``."""
    if value is None:
        return True
    if isinstance(value, PoolSelector):
        return value.to_option()
    return value
