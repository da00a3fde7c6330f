"""``python -m creditpool``: command-line tools.

``python -m creditpool activity LEDGER.jsonl -o activity.html [--limit USD]``
draws any JSON Lines ledger (whichever language's pool wrote it) as the core's
activity dashboard: ``.html`` (offline when the Vega bundles are found, see
``creditpool._activity``), ``.svg`` / ``.png`` (``creditpool[charts]``) or
``.json`` (the spec), by the output's suffix.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import Sequence

from ._activity import ActivityChart
from ._creditpool import CreditpoolError
from ._money import format_usd, usd


def _thresholds(text: str) -> list[int]:
    try:
        return [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected percentages separated by commas, got {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m creditpool", description="creditpool command-line tools.")
    sub = parser.add_subparsers(dest="command", required=True)
    a = sub.add_parser("activity", help="draw a ledger file as the activity dashboard", description="Draws a JSON Lines ledger (written by a creditpool pool in any language) as the activity dashboard.")
    a.add_argument("ledger", help="the ledger file (JSON Lines), e.g. a pool directory's ledger.jsonl")
    a.add_argument("-o", "--output", default="activity.html", help="the file to write: .html (default activity.html), .svg, .png (creditpool[charts]) or .json (the spec)")
    a.add_argument("--limit", metavar="USD", help="the pool's limit in dollars (e.g. 40 or 12.50): draws the limit and the thresholds")
    a.add_argument("--thresholds", metavar="PCT,...", type=_thresholds, help="alert thresholds in percent of the limit (default 50,75,90,100)")
    a.add_argument("--cycle-start-ms", type=int, metavar="MS", help="the cycle to draw, by its start (default: the latest in the ledger)")
    a.add_argument("--title", help="the dashboard's title")
    mode = a.add_mutually_exclusive_group()
    mode.add_argument("--offline", action="store_true", default=None, help="fail unless the Vega bundles can be inlined (HTML)")
    mode.add_argument("--cdn", dest="offline", action="store_false", help="load the Vega bundles from jsDelivr (HTML)")
    a.add_argument("--vega-dir", metavar="DIR", help="an npm node_modules directory holding vega, vega-lite and vega-embed, to inline (default $CREDITPOOL_VEGA_DIR)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command; returns the exit status (0 written, 1 failed, 2 usage)."""
    args = _parser().parse_args(argv)
    try:
        limit = None if args.limit is None else usd(args.limit)
        chart = ActivityChart.from_ledger_file(args.ledger, limit=limit, thresholds_pct=args.thresholds, cycle_start_ms=args.cycle_start_ms, title=args.title)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            path = chart.save(args.output, vega_dir=args.vega_dir, offline=args.offline)
    except (CreditpoolError, OSError) as e:
        print(f"creditpool activity: {e}", file=sys.stderr)
        return 1
    for w in caught:
        print(f"creditpool activity: note: {w.message}", file=sys.stderr)
    a = chart.activity
    print(f"wrote {path}: {a.get('settles', 0)} requests, {format_usd(int(a.get('spent', 0)))} spent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
