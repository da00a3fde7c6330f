"""The runner of the ``money`` vectors (``tests/vectors/money/``), as
``crates/creditpool-core/tests/vectors_money.rs`` runs them: ``usd()``,
``nanos()``, an amount argument (a ``Pool``'s ``limit``: the package's own
check) and the formatting, through the public API."""

from __future__ import annotations

from typing import Any

import creditpool
from creditpool import _money
from vectorlib import Case


def _value(inp: dict[str, Any]) -> Any:
    if "integer" in inp:
        return int(inp["integer"])
    if "money" in inp:
        return creditpool.nanos(int(inp["money"]))
    return inp.get("value")


def check_money(case: Case) -> str | None:
    """One ``money`` case; a description of the difference, or None."""
    inp = case.input
    rule = inp["rule"]
    try:
        if rule == "format":
            m = creditpool.Money(nanos=int(inp["nanos"]))
        elif rule == "usd":
            m = creditpool.usd(_value(inp))
        elif rule == "nanos":
            m = creditpool.nanos(_value(inp))
        else:
            m = _money.money_of(_value(inp), inp["argument"])
        actual: Any = {"nanos": str(m.nanos), "dollars": format(m.dollars, "f"), "usd": m.usd}
        if str(m) != m.usd:
            return f"str() {str(m)!r} is not usd {m.usd!r}"
    except creditpool.InvalidOptionsError as e:
        actual = {"error": {"reason": e.reason, "argument": e.argument, "message": str(e)}}  # type: ignore[attr-defined]
        if e.code != "invalid_options" or e.what != e.argument:  # type: ignore[attr-defined]
            return f"error code {e.code!r} / what {getattr(e, 'what', None)!r}"
    return None if actual == case.expected else f"got {actual}, expected {case.expected}"
