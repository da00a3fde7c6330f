"""Message threads across processes (issue 12 item 4): the book of threads
lives in the pool store, so that a thread one process created is bounded
tightly when ANOTHER process continues it.

A Python process creates a thread through ``creditpool.middleware`` on a
Redis pool (the official ``anthropic`` SDK against creditpool-sim); a Node
process (js/test/helpers/thread-continue.mjs, ``creditpoolMiddleware`` on
``@anthropic-ai/sdk``) joins the same pool and continues the thread. The
Node continue must be reserved at the thread's bound, computed here by hand
from the create's bound, what the simulator billed it and the bytes of its
response and of the continue's body (the core's rule, meter.rs) — far below
the model's context window, and never below what the simulator then billed;
and the pool's books must equal the simulator's usage log. Starts its own
redis-server (a free port) and simulator.

    python cross_process.py --sim PATH_TO_creditpool-sim
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import anthropic


sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
from servers import sim_usage, start_redis, start_sim  # noqa: E402  (tests/lib)
import creditpool as cp

ROOT = Path(__file__).resolve().parents[2]
MODEL = "claude-haiku-4-5"
MAX_TOKENS = 200
# Claude Haiku 4.5: $1 / $5 per MTok; 200,000-token window, whose unknown
# bound is at the 1-hour cache-write rate ($2 / MTok).
IN, OUT, WRITE_1H, WINDOW = 1000, 5000, 2000, 200_000
# An unknown thread's create may have had tools: the default 10 web searches
# and 5 minutes of code-execution container time are added to its hold.
UNKNOWN_TOOLS = 10 * 10_000_000 + 4_166_667
PRICES = cp.PriceTable()


class Recorder:
    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.ops: list[dict[str, Any]] = []

    def apply(self, op: dict[str, Any]) -> dict[str, Any]:
        self.ops.append(op)
        return self.pool.apply(op)


def sent_len(body: dict[str, Any]) -> int:
    """The bytes of the body the middleware sends: the SDK's, with the selector."""
    return len(json.dumps(dict(body, credit_pool="programmatic"), separators=(",", ":"), ensure_ascii=False).encode())


def nanos(v: Any) -> int:
    return int(getattr(v, "nanos", v))


def check(ok: bool, what: str) -> None:
    if not ok:
        raise SystemExit(f"cross-process threads: {what}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sim", required=True)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rproc, url = start_redis(tmp)
        sproc, sim = start_sim(args.sim)
        try:
            return run(url, sim)
        finally:
            if sproc.stdin is not None:
                sproc.stdin.close()
            sproc.wait(timeout=10)
            rproc.terminate()
            rproc.wait(timeout=10)


def run(url: str, sim: str) -> int:
    name = f"threads-{uuid.uuid4().hex[:8]}"
    pool = cp.RedisPool.connect(url, name=name, limit=cp.usd(10))
    store = Recorder(pool)
    # The create, in this (Python) process.
    with anthropic.Anthropic(api_key="sk-sim", base_url=sim, max_retries=0, middleware=[cp.middleware(store, agent="python")]) as client:
        created = client.beta.messages.create(
            model=MODEL,
            max_tokens=MAX_TOKENS,
            messages=[{"role": "user", "content": "What is the weather in Paris?"}],
            thread={"type": "create"},
            betas=["message-threads-2026-08-12"],
        )
    check([o["op"] for o in store.ops] == ["reserve", "settle", "thread_record"], f"the create's operations: {store.ops}")
    check(store.ops[2]["message_id"] == created.id, "the create's response is recorded under its message ID")
    create_reserve = nanos(store.ops[0]["amount"])

    # The continue, in another (Node) process on the same pool.
    node = subprocess.run(
        ["node", str(ROOT / "js/test/helpers/thread-continue.mjs"), url, name, sim, created.id, str(MAX_TOKENS)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    check(node.returncode == 0, f"the Node process failed ({node.returncode}): {node.stderr.strip()}")
    out = json.loads(node.stdout.strip().splitlines()[-1])
    kinds = [o["op"] for o in out["ops"]]
    check(kinds == ["thread_lookup", "reserve", "settle", "thread_record"], f"the continue's operations: {kinds}")
    check(out["ops"][0]["message_id"] == created.id, "the continue looked up the create's message")
    continue_reserve = nanos(out["ops"][1]["amount"])

    log = sim_usage(sim)
    check([u.get("thread") for u in log] == ["create", "continue"], f"the simulator saw {[u.get('thread') for u in log]}")
    # The bound by hand: the create's input bound, at least what it billed,
    # plus its output tokens and its content's bytes, plus the continue's body.
    create_bound = (create_reserve - MAX_TOKENS * OUT) // IN
    billed = log[0]["billed"]
    billed_in = billed["input_tokens"] + (billed.get("cache_creation_input_tokens") or 0) + (billed.get("cache_read_input_tokens") or 0)
    content = len(json.dumps([b.to_dict() for b in created.content], separators=(",", ":"), ensure_ascii=False).encode())
    thread = max(create_bound, billed_in) + billed["output_tokens"] + content
    expected = (thread + sent_len(json.loads(out["body"]))) * IN + MAX_TOKENS * OUT
    check(continue_reserve == expected, f"the Node continue reserved {continue_reserve}, the thread's bound is {expected}")
    unknown = WINDOW * WRITE_1H + MAX_TOKENS * OUT + UNKNOWN_TOOLS
    check(continue_reserve < unknown // 100, f"the Node continue reserved {continue_reserve}: not tight (the context window is {unknown})")
    continue_billed = nanos(PRICES.cost(log[1]["model"], log[1]["billed"])["total"])
    check(continue_reserve >= continue_billed, f"the Node continue reserved {continue_reserve} < {continue_billed} billed")
    check(log[1]["billed"]["input_tokens"] > log[1]["body_bytes"] // 4, "the simulator billed the whole thread as input")

    # The books equal the simulator's usage log.
    report = pool.apply({"op": "report", "now_ms": 0})
    total = sum(nanos(PRICES.cost(u["model"], u["billed"])["total"]) for u in log)
    check(nanos(report["settled"]) == total, f"settled {report['settled']} != billed {total}")
    check(nanos(report["reserved"]) == 0, f"still reserved: {report['reserved']}")
    print(f"cross-process threads: ok (create in Python, continue in Node reserved {continue_reserve} nano-USD at the thread's bound; the context window would be {unknown})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
