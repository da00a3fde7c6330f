"""Typed views of what a ``Pool`` hands out: alerts, reservations, settles,
releases, ledger entries and reports. Each wraps the core's JSON (attribute
access for known fields, ``obj["field"]`` for any field, ``to_dict()``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from . import _creditpool
from ._activity import ActivityChart, mimebundle
from ._money import Money
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
    def limit(self) -> Money:
        """The limit then."""
        return Money(nanos=int(self._data.get("limit", 0)))

    @property
    def settled(self) -> Money:
        """Settled spend then."""
        return Money(nanos=int(self._data.get("settled", 0)))

    @property
    def reserved(self) -> Money:
        """Open reservations then."""
        return Money(nanos=int(self._data.get("reserved", 0)))

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


Reservation = _creditpool.Reservation
"""A granted reservation: settle or release it before ``expires_at_ms``
(``id``, ``amount`` as ``Money``, ``expires_at_ms``; ``to_dict()``,
``r["field"]`` as on the other views). Native: the pool's hot path makes one
per ``reserve`` without building its dict."""

Settlement = _creditpool.Settlement
"""A settle: the cost posted (``cost``, ``refunded``, ``overrun`` as
``Money``, ``late``), or ``duplicate`` when the reservation was already
closed and nothing changed; ``to_dict()`` is the core's ``OpResult``.
Native, like ``Reservation``."""


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
    def amount(self) -> Money:
        """What went back to the pool."""
        return Money(nanos=int(self._data.get("amount", 0)))


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
    def cost(self) -> Money:
        """What this entry adds to the cycle's spend: a settle's cost, zero
        for a release, the reserved worst case for an expiry (``estimated``),
        and for a late settle what its cost exceeds the expiry's estimate by
        (its cost is ``observed_cost``)."""
        return Money(nanos=int(self._data.get("cost", 0)))

    @property
    def estimated(self) -> bool:
        """Whether the cost is the reserved worst case of a request whose
        cost is unknown (a cut stream, a cancellation, an expired lease)."""
        return bool(self._data.get("estimated", False))

    @property
    def observed_cost(self) -> Money | None:
        """A late settle's cost, when the expiry had already counted the
        reservation's worst case (``cost`` then holds only the excess)."""
        v = self._data.get("observed_cost")
        return None if v is None else Money(nanos=int(v))

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
    tool, the top consumers, a time series and closed cycles. Amounts are
    ``Money``; every field of the core's report is reachable, as the core's
    JSON (integer nano-USD), with ``report["field"]``.

    It draws as the core's activity dashboard: ``chart()`` (the Vega-Lite
    spec), ``save("activity.html")`` (or ``.svg``, ``.png``, ``.json``), and
    in a notebook the report displays as the chart. A report from
    ``Pool.report()`` uses the pool's alert thresholds; one built from a bare
    dict, the default 50 / 75 / 90 / 100 %."""

    __slots__ = ("_chart_options",)

    def __init__(self, data: dict[str, Any], *, chart_options: Mapping[str, Any] | None = None) -> None:
        """Wraps ``data`` (the core's report JSON); ``chart_options`` are the
        core's ``ActivityOptions`` for the chart (``thresholds_pct``, ``limit``,
        ``title``)."""
        super().__init__(data)
        self._chart_options: dict[str, Any] = dict(chart_options or {})

    def activity(self) -> dict[str, Any]:
        """The core's activity data of the report (``Activity::from_report``)."""
        return _creditpool.activity_from_report(self._data, self._chart_options)

    def activity_chart(self) -> ActivityChart:
        """The dashboard as an ``ActivityChart`` (spec, display, files)."""
        return ActivityChart(self.activity())

    def chart(self) -> dict[str, Any]:
        """The activity dashboard: the core's Vega-Lite v5 specification, as a
        dict (data inline; render it with any Vega-Lite tool)."""
        return self.activity_chart().spec

    def save(self, path: str | os.PathLike[str], *, vega_dir: str | os.PathLike[str] | None = None, offline: bool | None = None, scale: float = 1.0) -> Path:
        """Writes the dashboard: ``.html`` a standalone page (offline when the
        Vega bundles are found, see ``ActivityChart.html``), ``.svg`` / ``.png``
        with ``creditpool[charts]`` (else ``MissingExtraError``), ``.json``
        the spec. Returns the path."""
        return self.activity_chart().save(path, vega_dir=vega_dir, offline=offline, scale=scale)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **kwargs: Any) -> dict[str, Any]:
        """Notebook display: the Vega-Lite chart, a short HTML note, the text."""
        c = self.activity_chart()
        return mimebundle(c.spec, c.title, self.text(), include, exclude)

    @property
    def limit(self) -> Money:
        """The current limit."""
        return Money(nanos=int(self._data["limit"]))

    @property
    def settled(self) -> Money:
        """Settled spend this cycle."""
        return Money(nanos=int(self._data["settled"]))

    @property
    def reserved(self) -> Money:
        """Open reservations."""
        return Money(nanos=int(self._data["reserved"]))

    @property
    def available(self) -> Money:
        """The limit less settled and reserved."""
        return Money(nanos=int(self._data["available"]))

    @property
    def overrun(self) -> Money:
        """Spend beyond reservations this cycle."""
        return Money(nanos=int(self._data.get("overrun", 0)))

    @property
    def conversation(self) -> Money:
        """What was not charged to a tool."""
        return Money(nanos=int(self._data.get("conversation", 0)))

    @property
    def requests(self) -> int:
        """Settled requests this cycle."""
        return int(self._data.get("requests", 0))

    @property
    def agents(self) -> list[dict[str, Any]]:
        """Every active agent: ``agent``, ``settled``, ``reserved``,
        ``requests``, ``refusals``, ``cap`` (amounts as ``Money``, ``cap``
        None without one); largest spend first."""
        return [_money_fields(a, ("settled", "reserved", "cap")) for a in self._data.get("agents") or []]

    @property
    def models(self) -> list[dict[str, Any]]:
        """Every model used: ``model``, ``cost`` (``Money``), ``requests``, ``tokens``."""
        return [_money_fields(m, ("cost",)) for m in self._data.get("models") or []]

    @property
    def tools(self) -> list[dict[str, Any]]:
        """Every tool charged, by total: ``tool``, ``definition``, ``uses``,
        ``result``, ``total`` (``Money``), ``definition_requests``."""
        return [_money_fields(t, ("definition", "uses", "result", "total")) for t in self._data.get("tools") or []]

    def text(self) -> str:
        """A short plain-text summary."""
        lines = [f"pool {self._data.get('pool_id')}: {self.settled} settled, {self.reserved} reserved of {self.limit} ({self.requests} requests)"]
        for a in self.agents:
            cap_s = f" (cap {a['cap']})" if a.get("cap") is not None else ""
            lines.append(f"  agent {a['agent']}: {a['settled']} in {a['requests']} requests, {a['refusals']} refused{cap_s}")
        for m in self.models:
            lines.append(f"  model {m['model']}: {m['cost']} in {m['requests']} requests")
        for t in self.tools:
            lines.append(f"  tool {t.get('tool')}: {t.get('total', Money.ZERO)}")
        return "\n".join(lines)


def _money_fields(d: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """A copy of a report entry with the amounts at ``keys`` as ``Money``."""
    out = dict(d)
    for k in keys:
        if out.get(k) is not None:
            out[k] = Money(nanos=int(out[k]))
    return out
