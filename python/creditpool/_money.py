"""Money: one type, ``Money``, for every amount the package takes or gives.

Exact int nano-USD inside (1 USD = 10**9). Make one with ``usd(...)``
(dollars: ``usd(5)``, ``usd("0.50")``, ``usd(Decimal("1.25"))``) or
``nanos(...)`` (whole nano-dollars: ``nanos(1500)``); an amount argument also
takes a string with its dollar sign (``"$5"``). A bare number is never an
amount: ``Pool(limit=5)`` raises ``InvalidOptionsError`` saying how to write
it. The rules and their words are the core's (``creditpool_core::money``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar, Union

from . import _creditpool

__all__ = ["NANOS_PER_USD", "MAX_NANOS", "Money", "usd", "nanos", "format_usd", "amount_nanos", "money_of", "AmountLike"]

NANOS_PER_USD = 1_000_000_000
"""Nano-USD per US dollar."""

MAX_NANOS = 2**64 - 1
"""The largest amount the core counts (a u64 of nano-USD)."""

class Money:
    """An exact amount of money, never negative: ``nanos`` (int nano-USD),
    ``dollars`` (an exact ``Decimal``), ``usd`` and ``str()`` (``"$1.50"``).

    Compare and add only with other ``Money`` (``usd(1) == nanos(10**9)``;
    ``usd(1) == 10**9`` is False): ``a + b``, ``a - b`` (never below zero),
    ``a * 3``, ``sum(amounts, Money.ZERO)``. Make one with ``usd()`` or
    ``nanos()``, or ``Money(nanos=n)``."""

    __slots__ = ("_nanos",)
    ZERO: ClassVar[Money]
    MAX: ClassVar[Money]

    def __init__(self, *, nanos: int) -> None:
        if isinstance(nanos, bool) or not isinstance(nanos, int):
            raise TypeError("Money(nanos=...) takes an int of nano-USD; for dollars write usd(...)")
        if nanos < 0 or nanos > MAX_NANOS:
            _creditpool.money_rule("nanos", "nanos", "integer", _int_text(nanos))
        self._nanos = nanos

    @property
    def nanos(self) -> int:
        """The exact amount in nano-USD."""
        return self._nanos

    @property
    def dollars(self) -> Decimal:
        """The exact amount in dollars, with no needless digit (``Decimal("1.5")``, ``Decimal("0")``)."""
        return Decimal(_creditpool.dollars_string(self._nanos))

    @property
    def usd(self) -> str:
        """For display: dollars with at least two decimals (``"$1.50"``, ``"$0.000015"``, ``"$0.00"``)."""
        return _creditpool.format_usd(self._nanos)

    def __str__(self) -> str:
        return self.usd

    def __repr__(self) -> str:
        return f'usd("{_creditpool.dollars_string(self._nanos)}")'

    def __format__(self, spec: str) -> str:
        return format(self.usd, spec)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Money):
            return self._nanos == other._nanos
        return NotImplemented

    def __hash__(self) -> int:
        return hash((Money, self._nanos))

    def _other(self, other: object) -> int:
        if isinstance(other, Money):
            return other._nanos
        raise TypeError(f"Money only combines with Money, not {type(other).__name__}; write usd(...) or nanos(...)")

    def __lt__(self, other: Money) -> bool:
        return self._nanos < self._other(other)

    def __le__(self, other: Money) -> bool:
        return self._nanos <= self._other(other)

    def __gt__(self, other: Money) -> bool:
        return self._nanos > self._other(other)

    def __ge__(self, other: Money) -> bool:
        return self._nanos >= self._other(other)

    def __add__(self, other: Money) -> Money:
        return Money(nanos=self._nanos + self._other(other))

    def __radd__(self, other: object) -> Money:
        if isinstance(other, int) and not isinstance(other, bool) and other == 0:
            return self  # sum() without a start
        return Money(nanos=self._other(other) + self._nanos)

    def __sub__(self, other: Money) -> Money:
        return Money(nanos=self._nanos - self._other(other))

    def __mul__(self, factor: int) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int):
            return NotImplemented
        return Money(nanos=self._nanos * factor)

    __rmul__ = __mul__

    def __bool__(self) -> bool:
        return self._nanos != 0

    def __reduce__(self) -> tuple[Any, ...]:
        return (_from_nanos, (self._nanos,))

    def __copy__(self) -> Money:
        return self

    def __deepcopy__(self, memo: Any) -> Money:
        return self


def _from_nanos(n: int) -> Money:
    return Money(nanos=n)


Money.ZERO = Money(nanos=0)
Money.MAX = Money(nanos=MAX_NANOS)

AmountLike = Union[Money, str]
"""What an amount argument takes: a ``Money``, or a string with its dollar sign (``"$5"``)."""


def _int_text(v: int) -> str:
    # str() refuses ints beyond 4300 digits; any int that long is far past the range.
    return str(v) if v.bit_length() < 256 else ("-" if v < 0 else "") + "9" * 80


def _sort(value: object) -> tuple[str, str, int | None]:
    """A Python value as the core's ``AmountInput``: (kind, text, nanos)."""
    if isinstance(value, Money):
        return "money", "", value.nanos
    if isinstance(value, bool):
        return "other", "bool", None
    if isinstance(value, int):
        return "integer", _int_text(value), None
    if isinstance(value, float):
        return "number", repr(value), None
    if isinstance(value, Decimal):
        return "number", str(value), None
    if isinstance(value, str):
        return "text", value, None
    return "other", type(value).__name__, None


def _rule(rule: str, argument: str, value: object) -> int:
    kind, text, n = _sort(value)
    return int(_creditpool.money_rule(rule, argument, kind, text, n))


def usd(dollars: Decimal | str | int | float | Money) -> Money:
    """Dollars as ``Money``, exact: ``usd(5)``, ``usd("0.50")``, ``usd("$0.50")``,
    ``usd(Decimal("1.25"))``, ``usd(0.1)`` (a float by its shortest text:
    ten cents). Finer than a nano-dollar, negative, not finite or beyond
    ``Money.MAX`` raises ``InvalidOptionsError``; nothing is rounded."""
    return Money(nanos=_rule("usd", "usd()", dollars))


def nanos(n: int | Money) -> Money:
    """Whole nano-dollars (1 USD = 10**9) as ``Money``: ``nanos(1500)``."""
    return Money(nanos=_rule("nanos", "nanos()", n))


def format_usd(amount: Money | int) -> str:
    """Dollars for display, trimmed to at least two decimals (``$1.50``);
    an int is nano-USD."""
    n = amount.nanos if isinstance(amount, Money) else amount
    return _creditpool.format_usd(n)


def money_of(value: object, what: str) -> Money:
    """An amount argument as ``Money`` (the core's rule: a ``Money``, or a
    string with its dollar sign). Anything else raises
    ``InvalidOptionsError`` naming ``what`` and saying how to write it."""
    return Money(nanos=_rule("amount", what, value))


def amount_nanos(value: object, what: str) -> int:
    """``money_of(value, what)`` as int nano-USD (for the core's JSON)."""
    return money_of(value, what).nanos
