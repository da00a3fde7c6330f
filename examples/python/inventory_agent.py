#!/usr/bin/env python3
"""The inventory agent, in Python: agents that search a product inventory
with a tool, drawing on one small credit pool.

Three agents share a pool with a small limit; each has a cap of its own. The
pool prints its alerts as it fills, refuses what it cannot cover (typed
exceptions, nothing sent), and ends with a usage report per agent, model and
tool.

Where it sends requests follows the official SDK's variables: with
``ANTHROPIC_BASE_URL`` set, to that server (a running ``creditpool-sim``, say;
the key is ``ANTHROPIC_API_KEY`` if set, else a placeholder the simulator
accepts); else, with ``ANTHROPIC_API_KEY`` set, to the real API
(``CREDITPOOL_MODEL``, default claude-haiku-4-5); else to the offline simulator
``creditpool-sim``, which it starts itself (the binary at ``CREDITPOOL_SIM``, or
the repository's ``target/debug`` or ``target/release`` build, or ``cargo
run``). It prints where it sends them. ``CREDITPOOL_BASE_URL``, the name this
example used before, still works in place of ``ANTHROPIC_BASE_URL`` (deprecated:
a note says so).

    python examples/python/inventory_agent.py
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import creditpool
from creditpool import AgentPolicy, usd

ROOT = Path(__file__).resolve().parents[2]

INVENTORY: list[dict[str, Any]] = [
    {"sku": "LMP-01", "name": "Desk lamp", "price": 35.00, "stock": 12},
    {"sku": "MUG-02", "name": "Ceramic mug", "price": 12.50, "stock": 40},
    {"sku": "CHR-03", "name": "Office chair", "price": 189.00, "stock": 3},
    {"sku": "KBD-04", "name": "Mechanical keyboard", "price": 79.99, "stock": 8},
    {"sku": "NTB-05", "name": "Notebook, A5", "price": 4.75, "stock": 120},
    {"sku": "HDP-06", "name": "Headphones", "price": 49.00, "stock": 0},
    {"sku": "PLT-07", "name": "Potted plant", "price": 22.00, "stock": 15},
]


@creditpool.tool
def search_database(query: str) -> list[dict[str, Any]]:
    """Query the product inventory database.

    Args:
        query: What to look for, for example "products under $50" or "mug".
    """
    q = query.lower()
    under = re.search(r"(?:under|below|less than)\s*\$?\s*(\d+(?:\.\d+)?)", q)
    if under:
        limit = float(under.group(1))
        return [p for p in INVENTORY if p["price"] < limit and p["stock"] > 0]
    words = [w for w in re.findall(r"[a-z0-9]+", q) if w not in {"products", "product", "find", "the", "a"}]
    return [p for p in INVENTORY if any(w in p["name"].lower() for w in words)] or INVENTORY


def _base_url_from_env() -> tuple[str, str] | None:
    """``ANTHROPIC_BASE_URL``, else the deprecated ``CREDITPOOL_BASE_URL``
    (with a note on stderr), with the variable's name; else None."""
    url = os.environ.get("ANTHROPIC_BASE_URL")
    if url:
        return url, "ANTHROPIC_BASE_URL"
    old = os.environ.get("CREDITPOOL_BASE_URL")
    if old:
        print("note: CREDITPOOL_BASE_URL is deprecated; set ANTHROPIC_BASE_URL (the official SDKs' variable) instead",
              file=sys.stderr)
        return old, "CREDITPOOL_BASE_URL"
    return None


def _simulator(stack: ExitStack) -> str:
    """The base URL of a simulator started here (stopped when ``stack``
    closes)."""
    exe = os.environ.get("CREDITPOOL_SIM")
    candidates = [Path(exe)] if exe else [ROOT / "target" / "debug" / "creditpool-sim", ROOT / "target" / "release" / "creditpool-sim"]
    found = next((c for c in candidates if c.exists()), None)
    cmd = [str(found), "--port", "0"] if found else ["cargo", "run", "-q", "-p", "creditpool-sim", "--", "--port", "0"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    stack.callback(proc.wait, 10)
    stack.callback(proc.stdin.close)  # type: ignore[union-attr]
    line = proc.stdout.readline().strip()  # type: ignore[union-attr]
    if not line.startswith("listening on "):
        raise SystemExit(f"creditpool-sim did not start: {line!r}")
    return line.removeprefix("listening on ")


def main() -> int:
    with ExitStack() as stack:
        key = os.environ.get("ANTHROPIC_API_KEY") or None
        from_env = _base_url_from_env()
        if from_env:
            client = creditpool.Client(api_key=key or "sk-simulator", base_url=from_env[0])
            where = f"the server at {client.base_url} ({from_env[1]})"
        elif key:
            client = creditpool.Client(api_key=key)
            where = f"the Anthropic API at {client.base_url} (ANTHROPIC_API_KEY is set)"
        else:
            client = creditpool.Client(api_key="sk-simulator", base_url=_simulator(stack))
            where = f"the simulator at {client.base_url}, started here"
        stack.enter_context(client)
        model = os.environ.get("CREDITPOOL_MODEL", "claude-haiku-4-5")
        print(f"Running against {where}, model {model}.")

        directory = stack.enter_context(tempfile.TemporaryDirectory(prefix="creditpool-"))
        pool = creditpool.Pool(
            limit=usd("0.012"),  # 1.2 cents for the whole team
            thresholds=[25, 50, 75, 90, 100],
            agents={
                "shopper": AgentPolicy(cap=usd("0.008")),
                "analyst": AgentPolicy(cap=usd("0.008")),
                "intern": AgentPolicy(cap=usd("0.001")),  # less than one request's worst case
            },
            pool_id="inventory-team",
            directory=directory,
            on_alert=lambda alert: print(f"  ALERT {alert.text}"),
        )
        stack.callback(pool.close)

        prompt = "Find products under $50"
        for agent_id in ["shopper", "analyst", "intern", "shopper", "analyst", "shopper", "analyst", "shopper", "analyst"]:
            agent = creditpool.Agent(client, [search_database], pool, agent_id, model=model, max_tokens=400)
            print(f"\n[{agent_id}] {prompt}")
            outcome = agent.run(prompt)
            if outcome.error is not None:
                e = outcome.error
                if isinstance(e, creditpool.PoolRefusedError):
                    print(f"  refused by the pool ({e.reason}): {e}")
                else:
                    print(f"  failed: {type(e).__name__}: {e}")
                continue
            print(f"  {outcome.final_text.strip()[:300]}")
            tools = ", ".join(f"{name} {cost}" for name, cost in outcome.tool_costs.items())
            print(f"  {len(outcome.turns)} turns, {outcome.usage.input_tokens} in / {outcome.usage.output_tokens} out tokens, "
                  f"cost {outcome.total_cost} (tools: {tools or 'none'})")

        print("\nUsage report")
        print(pool.report().text())
        entries = list(creditpool.iter_ledger_file(directory))
        print(f"ledger: {len(entries)} entries in {Path(directory) / 'ledger.jsonl'}, "
              f"{sum((e.cost for e in entries), creditpool.Money.ZERO)} settled")
    return 0


if __name__ == "__main__":
    sys.exit(main())
