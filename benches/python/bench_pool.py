"""Issue 15: Python ``Pool`` reserve+settle pairs per second, for 1 and 8
threads, in memory, in a directory with ``fsync=False`` and with
``fsync=True``; and the native pool alone (the core through the binding,
with and without draining the ledger), for the share the Python bookkeeping
takes.

    .venv/bin/python benches/python/bench_pool.py [seconds per case]

Prints one line per case: ``case threads pairs/s``. Run with the machine
otherwise idle; record ``uptime``'s load beside the figures.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from typing import Callable

import creditpool as cp
from creditpool import _creditpool

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
LIMIT = cp.usd(10**6)
ONE = cp.nanos(1_000)


def rate(work: Callable[[], None], threads: int) -> float:
    """Pairs per second of ``work`` (one pair per call) on ``threads`` threads."""
    stop = time.perf_counter() + SECONDS
    counts = [0] * threads

    def loop(i: int) -> None:
        n = 0
        while time.perf_counter() < stop:
            for _ in range(100):
                work()
            n += 100
        counts[i] = n

    start = time.perf_counter()
    ts = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return sum(counts) / (time.perf_counter() - start)


def pool_pair(pool: cp.Pool) -> Callable[[], None]:
    def pair() -> None:
        pool.settle(pool.reserve("a", ONE), ONE)

    return pair


def native_pair(drain: bool) -> Callable[[], None]:
    native = _creditpool.Pool({"limit": 10**15}, int(time.time() * 1000))
    lock = threading.Lock()

    def pair() -> None:
        now = int(time.time() * 1000)
        with lock:
            r = native.reserve("a", 1_000, now)
            native.settle(r["id"], 1_000, now)
            if drain:
                native.poll_ledger()
                native.poll_events()

    return pair


def main() -> None:
    print(f"# load average {os.getloadavg()[0]:.2f} at start", flush=True)
    for threads in (1, 8):
        print(f"native (ledger drained) {threads} {rate(native_pair(True), threads):,.0f}", flush=True)
        print(f"native (not drained) {threads} {rate(native_pair(False), threads):,.0f}", flush=True)
        with cp.Pool(LIMIT) as pool:
            print(f"Pool() {threads} {rate(pool_pair(pool), threads):,.0f}", flush=True)
        for fsync in (False, True):
            with tempfile.TemporaryDirectory() as d:
                with cp.Pool(LIMIT, directory=d, fsync=fsync) as pool:
                    print(f"Pool(directory, fsync={fsync}) {threads} {rate(pool_pair(pool), threads):,.0f}", flush=True)
    print(f"# load average {os.getloadavg()[0]:.2f} at end", flush=True)


if __name__ == "__main__":
    main()
