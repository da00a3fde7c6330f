"""Typed views of what a ``Pool`` hands out: alerts, reservations, settles,
releases, ledger entries and reports. Each wraps the core's JSON (attribute
access for known fields, ``obj["field"]`` for any field, ``to_dict()``)."""

from __future__ import annotations

from typing import Any

from ._money import format_usd
from ._types import Model

__all__ = ["Alert", "Reservation", "Settlement", "Released", "LedgerEntry", "PoolReport"]


class Alert(Model):
    """An alert: a threshold of the limit reached (settled, or with
    ``on_committed`` settled plus reserved), or a projected exhaustion. Fired
    once per cycle each."""

    __slots__ = ()

    @property
    def kind(self) -> str:
        """``threshold``, ``committed_threshold`` or ``projected_exhaustion``."""
        return str(self._data.get("alert", ""))

    @property
    def percent(self) -> int | None:
        """The threshold in percent (threshold kinds)."""
        v = self._data.get("percent")
        return None if v is None else int(v)

    @property
    def pool_id(self) -> str:
        """The pool."""
        return str(self._data.get("pool_id", ""))

    @property
    def occurred_at_ms(self) -> int:
        """When, Unix ms."""
        return int(self._data.get("occurred_at_ms", 0))

    @property
    def limit(self) -> int:
        """The limit then, nano-USD."""
        return int(self._data.get("limit", 0))

    @property
    def settled(self) -> int:
        """Settled spend then, nano-USD."""
        return int(self._data.get("settled", 0))

    @property
    def reserved(self) -> int:
        """Open reservations then, nano-USD."""
        return int(self._data.get("reserved", 0))

    @property
    def payload(self) -> dict[str, Any]:
        """The webhook body as a dict (the documented schema)."""
        v = self._data.get("payload")
        return v if isinstance(v, dict) else {}

    @property
    def text(self) -> str:
        """A one-line summary (Slack-compatible)."""
        return str(self.payload.get("text", ""))

    @property
    def idempotency_key(self) -> str:
        """Unique to this alert in this pool and cycle."""
        return str(self.payload.get("idempotency_key", ""))


class Reservation(Model):
    """A granted reservation: settle or release it before ``expires_at_ms``."""

    __slots__ = ()

    @property
    def id(self) -> int:
        """The reservation's ID (its idempotency key)."""
        return int(self._data["id"])

    @property
    def amount(self) -> int:
        """The amount held, nano-USD."""
        return int(self._data["amount"])

    @property
    def expires_at_ms(self) -> int:
        """When the lease ends, Unix ms."""
        return int(self._data["expires_at_ms"])


class Settlement(Model):
    """A settle: the cost posted (or ``duplicate`` when the reservation was
    already closed and nothing changed)."""

    __slots__ = ()

    @property
    def duplicate(self) -> bool:
        """Whether the reservation was already closed."""
        return self._data.get("result") == "duplicate"

    @property
    def id(self) -> int:
        """The reservation's ID."""
        return int(self._data["id"])

    @property
    def cost(self) -> int:
        """The cost counted, nano-USD."""
        return int(self._data.get("cost", 0))

    @property
    def refunded(self) -> int:
        """What went back to the pool, nano-USD."""
        return int(self._data.get("refunded", 0))

    @property
    def overrun(self) -> int:
        """What the cost exceeded the reservation by, nano-USD."""
        return int(self._data.get("overrun", 0))

    @property
    def late(self) -> bool:
        """Whether the reservation had expired before the settle."""
        return bool(self._data.get("late", False))


class Released(Model):
    """A release: the reservation voided (or ``duplicate``)."""

    __slots__ = ()

    @property
    def duplicate(self) -> bool:
        """Whether the reservation was already closed."""
        return self._data.get("result") == "duplicate"

    @property
    def id(self) -> int:
        """The reservation's ID."""
        return int(self._data["id"])

    @property
    def amount(self) -> int:
        """What went back to the pool, nano-USD."""
        return int(self._data.get("amount", 0))


class LedgerEntry(Model):
    """One ledger entry: a settle, a release or an expiry (see
    ``creditpool_core::pool::ledger`` for every field)."""

    __slots__ = ()

    @property
    def seq(self) -> int:
        """The sequence number, from 1, without gaps."""
        return int(self._data["seq"])

    @property
    def kind(self) -> str:
        """``settle``, ``release`` or ``expire``."""
        return str(self._data["kind"])

    @property
    def agent(self) -> str:
        """The agent."""
        return str(self._data["agent"])

    @property
    def cost(self) -> int:
        """What was spent, nano-USD (zero unless a settle)."""
        return int(self._data.get("cost", 0))

    @property
    def request_id(self) -> str | None:
        """The API's ``request-id`` (settles with attribution)."""
        v = self._data.get("request_id")
        return v if isinstance(v, str) else None

    @property
    def model(self) -> str | None:
        """The model (settles with attribution)."""
        v = self._data.get("model")
        return v if isinstance(v, str) else None


class PoolReport(Model):
    """The pool's report for the current cycle: spend per agent, model and
    tool, the top consumers, a time series and closed cycles. Amounts are int
    nano-USD; every field of the core's report is reachable with ``report["field"]``."""

    __slots__ = ()

    @property
    def limit(self) -> int:
        """The current limit."""
        return int(self._data["limit"])

    @property
    def settled(self) -> int:
        """Settled spend this cycle."""
        return int(self._data["settled"])

    @property
    def reserved(self) -> int:
        """Open reservations."""
        return int(self._data["reserved"])

    @property
    def available(self) -> int:
        """The limit less settled and reserved."""
        return int(self._data["available"])

    @property
    def requests(self) -> int:
        """Settled requests this cycle."""
        return int(self._data.get("requests", 0))

    @property
    def agents(self) -> list[dict[str, Any]]:
        """Every active agent: ``agent``, ``settled``, ``reserved``,
        ``requests``, ``refusals``, ``cap``; largest spend first."""
        return list(self._data.get("agents") or [])

    @property
    def models(self) -> list[dict[str, Any]]:
        """Every model used: ``model``, ``cost``, ``requests``, ``tokens``."""
        return list(self._data.get("models") or [])

    @property
    def tools(self) -> list[dict[str, Any]]:
        """Every tool charged, by total."""
        return list(self._data.get("tools") or [])

    def text(self) -> str:
        """A short plain-text summary."""
        f = format_usd
        lines = [f"pool {self._data.get('pool_id')}: {f(self.settled)} settled, {f(self.reserved)} reserved of {f(self.limit)} ({self.requests} requests)"]
        for a in self.agents:
            cap = a.get("cap")
            cap_s = f" (cap {f(int(cap))})" if cap is not None else ""
            lines.append(f"  agent {a['agent']}: {f(int(a['settled']))} in {a['requests']} requests, {a['refusals']} refused{cap_s}")
        for m in self.models:
            lines.append(f"  model {m['model']}: {f(int(m['cost']))} in {m['requests']} requests")
        for t in self.tools:
            lines.append(f"  tool {t.get('tool')}: {f(int(t.get('total', 0)))}")
        return "\n".join(lines)

