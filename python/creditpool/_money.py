"""Money: amounts are exact int nano-USD (1 USD = 10**9); these are views."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from . import _creditpool
from ._errors import invalid_amount

__all__ = ["NANOS_PER_USD", "usd", "format_usd", "nanos", "amount_nanos", "MAX_NANOS"]

NANOS_PER_USD = 1_000_000_000
"""Nano-USD per US dollar."""

MAX_NANOS = 2**64 - 1
"""The largest amount the core counts (a u64 of nano-USD)."""

_HOW = 'write dollars as creditpool.nanos("1.50") (a decimal string or a Decimal) or an int of nano-USD'


def usd(nanos: int) -> Decimal:
    """An amount of int nano-USD as an exact ``Decimal`` of dollars."""
    return Decimal(_creditpool.usd_decimal_string(nanos))


def format_usd(nanos: int) -> str:
    """Dollars for display, trimmed to at least two decimals (``$1.50``)."""
    return _creditpool.format_usd(nanos)


def nanos(dollars: Decimal | str | int) -> int:
    """Dollars (a ``Decimal``, a decimal string or an int) as exact int
    nano-USD; a value finer than a nano-dollar is a ``ValueError``. A
    ``float`` is refused (``InvalidOptionsError``): binary floats cannot hold
    most cent values exactly."""
    if isinstance(dollars, bool):
        raise TypeError("dollars must be a Decimal, a decimal string or an int")
    if isinstance(dollars, float):
        raise invalid_amount("dollars", f"a float ({dollars!r}) is not exact money; {_HOW}")
    try:
        d = Decimal(dollars) * NANOS_PER_USD
    except InvalidOperation:
        raise invalid_amount("dollars", f"{dollars!r} is not a decimal number; {_HOW}") from None
    if not d.is_finite() or d != d.to_integral_value():
        raise ValueError(f"{dollars} is not a whole number of nano-dollars")
    return int(d)


def amount_nanos(value: int | Decimal | str, what: str) -> int:
    """An amount as int nano-USD: an int as is, a ``Decimal`` or a string as
    dollars (exact to the nano-dollar). A ``float``, a ``bool``, a negative
    amount or one beyond the core's range (``MAX_NANOS``) raises
    ``InvalidOptionsError`` naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        if isinstance(value, float):
            raise invalid_amount(what, f"a float ({value!r}) is not exact money; {_HOW}")
        raise invalid_amount(what, f"expected int nano-USD or Decimal dollars, not {type(value).__name__}; {_HOW}")
    n = value if isinstance(value, int) else nanos(value)
    if n < 0:
        raise invalid_amount(what, f"must not be negative ({n} nano-USD)")
    if n > MAX_NANOS:
        raise invalid_amount(what, f"{n} nano-USD is more than the largest amount the pool counts ({MAX_NANOS})")
    return n
