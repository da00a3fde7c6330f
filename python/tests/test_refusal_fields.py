"""Issue 13 (seams): a refusal carries the same fields in Python and JS
(``reason``, ``details`` and each kind's own figures); the same table is
checked in js/test/refusal-fields.test.js."""

from __future__ import annotations

from typing import Callable

import pytest

import creditpool as cp

USD = 1_000_000_000

FIELDS = {
    "pool_exhausted": ["reason", "details", "requested", "available"],
    "agent_cap": ["reason", "details", "agent", "cap", "spent", "reserved", "requested"],
    "rate_limited": ["reason", "details", "agent", "which"],
    "unknown_agent": ["reason", "details", "agent", "known", "suggestion"],
}


def _refusal(fn: Callable[[], object]) -> cp.PoolRefusedError:
    with pytest.raises(cp.PoolRefusedError) as e:
        fn()
    return e.value


def test_every_refusal_has_reason_and_details_as_in_js() -> None:
    pool = cp.Pool(
        cp.nanos(10 * USD),
        agents={"capped": cp.AgentPolicy(cap=cp.nanos(USD)), "slow": cp.AgentPolicy(requests_per_minute=1), "other": cp.AgentPolicy()},
    )
    pool.reserve("slow", cp.nanos(1))
    errors = {
        "pool_exhausted": _refusal(lambda: pool.reserve("other", cp.nanos(11 * USD))),
        "agent_cap": _refusal(lambda: pool.reserve("capped", cp.nanos(2 * USD))),
        "rate_limited": _refusal(lambda: pool.reserve("slow", cp.nanos(1))),
        "unknown_agent": _refusal(lambda: pool.reserve("otter", cp.nanos(1))),
    }
    for reason, e in errors.items():
        assert e.reason == reason and e.code == reason
        for field in FIELDS[reason]:
            assert getattr(e, field, None) is not None, f"{reason} lacks {field}"
        assert e.details is not None and e.details["reason"] == reason
    assert errors["pool_exhausted"].details is not None and errors["pool_exhausted"].details["requested"] == 11 * USD
    unknown = errors["unknown_agent"]
    assert isinstance(unknown, cp.UnknownAgentError) and unknown.suggestion == "other"
