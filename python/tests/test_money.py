"""Issue 13 item 1 (money units) and the money parts of item 11, in Python:
a bare number is never an amount; every amount in and out is a ``Money``."""

from __future__ import annotations

import pickle
from decimal import Decimal
from typing import Any

import pytest

import creditpool as cp

USD = 10**9


@pytest.mark.parametrize(
    "make, argument, value",
    [
        (lambda: cp.Pool(limit=5), "limit", "5"),  # type: ignore[arg-type]
        (lambda: cp.Pool(5), "limit", "5"),  # type: ignore[arg-type]
        (lambda: cp.Pool(cp.usd(5), agents={"a": cp.AgentPolicy(cap=1)}), "cap", "1"),  # type: ignore[arg-type]
        (lambda: cp.Pool(cp.usd(5), agents={"a": {"cap": {"kind": "absolute", "amount": 2}}}), "agents['a'].cap.amount", "2"),
        (lambda: cp.Pool(cp.usd(5)).reserve("a", 3), "amount", "3"),  # type: ignore[arg-type]
        (lambda: cp.Pool(cp.usd(5)).set_limit(7), "limit", "7"),  # type: ignore[arg-type]
    ],
)
def test_a_bare_integer_is_refused_saying_both_spellings(make: Any, argument: str, value: str) -> None:
    """The newcomer's ``Pool(limit=5)`` used to be five nano-dollars, silently."""
    with pytest.raises(cp.InvalidOptionsError) as e:
        make()
    assert str(e.value) == (
        f"{argument}={value}: a bare number is not an amount of money; "
        f"write usd({value}) for {value} dollars or nanos({value}) for {value} nano-dollars"
    )
    assert (e.value.code, e.value.argument, e.value.reason) == ("invalid_options", argument, "bare_number")  # type: ignore[attr-defined]


def test_agent_max_spend_one_is_refused() -> None:
    client = cp.Client(api_key="k", base_url="http://api.test")
    try:
        with pytest.raises(cp.InvalidOptionsError, match=r"^max_spend=1: .*usd\(1\) for 1 dollars or nanos\(1\)"):
            cp.Agent(client, [], cp.Pool(cp.usd(1)), "a", model="claude-haiku-4-5", max_spend=1)  # type: ignore[arg-type]
        agent = cp.Agent(client, [], cp.Pool(cp.usd(1)), "a", model="claude-haiku-4-5", max_spend=cp.usd("0.10"))
        assert agent.max_spend == cp.nanos(100_000_000)
    finally:
        client.close()


@pytest.mark.parametrize("value", ["5", Decimal("5"), 5.0])
def test_a_number_without_its_unit_is_refused(value: Any) -> None:
    with pytest.raises(cp.InvalidOptionsError, match=r"^limit="):
        cp.Pool(limit=value)


def test_every_spelling_of_five_dollars_is_the_same_money() -> None:
    five = cp.Money(nanos=5 * USD)
    for m in (cp.usd(5), cp.usd("5"), cp.usd("$5.00"), cp.usd(Decimal("5")), cp.usd(5.0), cp.nanos(5 * USD), cp.usd("5e0")):
        assert m == five
    assert cp.Pool(limit="$5").limit == five
    assert cp.Pool(limit=cp.usd(5)).limit == five


def test_money_is_exact_and_never_silently_rounded() -> None:
    assert cp.usd(0.1) + cp.usd(0.2) == cp.usd("0.3")  # floats read by their shortest text
    with pytest.raises(cp.InvalidOptionsError, match="finer than a nano-dollar"):
        cp.usd("0.0000000001")
    with pytest.raises(cp.InvalidOptionsError, match="nano-dollars are whole"):
        cp.nanos(1.5)  # type: ignore[arg-type]
    with pytest.raises(cp.InvalidOptionsError, match="negative"):
        cp.usd(1) - cp.usd(2)
    with pytest.raises(TypeError):
        cp.usd(1) + 1  # type: ignore[operator]
    assert sum([cp.usd(1), cp.usd(2)], cp.Money.ZERO) == cp.usd(3)
    assert cp.usd(1) * 3 == cp.usd(3) and cp.usd(1) < cp.usd(2)
    assert pickle.loads(pickle.dumps(cp.usd("1.25"))) == cp.usd("1.25")
    assert f"{cp.usd('1.5'):>8}" == "   $1.50"


def test_a_run_that_spent_nothing_prints_zero_dollars() -> None:
    """Item 11: ``$0E-9`` came from a Decimal of nine zero decimals."""
    zero = cp.Money.ZERO
    assert (str(zero), f"${zero.dollars}", zero.usd) == ("$0.00", "$0", "$0.00")
    outcome = cp.AgentOutcome({"status": "completed", "total_cost": 0, "attribution": {"conversation": 0, "tools": [["search", 1500]]}}, None)
    assert str(outcome.total_cost) == "$0.00" and str(outcome.total_cost_usd) == "0"
    assert outcome.tool_costs == {"search": cp.nanos(1500)}  # item 11: no more raw nano-USD
    assert str(outcome.tool_costs["search"]) == "$0.0000015"


def test_what_a_pool_hands_out_is_money() -> None:
    pool = cp.Pool(cp.usd(10), agents={"a": cp.AgentPolicy(cap=cp.usd(3))})
    r = pool.reserve("a", cp.usd(2))
    assert r.amount == cp.usd(2)
    s = pool.settle(r, cp.usd("0.5"))
    assert (s.cost, s.refunded) == (cp.usd("0.5"), cp.usd("1.5"))
    report = pool.report()
    assert (report.limit, report.settled, report.reserved, report.available) == (cp.usd(10), cp.usd("0.5"), cp.Money.ZERO, cp.usd("9.5"))
    assert report.agents[0]["settled"] == cp.usd("0.5") and report.agents[0]["cap"] == cp.usd(3)
    assert report["settled"] == 500_000_000  # the core's JSON stays integer nano-USD
    assert "$0.50 settled" in report.text()
    assert pool.settled == cp.usd("0.5") and pool.ledger()[0].cost == cp.usd("0.5")
