"""``Pool``: a credit pool that threads share, with persistence, alert
callbacks and signed webhooks.

Every rule is the core's (``creditpool_core::pool`` through the native
``_creditpool.Pool``): reservations, settles, refusals, alerts, the ledger,
reports, snapshots, webhook bodies and signatures. This module adds the I/O
around it: a lock so that one operation and its bookkeeping happen together,
the clock, and the hand-off to the pool's files (``_persistence``), alert
callbacks and webhooks (``_webhooks``). The typed views it returns are in
``_views``.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Iterable, Mapping, Sequence, TypeVar, Union

import httpx2

from . import _creditpool
from ._activity import ActivityChart
from ._errors import snapshot_error, store_error, typed_error
from ._money import amount_nanos
from ._persistence import LEDGER_FILE, SNAPSHOT_FILE, PoolDirectory, iter_ledger_file
from ._views import Alert, LedgerEntry, PoolReport, Released, Reservation, Settlement
from ._webhooks import Webhook, WebhookDeliverer, WebhookResult

__all__ = [
    "Pool",
    "AgentPolicy",
    "Webhook",
    "WebhookResult",
    "Alert",
    "Reservation",
    "Settlement",
    "Released",
    "LedgerEntry",
    "PoolReport",
    "SNAPSHOT_FILE",
    "LEDGER_FILE",
    "DEFAULT_LEDGER_WINDOW",
    "amount_nanos",
    "iter_ledger_file",
]

log = logging.getLogger("creditpool")

DEFAULT_LEDGER_WINDOW = 10_000
"""How many of the latest ledger entries and alerts a ``Pool`` keeps in
memory by default (``ledger()``, ``alerts()``); the ledger file is the record."""

T = TypeVar("T")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class AgentPolicy:
    """What one agent may do (the core's ``AgentPolicy``). Amounts are int
    nano-USD."""

    cap: int | Decimal | None = None
    """The most the agent may have settled plus reserved in one cycle."""
    cap_share_bp: int | None = None
    """Or its cap as a share of the pool's limit, in basis points (2500 = 25 %)."""
    weight: int = 1
    """Its weight in fair sharing."""
    credits_per_minute: int | Decimal | None = None
    """A rate limit on credits reserved, nano-USD per minute."""
    requests_per_minute: int | None = None
    """A rate limit on requests (reservations) per minute."""

    def to_dict(self) -> dict[str, Any]:
        """The core's JSON form."""
        d: dict[str, Any] = {"weight": self.weight}
        if self.cap is not None and self.cap_share_bp is not None:
            raise ValueError("give cap or cap_share_bp, not both")
        if self.cap is not None:
            d["cap"] = {"kind": "absolute", "amount": amount_nanos(self.cap, "cap")}
        elif self.cap_share_bp is not None:
            d["cap"] = {"kind": "share", "basis_points": self.cap_share_bp}
        if self.credits_per_minute is not None:
            d["credits_per_minute"] = amount_nanos(self.credits_per_minute, "credits_per_minute")
        if self.requests_per_minute is not None:
            d["requests_per_minute"] = self.requests_per_minute
        return d


PolicyLike = Union[AgentPolicy, Mapping[str, Any]]


def _policy(p: PolicyLike) -> dict[str, Any]:
    return p.to_dict() if isinstance(p, AgentPolicy) else dict(p)


def _pool_config(
    config: Mapping[str, Any] | None,
    who: str,
    *,
    limit: Any,
    cycle: Mapping[str, Any] | None,
    thresholds: Sequence[int] | None,
    agents: Mapping[str, PolicyLike] | None,
    pool_id: str | None,
    lease_ms: int | None,
) -> dict[str, Any]:
    """The core's ``PoolConfig`` JSON from a pool constructor's arguments
    (``who`` names the constructor in the error for a missing limit)."""
    cfg: dict[str, Any] = dict(config or {})
    if limit is not None:
        cfg["limit"] = amount_nanos(limit, "limit")
    if "limit" not in cfg:
        raise TypeError(f"{who} needs a limit (int nano-USD)")
    if cycle is not None:
        cfg["cycle"] = dict(cycle)
    if thresholds is not None:
        alerts = dict(cfg.get("alerts") or {})
        alerts["thresholds_pct"] = list(thresholds)
        cfg["alerts"] = alerts
    if agents is not None:
        cfg["agents"] = {name: _policy(p) for name, p in agents.items()}
    if pool_id is not None:
        cfg["pool_id"] = pool_id
    if lease_ms is not None:
        cfg["lease_ms"] = lease_ms
    return cfg



class Pool:
    """A credit pool: a limit per billing cycle that agents share, with exact
    accounting. Safe to share between threads.

    ``Pool(limit=..., cycle=..., thresholds=..., agents=...)``: ``limit`` in
    int nano-USD (or a ``Decimal`` of dollars); ``cycle`` the core's cycle
    (default ``{"kind": "monthly", "anchor_day": 1}``); ``thresholds`` alert
    thresholds in percent (default 50, 75, 90, 100); ``agents`` a mapping of
    agent name to ``AgentPolicy`` (or its dict); ``config`` any other field of
    the core's ``PoolConfig`` (``default_agent``, ``fair_share``,
    ``allow_unknown_agents``, ``alerts``, ...). ``directory`` persists the pool
    (see ``creditpool._persistence``); when it already holds a snapshot, that
    snapshot is restored, after the ledger file was checked against it, and
    the configuration given here is not used. A failed write raises
    ``PoolStoreError``; so does any operation after ``close()`` or in a child
    after ``fork()``. ``ledger_window`` bounds the entries and alerts kept in
    memory for ``ledger()`` and ``alerts()`` (default 10,000; the file is the
    record). Amounts are int nano-USD or ``Decimal`` dollars; a ``float``, a
    negative amount or one past the core's range raises
    ``InvalidOptionsError``.
    A time further ahead of the latest the pool saw than the core's
    ``max_clock_jump_ms`` (default seven days; set it in ``config``) raises
    ``ClockJumpError`` and changes nothing: a wrong clock cannot roll the
    cycle over or expire leases; settles and releases are still recorded.
    After a longer legitimate pause, ``advance_clock()`` resumes.
    ``apply(op)`` makes it a ``PoolStore`` (the seam agents draw through).
    ``on_alert`` callbacks run in the thread whose operation fired the alert;
    ``webhooks`` are delivered by a background thread through ``http_client``
    (an ``httpx2.Client``; one is made if not given). ``clock`` returns Unix ms.
    """

    def __init__(
        self,
        limit: int | Decimal | str | None = None,
        *,
        cycle: Mapping[str, Any] | None = None,
        thresholds: Sequence[int] | None = None,
        agents: Mapping[str, PolicyLike] | None = None,
        pool_id: str | None = None,
        lease_ms: int | None = None,
        config: Mapping[str, Any] | None = None,
        directory: str | os.PathLike[str] | None = None,
        fsync: bool = True,
        on_alert: Callable[[Alert], None] | Iterable[Callable[[Alert], None]] | None = None,
        webhooks: Sequence[Webhook] = (),
        http_client: httpx2.Client | None = None,
        clock: Callable[[], int] | None = None,
        snapshot: str | None = None,
        ledger_window: int = DEFAULT_LEDGER_WINDOW,
    ) -> None:
        """Creates (or restores) the pool; see the class documentation."""
        if isinstance(ledger_window, bool) or not isinstance(ledger_window, int) or ledger_window < 0:
            raise typed_error(_creditpool.InvalidOptionsError, "invalid_options", f"ledger_window: expected an int >= 0, got {ledger_window!r}", what="ledger_window")
        self._clock: Callable[[], int] = clock or _now_ms
        self._lock = threading.RLock()
        self._pid = os.getpid()
        self._directory = directory
        self._fsync = fsync
        self._store: PoolDirectory | None = None
        self._callbacks: list[Callable[[Alert], None]] = []
        if callable(on_alert):
            self._callbacks.append(on_alert)
        elif on_alert is not None:
            self._callbacks.extend(on_alert)
        self._webhooks = list(webhooks)
        for hook in self._webhooks:
            if not isinstance(hook, Webhook):
                raise typed_error(_creditpool.InvalidOptionsError, "invalid_options", f"webhooks: expected Webhook objects, not {type(hook).__name__}", what="webhooks")
        self.webhook_results: list[WebhookResult] = []
        """What became of each webhook delivery, in order."""
        self._deliverer = WebhookDeliverer(http_client, self.webhook_results)
        self.ledger_window: int = ledger_window
        """How many of the latest ledger entries and alerts ``ledger()`` and
        ``alerts()`` keep (the ledger file is the record)."""
        self._alerts: collections.deque[Alert] = collections.deque(maxlen=ledger_window)
        self._ledger: collections.deque[LedgerEntry] = collections.deque(maxlen=ledger_window)
        self._disk_seq = 0
        self._closed = False

        try:
            self._open(limit, cycle, thresholds, agents, pool_id, lease_ms, config, snapshot)
        except BaseException:
            if self._store is not None:
                self._store.close()
                self._store = None
            raise

    # ----- operations -----

    def reserve(self, agent: str, amount: int | Decimal, *, lease_ms: int | None = None, now_ms: int | None = None) -> Reservation:
        """Reserves ``amount`` for ``agent``; raises the refusal
        (``PoolExhaustedError``, ``AgentCapError``, ``PoolRateLimitedError``
        with ``retry_at``, ``FairShareError``, ``UnknownAgentError``)."""
        n = amount_nanos(amount, "amount")
        return Reservation(self._op(lambda p, t: p.reserve(agent, n, t, lease_ms), now_ms))

    def settle(self, reservation: Reservation | int, cost: int | Decimal, *, attribution: Mapping[str, Any] | None = None, now_ms: int | None = None) -> Settlement:
        """Posts the actual cost of a reservation, with an optional
        attribution (the core's ``AttributionInput``: ``model``,
        ``request_id``, ``usage``, ...). A repeated settle changes nothing
        (``duplicate``)."""
        rid = reservation.id if isinstance(reservation, Reservation) else int(reservation)
        n = amount_nanos(cost, "cost")
        attr = dict(attribution) if attribution is not None else None
        return Settlement(self._op(lambda p, t: p.settle(rid, n, t, attr), now_ms))

    def release(self, reservation: Reservation | int, *, now_ms: int | None = None) -> Released:
        """Voids a reservation (the request failed): its amount returns to the pool."""
        rid = reservation.id if isinstance(reservation, Reservation) else int(reservation)
        return Released(self._op(lambda p, t: p.release(rid, t), now_ms))

    def apply(self, op: Mapping[str, Any]) -> dict[str, Any]:
        """Applies one operation of the core's JSON interface (``PoolOp``,
        tagged by ``"op"``: ``reserve``, ``settle``, ``release``, ``extend``,
        ...) and returns its ``OpResult`` (tagged by ``"result"``; a refusal
        is a result, not an exception). This makes the pool a ``PoolStore``
        for agents; its alerts, ledger entries, persistence and webhooks
        follow each operation as for the other methods. The operation
        carries its own ``now_ms``."""
        d = dict(op)
        # A lease renewal changes no counter, but a persisted pool must keep it.
        return self._op(lambda p, _t: p.apply(d), None, force=d.get("op") == "extend")

    def tick(self, *, now_ms: int | None = None) -> dict[str, Any]:
        """Expires due leases and rolls the cycle over: ``{"expired": [ids], "rolled_over": bool}``."""
        return self._op(lambda p, t: p.tick(t), now_ms, force=True)

    def advance_clock(self, *, now_ms: int | None = None) -> dict[str, Any]:
        """Accepts ``now_ms`` (default: the clock) however far ahead of the
        latest time the pool saw, then ticks: ``{"expired": [ids],
        "rolled_over": bool}``. The explicit resume after a ``ClockJumpError``
        (a pool idle longer than ``max_clock_jump_ms``, a directory reopened
        after a long pause), once you know the clock is right."""
        return self._op(lambda p, t: p.advance_clock(t), now_ms, force=True)

    def set_limit(self, limit: int | Decimal, *, now_ms: int | None = None) -> None:
        """Raises or lowers the limit while agents run."""
        n = amount_nanos(limit, "limit")
        self._op(lambda p, t: p.set_limit(n, t), now_ms, force=True)

    def set_agent_policy(self, agent: str, policy: PolicyLike, *, now_ms: int | None = None) -> None:
        """Sets an agent's policy (adding the agent if new)."""
        d = _policy(policy)
        self._op(lambda p, t: p.set_agent_policy(agent, d, t), now_ms, force=True)

    def report(self, *, now_ms: int | None = None) -> PoolReport:
        """The report for the current cycle."""
        t = self._clock() if now_ms is None else now_ms
        with self._lock:
            report = self._native.report(t)
            thresholds = (self._native.config().get("alerts") or {}).get("thresholds_pct")
        return PoolReport(report, chart_options={} if thresholds is None else {"thresholds_pct": thresholds})

    def activity_chart(self, *, now_ms: int | None = None) -> ActivityChart:
        """The pool's activity dashboard now (``Activity::from_pool``: its
        report, its alert thresholds), as an ``ActivityChart``."""
        t = self._clock() if now_ms is None else now_ms
        with self._lock:
            activity = _creditpool.activity_from_pool(self._native, t)
        return ActivityChart(activity)

    def chart(self, *, now_ms: int | None = None) -> dict[str, Any]:
        """The pool's activity dashboard now: the core's Vega-Lite v5
        specification, as a dict (the same as ``report().chart()``)."""
        return self.activity_chart(now_ms=now_ms).spec

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **kwargs: Any) -> dict[str, Any]:
        """Notebook display: the pool's activity chart (see ``PoolReport``)."""
        return self.report()._repr_mimebundle_(include, exclude)

    def snapshot(self) -> str:
        """The whole pool as versioned JSON (restore it with
        ``Pool(snapshot=...)``)."""
        with self._lock:
            return self._native.snapshot_json()

    @classmethod
    def restore(cls, snapshot: str, **kwargs: Any) -> "Pool":
        """A pool restored from ``snapshot()``; other options as for ``Pool()``."""
        return cls(snapshot=snapshot, **kwargs)

    @property
    def config(self) -> dict[str, Any]:
        """The configuration in force (the core's ``PoolConfig``)."""
        with self._lock:
            return self._native.config()

    def totals(self) -> dict[str, Any]:
        """``limit``, ``settled``, ``reserved``, ``available``, ``overrun``
        (int nano-USD), ``cycle`` and ``open`` (open reservations)."""
        with self._lock:
            return self._native.totals()

    @property
    def limit(self) -> int:
        """The current limit, nano-USD."""
        return int(self.totals()["limit"])

    @property
    def settled(self) -> int:
        """Settled spend this cycle, nano-USD."""
        return int(self.totals()["settled"])

    @property
    def reserved(self) -> int:
        """Open reservations, nano-USD."""
        return int(self.totals()["reserved"])

    @property
    def available(self) -> int:
        """The limit less settled and reserved, nano-USD."""
        return int(self.totals()["available"])

    def ledger(self) -> list[LedgerEntry]:
        """The latest ledger entries handed out by this object (at most
        ``ledger_window``), oldest first; the file ``ledger.jsonl`` of a
        persisted pool holds them all (``iter_ledger_file``)."""
        with self._lock:
            return list(self._ledger)

    def alerts(self) -> list[Alert]:
        """The latest alerts fired through this object (at most
        ``ledger_window``), oldest first."""
        with self._lock:
            return list(self._alerts)

    def on_alert(self, callback: Callable[[Alert], None]) -> Callable[[Alert], None]:
        """Adds an alert callback (usable as a decorator)."""
        with self._lock:
            self._callbacks.append(callback)
        return callback

    def flush(self, timeout: float | None = None) -> bool:
        """Waits until every webhook queued so far is delivered or given up;
        False if ``timeout`` (seconds) ran out first."""
        return self._deliverer.flush(timeout)

    def close(self, timeout: float | None = None) -> bool:
        """Delivers pending webhooks (waiting at most ``timeout`` seconds
        when given), stops the delivery threads, closes the HTTP client if
        the pool made it, and lets go of the directory. False if deliveries
        were still under way when ``timeout`` ran out (they are abandoned;
        each has its own per-attempt timeout)."""
        if self._closed:
            return True
        self._closed = True
        done = True
        if os.getpid() == self._pid:  # a child after fork() has no delivery thread
            done = self._deliverer.close(timeout)
        if self._store is not None:
            self._store.close()
            self._store = None
        return done

    def __enter__(self) -> "Pool":
        """Returns the pool."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Closes the pool."""
        self.close()

    def __repr__(self) -> str:
        """Pool ID, limit, settled and reserved."""
        return repr(self._native)

    # ----- internals -----

    def _open(
        self,
        limit: int | Decimal | str | None,
        cycle: Mapping[str, Any] | None,
        thresholds: Sequence[int] | None,
        agents: Mapping[str, PolicyLike] | None,
        pool_id: str | None,
        lease_ms: int | None,
        config: Mapping[str, Any] | None,
        snapshot: str | None,
    ) -> None:
        """Restores the pool (the directory's snapshot, else ``snapshot``) or
        creates it from the configuration, then persists it."""
        restored = snapshot
        from_directory = False
        file_entries: list[dict[str, Any]] = []
        if self._directory is not None:
            self._store = PoolDirectory(self._directory, self._fsync)
            text = self._store.read_snapshot()
            if text is not None:
                restored, from_directory = text, True
            elif self._store.has_ledger() and snapshot is None:
                raise snapshot_error(f"{self._store.ledger_path} exists without {SNAPSHOT_FILE}: refusing to start a second ledger")
            file_entries = self._store.load_ledger()
            self._disk_seq = len(file_entries)
        if restored is not None:
            self._native = _creditpool.Pool.restore_json(restored)
        else:
            cfg = _pool_config(config, "Pool()", limit=limit, cycle=cycle, thresholds=thresholds, agents=agents, pool_id=pool_id, lease_ms=lease_ms)
            self._native = _creditpool.Pool(cfg, self._clock())
        if from_directory:
            # The core's rule: the file and the snapshot's pending entries join
            # without a gap, the file is not newer than the snapshot, and what
            # they settle in the current cycle is the snapshot's settled.
            _creditpool.check_ledger(self._native.snapshot_json(), file_entries)
        with self._lock:
            events = self._commit(force=True)
        self._dispatch(events)

    def _op(self, fn: Callable[[_creditpool.Pool, int], T], now_ms: int | None, force: bool = False) -> T:
        """Runs one native operation with its bookkeeping under the lock, then
        hands out its alerts outside it."""
        self._check_usable()
        t = self._clock() if now_ms is None else now_ms
        with self._lock:
            before = None if force else self._native.marker()
            try:
                result = fn(self._native, t)
            finally:
                events = self._commit(force=force or self._native.marker() != before)
        self._dispatch(events)
        return result

    def _check_usable(self) -> None:
        """An operation on a closed pool, or in a child after ``fork()``
        (whose copy of the pool would diverge from the parent's), raises
        ``PoolStoreError``."""
        if self._closed:
            raise store_error("the pool is closed")
        if os.getpid() != self._pid:
            raise store_error(f"this Pool belongs to process {self._pid} (this is {os.getpid()}, a child after fork()): make a new Pool in this process")

    def _commit(self, force: bool) -> list[Alert]:
        """Under the lock: persists a changed pool (its snapshot holds the
        ledger entries not yet written as pending), appends the new ledger
        entries, and only then acknowledges them to the native pool; drains
        the alerts. A failed append raises ``PoolStoreError`` and leaves the
        entries in the native pool, written first by the next operation."""
        if not force:
            return []
        # Write, then acknowledge: an entry leaves the native pool (and its
        # snapshot's pending_ledger) only once the file holds it, so a failed
        # append loses nothing, even from a snapshot taken after it.
        if self._store is not None:
            self._store.write_snapshot(self._native.snapshot_json())
        entries = self._native.peek_ledger()
        if entries:
            lines = [(int(entry["seq"]), line) for line, entry in entries]
            new = [line for seq, line in lines if seq > self._disk_seq]
            if self._store is not None and new:
                self._store.append_ledger(new)
            self._disk_seq = max(self._disk_seq, lines[-1][0])
            self._native.ack_ledger(lines[-1][0])
            self._ledger.extend(LedgerEntry(entry) for _line, entry in entries)
        alerts = [Alert(a) for a in self._native.poll_events()]
        self._alerts.extend(alerts)
        return alerts

    def _dispatch(self, alerts: list[Alert]) -> None:
        """Hands alerts to the callbacks and queues their webhooks."""
        for alert in alerts:
            for cb in list(self._callbacks):
                try:
                    cb(alert)
                except Exception:  # a failing callback must not break the agents
                    log.exception("alert callback %s failed", getattr(cb, "__qualname__", type(cb).__name__))
            for hook in self._webhooks:
                self._deliverer.enqueue(hook, alert.to_dict())
