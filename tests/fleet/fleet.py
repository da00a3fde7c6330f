"""The mixed-language fleet test (issue 11): three Rust, three Python and three
Node worker processes share one Redis pool with a small limit, running agents
against creditpool-sim with injected faults (429/529/500/cut streams) and slow
streams; one worker of each language is SIGKILLed mid-request. At the end:

1. committed spend (settled + reserved) never exceeded the limit at any
   sampled moment (a sampler reads the pool's report all along);
2. the ledger stream accounts for what the simulator billed: every settle
   whose request the simulator logged counts exactly its usage when the
   response completed and at least what was billed when the entry is
   estimated (a cut stream); a billed request without a settle belongs to a
   killed worker, whose hold counted its worst case at lease end (an
   `estimated` `expire` entry), so that the ledger's total is at least all
   the simulator billed, those requests included;
3. each threshold alert is in the outbox once (fired once across the fleet)
   and was delivered, through the consumer group, under its idempotency key
   (at least once; duplicates only from a worker killed between delivering
   and acknowledging), and nothing is left pending; an alert taken early by
   a consumer that never acknowledges it (a worker that died holding it) is
   claimed and delivered by a worker;
4. no reservation is left open after its lease.

Run by tests/fleet/run.sh (which builds what it needs) with the repository's
.venv Python:

    python tests/fleet/fleet.py --sim PATH --rust-worker PATH [--seconds N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import redis


sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import servers  # noqa: E402  (tests/lib)
from servers import sim_usage, start_redis  # noqa: E402
import creditpool as cp

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
USD = 1_000_000_000
LIMIT = USD // 12  # about $0.083: exhausted within the run
LEASE_MS = 1_500
THRESHOLDS = [25, 50, 75, 90]
MODEL = "claude-haiku-4-5"


def start_sim(binary: str, directory: str) -> tuple[subprocess.Popen[bytes], str]:
    # Slow streams (so that a kill lands mid-request) under the rule model,
    # and a fifth of the requests replaced by a fault.
    scenario = Path(directory) / "scenario.json"
    scenario.write_text(json.dumps({"steps": [{"event_delay_ms": 30, "repeat": 1_000_000}]}))
    return servers.start_sim(binary, "--fault-rate", "0.2", "--seed", "11", "--scenario", str(scenario))


class Sampler(threading.Thread):
    """Reads the pool's report all along: committed spend at each moment.
    Early in the run it also plays a delivery worker that dies holding an
    alert: it takes the first alert it can through the consumer group and
    never acknowledges it, so a worker must claim it after the idle time."""

    def __init__(self, url: str, name: str, doomed_until: float) -> None:
        super().__init__(daemon=True)
        self.pool = cp.RedisPool.join(url, name=name)
        self.samples: list[tuple[int, int, int]] = []
        self.stop = threading.Event()
        self.doomed_until = doomed_until
        self.doomed: list[str] = []  # idempotency keys taken and never acknowledged

    def run(self) -> None:
        while not self.stop.is_set():
            r = self.pool.apply({"op": "report", "now_ms": 0})
            self.samples.append((int(r["settled"]), int(r["reserved"]), int(r["limit"])))
            if not self.doomed and time.monotonic() < self.doomed_until:
                taken = self.pool.next_alerts("doomed", min_idle_ms=10**9, count=1)
                self.doomed = [a["payload"]["idempotency_key"] for _, a in taken]
            time.sleep(0.005 if not self.doomed else 0.02)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sim", required=True)
    ap.add_argument("--rust-worker", required=True)
    ap.add_argument("--seconds", type=float, default=12)
    ap.add_argument("--per-language", type=int, default=3)
    ap.add_argument("--agents", type=int, default=2)
    args = ap.parse_args()

    directory = tempfile.mkdtemp(prefix="creditpool-fleet-")
    procs: list[subprocess.Popen[bytes]] = []
    failures: list[str] = []
    try:
        rproc, url = start_redis(directory)
        procs.append(rproc)
        sproc, sim = start_sim(args.sim, directory)
        procs.append(sproc)
        name = "fleet"
        owner = cp.Pool.connect(url, name=name, limit=cp.nanos(LIMIT), lease_ms=LEASE_MS, thresholds=THRESHOLDS, config={"allow_unknown_agents": True})
        deliveries = Path(directory) / "deliveries.tsv"
        deliveries.touch()

        commands = {
            "rust": [args.rust_worker],
            "python": [sys.executable, str(HERE / "worker.py")],
            "node": ["node", str(HERE / "worker.mjs")],
        }
        workers: dict[str, subprocess.Popen[bytes]] = {}
        for lang, cmd in commands.items():
            for i in range(args.per_language):
                wid = f"{lang}{i}"
                workers[wid] = subprocess.Popen(
                    [*cmd, url, name, sim, wid, str(deliveries), str(args.seconds), str(args.agents)],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    cwd=HERE,
                )
        sampler = Sampler(url, name, time.monotonic() + args.seconds * 0.4)
        sampler.start()

        # One worker of each language is killed mid-request: once the pool
        # holds a reservation of its agents (it is inside a call).
        victims = [f"{lang}0" for lang in commands]
        killed: set[str] = set()
        start = time.monotonic()
        admin = redis.Redis.from_url(url, decode_responses=True)
        open_key = f"cp:{{{name}}}:open"

        def holders() -> set[str]:
            # Who holds an open reservation (docs/REDIS.md, "Inspecting a
            # pool"): `open` maps an ID to "agent-index:amount:...", `ag`
            # maps "n:<index>" to the agent's name.
            idx = {str(rec).split(":", 1)[0] for rec in admin.hvals(open_key)}
            return {str(admin.hget(f"cp:{{{name}}}:ag", f"n:{i}") or "") for i in idx}

        while len(killed) < len(victims) and time.monotonic() - start < args.seconds * 0.6:
            time.sleep(0.05)
            if time.monotonic() - start < 2:
                continue
            held = holders()
            for v in victims:
                if v in killed:
                    continue
                busy = any(h.startswith(f"{v}-") for h in held)
                if busy or time.monotonic() - start > args.seconds * 0.5:
                    workers[v].send_signal(signal.SIGKILL)
                    killed.add(v)
                    print(f"fleet: SIGKILL {v} at {time.monotonic() - start:.1f}s ({'mid-request' if busy else 'at its deadline'})")

        outputs: dict[str, tuple[int, str, str]] = {}
        for wid, p in workers.items():
            try:
                out, err = p.communicate(timeout=args.seconds + 90)
            except subprocess.TimeoutExpired:
                p.kill()
                out, err = p.communicate()
                failures.append(f"{wid} did not finish")
            outputs[wid] = (p.returncode, out.decode(errors="replace"), err.decode(errors="replace"))
        for wid, (code, text, errors) in outputs.items():
            if wid in killed:
                continue
            if code != 0:
                failures.append(f"{wid} exited {code}: {errors[-2000:]}")
            elif "done " not in text:
                failures.append(f"{wid} did not report done: {text[-500:]}")

        # Every lease has ended: the pool's own tick (server clock) expires
        # what the killed workers held.
        time.sleep(LEASE_MS / 1000 + 0.5)
        owner.apply({"op": "tick", "now_ms": 0})
        sampler.stop.set()
        sampler.join()
        report = owner.apply({"op": "report", "now_ms": 0})

        # 1. The limit held at every sampled moment.
        over = [(s, r) for s, r, limit in sampler.samples if s + r > limit]
        if over:
            failures.append(f"committed spend above the limit at {len(over)} samples: {over[:5]}")
        if len(sampler.samples) < 50:
            failures.append(f"too few samples ({len(sampler.samples)})")

        # 4. Nothing left open after its lease.
        if int(report["reserved"]) != 0:
            failures.append(f"reserved after every lease ended: {report['reserved']}")
        left_open = admin.hlen(open_key)
        if left_open:
            failures.append(f"{left_open} reservations still open")

        # 2. The ledger against what the simulator billed.
        ledger = [e for _, e in owner.ledger()]
        settles = {e["request_id"]: e for e in ledger if e["kind"] == "settle" and e.get("request_id")}
        expires = [e for e in ledger if e["kind"] == "expire"]
        usage = sim_usage(sim)
        prices = cp.PriceTable()
        billed_total = 0
        # What the pool counts: settles, and expiries at their worst case
        # (a killed worker's request may have been billed).
        settled_total = sum(int(e["cost"]) for e in ledger)
        estimated_expiries = sum(int(e["cost"]) for e in expires)
        unsettled_billed = 0
        for u in usage:
            billed = int(prices.cost(u["model"], u["billed"])["total"])
            full = int(prices.cost(u["model"], u["usage"])["total"])
            e = settles.get(u["request_id"])
            if e is None:
                owner_worker = (u.get("user_id") or "").split("-")[0]
                if owner_worker not in killed:
                    failures.append(f"request {u['request_id']} ({u.get('user_id')}, {u['outcome']}) was billed {billed} but never settled")
                unsettled_billed += billed
                continue
            billed_total += billed
            # A late settle after its expiry counted the worst case: the cost
            # it reported is observed_cost (cost holds only the excess).
            cost = int(e.get("observed_cost", e["cost"]))
            if e.get("estimated"):
                if cost < billed:
                    failures.append(f"estimated settle of {u['request_id']} counts {cost} < billed {billed}")
            elif u["outcome"] == "complete" and cost != full:
                failures.append(f"settle of {u['request_id']} counts {cost} != usage {full}")
            elif cost < billed:
                failures.append(f"settle of {u['request_id']} counts {cost} < billed {billed}")
        if settled_total < billed_total + unsettled_billed:
            failures.append(f"ledger total {settled_total} below what the simulator billed {billed_total} + {unsettled_billed} (unsettled, by killed workers)")
        if unsettled_billed > estimated_expiries:
            failures.append(f"killed workers' requests billed {unsettled_billed}, more than their expiries counted {estimated_expiries}")
        if settled_total != int(report["settled"]):
            failures.append(f"ledger total {settled_total} != the pool's settled {report['settled']}")

        # 3. Alerts: fired once across the fleet, delivered, nothing pending.
        fired = [a["payload"]["idempotency_key"] for _, a in owner.alerts()]
        if len(fired) != len(set(fired)):
            failures.append(f"an alert fired twice: {fired}")
        # An alert taken by a consumer that never acknowledged it was claimed
        # and delivered by a worker (after the idle time), not left behind.
        claimed_by = {k: w for k, w in (ln.split("\t") for ln in deliveries.read_text().splitlines() if ln)}
        for key in sampler.doomed:
            if claimed_by.get(key) in (None, "final"):
                failures.append(f"alert {key}, taken by a consumer that died, was not claimed by a worker")
        # Whatever a killed worker took and never acknowledged is claimed now.
        while True:
            batch = owner.next_alerts("final", min_idle_ms=0)
            if not batch:
                break
            with deliveries.open("a") as f:
                for _, a in batch:
                    f.write(f"{a['payload']['idempotency_key']}\tfinal\n")
            owner.ack([i for i, _ in batch])
        lines = [ln.split("\t") for ln in deliveries.read_text().splitlines() if ln]
        delivered = [k for k, _ in lines]
        if set(delivered) != set(fired):
            failures.append(f"delivered {sorted(set(delivered))} != fired {sorted(fired)}")
        duplicates = len(delivered) - len(set(delivered))
        pending = admin.xpending(f"cp:{{{name}}}:outbox", cp._creditpool.REDIS_ALERT_GROUP)["pending"]
        if pending:
            failures.append(f"{pending} alerts still pending")
        reached = [t for t in THRESHOLDS if int(report["settled"]) * 100 >= t * LIMIT]
        threshold_keys = [k for k in fired if ":threshold:" in k]
        if len(threshold_keys) != len(reached):
            failures.append(f"thresholds fired {threshold_keys} but reached {reached}")

        runs = sum(int(out.split("runs=")[1].split()[0]) for wid, (_, out, _) in outputs.items() if "runs=" in out)
        samples = len(sampler.samples)
        peak = max((s + r for s, r, _ in sampler.samples), default=0)
        print(
            f"fleet: {len(workers)} workers ({', '.join(sorted(killed))} killed), {runs} agent runs, {len(usage)} billed requests, "
            f"{len(settles)} settles, {len(expires)} expiries; settled {report['settled']} of limit {LIMIT} (peak committed {peak} over {samples} samples); "
            f"billed by the settled requests {billed_total}, by requests of killed workers left unsettled {unsettled_billed} "
            f"(their expiries counted {estimated_expiries}); "
            f"alerts {threshold_keys} delivered {len(delivered)} times ({duplicates} duplicates, deduplicated by key; "
            f"{len(sampler.doomed)} taken by a consumer that died and claimed by {[claimed_by.get(k) for k in sampler.doomed]})"
        )
        if not expires:
            failures.append("no reservation expired: no worker was killed mid-request")
        owner.close()
        admin.close()
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(directory, ignore_errors=True)
    for failure in failures:
        print(f"fleet: FAIL {failure}")
    print(f"fleet: {'ok' if not failures else 'FAILED'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
