"""One Python case of `benches/run-all.sh` (issue 15), as one JSON line.

The measuring code is the existing benches', imported rather than copied, so
the figures keep their definitions:

* ``create --runs N``: ``bench_stream.compare`` on the 0.66 MB message body,
  SDK ``messages.create`` against ours (``create``), and against ours then
  ``to_dict()`` (``create_dict``), N interleaved runs each, medians;
* ``pool --seconds S``: ``bench_pool.rate`` of ``Pool()``, and of
  ``Pool(directory=...)`` with ``fsync=False`` and ``fsync=True``, on 1 and 8
  threads, S seconds each. With ``fsync=True`` it also counts the ``os.fsync``
  calls made while the pairs run (two operations per pair): in all, and those
  made outside the pool's periodic snapshot (a call with a function named
  ``*snapshot*`` on its stack belongs to the snapshot; every other one, to
  the operations).

    .venv-bench/bin/python benches/python/bench_case.py create --runs 9
    .venv-bench/bin/python benches/python/bench_case.py pool --seconds 2
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
_argv, sys.argv = sys.argv, sys.argv[:1]  # bench_pool reads sys.argv[1] when imported
import bench_pool  # noqa: E402
import bench_stream  # noqa: E402

sys.argv = _argv

import creditpool as cp  # noqa: E402


def create(runs: int) -> dict[str, Any]:
    _, final = bench_stream.long_tool_stream(8, 64, 4000)
    body = json.dumps(final, separators=(",", ":"), ensure_ascii=False).encode()
    check = bench_stream.same_message(final)
    _, sdk, ours = bench_stream.compare("create", bench_stream.sdk_create(body), bench_stream.ours_create(body), runs, check)
    _, sdk_d, ours_d = bench_stream.compare("create_dict", bench_stream.sdk_create(body), bench_stream.ours_create_dict(body), runs, check)
    return {
        "body_bytes": len(body),
        "create": {"sdk_ms": sdk * 1e3, "ours_ms": ours * 1e3, "ratio": sdk / ours},
        "create_dict": {"sdk_ms": sdk_d * 1e3, "ours_ms": ours_d * 1e3, "ratio": sdk_d / ours_d},
    }


class FsyncCounter:
    """Wraps ``os.fsync`` (the package calls it as ``os.fsync``) to count calls:
    in all, and those made outside a periodic snapshot."""

    def __init__(self) -> None:
        self.total = 0
        self.ops = 0
        self._real = os.fsync

    def __enter__(self) -> FsyncCounter:
        real = self._real

        def fsync(fd: Any) -> None:
            self.total += 1
            f: FrameType | None = sys._getframe(1)
            while f is not None and "snapshot" not in f.f_code.co_name.lower():
                f = f.f_back
            if f is None:
                self.ops += 1
            real(fd)

        os.fsync = fsync
        return self

    def __exit__(self, *exc: object) -> None:
        os.fsync = self._real


def pool(seconds: float) -> dict[str, Any]:
    bench_pool.SECONDS = seconds
    limit, one = bench_pool.LIMIT, bench_pool.ONE
    out: dict[str, Any] = {}
    for threads in (1, 8):
        with cp.Pool(limit) as p:
            out[f"memory_{threads}"] = bench_pool.rate(bench_pool.pool_pair(p), threads)
        with tempfile.TemporaryDirectory() as d:
            with cp.Pool(limit, directory=d, fsync=False) as p:
                out[f"dir_nosync_{threads}"] = bench_pool.rate(bench_pool.pool_pair(p), threads)
        with tempfile.TemporaryDirectory() as d:
            with cp.Pool(limit, directory=d, fsync=True) as p:
                pair = bench_pool.pool_pair(p)
                pairs = itertools.count()

                def counted(pair: Callable[[], None] = pair) -> None:
                    pair()
                    next(pairs)

                with FsyncCounter() as c:
                    out[f"dir_sync_{threads}"] = bench_pool.rate(counted, threads)
                    total, of_ops = c.total, c.ops
                ops = 2 * next(pairs)
                out[f"dir_sync_{threads}_fsync_per_op"] = total / ops if ops else None
                out[f"dir_sync_{threads}_op_fsync_per_op"] = of_ops / ops if ops else None
                out[f"dir_sync_{threads}_ops"] = ops
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("case", choices=["create", "pool"])
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--seconds", type=float, default=2.0)
    args = ap.parse_args()
    t = time.perf_counter()
    result = create(args.runs) if args.case == "create" else pool(args.seconds)
    result["wall_s"] = time.perf_counter() - t
    print(json.dumps(result))


if __name__ == "__main__":
    main()
