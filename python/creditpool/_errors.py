"""Typed errors raised on the Python side, each with the core's code for it
(``creditpool_core::codes``), so that they read like the core's own."""

from __future__ import annotations

from typing import Any, TypeVar

from . import _creditpool

__all__ = ["typed_error", "invalid_amount", "store_error", "snapshot_error", "MissingExtraError", "missing_extra"]

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
