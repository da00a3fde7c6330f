"""``RedisPool`` on a local three-master Redis Cluster that this module starts
itself (three ``redis-server --cluster-enabled yes`` and ``redis-cli --cluster
create``, as crates/creditpool/tests/redis_cluster.rs does): every key of a
pool hashes to one slot, and a scenario (reserve, refusal, settle, release,
an alert, the ledger, a report, a second worker joining through another seed
node) runs through redis-py's cluster client, the script loading itself on
the node that owns the pool's slot."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from typing import Iterator

import pytest

import creditpool as cp
import redis
import redis.cluster

from test_redis import _unique


def _cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free too."""
    for _ in range(1000):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port >= 55_000:
            continue
        try:
            with socket.socket() as bus:
                bus.bind(("127.0.0.1", port + 10_000))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a cluster node")


@pytest.fixture(scope="module")
def cluster() -> Iterator[list[int]]:
    assert shutil.which("redis-server") and shutil.which("redis-cli"), "scripts/setup.sh installs redis-server and redis-cli"
    dirs: list[str] = []
    procs: list[subprocess.Popen[bytes]] = []
    ports: list[int] = []
    try:
        for _ in range(3):
            d = tempfile.mkdtemp(prefix="creditpool-cluster-")
            dirs.append(d)
            port = _cluster_port()
            procs.append(
                subprocess.Popen(
                    ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no", "--dir", d,
                     "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            ports.append(port)
        for port in ports:
            probe = redis.Redis(port=port)
            for _ in range(500):
                try:
                    if probe.ping():
                        break
                except redis.exceptions.ConnectionError:
                    time.sleep(0.01)
            probe.close()
        out = subprocess.run(
            ["redis-cli", "--cluster", "create", *[f"127.0.0.1:{p}" for p in ports], "--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True, text=True, timeout=60,
        )
        assert out.returncode == 0, out.stdout + out.stderr
        for port in ports:
            probe = redis.Redis(port=port, decode_responses=True)
            for _ in range(1000):
                if "cluster_state:ok" in probe.execute_command("CLUSTER", "INFO"):  # type: ignore[no-untyped-call]
                    break
                time.sleep(0.01)
            else:
                pytest.fail(f"cluster node {port} never reached cluster_state:ok")
            probe.close()
        yield ports
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)


def test_a_pool_runs_on_a_three_master_cluster(cluster: list[int]) -> None:
    admin = redis.cluster.RedisCluster(host="127.0.0.1", port=cluster[0], decode_responses=True)
    for n in range(3):
        name = _unique(f"pycl{n}")
        pool = cp.Pool.connect(f"redis://127.0.0.1:{cluster[0]}/0", name=name, limit=cp.nanos(1_000), thresholds=[50], cluster=True)
        assert pool.script_mode == "eval"
        keys = [f"cp:{{{name}}}:{part}" for part in ("cfg", "st", "open", "ledger", "outbox")]
        assert len({admin.keyslot(k) for k in keys}) == 1  # type: ignore[no-untyped-call]
        a = pool.apply({"op": "reserve", "agent": "a", "amount": 700, "now_ms": 0})
        assert a["result"] == "reserved", a
        refused = pool.apply({"op": "reserve", "agent": "b", "amount": 400, "now_ms": 0})
        assert refused["result"] == "refused" and refused["reason"] == "pool_exhausted", refused
        b = pool.apply({"op": "reserve", "agent": "b", "amount": 300, "now_ms": 0})
        assert pool.apply({"op": "settle", "id": a["id"], "cost": 600, "now_ms": 0})["result"] == "settled"
        assert pool.apply({"op": "release", "id": b["id"], "now_ms": 0})["result"] == "released"
        rep = pool.apply({"op": "report", "now_ms": 0})
        assert (rep["settled"], rep["reserved"]) == (600, 0)
        assert [e["kind"] for _, e in pool.ledger()] == ["settle", "release"]
        assert len(pool.alerts()) == 1
        delivered = pool.next_alerts("worker-1")
        assert len(delivered) == 1
        pool.ack([i for i, _ in delivered])
        # A second worker joins through another seed node and sees the same pool.
        other = cp.RedisPool.join(f"redis://127.0.0.1:{cluster[2]}/0", name=name, cluster=True)
        c = other.apply({"op": "reserve", "agent": "c", "amount": 400, "now_ms": 0})
        assert c["result"] == "reserved" and c["id"] == 3, c
        # The script was loaded on the node that owns the slot (EVAL after NOSCRIPT).
        assert pool.client.execute_command("EXISTS", f"cp:{{{name}}}:st") == 1
        pool.close()
        other.close()
    admin.close()


def test_an_asyncio_pool_runs_on_the_cluster_beside_a_sync_one(cluster: list[int]) -> None:
    import asyncio

    name = _unique("pyacl")

    async def scenario() -> None:
        pool = await cp.AsyncRedisPool.connect(f"redis://127.0.0.1:{cluster[1]}/0", name=name, limit=cp.nanos(1_000), thresholds=[50], cluster=True)
        assert pool.script_mode == "eval"
        a = await pool.apply({"op": "reserve", "agent": "a", "amount": 700, "now_ms": 0})
        assert a["result"] == "reserved", a
        refused = await pool.apply({"op": "reserve", "agent": "b", "amount": 400, "now_ms": 0})
        assert refused["result"] == "refused" and refused["reason"] == "pool_exhausted", refused
        # A sync worker on another seed node shares the same pool.
        other = cp.RedisPool.join(f"redis://127.0.0.1:{cluster[2]}/0", name=name, cluster=True)
        assert other.apply({"op": "settle", "id": a["id"], "cost": 600, "now_ms": 0})["result"] == "settled"
        other.close()
        rep = await pool.apply({"op": "report", "now_ms": 0})
        assert (rep["settled"], rep["reserved"]) == (600, 0)
        assert [e["kind"] for _, e in await pool.ledger()] == ["settle"]
        delivered = await pool.next_alerts("worker-1")
        assert [x["payload"]["alert"] for _, x in delivered] == ["threshold"]
        await pool.ack([i for i, _ in delivered])
        assert await pool.next_alerts("worker-2", min_idle_ms=0) == []
        await pool.aclose()

    asyncio.run(scenario())
