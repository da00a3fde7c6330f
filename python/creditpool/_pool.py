"""``Pool``: a credit pool that threads share, with persistence, alert
callbacks and signed webhooks.

Every rule is the core's (``creditpool_core::pool`` through the native
``_creditpool.Pool``): reservations, settles, refusals, alerts, the ledger,
reports, snapshots, webhook bodies and signatures. This module adds the I/O
around it: a lock so that one operation and its bookkeeping happen together,
the clock, files, callbacks and HTTP.

Persistence (``directory=...``): after every operation that changed the pool,
the pool's snapshot (which holds the ledger entries and alerts not yet
handed out) is written to ``snapshot.json`` atomically (a temporary file,
fsync, rename, fsync of the directory); then the new ledger entries are
appended to ``ledger.jsonl`` and synced. A crash between the two loses
nothing: on start the snapshot is restored and its pending entries are
appended, skipping those the file already holds (by ``seq``); a line cut
short by the crash is dropped first. Alerts pending at a crash are handed out
again on start (webhooks carry an idempotency key for receivers to drop
repeats).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import secrets
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence, TypeVar, Union

import httpx2

from . import _creditpool
from ._config import Timeouts
from ._creditpool import PoolError, PoolSnapshotError

try:
    import fcntl
except ImportError:  # not on Windows: the directory is then not locked
    fcntl = None  # type: ignore[assignment]
from ._money import format_usd, nanos
from ._types import Model

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
    "amount_nanos",
    "iter_ledger_file",
]

log = logging.getLogger("creditpool")

SNAPSHOT_FILE = "snapshot.json"
"""The snapshot's file name in a pool's directory."""
LEDGER_FILE = "ledger.jsonl"
"""The ledger's file name in a pool's directory (JSON Lines)."""
LOCK_FILE = "lock"
"""Held (``flock``) by the ``Pool`` that uses the directory."""

T = TypeVar("T")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class AgentPolicy:
    """What one agent may do (the core's ``AgentPolicy``). Amounts are int
    nano-USD."""

    cap: int | None = None
    """The most the agent may have settled plus reserved in one cycle."""
    cap_share_bp: int | None = None
    """Or its cap as a share of the pool's limit, in basis points (2500 = 25 %)."""
    weight: int = 1
    """Its weight in fair sharing."""
    credits_per_minute: int | None = None
    """A rate limit on credits reserved, nano-USD per minute."""
    requests_per_minute: int | None = None
    """A rate limit on requests (reservations) per minute."""

    def to_dict(self) -> dict[str, Any]:
        """The core's JSON form."""
        d: dict[str, Any] = {"weight": self.weight}
        if self.cap is not None and self.cap_share_bp is not None:
            raise ValueError("give cap or cap_share_bp, not both")
        if self.cap is not None:
            d["cap"] = {"kind": "absolute", "amount": self.cap}
        elif self.cap_share_bp is not None:
            d["cap"] = {"kind": "share", "basis_points": self.cap_share_bp}
        if self.credits_per_minute is not None:
            d["credits_per_minute"] = self.credits_per_minute
        if self.requests_per_minute is not None:
            d["requests_per_minute"] = self.requests_per_minute
        return d


PolicyLike = Union[AgentPolicy, Mapping[str, Any]]


def _policy(p: PolicyLike) -> dict[str, Any]:
    return p.to_dict() if isinstance(p, AgentPolicy) else dict(p)


class Webhook:
    """Where alerts are POSTed, signed with ``secret`` (the core builds the
    body and the ``x-creditpool-signature`` HMAC-SHA256 header). The secret
    never appears in a ``repr``."""

    def __init__(
        self,
        url: str,
        secret: str | bytes,
        *,
        max_retries: int | None = None,
        timeout: float | None = None,
        retry_policy: Mapping[str, Any] | None = None,
    ) -> None:
        """A webhook endpoint. Each delivery is the core's webhook call
        (``MessagesCall.webhook``): failed deliveries (429, 5xx, connection
        errors, no answer in time) are retried by the core's retry policy,
        ``retry-after`` honoured. Options left unset take the core's webhook
        defaults (``default_webhook_options()``: 3 retries, 10 s for an
        answer); ``retry_policy`` fields override the policy's."""
        self.url = url
        """The endpoint."""
        self._secret = secret.encode() if isinstance(secret, str) else bytes(secret)
        defaults = _creditpool.default_webhook_options()
        self.timeout: float = timeout if timeout is not None else int(defaults["read_timeout_ms"]) / 1000
        """Seconds per attempt."""
        options: dict[str, Any] = {}
        policy = dict(retry_policy or {})
        if max_retries is not None:
            policy["max_retries"] = max_retries
        if policy:
            options["retry"] = policy
        if timeout is not None:
            options["read_timeout_ms"] = int(timeout * 1000)
        self._options = options

    def __repr__(self) -> str:
        """The URL; never the secret."""
        return f"Webhook({self.url!r}, secret=****)"


@dataclass(frozen=True)
class WebhookResult:
    """What became of one webhook delivery."""

    url: str
    """The endpoint."""
    idempotency_key: str
    """The alert's idempotency key."""
    delivered: bool
    """Whether the endpoint answered 2xx."""
    attempts: int
    """Attempts made."""
    status: int | None
    """The last HTTP status, if any."""
    error: str | None
    """Why the last attempt failed, if it did."""


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


def amount_nanos(value: int | Decimal | str, what: str) -> int:
    """An amount as int nano-USD: an int as is, a ``Decimal`` or a string as
    dollars (exact to the nano-dollar)."""
    if isinstance(value, bool):
        raise TypeError(f"{what} must be int nano-USD or Decimal dollars")
    if isinstance(value, int):
        return value
    return nanos(value)


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
    (see the module documentation); when it already holds a snapshot, that
    snapshot is restored and the configuration given here is not used.
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
    ) -> None:
        """Creates (or restores) the pool; see the class documentation."""
        self._clock: Callable[[], int] = clock or _now_ms
        self._lock = threading.RLock()
        self._dir = Path(directory) if directory is not None else None
        self._fsync = fsync
        self._callbacks: list[Callable[[Alert], None]] = []
        if callable(on_alert):
            self._callbacks.append(on_alert)
        elif on_alert is not None:
            self._callbacks.extend(on_alert)
        self._webhooks = list(webhooks)
        self._http = http_client
        self._owns_http = http_client is None
        self._queue: queue.Queue[tuple[Webhook, dict[str, Any]] | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self.webhook_results: list[WebhookResult] = []
        """What became of each webhook delivery, in order."""
        self._alerts: list[Alert] = []
        self._ledger: list[LedgerEntry] = []
        self._disk_seq = 0
        self._closed = False
        self._dir_lock: Any = None

        try:
            self._open(limit, cycle, thresholds, agents, pool_id, lease_ms, config, snapshot)
        except BaseException:
            if self._dir_lock is not None:
                self._dir_lock.close()
                self._dir_lock = None
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
            return PoolReport(self._native.report(t))

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
        """Every ledger entry handed out by this object, oldest first (the
        file ``ledger.jsonl`` of a persisted pool holds them all)."""
        with self._lock:
            return list(self._ledger)

    def alerts(self) -> list[Alert]:
        """Every alert fired through this object, oldest first."""
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
        done = threading.Event()
        if self._worker is None:
            return True
        self._queue.put((_FLUSH, {"event": done}))
        return done.wait(timeout)

    def close(self) -> None:
        """Delivers pending webhooks, stops the delivery thread, closes the
        HTTP client if the pool made it, and lets go of the directory."""
        if self._closed:
            return
        self._closed = True
        if self._worker is not None:
            self._queue.put(None)
            self._worker.join()
        if self._owns_http and self._http is not None:
            self._http.close()
        if self._dir_lock is not None:
            self._dir_lock.close()  # closing the file releases its flock
            self._dir_lock = None

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
        if self._dir is not None:
            self._dir.mkdir(parents=True, exist_ok=True)
            self._lock_directory(self._dir)
            snap_path = self._dir / SNAPSHOT_FILE
            if snap_path.exists():
                restored = snap_path.read_text(encoding="utf-8")
            elif (self._dir / LEDGER_FILE).exists() and (self._dir / LEDGER_FILE).stat().st_size > 0 and snapshot is None:
                raise PoolSnapshotError(f"{self._dir / LEDGER_FILE} exists without {SNAPSHOT_FILE}: refusing to start a second ledger")
            self._disk_seq = self._repair_ledger()
        if restored is not None:
            self._native = _creditpool.Pool.restore_json(restored)
        else:
            cfg: dict[str, Any] = dict(config or {})
            if limit is not None:
                cfg["limit"] = amount_nanos(limit, "limit")
            if "limit" not in cfg:
                raise TypeError("Pool() needs a limit (int nano-USD)")
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
            self._native = _creditpool.Pool(cfg, self._clock())
        with self._lock:
            events = self._commit(force=True)
        self._dispatch(events)

    def _op(self, fn: Callable[[_creditpool.Pool, int], T], now_ms: int | None, force: bool = False) -> T:
        """Runs one native operation with its bookkeeping under the lock, then
        hands out its alerts outside it."""
        t = self._clock() if now_ms is None else now_ms
        with self._lock:
            before = None if force else self._native.marker()
            try:
                result = fn(self._native, t)
            finally:
                events = self._commit(force=force or self._native.marker() != before)
        self._dispatch(events)
        return result

    def _commit(self, force: bool) -> list[Alert]:
        """Under the lock: persists a changed pool, then drains the ledger
        and the alerts."""
        if not force:
            return []
        if self._dir is not None:
            self._write_snapshot(self._native.snapshot_json())
        entries = self._native.poll_ledger()
        if entries:
            lines = []
            for line, entry in entries:
                self._ledger.append(LedgerEntry(entry))
                if int(entry["seq"]) > self._disk_seq:
                    lines.append(line)
            if self._dir is not None and lines:
                self._append_ledger(lines)
                self._disk_seq = int(entries[-1][1]["seq"])
        alerts = [Alert(a) for a in self._native.poll_events()]
        self._alerts.extend(alerts)
        return alerts

    def _lock_directory(self, directory: Path) -> None:
        """Takes the directory for this object: two writers would interleave
        their ledgers. A process that dies lets go of it."""
        if fcntl is None:
            return
        f = open(directory / LOCK_FILE, "a+b")
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            raise PoolError(f"{directory} is in use by another Pool (close it first)") from None
        self._dir_lock = f

    def _write_snapshot(self, text: str) -> None:
        assert self._dir is not None
        path = self._dir / SNAPSHOT_FILE
        tmp = self._dir / (SNAPSHOT_FILE + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            if self._fsync:
                os.fsync(f.fileno())
        os.replace(tmp, path)
        if self._fsync:
            _fsync_dir(self._dir)

    def _append_ledger(self, lines: list[str]) -> None:
        assert self._dir is not None
        with open(self._dir / LEDGER_FILE, "a", encoding="utf-8") as f:
            f.write("".join(lines))
            f.flush()
            if self._fsync:
                os.fsync(f.fileno())

    def _repair_ledger(self) -> int:
        """Drops a last line cut short by a crash; returns the last ``seq``
        in the file (0 if none)."""
        assert self._dir is not None
        path = self._dir / LEDGER_FILE
        if not path.exists():
            return 0
        data = path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end != len(data):
            with open(path, "r+b") as f:
                f.truncate(end)
        last = data[:end].rstrip(b"\n").rsplit(b"\n", 1)[-1]
        if not last:
            return 0
        return int(json.loads(last)["seq"])

    def _dispatch(self, alerts: list[Alert]) -> None:
        """Hands alerts to the callbacks and queues their webhooks."""
        for alert in alerts:
            for cb in list(self._callbacks):
                try:
                    cb(alert)
                except Exception:  # a failing callback must not break the agents
                    log.exception("alert callback %r failed", cb)
            for hook in self._webhooks:
                self._enqueue(hook, alert.to_dict())

    def _enqueue(self, hook: Webhook, alert: dict[str, Any]) -> None:
        if self._worker is None:
            with self._lock:
                if self._worker is None:
                    self._worker = threading.Thread(target=self._deliver_loop, name="creditpool-webhooks", daemon=True)
                    self._worker.start()
        self._queue.put((hook, alert))

    def _deliver_loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            hook, alert = item
            if hook is _FLUSH:
                alert["event"].set()
                continue
            try:
                self.webhook_results.append(self._deliver(hook, alert))
            except Exception:  # the delivery thread must survive anything
                log.exception("webhook delivery to %s failed", hook.url)

    def _deliver(self, hook: Webhook, alert: dict[str, Any]) -> WebhookResult:
        """POSTs one alert: the core's webhook call (retries, timeouts, what
        delivers it), played by the same driver as the API's calls."""
        from ._driver import Endpoint, Sleep, Step, drive, play, take_output

        if self._http is None:
            self._http = httpx2.Client()
        delivery = _creditpool.webhook_delivery(alert, hook._secret)
        key = str((alert.get("payload") or {}).get("idempotency_key", ""))
        options = {**hook._options, "jitter_seed": secrets.randbits(53)}
        call = _creditpool.MessagesCall.webhook(delivery, options)
        t = hook.timeout
        endpoint = Endpoint(self._http, hook.url, Timeouts(connect=t, read=t, write=t, pool=t, stream_idle=t))

        def other(step: Step) -> Any:
            if isinstance(step, Sleep):
                time.sleep(step.seconds)
            return None

        for _ in drive(endpoint, play(call), other):
            pass
        try:
            out = take_output(call)
        except _creditpool.CreditpoolError as e:
            attempts = e.attempts or 1
            status = getattr(e, "status", None)
            log.warning("webhook %s to %s given up after %d attempts: %s (%s)", key, hook.url, attempts, e.code, e)
            return WebhookResult(hook.url, key, False, attempts, status if isinstance(status, int) else None, f"{e.code}: {e}")
        log.debug("webhook %s delivered to %s (attempt %d)", key, hook.url, out["attempts"])
        return WebhookResult(hook.url, key, True, int(out["attempts"]), int(out["delivered"]), None)


_FLUSH = Webhook("flush:", b"")
"""A marker in the delivery queue: set the event, deliver nothing."""


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def iter_ledger_file(directory: str | os.PathLike[str]) -> Iterator[LedgerEntry]:
    """The entries of a persisted pool's ``ledger.jsonl``, oldest first."""
    with open(Path(directory) / LEDGER_FILE, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield LedgerEntry(json.loads(line))
