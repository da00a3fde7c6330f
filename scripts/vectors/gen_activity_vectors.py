#!/usr/bin/env python3
"""Generates tests/vectors/activity/activity_chart.json (kind `activity_chart`).

Each case is a ledger (a list of `LedgerEntry` JSON objects, as the pool writes
them to its JSON Lines file) and `ActivityOptions`; the expected value is the
Vega-Lite specification the core draws for it.

The ledgers are built here by hand: an empty one, one request, and a busy one
(three agents, three tools and the conversation, two models, an estimated
settle, an expiry counted at its worst case followed by a late settle that
records what it observed, a release), with amounts that add up (each settle's
attribution sums to its cost).

`expected` is the one thing not written by hand: the script runs the core's
`activity_spec` example (crates/creditpool-core/examples/activity_spec.rs) on
each input and stores what it prints. The spec is a golden file: review a
change by eye (render it: docs/ACTIVITY.md) and against the Vega-Lite schema
(`crates/creditpool-core/tests/activity_schema.rs`), then regenerate:

    python3 scripts/vectors/gen_activity_vectors.py
"""

import json
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "vectors" / "activity" / "activity_chart.json"

CYCLE_START = 1_796_083_200_000  # 2026-12-01T00:00:00Z
T0 = CYCLE_START + 3 * 86_400_000 + 22 * 3_600_000  # 2026-12-04T22:00:00Z
HAIKU = "claude-haiku-4-5"
SONNET = "claude-sonnet-4-5"


def tokens(inp, out):
    return {"input": inp, "output": out, "cache_write_5m": 0, "cache_write_1h": 0, "cache_read": 0, "web_search_requests": 0}


class Ledger:
    def __init__(self):
        self.entries = []
        self.next_id = 1

    def _entry(self, at_ms, kind, rid, agent, reserved, cost, **more):
        e = {
            "seq": len(self.entries) + 1,
            "at_ms": at_ms,
            "kind": kind,
            "reservation_id": rid,
            "agent": agent,
            "cycle_start_ms": CYCLE_START,
            "reserved": reserved,
            "cost": cost,
            "refunded": max(reserved - cost, 0) if kind == "settle" else reserved,
            "overrun": max(cost - reserved, 0) if kind == "settle" else 0,
            "late": False,
        }
        e.update(more)
        self.entries.append(e)
        return e

    def reserve(self):
        rid = self.next_id
        self.next_id += 1
        return rid

    def settle(self, at_s, agent, reserved, cost, model, tools=(), estimated=False, late=False, rid=None, usage=(1000, 200)):
        """`tools`: [(tool, part, cost)]; the conversation gets the rest."""
        rid = rid or self.reserve()
        charged = sum(c for _, _, c in tools)
        assert charged <= cost
        more = {
            "model": model,
            "request_id": f"req_{rid:03d}",
            "message_id": f"msg_{rid:03d}",
            "tokens": tokens(*usage),
            "attribution": {"conversation": cost - charged, "tools": [{"tool": t, "part": p, "cost": c} for t, p, c in tools]},
        }
        if estimated:
            more["estimated"] = True
        if late:
            # The expiry counted the reservation's worst case (`reserved`):
            # the late settle adds only what exceeds it, keeps its cost as
            # observed_cost, and carries no attribution.
            more["late"] = True
            more["observed_cost"] = cost
            del more["attribution"]
            excess = max(cost - reserved, 0)
            e = self._entry(T0 + int(at_s * 1000), "settle", rid, agent, reserved, excess, **more)
            e["refunded"] = 0
            return e
        return self._entry(T0 + int(at_s * 1000), "settle", rid, agent, reserved, cost, **more)

    def release(self, at_s, agent, reserved):
        return self._entry(T0 + int(at_s * 1000), "release", self.reserve(), agent, reserved, 0)

    def expire(self, at_s, agent, reserved):
        """A lease that ended unsettled: its worst case counted, estimated."""
        rid = self.reserve()
        e = self._entry(T0 + int(at_s * 1000), "expire", rid, agent, reserved, reserved, estimated=True)
        e["refunded"] = 0
        return rid


def busy():
    l = Ledger()
    search = lambda use, res: [("search_database", "definition", 120_000), ("search_database", "use", use), ("search_database", "result", res)]
    # Minute 0-2: everyone starts.
    l.settle(5, "researcher", 2_400_000, 1_310_000, HAIKU, search(90_000, 210_000))
    l.settle(12.5, "analyst", 2_400_000, 1_450_000, HAIKU, search(80_000, 260_000))
    l.settle(31, "intern", 2_400_000, 980_000, HAIKU, [("search_database", "definition", 120_000)])
    l.settle(64, "researcher", 6_000_000, 3_720_000, SONNET, search(150_000, 640_000) + [("fetch_page", "definition", 90_000), ("fetch_page", "use", 60_000)])
    l.settle(95, "analyst", 2_400_000, 1_210_000, HAIKU, [("calculator", "definition", 40_000), ("calculator", "use", 30_000), ("calculator", "result", 15_000)])
    # A failed request released, an abandoned one expired (settled late later).
    l.release(130, "intern", 2_400_000)
    lost = l.expire(200, "analyst", 2_400_000)
    # Minutes 3-8: heavier use.
    l.settle(185, "researcher", 6_000_000, 4_880_000, SONNET, search(200_000, 900_000) + [("fetch_page", "definition", 90_000), ("fetch_page", "result", 1_100_000)])
    l.settle(242, "intern", 2_400_000, 1_120_000, HAIKU, search(70_000, 150_000))
    l.settle(300, "analyst", 2_400_000, 2_400_000, HAIKU, [("calculator", "definition", 40_000)], estimated=True, usage=(1800, 0))
    l.settle(333, "researcher", 6_000_000, 5_350_000, SONNET, search(160_000, 1_300_000) + [("fetch_page", "definition", 90_000), ("fetch_page", "use", 70_000)])
    l.settle(390, "analyst", 2_400_000, 1_640_000, HAIKU, late=True, rid=lost)
    l.settle(455, "researcher", 6_000_000, 4_120_000, SONNET, search(120_000, 700_000) + [("fetch_page", "definition", 90_000)])
    l.settle(512, "analyst", 2_400_000, 1_330_000, HAIKU, search(90_000, 240_000) + [("calculator", "definition", 40_000), ("calculator", "use", 25_000)])
    l.settle(640, "intern", 2_400_000, 1_050_000, HAIKU, [("search_database", "definition", 120_000)])
    l.settle(701, "researcher", 6_000_000, 4_460_000, SONNET, search(140_000, 820_000) + [("fetch_page", "definition", 90_000)])
    return l.entries


def one_request():
    l = Ledger()
    l.settle(7.25, "researcher", 2_400_000, 1_310_000, HAIKU, [("search_database", "definition", 120_000), ("search_database", "use", 90_000)])
    return l.entries


CASES = [
    {
        "name": "empty_ledger",
        "note": "Nothing settled: the limit's thresholds and a 'No spend yet' note.",
        "input": {"ledger": [], "options": {"limit": 40_000_000}},
    },
    {
        "name": "empty_ledger_no_limit",
        "note": "No limit and nothing settled: only the note.",
        "input": {"ledger": [], "options": {}},
    },
    {
        "name": "one_request",
        "note": "One settle: a one-second span, one bucket, one point.",
        "input": {"ledger": one_request(), "options": {"limit": 10_000_000_000, "title": "One request"}},
    },
    {
        "name": "busy_ledger",
        "note": "Three agents, three tools, two models, an estimated settle, an expiry and its late settle, a release; 50, 75 and 90 % crossed.",
        "input": {"ledger": busy(), "options": {"limit": 40_000_000, "thresholds_pct": [50, 75, 90, 100], "title": "Pool \"demo\" activity"}},
    },
]


def spec_for(inp):
    out = subprocess.run(
        ["cargo", "run", "-q", "-p", "creditpool-core", "--example", "activity_spec"],
        input=json.dumps(inp), capture_output=True, text=True, cwd=ROOT,
    )
    if out.returncode != 0:
        raise SystemExit(f"activity_spec failed:\n{out.stderr}")
    return json.loads(out.stdout)["spec"]


def main():
    cases = []
    for c in CASES:
        case = dict(c)
        case["expected"] = {"spec": spec_for(c["input"])}
        cases.append(case)
    doc = {
        "kind": "activity_chart",
        "description": "The activity dashboard (a Vega-Lite v5 spec) of a ledger: Activity::from_ledger(ledger, options).chart(). "
        "Generated by scripts/vectors/gen_activity_vectors.py; the expected specs are golden files (checked by eye and by the Vega-Lite schema).",
        "cases": cases,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {len(cases)} cases to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
