"""Money: amounts are exact int nano-USD (1 USD = 10**9); these are views."""

from __future__ import annotations

from decimal import Decimal

from . import _creditpool

__all__ = ["NANOS_PER_USD", "usd", "format_usd"]

NANOS_PER_USD = 1_000_000_000
"""Nano-USD per US dollar."""


def usd(nanos: int) -> Decimal:
    """An amount of int nano-USD as an exact ``Decimal`` of dollars."""
    return Decimal(_creditpool.usd_decimal_string(nanos))


def format_usd(nanos: int) -> str:
    """Dollars for display, trimmed to at least two decimals (``$1.50``)."""
    return _creditpool.format_usd(nanos)
