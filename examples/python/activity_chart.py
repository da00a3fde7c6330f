"""Draws a pool's activity: a pool with three agents spends for a few
simulated minutes (no API calls), then the core's Vega-Lite dashboard is
written next to the ledger as ``activity.html`` (the report's) and
``activity-ledger.html`` (the ledger's, every request) (offline when the Vega bundles
are found: ``pip install "creditpool[charts]"``), and ``activity.png`` with
that extra.

    python examples/python/activity_chart.py [OUT_DIR]
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from pathlib import Path

import creditpool



def main(out_dir: Path) -> None:
    now = 1_795_000_000_000
    clock = lambda: now  # noqa: E731 - a simulated clock
    pool = creditpool.Pool(creditpool.usd("0.04"), thresholds=[50, 75, 90, 100], directory=out_dir / "pool", clock=clock)
    plan = [("researcher", "claude-sonnet-4-5", 4_100_000), ("analyst", "claude-haiku-4-5", 1_300_000), ("intern", "claude-haiku-4-5", 900_000)]  # nano-USD
    for step in range(12):
        agent, model, cost = plan[step % 3]
        now += 17_000
        r = pool.reserve(agent, creditpool.usd("0.006"))
        now += 3_000
        pool.settle(r, creditpool.nanos(cost + step * 100_000), attribution={"model": model, "request_id": f"req_{step:02d}"})
    report = pool.report()
    print(report.text())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        page = report.save(out_dir / "activity.html")
    print(f"wrote {page}" + (" (loads Vega from the CDN)" if caught else " (opens offline)"))
    try:
        print(f"wrote {report.save(out_dir / 'activity.png')}")
    except creditpool.MissingExtraError as e:
        print(f"no PNG: {e}")
    pool.close()
    # The ledger has every request: buckets fitted to the span, stacked by agent and model.
    ledger = out_dir / "pool" / "ledger.jsonl"
    chart = creditpool.ActivityChart.from_ledger_file(ledger, limit=creditpool.usd("0.04"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        print(f"wrote {chart.save(out_dir / 'activity-ledger.html')}: {chart.text()}")
    print(f"any ledger: python -m creditpool activity {out_dir / 'pool' / 'ledger.jsonl'} -o activity.html --limit 0.04")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="creditpool-activity-")))
