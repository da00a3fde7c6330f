"""The pool-store seam: what an ``Agent`` applies its pool operations to.

The core's ``AgentRun`` holds no pool. It asks for pool operations (the
core's ``PoolOp`` JSON, tagged by ``"op"``: ``reserve``, ``settle``,
``release``, ``extend``) and reads their results (the core's ``OpResult``
JSON, tagged by ``"result"``). A *pool store* is anything that applies them:
``Pool`` (the core's in-memory pool, with persistence, alerts and webhooks),
a wrapper that records or forwards them, or (next) a pool shared through
Redis. See ``docs/ARCHITECTURE.md``.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["PoolStore", "AsyncPoolStore"]


@runtime_checkable
class PoolStore(Protocol):
    """Applies one pool operation and returns its result.

    ``op`` is the core's ``PoolOp`` as a dict, for example ``{"op":
    "reserve", "agent": "a", "amount": 1000, "now_ms": ..., "lease_ms":
    None}``; the result is the core's ``OpResult`` as a dict, for example
    ``{"result": "reserved", "id": 1, "amount": 1000, "expires_at_ms": ...}``
    or ``{"result": "refused", "reason": "pool_exhausted", ...}``. A refusal
    or a misuse is a result, not an exception. ``Pool.apply`` is the
    in-memory store."""

    def apply(self, op: dict[str, Any]) -> dict[str, Any]:
        """Applies ``op``; returns its result."""
        ...


@runtime_checkable
class AsyncPoolStore(Protocol):
    """A ``PoolStore`` whose ``apply`` is a coroutine (for a store behind the
    network); ``Agent.arun`` awaits it."""

    async def apply(self, op: dict[str, Any]) -> dict[str, Any]:
        """Applies ``op``; returns its result."""
        ...
