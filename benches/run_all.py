#!/usr/bin/env python3
"""The rounds and the table of `benches/run-all.sh` (issue 15): every figure of
the issue's table measured in one run, interleaved by rounds (round 1 runs
every case once, round 2 every case again, ...), then one Markdown table of
each round's figure, the median over the rounds and whether it meets the
issue's goal. run-all.sh builds what this needs and passes the paths; run it
through run-all.sh.

Each case runs the existing bench programs, so the figures keep their
definitions (benches/RESULTS.md):

* Python `create`: `bench_stream.compare` (via benches/python/bench_case.py),
  SDK / ours, medians of interleaved runs inside the round;
* JS: `benches/js/stream.bench.mjs`, its SDK / creditpool ratios;
* Python pool: `bench_pool.rate` (via bench_case.py), pairs/s, and `os.fsync`
  calls per operation with `fsync=True`;
* Rust shares: the criterion bench `crates/creditpool-core/benches/sse.rs`
  (median estimates, bare / ours), and once, after the rounds, its
  `SSE_BENCH_ONLY=<case>:<n>` mode under callgrind (n = 1 and 3, the
  difference halved; instruction counts do not move with the load);
* wasm: the built module's size, gzip -9, once.
"""

from __future__ import annotations

import argparse
import datetime as dt
import glob
import gzip
import json
import os
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent


def log(msg: str) -> None:
    print(f"run-all: {msg}", file=sys.stderr, flush=True)


def sh(*cmd: str, **kw: Any) -> str:
    """A command's stdout (stripped), or '' if it cannot run."""
    try:
        out: str = subprocess.run(cmd, capture_output=True, text=True, check=True, **kw).stdout
        return out.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def run(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=cwd)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {p.returncode}:\n{p.stderr[-3000:]}\n{p.stdout[-2000:]}")
    return p


# --- the rows of the table -------------------------------------------------


@dataclass
class Row:
    label: str
    goal: str
    fmt: Callable[[float], str]
    meets: Callable[[float], bool] | None = None  # None: no goal of its own
    once: bool = False  # measured once (not per round): instruction counts, sizes
    values: dict[int, float] = field(default_factory=dict)  # round -> figure
    notes: dict[int, str] = field(default_factory=dict)  # round -> a remark shown beside the figure
    errors: list[str] = field(default_factory=list)

    def median(self) -> float | None:
        vs = list(self.values.values())
        return statistics.median(vs) if vs else None


def ratio(x: float) -> str:
    return f"{x:.2f}x"


def pairs(x: float) -> str:
    return f"{x:,.0f}"


def share(x: float) -> str:
    return f"{x * 100:.1f} %"


def per_op(x: float) -> str:
    return f"{x:.3f}"


def mbytes(x: float) -> str:
    return f"{x / 1e6:.3f} MB"


ROWS: dict[str, Row] = {
    "load": Row("load average (1 min) at the round's start", "", lambda x: f"{x:.2f}"),
    "py_create": Row("Python `create`, one 0.66 MB message body, SDK / ours", "≥ 1.5x", ratio, lambda x: x >= 1.5),
    "py_create_dict": Row("Python `create` then `to_dict()`, SDK `create` / ours", "", ratio),
    "js_client_events": Row("JS client, iterating every event of the long tool-use stream, SDK / ours", "≥ 2x", ratio, lambda x: x >= 2),
    "js_parser_events": Row("JS parser (`MessageStreamParser`), every event pulled with `next()`, SDK / ours", "≥ 2x", ratio, lambda x: x >= 2),
    "js_client_final": Row("JS client, final message only, SDK / ours", "≥ 2.5x", ratio, lambda x: x >= 2.5),
    "js_parser_final": Row("JS parser, final message only, SDK / ours", "", ratio),
    "pool_mem_1": Row("Python `Pool()` reserve+settle pairs/s, 1 thread", "≥ 500 k", pairs, lambda x: x >= 500_000),
    "pool_mem_8": Row("Python `Pool()` pairs/s, 8 threads", "", pairs),
    "pool_nosync_1": Row("Python `Pool(directory=..., fsync=False)` pairs/s, 1 thread", "≥ 50 k", pairs, lambda x: x >= 50_000),
    "pool_nosync_8": Row("Python `Pool(directory=..., fsync=False)` pairs/s, 8 threads", "≥ 50 k", pairs, lambda x: x >= 50_000),
    "pool_sync_1": Row("Python `Pool(directory=..., fsync=True)` pairs/s, 1 thread", "", pairs),
    "pool_sync_8": Row("Python `Pool(directory=..., fsync=True)` pairs/s, 8 threads", "", pairs),
    "pool_sync_1_fpo": Row("`fsync=True`, 1 thread: fsyncs per operation, the periodic snapshots' aside (with them in brackets)", "≤ 1", per_op, lambda x: x <= 1),
    "pool_sync_8_fpo": Row("`fsync=True`, 8 threads: fsyncs per operation, the periodic snapshots' aside (with them in brackets)", "< 1 (group commit)", per_op, lambda x: x < 1),
    "rust_stream": Row("Rust `MessageStream` throughput as a share of bare `serde_json` per event (criterion)", "≥ 75 %", share, lambda x: x >= 0.75),
    "rust_stream_ir": Row("Rust `MessageStream` share, in instructions (callgrind, once)", "≥ 75 %", share, lambda x: x >= 0.75, once=True),
    "rust_message": Row("Rust typed `Message` parse as a share of bare `serde_json::Value` (criterion)", "≥ 85 %", share, lambda x: x >= 0.85),
    "rust_message_ir": Row("Rust `Message` share, in instructions (callgrind, once)", "≥ 85 %", share, lambda x: x >= 0.85, once=True),
    "wasm_gz": Row("wasm module, gzip -9 (once)", "≤ 1.0 MB", mbytes, lambda x: x <= 1_000_000, once=True),
}

# Absolute figures behind the ratios, per round: key -> round -> text.
DETAILS: dict[str, dict[int, str]] = {}


def detail(key: str, rnd: int, text: str) -> None:
    DETAILS.setdefault(key, {})[rnd] = text


# --- the cases ---------------------------------------------------------------


@dataclass
class Settings:
    rounds: int
    py_runs: int
    js_rounds: int
    pool_seconds: float
    crit_warm: float
    crit_measure: float
    callgrind: bool


class Bench:
    def __init__(self, args: argparse.Namespace, s: Settings) -> None:
        self.a = args
        self.s = s
        self.scratch = Path(args.scratch)

    def case(self, keys: list[str], rnd: int, fn: Callable[[], None]) -> None:
        t = time.perf_counter()
        try:
            fn()
        except Exception as e:  # a failed case is recorded, the run goes on
            log(f"round {rnd}: {keys[0]} failed: {e}")
            for k in keys:
                ROWS[k].errors.append(f"round {rnd}: {str(e).splitlines()[0]}")
        what = f"round {rnd}: {keys[0].split('_')[0]} case" if rnd else keys[0].split("_")[0] + " instruction counts"
        log(f"{what} took {time.perf_counter() - t:.1f} s")

    def py_create(self, rnd: int) -> None:
        p = run([self.a.python, "-W", "ignore::DeprecationWarning", str(ROOT / "benches/python/bench_case.py"), "create", "--runs", str(self.s.py_runs)])
        r = json.loads(p.stdout.strip().splitlines()[-1])
        for case, key in (("create", "py_create"), ("create_dict", "py_create_dict")):
            ROWS[key].values[rnd] = r[case]["ratio"]
            detail(key, rnd, f"{r[case]['sdk_ms']:.1f} / {r[case]['ours_ms']:.1f} ms")

    def js(self, rnd: int) -> None:
        p = run(["node", "stream.bench.mjs", str(self.s.js_rounds)], cwd=ROOT / "benches/js", env={"CREDITPOOL_JS": self.a.js_dir})
        out = p.stdout
        sdk = re.search(r"finalMessage\(\): ([\d.]+) ms", out)
        if not sdk:
            raise RuntimeError(f"no SDK time in stream.bench.mjs output:\n{out}")
        for key, label in (
            ("js_client_final", "creditpool client, final message only:"),
            ("js_client_events", "creditpool client, iterating every event:"),
            ("js_parser_final", "creditpool parser, final message only:"),
            ("js_parser_events", "creditpool parser, every event to JS (next()):"),
        ):
            m = re.search(re.escape(label) + r"\s+([\d.]+) ms\s+ratio SDK / creditpool ([\d.]+)", out)
            if not m:
                raise RuntimeError(f"no line {label!r} in stream.bench.mjs output:\n{out}")
            ROWS[key].values[rnd] = float(m.group(2))
            detail(key, rnd, f"{float(sdk.group(1)):.1f} / {float(m.group(1)):.1f} ms")

    def pool(self, rnd: int) -> None:
        p = run([self.a.python, str(ROOT / "benches/python/bench_case.py"), "pool", "--seconds", str(self.s.pool_seconds)])
        r = json.loads(p.stdout.strip().splitlines()[-1])
        for t in (1, 8):
            ROWS[f"pool_mem_{t}"].values[rnd] = r[f"memory_{t}"]
            ROWS[f"pool_nosync_{t}"].values[rnd] = r[f"dir_nosync_{t}"]
            ROWS[f"pool_sync_{t}"].values[rnd] = r[f"dir_sync_{t}"]
            j, a = r[f"dir_sync_{t}_op_fsync_per_op"], r[f"dir_sync_{t}_fsync_per_op"]
            if j is not None:
                ROWS[f"pool_sync_{t}_fpo"].values[rnd] = j
                ROWS[f"pool_sync_{t}_fpo"].notes[rnd] = f"({a:.3f})"
                detail(f"pool_sync_{t}_fpo", rnd, f"{r[f'dir_sync_{t}_ops']:,} operations")

    def criterion(self, rnd: int) -> None:
        home = self.scratch / f"criterion-{rnd}"
        run(
            [self.a.sse_bin, "--bench", "--noplot", "--warm-up-time", str(self.s.crit_warm), "--measurement-time", str(self.s.crit_measure)],
            env={"CRITERION_HOME": str(home)},
        )

        def median_ns(group: str, bench: str) -> float:
            found = glob.glob(str(home / group / bench / "*" / "new" / "estimates.json"))
            if len(found) != 1:
                raise RuntimeError(f"criterion: expected one {group}/{bench} estimate, found {found}")
            return float(json.loads(Path(found[0]).read_text())["median"]["point_estimate"])

        ours, bare = median_ns("sse_accumulate", "creditpool_message_stream"), median_ns("sse_accumulate", "bare_serde_json_value_per_event")
        ROWS["rust_stream"].values[rnd] = bare / ours
        detail("rust_stream", rnd, f"{bare / 1e6:.2f} / {ours / 1e6:.2f} ms")
        ours, bare = median_ns("message_parse", "creditpool_message"), median_ns("message_parse", "bare_serde_json_value")
        ROWS["rust_message"].values[rnd] = bare / ours
        detail("rust_message", rnd, f"{bare / 1e6:.2f} / {ours / 1e6:.2f} ms")
        subprocess.run(["rm", "-rf", str(home)], check=False)

    def callgrind(self) -> None:
        def instructions(case: str, n: int) -> int:
            p = run(
                ["valgrind", "--tool=callgrind", f"--callgrind-out-file={self.scratch}/callgrind.out", self.a.sse_bin],
                env={"SSE_BENCH_ONLY": f"{case}:{n}"},
            )
            m = re.search(r"Collected : (\d+)", p.stderr)
            if not m:
                raise RuntimeError(f"no 'Collected' line from callgrind:\n{p.stderr[-2000:]}")
            return int(m.group(1))

        per: dict[str, float] = {}
        for case in ("stream", "stream_bare", "message", "message_bare"):
            t = time.perf_counter()
            per[case] = (instructions(case, 3) - instructions(case, 1)) / 2
            log(f"callgrind {case}: {per[case] / 1e6:.1f} M instructions per run ({time.perf_counter() - t:.0f} s)")
        ROWS["rust_stream_ir"].values[0] = per["stream_bare"] / per["stream"]
        detail("rust_stream_ir", 0, f"{per['stream_bare'] / 1e6:.1f} M / {per['stream'] / 1e6:.1f} M instructions")
        ROWS["rust_message_ir"].values[0] = per["message_bare"] / per["message"]
        detail("rust_message_ir", 0, f"{per['message_bare'] / 1e6:.1f} M / {per['message'] / 1e6:.1f} M instructions")

    def wasm(self) -> None:
        data = Path(self.a.wasm).read_bytes()
        gz = len(gzip.compress(data, compresslevel=9))
        ROWS["wasm_gz"].values[0] = gz
        detail("wasm_gz", 0, f"{len(data):,} bytes raw, {gz:,} gzip -9")


# --- the header and the table ------------------------------------------------


def header(a: argparse.Namespace, s: Settings, up_before: str, up_after: str, started: dt.datetime, ended: dt.datetime) -> list[str]:
    py_sdk = sh(a.python, "-c", "import anthropic, httpx2, platform; print(anthropic.__version__, httpx2.__version__, platform.python_version())").split()
    js_pkg = ROOT / "benches/js/node_modules/@anthropic-ai/sdk/package.json"
    js_sdk = json.loads(js_pkg.read_text())["version"] if js_pkg.exists() else "?"

    def sdk(installed: str, newest: str) -> str:
        if not newest:
            return f"{installed} (the registry's newest: not reached)"
        return f"{installed} (the registry's newest: {newest}{'' if installed == newest else '; NOT the newest'})"

    head = sh("git", "-C", str(ROOT), "rev-parse", "--short", "HEAD") or "?"
    changed = sh("git", "-C", str(ROOT), "--no-optional-locks", "status", "--porcelain", "--untracked-files=no")
    wasm = Path(a.wasm_source)
    wasm_time = dt.datetime.fromtimestamp(wasm.stat().st_mtime, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if wasm.exists() else "?"
    valgrind = sh("valgrind", "--version") or "not installed (no instruction counts)"
    lines = [
        f"Command: `{a.command}`; {started:%Y-%m-%d %H:%M}–{ended:%H:%M} UTC, {os.cpu_count()} CPUs.",
        "",
        f"- `uptime` before: `{up_before}`",
        f"- `uptime` after: `{up_after}`",
        f"- Python `anthropic` {sdk(py_sdk[0] if py_sdk else '?', a.newest_py)}, httpx2 {py_sdk[1] if len(py_sdk) > 1 else '?'}, CPython {py_sdk[2] if len(py_sdk) > 2 else '?'}",
        f"- `@anthropic-ai/sdk` {sdk(js_sdk, a.newest_js)}, Node {sh('node', '--version')}",
        f"- {sh('rustc', '--version')}, {valgrind}",
        f"- tree: commit {head}, {len(changed.splitlines()) if changed else 0} tracked files changed; wasm module {wasm} built {wasm_time}",
        f"- per round: Python `create` {s.py_runs} interleaved runs each; JS `stream.bench.mjs {s.js_rounds}`; pool {s.pool_seconds:g} s per case; "
        f"criterion `--warm-up-time {s.crit_warm:g} --measurement-time {s.crit_measure:g}` (medians); callgrind n = 1 and 3, once{'' if s.callgrind else ' (skipped)'}",
    ]
    return lines


def table(s: Settings) -> list[str]:
    rs = range(1, s.rounds + 1)
    out = [
        "| case | goal | " + " | ".join(f"round {r}" for r in rs) + " | median | goal met |",
        "| --- | --- | " + " | ".join("---:" for _ in rs) + " | ---: | --- |",
    ]
    for key, row in ROWS.items():
        cells = []
        for r in rs:
            if row.once:
                cells.append("·")
            elif r in row.values:
                cells.append(row.fmt(row.values[r]) + (f" {row.notes[r]}" if r in row.notes else ""))
            else:
                cells.append("error" if row.errors else "–")
        med = row.median()
        if med is None:
            med_s, met = ("error" if row.errors else "–"), ("error" if row.errors else "–")
        else:
            med_s = row.fmt(med)
            if row.notes and not row.once:
                # the bracketed figure's median too
                extra = [float(n.strip("()")) for n in row.notes.values()]
                med_s += f" ({statistics.median(extra):.3f})"
            met = "–" if row.meets is None else ("**met**" if row.meets(med) else "**not met**")
        if key == "load":
            met = ""
        out.append(f"| {row.label} | {row.goal} | " + " | ".join(cells) + f" | {med_s} | {met} |")
    return out


def details(s: Settings) -> list[str]:
    out = ["", "Behind the ratios (per round; SDK / ours, or bare / ours):", ""]
    for key, per in DETAILS.items():
        label = ROWS[key].label
        if ROWS[key].once:
            out.append(f"- {label}: {per[0]}")
        else:
            out.append(f"- {label}: " + "; ".join(per[r] for r in sorted(per)))
    errs = [f"- {ROWS[k].label}: {e}" for k in ROWS for e in ROWS[k].errors]
    if errs:
        out += ["", "Errors:", ""] + errs
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--record", default="")
    ap.add_argument("--command", required=True)
    ap.add_argument("--python", required=True, help="the bench venv's python")
    ap.add_argument("--sse-bin", required=True, help="the criterion bench binary of crates/creditpool-core/benches/sse.rs")
    ap.add_argument("--js-dir", required=True, help="the copy of js/ (src/ and wasm/) the JS bench times")
    ap.add_argument("--wasm", required=True, help="the wasm module to measure")
    ap.add_argument("--wasm-source", required=True, help="where that module was copied from (for its date)")
    ap.add_argument("--scratch", required=True)
    ap.add_argument("--newest-py", default="")
    ap.add_argument("--newest-js", default="")
    a = ap.parse_args()
    have_valgrind = bool(sh("valgrind", "--version"))
    if a.quick:
        s = Settings(a.rounds, py_runs=3, js_rounds=2, pool_seconds=0.3, crit_warm=0.3, crit_measure=1, callgrind=have_valgrind)
    else:
        s = Settings(a.rounds, py_runs=9, js_rounds=5, pool_seconds=2, crit_warm=1, crit_measure=4, callgrind=have_valgrind)
    b = Bench(a, s)

    started = dt.datetime.now(dt.timezone.utc)
    up_before = sh("uptime")
    b.wasm()
    for rnd in range(1, s.rounds + 1):
        ROWS["load"].values[rnd] = os.getloadavg()[0]
        log(f"round {rnd} of {s.rounds} (load {os.getloadavg()[0]:.2f})")
        b.case(["py_create", "py_create_dict"], rnd, lambda: b.py_create(rnd))
        b.case(["js_client_events", "js_parser_events", "js_client_final", "js_parser_final"], rnd, lambda: b.js(rnd))
        b.case([k for k in ROWS if k.startswith("pool_")], rnd, lambda: b.pool(rnd))
        b.case(["rust_stream", "rust_message"], rnd, lambda: b.criterion(rnd))
    if s.callgrind:
        b.case(["rust_stream_ir", "rust_message_ir"], 0, b.callgrind)
    up_after = sh("uptime")
    ended = dt.datetime.now(dt.timezone.utc)

    lines = header(a, s, up_before, up_after, started, ended) + [""] + table(s) + details(s)
    text = "\n".join(lines) + "\n"
    print(text)
    if a.record:
        with open(a.record, "a", encoding="utf-8") as f:
            f.write(f"\n### Issue 15: every figure in one interleaved run ({started:%Y-%m-%d %H:%M} UTC)\n\n" + text)
        log(f"appended the table to {a.record}")
    log(f"done in {(ended - started).total_seconds() / 60:.1f} min")
    return 1 if any(r.errors for r in ROWS.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
