"""``RedisPool``: a credit pool shared by processes, machines and languages
through Redis, with redis-py (the ``creditpool[redis]`` extra).

Everything but the sending lives in the core (``creditpool_core::redis``,
reached through ``_creditpool.RedisOps``): the keys, the Lua script, each
operation's command and the decoding of its reply. This file connects with
redis-py, sends what the core builds, reloads the script when the server lost
it (``NOSCRIPT``, a flushed function) and resends a command whose connection
failed, up to the core's ``REDIS_SEND_ATTEMPTS`` (every operation is
idempotent: a reserve carries its idempotency key, kept across its resends).
See ``docs/REDIS.md``.
"""

from __future__ import annotations

import os
import secrets
import threading
from typing import Any, Awaitable, Callable, Generator, Mapping, Sequence

from . import _creditpool
from ._errors import missing_extra, typed_error
from ._money import AmountLike
from ._pool import PolicyLike, _pool_config

__all__ = ["RedisPool", "AsyncRedisPool"]


def _redis_module(what: str = "RedisPool") -> Any:
    try:
        import redis
    except ImportError as e:  # pragma: no cover - exercised with the extra absent
        raise missing_extra("redis", "redis", what) from e
    return redis


def _cluster_argv(argv: Sequence[bytes]) -> list[Any]:
    """A command for redis-py's cluster clients (sync and asyncio), which
    route by the command's name as text, a container command with its
    subcommand (``XGROUP CREATE``)."""
    name = bytes(argv[0]).decode()
    if name.upper() in ("XGROUP", "XINFO") and len(argv) > 1:
        return [f"{name} {bytes(argv[1]).decode()}", *argv[2:]]
    return [name, *argv[1:]]


def _error_text(redis: Any, e: Exception) -> str:
    """An error reply's text as the server sent it: redis-py strips the code
    of the ones it has classes for (``NOSCRIPT``), which the core reads."""
    if isinstance(e, redis.exceptions.NoScriptError):
        return f"NOSCRIPT {e}"
    return str(e)


def _store_error(message: str) -> _creditpool.PoolStoreError:
    return typed_error(_creditpool.PoolStoreError, "pool_store", message)


# What the two stores do is written once, as plans: generators that yield each
# command to send and receive its reply (or have the exception sending raised
# thrown into them). `_drive` runs a plan with redis-py's client, `_adrive`
# with redis.asyncio's.
_Plan = Generator[Sequence[bytes], Any, Any]


def _lost(redis: Any) -> tuple[type[BaseException], ...]:
    """Errors of a connection that failed (the command may be resent)."""
    return (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)


def _script_plan(redis: Any, call: _creditpool.RedisCall, mode: str) -> _Plan:
    """A script call: reloads the script when the server lost it (once),
    resends when the connection failed (up to ``REDIS_SEND_ATTEMPTS``)."""
    last = ""
    reloaded = False
    attempt = 0
    while attempt < _creditpool.REDIS_SEND_ATTEMPTS:
        attempt += 1
        try:
            return (yield call.command(mode))
        except redis.exceptions.ResponseError as e:
            if reloaded or not _creditpool.redis_is_reload_error(_error_text(redis, e)):
                raise _store_error(f"Redis error: {e}") from None
            reloaded = True
            attempt -= 1
            try:
                if mode == "eval":
                    return (yield call.eval_command())
                yield _creditpool.redis_load_command("function")
            except redis.exceptions.ResponseError as e2:
                raise _store_error(f"Redis error: {e2}") from None
            except _lost(redis) as e2:
                last = str(e2)
        except _lost(redis) as e:
            last = str(e)
    raise _store_error(f"Redis unreachable after {_creditpool.REDIS_SEND_ATTEMPTS} attempts: {last}")


def _command_plan(redis: Any, argv: Sequence[bytes]) -> _Plan:
    """One plain command; any failure is a ``PoolStoreError``."""
    try:
        return (yield argv)
    except (redis.exceptions.ResponseError, *_lost(redis)) as e:
        raise _store_error(f"Redis error: {e}") from None


def _next_alerts_plan(redis: Any, ops: _creditpool.RedisOps, consumer: str, group: str, min_idle_ms: int, count: int) -> _Plan:
    """The consumer group's alerts for ``consumer``: claimed, then new."""
    try:
        yield ops.create_group(group)
    except redis.exceptions.ResponseError as e:
        if not str(e).startswith("BUSYGROUP"):
            raise _store_error(f"Redis error: {e}") from None
    out = list(ops.decode_alerts((yield from _command_plan(redis, ops.claim_alerts(group, consumer, min_idle_ms, count)))))
    if len(out) < count:
        out.extend(ops.decode_alerts((yield from _command_plan(redis, ops.read_alerts(group, consumer, count - len(out))))))
    return out


def _mode_plan(redis: Any) -> _Plan:
    """The script mode when none was asked for: Functions where the server
    has them (the library loaded now), else EVALSHA."""
    try:
        yield _creditpool.redis_load_command("function")
        return "function"
    except redis.exceptions.ResponseError as e:
        return "eval" if _creditpool.redis_is_functions_unsupported(str(e)) else "function"
    except _lost(redis) as e:
        raise _store_error(f"Redis unreachable: {e}") from None


def _drive(plan: _Plan, send: Callable[[Sequence[bytes]], Any]) -> Any:
    """Runs a plan, sending with ``send``; the plan's result."""
    try:
        argv = next(plan)
        while True:
            try:
                reply = send(argv)
            except Exception as e:  # the plan decides what a failure means
                argv = plan.throw(e)
            else:
                argv = plan.send(reply)
    except StopIteration as done:
        return done.value


async def _adrive(plan: _Plan, send: Callable[[Sequence[bytes]], Awaitable[Any]]) -> Any:
    """``_drive``, awaiting each send."""
    try:
        argv = next(plan)
        while True:
            try:
                reply = await send(argv)
            except Exception as e:  # the plan decides what a failure means
                argv = plan.throw(e)
            else:
                argv = plan.send(reply)
    except StopIteration as done:
        return done.value


class _RedisPoolBase:
    """What the sync and asyncio stores share: the core's command builder,
    the stored configuration and the inspection properties."""

    def __init__(self, redis: Any, client: Any, ops: _creditpool.RedisOps, mode: str, config: dict[str, Any]) -> None:
        self._redis = redis
        self._client = client
        self._ops = ops
        self._mode = mode
        self._config = config
        self._client_id = secrets.token_hex(8)
        self._seq = 0

    @property
    def name(self) -> str:
        """The pool's name in Redis (its keys' hash tag)."""
        return str(self._ops.name)

    @property
    def config(self) -> dict[str, Any]:
        """The pool's configuration, as stored with it when this object joined."""
        return dict(self._config)

    @property
    def script_mode(self) -> str:
        """``"function"`` (FCALL) or ``"eval"`` (EVALSHA)."""
        return self._mode

    @property
    def client(self) -> Any:
        """The redis-py client (``redis.Redis``, ``redis.asyncio.Redis`` or
        ``RedisCluster``; raw replies)."""
        return self._client

    @property
    def ops(self) -> _creditpool.RedisOps:
        """The core's command builder for this pool."""
        return self._ops

    def _key(self, seq: int) -> str:
        return str(_creditpool.redis_idempotency_key(self._client_id, seq))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self._ops.name!r}, script_mode={self._mode!r})"


class RedisPool(_RedisPoolBase):
    """A pool that lives in Redis: a ``PoolStore`` that ``Agent`` takes as it
    takes a ``Pool``. Safe to share between threads (redis-py's connection
    pool).

    ``RedisPool.connect("redis://127.0.0.1:6379/0", name="fleet", limit=...,
    agents=...)`` creates pool ``name`` with that configuration, or joins it
    if it exists with the same one; a different one raises
    ``RedisConfigConflictError`` (``stored``, ``given``: the two
    configurations), unless ``update=True`` replaces it explicitly.
    ``RedisPool.join(url, name=...)`` joins with the stored configuration.
    The configuration arguments are ``Pool``'s (``limit``, ``cycle``,
    ``thresholds``, ``agents``, ``pool_id``, ``lease_ms``, ``config``);
    ``fair_share`` is refused (``PoolConfigError``,
    ``fair_share_unsupported_on_redis``). ``clock="server"`` (the default)
    makes the Redis server's ``TIME`` the fleet's one clock; ``"given"``
    replays each operation's ``now_ms`` (tests). ``script_mode`` is
    ``"function"`` (Redis 7 Functions) or ``"eval"`` (EVALSHA); by default
    Functions where the server has them. ``client`` is an existing
    ``redis.Redis`` to use instead of ``url`` (it must not decode responses).
    ``cluster=True``: ``url`` is a seed node of a Redis Cluster (a
    ``redis.cluster.RedisCluster`` is made; EVALSHA by default, the script
    loading itself on the node that owns the pool's slot).
    """

    def __init__(self, client: Any, ops: _creditpool.RedisOps, mode: str, config: dict[str, Any]) -> None:
        """Use ``connect`` or ``join``."""
        super().__init__(_redis_module(), client, ops, mode, config)
        self._seq_lock = threading.Lock()
        self._pid = os.getpid()
        self._cluster = False

    # ----- connecting -----

    @classmethod
    def connect(
        cls,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        name: str,
        limit: AmountLike | None = None,
        cycle: Mapping[str, Any] | None = None,
        thresholds: Sequence[int] | None = None,
        agents: Mapping[str, PolicyLike] | None = None,
        pool_id: str | None = None,
        lease_ms: int | None = None,
        config: Mapping[str, Any] | None = None,
        update: bool = False,
        clock: str = "server",
        script_mode: str | None = None,
        created_at_ms: int = 0,
        client: Any = None,
        cluster: bool = False,
    ) -> "RedisPool":
        """Creates pool ``name`` in the Redis at ``url``, or joins it (see the
        class documentation)."""
        cfg = _pool_config(
            config,
            "RedisPool.connect() (RedisPool.join() takes the stored configuration)",
            limit=limit, cycle=cycle, thresholds=thresholds, agents=agents, pool_id=pool_id, lease_ms=lease_ms,
        )
        return cls._open(url, name, cfg, "update" if update else "join", clock, script_mode, created_at_ms, client, cluster)

    @classmethod
    def join(cls, url: str = "redis://127.0.0.1:6379/0", *, name: str, clock: str = "server", script_mode: str | None = None, client: Any = None, cluster: bool = False) -> "RedisPool":
        """Joins the existing pool ``name`` with its stored configuration
        (``PoolStoreError``, code ``redis_pool_missing``, if there is none)."""
        return cls._open(url, name, None, "read", clock, script_mode, 0, client, cluster)

    @classmethod
    def _open(cls, url: str, name: str, cfg: dict[str, Any] | None, join: str, clock: str, script_mode: str | None, created_at_ms: int, client: Any, cluster: bool = False) -> "RedisPool":
        redis = _redis_module()
        ops = _creditpool.RedisOps(name, clock)
        call = ops.join(cfg, join, created_at_ms)  # checks the configuration first
        is_cluster = cluster or isinstance(client, redis.cluster.RedisCluster)
        if client is None:
            # No retries inside redis-py: the core's SEND_ATTEMPTS is the one policy.
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            if cluster:
                # A seed node's URL; redis-py finds the others and routes each
                # command by its keys (all of a pool's share one slot).
                try:
                    client = redis.cluster.RedisCluster.from_url(url, protocol=2, retry=Retry(NoBackoff(), 0))
                except (redis.exceptions.ConnectionError, redis.exceptions.RedisClusterException) as e:
                    raise _store_error(f"Redis unreachable: {e}") from None
            else:
                client = redis.Redis.from_url(url, protocol=2, retry=Retry(NoBackoff(), 0))
        if not is_cluster:
            # Raw replies: the core decodes them (redis-py's callbacks would reshape XRANGE etc.).
            client.response_callbacks.clear()
        # On a cluster the nodes' callbacks stay (the cluster client needs
        # them); the stream replies they reshape ((id, {field: value}) pairs)
        # hand the core the same values. EVALSHA there: EVAL, routed by the
        # pool's keys, loads the script on the node that owns its slot.
        mode = script_mode if script_mode is not None or not is_cluster else "eval"
        if mode is None:
            mode = _drive(_mode_plan(redis), lambda argv: client.execute_command(*argv))
        pool = cls(client, ops, mode, {})
        pool._cluster = is_cluster
        pool._config = ops.decode_join(pool._call(call), cfg)
        return pool

    # ----- the PoolStore seam -----

    def apply(self, op: Mapping[str, Any]) -> dict[str, Any]:
        """Applies the core's ``PoolOp`` (a dict) with one script run and
        returns its ``OpResult`` (a dict). A reserve gets a fresh idempotency
        key, kept across the resends of its command."""
        key = self.next_key() if op.get("op") == "reserve" else None
        return self.apply_keyed(op, key)

    def apply_keyed(self, op: Mapping[str, Any], key: str | None) -> dict[str, Any]:
        """Applies ``op`` with an explicit reserve idempotency key: a reserve
        repeated with the same key answers the reservation already made."""
        built = self._ops.build(dict(op), key)
        if isinstance(built, dict):
            return built
        return self._ops.decode(self._call(built))

    def next_key(self) -> str:
        """A fresh reserve idempotency key for this pool object."""
        with self._seq_lock:
            self._seq += 1
            seq = self._seq
        return self._key(seq)

    def _send(self, argv: Sequence[bytes]) -> Any:
        """Sends one command as the core built it; the raw reply."""
        return self._client.execute_command(*(_cluster_argv(argv) if self._cluster else argv))

    def _call(self, call: _creditpool.RedisCall) -> Any:
        """Sends a script call (``_script_plan``: reload, resend)."""
        if os.getpid() != self._pid and not self._cluster:
            # A forked child must not share the parent's sockets.
            self._client.connection_pool.reset()
            self._pid = os.getpid()
        return _drive(_script_plan(self._redis, call, self._mode), self._send)

    # ----- inspection -----

    def _command(self, argv: Sequence[bytes]) -> Any:
        return _drive(_command_plan(self._redis, argv), self._send)

    def ledger(self, after: str = "-", count: int = 10_000) -> list[tuple[str, dict[str, Any]]]:
        """Ledger entries (the file ledger's JSON, as dicts) after stream ID
        ``after``, at most ``count``, with their stream IDs."""
        return [(i, e) for i, e in self._ops.decode_ledger(self._command(self._ops.read_ledger(after, count)))]

    def trim_ledger(self, through: str) -> int:
        """Removes the ledger entries up to and including stream ID
        ``through`` (the last one you have archived: the stream is the
        pool's record and grows by one entry per settle, release and
        expiry); how many went. A malformed ID raises
        ``InvalidOptionsError`` (``redis_invalid_stream_id``)."""
        return int(self._ops.decode_trimmed(self._command(self._ops.trim_ledger(through))))

    def alerts(self, after: str = "-", count: int = 10_000) -> list[tuple[str, dict[str, Any]]]:
        """Alerts in the outbox after stream ID ``after`` (inspection, no
        consumer group), each with its webhook ``payload``."""
        return [(i, a) for i, a in self._ops.decode_alerts(self._command(self._ops.range_alerts(after, count)))]

    def next_alerts(self, consumer: str, *, group: str = _creditpool.REDIS_ALERT_GROUP, min_idle_ms: int = _creditpool.REDIS_ALERT_CLAIM_IDLE_MS, count: int = _creditpool.REDIS_ALERT_BATCH) -> list[tuple[str, dict[str, Any]]]:
        """Alerts for ``consumer`` to deliver: those another consumer left
        unacknowledged for ``min_idle_ms`` (it died), then new ones. Deliver
        each, then ``ack`` it (at least once; receivers deduplicate by the
        alert's idempotency key)."""
        out: list[tuple[str, dict[str, Any]]] = _drive(_next_alerts_plan(self._redis, self._ops, consumer, group, min_idle_ms, count), self._send)
        return out

    def ack(self, ids: Sequence[str], *, group: str = _creditpool.REDIS_ALERT_GROUP) -> None:
        """Acknowledges delivered alerts."""
        if ids:
            self._command(self._ops.ack(group, list(ids)))

    def close(self) -> None:
        """Closes the client's connections."""
        self._client.close()

    def __enter__(self) -> "RedisPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()



class AsyncRedisPool(_RedisPoolBase):
    """``RedisPool`` for asyncio, with ``redis.asyncio``: the same pool, the
    same commands (the core builds them), the same script choice, reload and
    resend; ``apply`` is a coroutine, so it is an ``AsyncPoolStore`` that
    ``Agent.arun`` awaits. Connect with ``await AsyncRedisPool.connect(url,
    name=..., limit=..., ...)`` (the arguments of ``RedisPool.connect``) or
    ``await AsyncRedisPool.join(url, name=...)``; ``client`` is an existing
    ``redis.asyncio.Redis`` or ``redis.asyncio.cluster.RedisCluster`` (it
    must not decode responses); ``cluster=True`` takes ``url`` as a seed node
    of a Redis Cluster, as ``RedisPool`` does. Close with ``await
    pool.aclose()`` (or ``async with``)."""

    def __init__(self, client: Any, ops: _creditpool.RedisOps, mode: str, config: dict[str, Any]) -> None:
        """Use ``connect`` or ``join``."""
        super().__init__(_redis_module("AsyncRedisPool"), client, ops, mode, config)
        self._cluster = False

    @classmethod
    async def connect(
        cls,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        name: str,
        limit: AmountLike | None = None,
        cycle: Mapping[str, Any] | None = None,
        thresholds: Sequence[int] | None = None,
        agents: Mapping[str, PolicyLike] | None = None,
        pool_id: str | None = None,
        lease_ms: int | None = None,
        config: Mapping[str, Any] | None = None,
        update: bool = False,
        clock: str = "server",
        script_mode: str | None = None,
        created_at_ms: int = 0,
        client: Any = None,
        cluster: bool = False,
    ) -> "AsyncRedisPool":
        """Creates pool ``name`` in the Redis at ``url``, or joins it (see
        ``RedisPool.connect``)."""
        cfg = _pool_config(
            config,
            "AsyncRedisPool.connect() (AsyncRedisPool.join() takes the stored configuration)",
            limit=limit, cycle=cycle, thresholds=thresholds, agents=agents, pool_id=pool_id, lease_ms=lease_ms,
        )
        return await cls._open(url, name, cfg, "update" if update else "join", clock, script_mode, created_at_ms, client, cluster)

    @classmethod
    async def join(cls, url: str = "redis://127.0.0.1:6379/0", *, name: str, clock: str = "server", script_mode: str | None = None, client: Any = None, cluster: bool = False) -> "AsyncRedisPool":
        """Joins the existing pool ``name`` with its stored configuration."""
        return await cls._open(url, name, None, "read", clock, script_mode, 0, client, cluster)

    @classmethod
    async def _open(cls, url: str, name: str, cfg: dict[str, Any] | None, join: str, clock: str, script_mode: str | None, created_at_ms: int, client: Any, cluster: bool = False) -> "AsyncRedisPool":
        redis = _redis_module("AsyncRedisPool")
        import redis.asyncio as aioredis
        import redis.asyncio.cluster

        ops = _creditpool.RedisOps(name, clock)
        call = ops.join(cfg, join, created_at_ms)  # checks the configuration first
        is_cluster = cluster or isinstance(client, redis.asyncio.cluster.RedisCluster)
        own = client is None
        if client is None:
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff

            # No retries inside redis-py: the core's SEND_ATTEMPTS is the one policy.
            if cluster:
                # A seed node's URL (see RedisPool): the cluster client finds
                # the others when it first sends.
                client = redis.asyncio.cluster.RedisCluster.from_url(url, protocol=2, retry=Retry(NoBackoff(), 0))
            else:
                client = aioredis.Redis.from_url(url, protocol=2, retry=Retry(NoBackoff(), 0))
        if not is_cluster:
            client.response_callbacks.clear()
        try:
            # EVALSHA on a cluster, as RedisPool does.
            mode = script_mode if script_mode is not None or not is_cluster else "eval"
            if mode is None:
                mode = await _adrive(_mode_plan(redis), lambda argv: client.execute_command(*argv))
            pool = cls(client, ops, mode, {})
            pool._cluster = is_cluster
            pool._config = ops.decode_join(await pool._call(call), cfg)
        except BaseException:
            if own:
                await client.aclose()
            raise
        return pool

    # ----- the AsyncPoolStore seam -----

    async def apply(self, op: Mapping[str, Any]) -> dict[str, Any]:
        """Applies the core's ``PoolOp`` (a dict) with one script run; its
        ``OpResult`` (a dict). A reserve gets a fresh idempotency key, kept
        across the resends of its command."""
        key = self.next_key() if op.get("op") == "reserve" else None
        return await self.apply_keyed(op, key)

    async def apply_keyed(self, op: Mapping[str, Any], key: str | None) -> dict[str, Any]:
        """Applies ``op`` with an explicit reserve idempotency key."""
        built = self._ops.build(dict(op), key)
        if isinstance(built, dict):
            return built
        return self._ops.decode(await self._call(built))

    def next_key(self) -> str:
        """A fresh reserve idempotency key for this pool object."""
        self._seq += 1
        return self._key(self._seq)

    async def _send(self, argv: Sequence[bytes]) -> Any:
        return await self._client.execute_command(*(_cluster_argv(argv) if self._cluster else argv))

    async def _call(self, call: _creditpool.RedisCall) -> Any:
        """``RedisPool._call``, awaited (``_script_plan``: reload, resend)."""
        return await _adrive(_script_plan(self._redis, call, self._mode), self._send)

    async def _command(self, argv: Sequence[bytes]) -> Any:
        return await _adrive(_command_plan(self._redis, argv), self._send)

    # ----- inspection -----

    async def ledger(self, after: str = "-", count: int = 10_000) -> list[tuple[str, dict[str, Any]]]:
        """Ledger entries after stream ID ``after``, with their stream IDs."""
        return [(i, e) for i, e in self._ops.decode_ledger(await self._command(self._ops.read_ledger(after, count)))]

    async def trim_ledger(self, through: str) -> int:
        """Removes the ledger entries through stream ID ``through`` (see
        ``RedisPool.trim_ledger``); how many went."""
        return int(self._ops.decode_trimmed(await self._command(self._ops.trim_ledger(through))))

    async def alerts(self, after: str = "-", count: int = 10_000) -> list[tuple[str, dict[str, Any]]]:
        """Alerts in the outbox after stream ID ``after`` (no consumer group)."""
        return [(i, a) for i, a in self._ops.decode_alerts(await self._command(self._ops.range_alerts(after, count)))]

    async def next_alerts(self, consumer: str, *, group: str = _creditpool.REDIS_ALERT_GROUP, min_idle_ms: int = _creditpool.REDIS_ALERT_CLAIM_IDLE_MS, count: int = _creditpool.REDIS_ALERT_BATCH) -> list[tuple[str, dict[str, Any]]]:
        """Alerts for ``consumer`` to deliver (see ``RedisPool.next_alerts``)."""
        out: list[tuple[str, dict[str, Any]]] = await _adrive(_next_alerts_plan(self._redis, self._ops, consumer, group, min_idle_ms, count), self._send)
        return out

    async def ack(self, ids: Sequence[str], *, group: str = _creditpool.REDIS_ALERT_GROUP) -> None:
        """Acknowledges delivered alerts."""
        if ids:
            await self._command(self._ops.ack(group, list(ids)))

    async def aclose(self) -> None:
        """Closes the client's connections."""
        await self._client.aclose()

    async def __aenter__(self) -> "AsyncRedisPool":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

