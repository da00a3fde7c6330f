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
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence, TypeVar, Union

import httpx2

from . import _creditpool
from ._activity import ActivityChart
from ._errors import snapshot_error, store_error, typed_error, whole_number
from ._money import AmountLike, Money, amount_nanos
from ._persistence import JOURNAL_FILE, LEDGER_FILE, SNAPSHOT_FILE, PoolDirectory, iter_ledger_file
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
    "JOURNAL_FILE",
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


# Pools of this process: a child after fork() turns their fast path off, so
# that its operations reach the fork check (no getpid() per operation).
_POOLS: "weakref.WeakSet[Pool]" = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for pool in list(_POOLS):
        pool._fast = False
        pool._live = False
        if pool._fastpath is not None:
            pool._fastpath.disable()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _nanos(amount: object, what: str) -> int:
    """An amount argument as int nano-USD: a ``Money`` as it is (it holds a
    valid amount by construction), anything else by the core's rule."""
    if type(amount) is Money:
        return amount._nanos
    return amount_nanos(amount, what)


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
    (see ``creditpool._persistence``: a write-ahead journal of every
    operation, and a snapshot every ``snapshot_every`` operations or
    ``snapshot_interval_ms`` ms, the core's defaults 10,000 and 1,000, and on
    ``close()``); when it already holds a snapshot, the pool is rebuilt from it
    and the journal after it, the ledger file checked against the result, and
    the configuration given here is not used. With ``fsync=True`` (the
    default) an operation returns once an ``fsync`` of the journal covers it
    (shared by the threads whose operations it covers). A failed write raises
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
        snapshot_every: int | None = None,
        snapshot_interval_ms: int | None = None,
    ) -> None:
        """Creates (or restores) the pool; see the class documentation."""
        if isinstance(ledger_window, bool) or not isinstance(ledger_window, int) or ledger_window < 0:
            raise typed_error(_creditpool.InvalidOptionsError, "invalid_options", f"ledger_window: expected an int >= 0, got {ledger_window!r}", what="ledger_window")
        self._clock: Callable[[], int] = clock or _now_ms
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._fast = False
        """In memory, open, in the process that made it: operations skip
        the checks and the lock (the native pool has its own)."""
        self._live = False
        """Open, in the process that made it: operations skip the checks."""
        self._fastpath: _creditpool.PoolFastPath | None = None
        every = _creditpool.DEFAULT_SNAPSHOT_EVERY_OPS if snapshot_every is None else snapshot_every
        interval = _creditpool.DEFAULT_SNAPSHOT_EVERY_MS if snapshot_interval_ms is None else snapshot_interval_ms
        for value, what in ((every, "snapshot_every"), (interval, "snapshot_interval_ms")):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise typed_error(_creditpool.InvalidOptionsError, "invalid_options", f"{what}: expected an int >= 1, got {value!r}", what=what)
        self._snapshot_every = every
        self._snapshot_interval_s = interval / 1000
        self._snapshot_ops = 0  # journal_ops at the last snapshot
        self._snapshot_at = time.monotonic()
        self._durable_ops = 0  # journal_ops written (and synced) so far
        self._writing = False  # a thread is writing the pending lines
        self._waiters = 0  # threads waiting for it
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
        self._closed = False

        try:
            self._open(limit, cycle, thresholds, agents, pool_id, lease_ms, config, snapshot, unknown_agents)
        except BaseException:
            if self._store is not None:
                self._store.close()
                self._store = None
            raise
        self._fast = self._store is None
        self._live = True
        # In memory, on the system clock, with reserve and settle as this
        # class has them: the pool's own reserve and settle are the native
        # PoolFastPath's, which go straight to the native pool (no Python
        # frame) and send every other call (a now_ms, an amount that is not
        # a Money, a closed pool, a child after fork()) to the methods below.
        if self._fast and clock is None and type(self).reserve is Pool.reserve and type(self).settle is Pool.settle:
            fast = _creditpool.PoolFastPath(self._native, self, Money, Pool.reserve, Pool.settle)
            self._fastpath = fast
            self.__dict__["reserve"] = fast.reserve
            self.__dict__["settle"] = fast.settle
        _POOLS.add(self)

    # ----- operations -----

    def reserve(self, agent: str, amount: AmountLike, *, lease_ms: int | None = None, now_ms: int | None = None) -> Reservation:
        """Reserves ``amount`` for ``agent``; raises the refusal
        (``PoolExhaustedError``, ``AgentCapError``, ``PoolRateLimitedError``
        with ``retry_at``, ``FairShareError``, ``UnknownAgentError``)."""
        n = _nanos(amount, "amount")
        if lease_ms is not None:
            whole_number(lease_ms, "lease_ms", "milliseconds")
        if self._fast and now_ms is None:
            native = self._native
            try:
                return Reservation(native.reserve(agent, n, self._clock(), lease_ms))
            finally:
                if native.alerts_ready:
                    self._hand_out_alerts()
        return Reservation(self._op(lambda p, t: p.reserve(agent, n, t, lease_ms), now_ms, kind="reserve"))

    def settle(self, reservation: Reservation | int, cost: AmountLike, *, attribution: Mapping[str, Any] | None = None, now_ms: int | None = None) -> Settlement:
        """Posts the actual cost of a reservation, with an optional
        attribution (the core's ``AttributionInput``: ``model``,
        ``request_id``, ``usage``, ...). A repeated settle changes nothing
        (``duplicate``)."""
        rid = reservation.id if isinstance(reservation, Reservation) else whole_number(reservation, "reservation", "a reservation ID")
        n = _nanos(cost, "cost")
        attr = None if attribution is None else dict(attribution)
        if self._fast and now_ms is None:
            native = self._native
            try:
                return Settlement(native.settle(rid, n, self._clock(), attr))
            finally:
                if native.alerts_ready:
                    self._hand_out_alerts()
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
        return self._op(lambda p, _t: p.apply(d), None, kind=str(d.get("op")))

    def tick(self, *, now_ms: int | None = None) -> dict[str, Any]:
        """Expires due leases and rolls the cycle over: ``{"expired": [ids], "rolled_over": bool}``."""
        return self._op(lambda p, t: p.tick(t), now_ms)

    def advance_clock(self, *, now_ms: int | None = None) -> dict[str, Any]:
        """Accepts ``now_ms`` (default: the clock) however far ahead of the
        latest time the pool saw, then ticks: ``{"expired": [ids],
        "rolled_over": bool}``. The explicit resume after a ``ClockJumpError``
        (a pool idle longer than ``max_clock_jump_ms``, a directory reopened
        after a long pause), once you know the clock is right."""
        return self._op(lambda p, t: p.advance_clock(t), now_ms)

    def set_limit(self, limit: AmountLike, *, now_ms: int | None = None) -> None:
        """Raises or lowers the limit while agents run."""
        n = amount_nanos(limit, "limit")
        self._op(lambda p, t: p.set_limit(n, t), now_ms)

    def set_agent_policy(self, agent: str, policy: PolicyLike, *, now_ms: int | None = None) -> None:
        """Sets an agent's policy (adding the agent if new)."""
        d = _policy(policy, "policy")
        self._op(lambda p, t: p.set_agent_policy(agent, d, t), now_ms)

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
        return [LedgerEntry(e) for e in self._native.ledger_window()]

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
        self._fast = False
        self._live = False
        if self._fastpath is not None:
            # The pool's own reserve and settle go too: they hold the pool,
            # which is then freed as soon as it is dropped (until now, by the
            # cyclic collector). One kept elsewhere sends its calls here.
            self._fastpath.disable()
            self.__dict__.pop("reserve", None)
            self.__dict__.pop("settle", None)
            self._fastpath = None
        done = True
        if os.getpid() == self._pid:  # a child after fork() has no delivery thread
            done = self._deliverer.close(timeout)
            if self._store is not None:
                # The last snapshot: the journal goes (nothing to replay).
                try:
                    self._snapshot_now(closing=True)
                except _creditpool.PoolStoreError as e:
                    log.error("could not write the pool's last snapshot (its journal keeps every operation): %s", e)
        self._closed = True
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
        """Restores the pool (the directory's snapshot and journal, else
        ``snapshot``) or creates it from the configuration, then persists it."""
        restored = snapshot
        from_directory = False
        records: list[tuple[str, str]] = []
        last_in_file = 0
        recovered: _creditpool.Pool | None = None
        if self._directory is not None:
            self._store = PoolDirectory(self._directory, self._fsync)
            text = self._store.read_snapshot()
            journal = self._store.read_journal()
            if text is None:
                if self._store.has_ledger() and snapshot is None:
                    raise snapshot_error(f"{self._store.ledger_path} exists without {SNAPSHOT_FILE}: refusing to start a second ledger")
                if b'"op"' in journal:
                    raise snapshot_error(f"{self._store.journal_path} holds operations without {SNAPSHOT_FILE}: refusing to start again")
            file_entries = self._store.load_ledger()
            records = self._store.read_records()
            if text is not None:
                from_directory = True
                # The core's rule: the snapshot, then the journal's operations
                # after it, replayed; the ledger file checked against the result.
                recovered, _replayed, whole, last_in_file = _creditpool.recover_pool(text, journal, file_entries)
                if whole != len(journal):
                    self._store.cut_journal(whole)  # a last line cut short by a crash
            elif restored is not None:
                last_in_file = _creditpool.check_ledger(restored, file_entries)
        if recovered is not None:
            self._native = recovered
        elif restored is not None:
            self._native = _creditpool.Pool.restore_json(restored)
        else:
            cfg = _pool_config(config, "Pool()", limit=limit, cycle=cycle, thresholds=thresholds, agents=agents, pool_id=pool_id, lease_ms=lease_ms, unknown_agents=unknown_agents)
            self._native = _creditpool.Pool(cfg, self._clock())
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
        if self._store is not None:
            # The entries the file holds leave the pool; the rest are written
            # (host mode puts them in its buffer), then a new snapshot and journal.
            self._native.ack_ledger(last_in_file)
            self._native.host(self.ledger_window, True, self._outbox)
            # Deliveries recorded before a crash are not made again; the
            # records of alerts acknowledged since go.
            for key, hook_id in records:
                self._outbox.restore(key, hook_id)
            kept = self._outbox.compact(self._native)
            if len(kept) != len(records):
                self._store.rewrite_records(kept)
            self._snapshot_now()
        else:
            self._native.host(self.ledger_window, False, self._outbox)
        if self._native.alerts_ready:
            self._hand_out_alerts()

    def _op(self, fn: Callable[[_creditpool.Pool, int], T], now_ms: int | None, kind: str = "") -> T:
        """Runs one native operation (the native pool in host mode does its
        bookkeeping under its own lock: the ledger window, the journal and
        ledger lines to write), then hands out its alerts. A pool kept in a
        directory applies it under the pool's lock (so that the journal's
        order is the order of application) and returns once it is written
        (``_write``). After a failed write the pending lines are written
        first; if that fails too, the operation is refused with its
        ``PoolStoreError``, unless the core's rule applies it anyway
        (``applies_while_unwritten``: settles and releases, which then raise
        the write's error after being applied)."""
        if not self._live:
            self._check_usable()
        t = self._clock() if now_ms is None else whole_number(now_ms, "now_ms", "Unix milliseconds")
        native = self._native
        if self._store is None:
            try:
                return fn(native, t)
            finally:
                if native.alerts_ready:
                    self._hand_out_alerts()
        position = 0
        try:
            with self._lock:
                if self._unwritten:
                    try:
                        self._write_locked()
                    except _creditpool.PoolStoreError:
                        if not _creditpool.applies_while_unwritten(kind):
                            raise
                try:
                    return fn(native, t)
                finally:
                    position = native.journal_ops
                    if not self._writing and position > self._durable_ops:
                        # Nobody is writing: this thread writes now, this
                        # operation and any other pending (group commit:
                        # others apply theirs meanwhile; without fsync the
                        # write is short, and holding the lock through it is
                        # cheaper than waiting for one another).
                        try:
                            self._write_locked(release=self._fsync)
                        except BaseException:
                            position = 0  # raised: not tried again below
                            raise
        finally:
            try:
                if position > self._durable_ops:
                    self._write(position)
            finally:
                if native.alerts_ready:
                    self._hand_out_alerts()
            if position and self._snapshot_due(position):
                try:
                    self._snapshot_now(only_if_due=True)
                except _creditpool.PoolStoreError as e:
                    # The journal still holds every operation: nothing is lost;
                    # the next operation tries again.
                    log.warning("could not write the pool's snapshot: %s", e)

    def _check_usable(self) -> None:
        """An operation on a closed pool, or in a child after ``fork()``
        (whose copy of the pool would diverge from the parent's), raises
        ``PoolStoreError``."""
        if self._closed:
            raise store_error("the pool is closed")
        if os.getpid() != self._pid:
            raise store_error(f"this Pool belongs to process {self._pid} (this is {os.getpid()}, a child after fork()): make a new Pool in this process")

    def _write(self, position: int) -> None:
        """Returns once the journal holds (synced, with ``fsync=True``) every
        operation up to ``position``: one thread writes what every thread
        appended so far while the others wait for it (group commit)."""
        with self._lock:
            while self._durable_ops < position:
                if self._writing:
                    self._waiters += 1
                    try:
                        self._cond.wait()
                    finally:
                        self._waiters -= 1
                else:
                    self._write_locked(release=True)

    def _write_locked(self, release: bool = False) -> None:
        """Under the lock: writes the journal and ledger lines the native
        pool holds (the journal first: the ledger is never ahead of it),
        syncs the journal, then lets the native pool drop them (the entries
        leave it). ``release`` lets other threads apply operations while the
        files are written. A failed write raises ``PoolStoreError`` and
        leaves the pool *unwritten*: what was not written stays pending."""
        while self._writing:
            self._waiters += 1
            try:
                self._cond.wait()
            finally:
                self._waiters -= 1
        store = self._store
        assert store is not None
        native = self._native
        journal, ledger, ops, seq = native.pending_writes()
        if not journal and not ledger:
            self._durable_ops = ops
            self._unwritten = False
            return
        self._writing = True
        journal_written = False
        try:
            if release:
                self._lock.release()
            try:
                store.write_pending(journal, ledger)
            except BaseException as e:
                journal_written = getattr(e, "journal_written", False)
                raise
            finally:
                if release:
                    self._lock.acquire()
            native.written(len(journal), len(ledger), seq)
            self._durable_ops = ops
            self._unwritten = False
        except BaseException:
            if journal_written:
                native.written(len(journal), 0, 0)  # the journal holds them: never twice
            self._unwritten = True
            raise
        finally:
            self._writing = False
            if self._waiters:
                self._cond.notify_all()

    def _snapshot_due(self, position: int) -> bool:
        return position - self._snapshot_ops >= self._snapshot_every or time.monotonic() - self._snapshot_at >= self._snapshot_interval_s

    def _snapshot_now(self, closing: bool = False, only_if_due: bool = False) -> None:
        """Writes a new snapshot (see ``_persistence``): every pending line
        written and the ledger synced, the snapshot's marker appended to the
        journal, the snapshot replaced, then a new journal holding the marker
        alone (none when ``closing``). The lock is held throughout, so no
        operation falls between the snapshot and its journal."""
        store = self._store
        assert store is not None
        with self._cond:
            if only_if_due and not self._snapshot_due(self._native.journal_ops):
                return  # another thread just wrote one
            self._write_locked()
            text = self._native.snapshot_json()
            marker = _creditpool.snapshot_marker_line(text)
            store.sync_ledger()
            store.append_journal(marker.encode("utf-8"))
            store.sync_journal()
            store.write_snapshot(text)
            # Done: the journal, ending with the marker, follows it as well.
            self._snapshot_ops = self._native.journal_ops
            self._snapshot_at = time.monotonic()
            store.start_journal(None if closing else marker)

    def _hand_out_alerts(self) -> None:
        """The alerts the core's outbox hands out now (each with the webhooks
        that still owe it a delivery; an alert leaves the native pool, and
        its snapshot, once every webhook has an outcome), to the window, the
        callbacks and the webhooks."""
        self._dispatch(self._alerts_of(self._native.take_alerts()))

    def _alerts_of(self, taken: list[tuple[dict[str, Any], str, list[str]]]) -> list[tuple[Alert, list[str]]]:
        out = [(Alert(a), list(hooks)) for a, _key, hooks in taken]
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
            more = self._alerts_of(self._native.take_alerts())
        self._dispatch(more)
