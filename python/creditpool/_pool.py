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
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence, TypeVar, Union

import httpx2

from . import _creditpool
from ._activity import ActivityChart
from ._errors import snapshot_error, store_error, typed_error, whole_number
from ._money import AmountLike, Money, amount_nanos
from ._persistence import LEDGER_FILE, SNAPSHOT_FILE, PoolDirectory, iter_ledger_file
from ._views import Alert, LedgerEntry, PoolReport, Released, Reservation, Settlement
from ._webhooks import Webhook, WebhookDeliverer, WebhookResult

import typing

if typing.TYPE_CHECKING:  # Pool.connect's return type (imported there, at call time)
    from ._redis import RedisPool

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
    """What one agent may do (the core's ``AgentPolicy``). Amounts are
    ``Money`` (``usd("0.50")``, ``nanos(500)``)."""

    cap: AmountLike | None = None
    """The most the agent may have settled plus reserved in one cycle (``usd("0.50")``)."""
    cap_share_bp: int | None = None
    """Or its cap as a share of the pool's limit, in basis points (2500 = 25 %)."""
    weight: int = 1
    """Its weight in fair sharing."""
    credits_per_minute: AmountLike | None = None
    """A rate limit on credits reserved per minute (``usd("0.10")``)."""
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


def _policy(p: PolicyLike, what: str = "policy") -> dict[str, Any]:
    if isinstance(p, AgentPolicy):
        return p.to_dict()
    # A policy written as the core's JSON: its amounts are Money all the same.
    d = dict(p)
    cap = d.get("cap")
    if isinstance(cap, Mapping) and cap.get("amount") is not None:
        d["cap"] = {**cap, "amount": amount_nanos(cap["amount"], f"{what}.cap.amount")}
    if d.get("credits_per_minute") is not None:
        d["credits_per_minute"] = amount_nanos(d["credits_per_minute"], f"{what}.credits_per_minute")
    return d


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
    unknown_agents: PolicyLike | None = None,
) -> dict[str, Any]:
    """The core's ``PoolConfig`` JSON from a pool constructor's arguments
    (``who`` names the constructor in the error for a missing limit)."""
    cfg: dict[str, Any] = dict(config or {})
    if limit is not None:
        cfg["limit"] = amount_nanos(limit, "limit")
    if "limit" not in cfg:
        raise TypeError(f"{who} needs a limit (limit=usd(\"5\"): five dollars)")
    if cycle is not None:
        cfg["cycle"] = dict(cycle)
    if thresholds is not None:
        alerts = dict(cfg.get("alerts") or {})
        alerts["thresholds_pct"] = list(thresholds)
        cfg["alerts"] = alerts
    if agents is not None:
        cfg["agents"] = {name: _policy(p, f"agents[{name!r}]") for name, p in agents.items()}
    if unknown_agents is not None:
        # The explicit choice to let agents the pool does not name reserve,
        # under their own policy (the core's allow_unknown_agents + default_agent).
        cfg["allow_unknown_agents"] = True
        cfg["default_agent"] = _policy(unknown_agents, "unknown_agents")
    if pool_id is not None:
        cfg["pool_id"] = pool_id
    if lease_ms is not None:
        cfg["lease_ms"] = lease_ms
    return cfg



class Pool:
    """A credit pool: a limit per billing cycle that agents share, with exact
    accounting. Safe to share between threads.

    ``Pool(limit=..., cycle=..., thresholds=..., agents=...)``: ``limit`` a
    ``Money`` (``usd("5")``: five dollars; ``nanos(n)``); ``cycle`` the core's cycle
    (default ``{"kind": "monthly", "anchor_day": 1}``); ``thresholds`` alert
    thresholds in percent (default 50, 75, 90, 100); ``agents`` a mapping of
    agent name to ``AgentPolicy`` (or its dict): a pool that names its agents
    refuses any other with ``UnknownAgentError`` (its ``known`` names and the
    closest as ``suggestion``), so that a misspelled name cannot run uncapped;
    ``unknown_agents`` (an ``AgentPolicy``) lets other agents reserve under
    that policy instead. A pool that names no agent allows every agent (under
    ``config["default_agent"]``). ``config`` any other field of
    the core's ``PoolConfig`` (``default_agent``, ``fair_share``,
    ``allow_unknown_agents``, ``alerts``, ...). ``directory`` persists the pool
    (see ``creditpool._persistence``); when it already holds a snapshot, that
    snapshot is restored, after the ledger file was checked against it, and
    the configuration given here is not used. A failed write raises
    ``PoolStoreError``; so does any operation after ``close()`` or in a child
    after ``fork()``. ``ledger_window`` bounds the entries and alerts kept in
    memory for ``ledger()`` and ``alerts()`` (default 10,000; the file is the
    record). Every amount is a ``Money`` (``usd("0.50")``, ``nanos(500)``) or a
    string with its dollar sign (``"$0.50"``); a bare number, a negative
    amount or one past the core's range raises ``InvalidOptionsError``
    saying how to write it. ``config`` is the core's JSON: integer nano-USD.
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
        limit: AmountLike | None = None,
        *,
        cycle: Mapping[str, Any] | None = None,
        thresholds: Sequence[int] | None = None,
        agents: Mapping[str, PolicyLike] | None = None,
        unknown_agents: PolicyLike | None = None,
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
        # The core's rule of when an alert leaves the pool: once every
        # webhook delivered it or gave up (recorded in deliveries.jsonl).
        self._outbox = _creditpool.Outbox()
        for hook in self._webhooks:
            self._outbox.add_webhook(hook.id)
        self._unwritten = False
        self.ledger_window: int = ledger_window
        """How many of the latest ledger entries and alerts ``ledger()`` and
        ``alerts()`` keep (the ledger file is the record)."""
        self._alerts: collections.deque[Alert] = collections.deque(maxlen=ledger_window)
        self._ledger: collections.deque[LedgerEntry] = collections.deque(maxlen=ledger_window)
        self._disk_seq = 0
        self._closed = False

        try:
            self._open(limit, cycle, thresholds, agents, pool_id, lease_ms, config, snapshot, unknown_agents)
        except BaseException:
            if self._store is not None:
                self._store.close()
                self._store = None
            raise

    # ----- operations -----

    def reserve(self, agent: str, amount: AmountLike, *, lease_ms: int | None = None, now_ms: int | None = None) -> Reservation:
        """Reserves ``amount`` for ``agent``; raises the refusal
        (``PoolExhaustedError``, ``AgentCapError``, ``PoolRateLimitedError``
        with ``retry_at``, ``FairShareError``, ``UnknownAgentError``)."""
        n = amount_nanos(amount, "amount")
        if lease_ms is not None:
            whole_number(lease_ms, "lease_ms", "milliseconds")
        return Reservation(self._op(lambda p, t: p.reserve(agent, n, t, lease_ms), now_ms))

    def settle(self, reservation: Reservation | int, cost: AmountLike, *, attribution: Mapping[str, Any] | None = None, now_ms: int | None = None) -> Settlement:
        """Posts the actual cost of a reservation, with an optional
        attribution (the core's ``AttributionInput``: ``model``,
        ``request_id``, ``usage``, ...). A repeated settle changes nothing
        (``duplicate``)."""
        rid = reservation.id if isinstance(reservation, Reservation) else whole_number(reservation, "reservation", "a reservation ID")
        n = amount_nanos(cost, "cost")
        attr = dict(attribution) if attribution is not None else None
        return Settlement(self._op(lambda p, t: p.settle(rid, n, t, attr), now_ms, kind="settle"))

    def release(self, reservation: Reservation | int, *, now_ms: int | None = None) -> Released:
        """Voids a reservation (the request failed): its amount returns to the pool."""
        rid = reservation.id if isinstance(reservation, Reservation) else whole_number(reservation, "reservation", "a reservation ID")
        return Released(self._op(lambda p, t: p.release(rid, t), now_ms, kind="release"))

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
        return self._op(lambda p, _t: p.apply(d), None, force=d.get("op") == "extend", kind=str(d.get("op")))

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

    def set_limit(self, limit: AmountLike, *, now_ms: int | None = None) -> None:
        """Raises or lowers the limit while agents run."""
        n = amount_nanos(limit, "limit")
        self._op(lambda p, t: p.set_limit(n, t), now_ms, force=True)

    def set_agent_policy(self, agent: str, policy: PolicyLike, *, now_ms: int | None = None) -> None:
        """Sets an agent's policy (adding the agent if new)."""
        d = _policy(policy, "policy")
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

    @staticmethod
    def connect(url: str = "redis://127.0.0.1:6379/0", **kwargs: Any) -> "RedisPool":
        """A pool shared by processes and machines through Redis:
        ``Pool.connect(url, name="fleet", limit=..., agents=...)`` is
        ``RedisPool.connect`` (the ``creditpool[redis]`` extra; see
        ``docs/REDIS.md``)."""
        from ._redis import RedisPool

        return RedisPool.connect(url, **kwargs)

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
    def limit(self) -> Money:
        """The current limit."""
        return Money(nanos=int(self.totals()["limit"]))

    @property
    def settled(self) -> Money:
        """Settled spend this cycle."""
        return Money(nanos=int(self.totals()["settled"]))

    @property
    def reserved(self) -> Money:
        """Open reservations."""
        return Money(nanos=int(self.totals()["reserved"]))

    @property
    def available(self) -> Money:
        """The limit less settled and reserved."""
        return Money(nanos=int(self.totals()["available"]))

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
        limit: AmountLike | None,
        cycle: Mapping[str, Any] | None,
        thresholds: Sequence[int] | None,
        agents: Mapping[str, PolicyLike] | None,
        pool_id: str | None,
        lease_ms: int | None,
        config: Mapping[str, Any] | None,
        snapshot: str | None,
        unknown_agents: PolicyLike | None = None,
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
            records = self._store.read_records()
        if restored is not None:
            self._native = _creditpool.Pool.restore_json(restored)
            given = (limit, cycle, thresholds, agents, pool_id, lease_ms, config, unknown_agents)
            if from_directory and any(x is not None for x in given):
                # The core compares what was passed again with what the pool
                # keeps: a changed limit= is said, never dropped silently.
                base = dict(config or {})
                base.setdefault("limit", None)  # only what was passed is compared
                cfg = _pool_config(base, "Pool()", limit=limit, cycle=cycle, thresholds=thresholds, agents=agents, pool_id=pool_id, lease_ms=lease_ms, unknown_agents=unknown_agents)
                if cfg.get("limit") is None:
                    cfg.pop("limit", None)
                ignored = self._native.ignored_on_restore(cfg)
                if ignored is not None:
                    message = f"Pool({os.fspath(self._directory)!r}): {ignored}" if self._directory is not None else ignored
                    warnings.warn(message, UserWarning, stacklevel=3)
        else:
            cfg = _pool_config(config, "Pool()", limit=limit, cycle=cycle, thresholds=thresholds, agents=agents, pool_id=pool_id, lease_ms=lease_ms, unknown_agents=unknown_agents)
            self._native = _creditpool.Pool(cfg, self._clock())
        if from_directory:
            # The core's rule: the file and the snapshot's pending entries join
            # without a gap, the file is not newer than the snapshot, and what
            # they settle in the current cycle is the snapshot's settled.
            _creditpool.check_ledger(self._native.snapshot_json(), file_entries)
        if self._store is not None:
            # Deliveries recorded before a crash are not made again; the
            # records of alerts acknowledged since go.
            for key, hook_id in records:
                self._outbox.restore(key, hook_id)
            kept = self._outbox.compact(self._native)
            if len(kept) != len(records):
                self._store.rewrite_records(kept)
        with self._lock:
            events = self._commit(force=True)
        self._dispatch(events)

    def _op(self, fn: Callable[[_creditpool.Pool, int], T], now_ms: int | None, force: bool = False, kind: str = "") -> T:
        """Runs one native operation with its bookkeeping under the lock, then
        hands out its alerts outside it. After a failed write the pool is
        written again first; if that fails too, the operation is refused
        with its ``PoolStoreError``, unless the core's rule applies it anyway
        (``applies_while_unwritten``: settles and releases, which then raise
        the write's error after being applied)."""
        self._check_usable()
        t = self._clock() if now_ms is None else whole_number(now_ms, "now_ms", "Unix milliseconds")
        pending: list[tuple[Alert, list[str]]] = []
        unwritten: _creditpool.PoolStoreError | None = None
        try:
            with self._lock:
                if self._unwritten:
                    try:
                        pending = self._commit(force=True)
                    except _creditpool.PoolStoreError as e:
                        if not _creditpool.applies_while_unwritten(kind):
                            raise
                        unwritten = e
                before = None if force else self._native.marker()
                try:
                    result = fn(self._native, t)
                finally:
                    pending += self._commit(force=force or self._native.marker() != before)
                if unwritten is not None and self._unwritten:
                    # Applied, but the books are still not written: never silent.
                    raise unwritten
        finally:
            self._dispatch(pending)
        return result

    def _check_usable(self) -> None:
        """An operation on a closed pool, or in a child after ``fork()``
        (whose copy of the pool would diverge from the parent's), raises
        ``PoolStoreError``."""
        if self._closed:
            raise store_error("the pool is closed")
        if os.getpid() != self._pid:
            raise store_error(f"this Pool belongs to process {self._pid} (this is {os.getpid()}, a child after fork()): make a new Pool in this process")

    def _commit(self, force: bool) -> list[tuple[Alert, list[str]]]:
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
            self._unwritten = True
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
        self._unwritten = False
        return self._take_alerts()

    def _take_alerts(self) -> list[tuple[Alert, list[str]]]:
        """Under the lock: the alerts the core's outbox hands out now, each
        with the webhooks that still owe it a delivery; an alert leaves the
        native pool (and its snapshot) once every webhook has an outcome."""
        out = [(Alert(a), list(hooks)) for a, _key, hooks in self._outbox.take(self._native)]
        self._outbox.ack(self._native)
        self._alerts.extend(a for a, _ in out)
        return out

    def _dispatch(self, alerts: list[tuple[Alert, list[str]]]) -> None:
        """Hands alerts to the callbacks and queues their webhooks."""
        for alert, hook_ids in alerts:
            for cb in list(self._callbacks):
                try:
                    cb(alert)
                except Exception:  # a failing callback must not break the agents
                    log.exception("alert callback %s failed", getattr(cb, "__qualname__", type(cb).__name__))
            for hook in self._webhooks:
                if hook.id in hook_ids:
                    self._deliverer.enqueue(hook, alert.to_dict(), self._delivery_ended)

    def _delivery_ended(self, hook: Webhook, key: str, delivered: bool) -> None:
        """On a delivery thread: records the outcome (synced), then lets the
        outbox acknowledge the alerts every webhook is done with and hand out
        those that waited. Unrecorded (a closed directory, a failed write),
        the alert stays pending and goes again after a restart."""
        with self._lock:
            recorded = self._directory is None
            if self._store is not None and os.getpid() == self._pid:
                try:
                    self._store.record(_creditpool.Outbox.record_line(key, hook.id, delivered))
                    recorded = True
                except _creditpool.PoolStoreError as e:
                    log.error("could not record the delivery of %s to %s: %s", key, hook.origin, e)
            if recorded:
                self._outbox.finished(key, hook.id)
            else:
                self._outbox.dropped()
            self._outbox.ack(self._native)
            more = self._take_alerts()
        self._dispatch(more)
