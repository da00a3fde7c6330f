"""The pool's clock (issue 10, item 3): a timestamp far beyond the latest the
pool saw is a ``ClockJumpError`` that changes nothing, never a rollover; a
reopened directory after a long pause says how to resume, and
``advance_clock()`` does."""

from __future__ import annotations

from pathlib import Path

import pytest

import creditpool as cp

USD = 1_000_000_000
T0 = 1_795_000_000_000
DAY = 24 * 3_600 * 1_000


def test_a_far_future_time_is_refused_and_the_settle_still_counts() -> None:
    pool = cp.Pool(cp.nanos(10 * USD), clock=lambda: T0)
    r = pool.reserve("a", cp.nanos(2 * USD), now_ms=T0)
    for wild in (2**62, T0 + 365 * DAY):
        with pytest.raises(cp.ClockJumpError, match="advance_clock") as e:
            pool.tick(now_ms=wild)
        assert isinstance(e.value, cp.PoolError)
        assert e.value.code == "clock_jump"
        with pytest.raises(cp.ClockJumpError):
            pool.reserve("a", cp.nanos(1), now_ms=wild)
        with pytest.raises(cp.ClockJumpError):
            pool.set_limit(cp.nanos(USD), now_ms=wild)
    assert pool.limit == cp.nanos(10 * USD)
    assert pool.reserved == cp.nanos(2 * USD)
    # The in-flight settle is recorded, not answered as a duplicate.
    s = pool.settle(r, cp.nanos(USD), now_ms=2**62)
    assert not s.duplicate
    assert pool.settled == cp.nanos(USD)
    # A long weekend of idle is within the default allowance.
    pool.tick(now_ms=T0 + 4 * DAY + DAY // 2)


def test_a_directory_reopened_after_a_long_pause_resumes_with_advance_clock(tmp_path: Path) -> None:
    now = [T0]
    pool = cp.Pool(cp.nanos(10 * USD), directory=tmp_path, clock=lambda: now[0])
    pool.settle(pool.reserve("a", cp.nanos(USD)), cp.nanos(USD))
    pool.close()
    now[0] = T0 + 40 * DAY
    again = cp.Pool(directory=tmp_path, clock=lambda: now[0])
    with pytest.raises(cp.ClockJumpError, match="advance_clock"):
        again.reserve("a", cp.nanos(USD))
    again.advance_clock()
    assert again.settled == cp.Money.ZERO  # a new monthly cycle began
    again.reserve("a", cp.nanos(USD))
    again.close()


def test_a_clock_jump_error_carries_its_figures() -> None:
    """The Python error has the core's fields, as the JS error does."""
    pool = cp.Pool(cp.nanos(10 * USD), clock=lambda: T0)
    pool.tick(now_ms=T0 + 1)
    with pytest.raises(cp.ClockJumpError) as e:
        pool.tick(now_ms=2**62)
    assert e.value.now_ms == 2**62
    assert e.value.last_now_ms == T0 + 1
    assert e.value.max_clock_jump_ms == 7 * DAY
