"""Money: amounts are exact int nano-USD (1 USD = 10**9); these are views."""

from __future__ import annotations

from decimal import Decimal

from . import _creditpool

__all__ = ["NANOS_PER_USD", "usd", "format_usd", "nanos"]

NANOS_PER_USD = 1_000_000_000
"""Nano-USD per US dollar."""


def usd(nanos: int) -> Decimal:
    """An amount of int nano-USD as an exact ``Decimal`` of dollars."""
    return Decimal(_creditpool.usd_decimal_string(nanos))


def format_usd(nanos: int) -> str:
    """Dollars for display, trimmed to at least two decimals (``$1.50``)."""
    return _creditpool.format_usd(nanos)


def nanos(dollars: Decimal | str | int) -> int:
    """Dollars (a ``Decimal``, a decimal string or an int) as exact int
    nano-USD; a value finer than a nano-dollar is a ``ValueError``."""
    if isinstance(dollars, bool):
        raise TypeError("dollars must be a Decimal, a decimal string or an int")
    d = Decimal(dollars) * NANOS_PER_USD
    if not d.is_finite() or d != d.to_integral_value():
        raise ValueError(f"{dollars} is not a whole number of nano-dollars")
    return int(d)
