"""Typed errors raised on the Python side, each with the core's code for it
(``creditpool_core::codes``), so that they read like the core's own."""

from __future__ import annotations

from typing import Any, TypeVar

from . import _creditpool

__all__ = ["typed_error", "invalid_amount", "whole_number", "store_error", "snapshot_error", "MissingExtraError", "missing_extra"]

U64_MAX = 2**64 - 1

E = TypeVar("E", bound=_creditpool.CreditpoolError)


def typed_error(cls: type[E], code: str, message: str, **attrs: Any) -> E:
    """An instance of ``cls`` carrying ``code`` and the given attributes."""
    e = cls(message)
    e.code = code
    for k, v in attrs.items():
        setattr(e, k, v)
    return e


def invalid_amount(what: str, message: str) -> _creditpool.InvalidOptionsError:
    """A money value of the wrong type or out of range: ``InvalidOptionsError``
    (a ``ValueError``), code ``invalid_options``, ``what`` naming the value."""
    return typed_error(_creditpool.InvalidOptionsError, "invalid_options", f"{what}: {message}", what=what)


def whole_number(value: Any, what: str, unit: str = "") -> int:
    """``value`` if it is an int from 0 to 2**64 - 1 (a time in Unix ms, a
    duration, a count), else ``InvalidOptionsError`` naming ``what``: never
    the bare ``OverflowError`` or ``TypeError`` a native conversion raises."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= U64_MAX:
        kind = f" ({unit})" if unit else ""
        raise typed_error(_creditpool.InvalidOptionsError, "invalid_options", f"{what}: expected a whole number from 0 to 2**64 - 1{kind}, got {value!r}", what=what)
    return value


def store_error(message: str) -> _creditpool.PoolStoreError:
    """The pool's files (or the pool object itself) cannot be used:
    ``PoolStoreError``, code ``file_io``."""
    return typed_error(_creditpool.PoolStoreError, "file_io", message)


def snapshot_error(message: str) -> _creditpool.PoolSnapshotError:
    """A snapshot or ledger file that cannot be trusted: ``PoolSnapshotError``
    (a ``ValueError``), code ``invalid_snapshot``."""
    return typed_error(_creditpool.PoolSnapshotError, "invalid_snapshot", message, reason="invalid_snapshot")


class MissingExtraError(_creditpool.CreditpoolError, ImportError):
    """An optional dependency is not installed: ``extra`` names the package
    extra that brings it (``pip install "creditpool[charts]"``), ``module``
    the module that was missing. Code ``missing_extra``."""

    extra: str | None = None
    module: str | None = None


def missing_extra(extra: str, module: str, what: str) -> MissingExtraError:
    """``MissingExtraError`` for ``what`` needing ``module`` from ``extra``."""
    return typed_error(
        MissingExtraError,
        "missing_extra",
        f'{what} needs {module}, which is not installed: pip install "creditpool[{extra}]"',
        extra=extra,
        module=module,
        name=module,
    )
