"""The native module's boundary: plain data in and out, the exception
hierarchy, and errors (never crashes) on hostile values."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

import creditpool as cp
from creditpool import _creditpool as native


def test_json_values_cross_exactly() -> None:
    value = {"s": "é\u0000", "i": -(2**63), "u": 2**64 - 1, "f": 1.5, "b": True, "n": None, "l": [1, [2, {"x": ()}]]}
    out = native.json_round_trip(value)
    assert out == {"s": "é\u0000", "i": -(2**63), "u": 2**64 - 1, "f": 1.5, "b": True, "n": None, "l": [1, [2, {"x": []}]]}
    assert type(out["b"]) is bool and type(out["f"]) is float and type(out["u"]) is int


@pytest.mark.parametrize(
    ("value", "exc"),
    [
        (math.nan, ValueError),
        (math.inf, ValueError),
        (2**64, ValueError),
        ({1: "x"}, TypeError),
        (object(), TypeError),
        ({"a": {1, 2}}, TypeError),
    ],
)
def test_values_without_a_json_form_are_refused(value: object, exc: type[Exception]) -> None:
    with pytest.raises(exc):
        native.json_round_trip(value)


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(ValueError, match="nested"):
        native.json_round_trip(deep)
    with pytest.raises(cp.PartialJsonError) as e:
        native.parse_partial_json("[" * 100_000)
    assert e.value.kind == "too_deep"


def test_every_exception_derives_from_the_base_and_is_exported() -> None:
    names = [n for n in native.__all__ if n.endswith("Error")]
    assert len(names) >= 30
    for name in names:
        cls = getattr(native, name)
        assert issubclass(cls, cp.CreditpoolError), name
        assert cls.__module__ == "creditpool" and getattr(cp, name) is cls, name
    for cls in (cp.RequestBuildError, cp.InvalidOptionsError, cp.ToolDefinitionError, cp.ToolInputInvalidError, cp.CapabilityError, cp.InvalidPriceError, cp.PartialJsonError):
        assert issubclass(cls, ValueError)
    assert issubclass(cp.OverloadedError, cp.APIError) and issubclass(cp.APITimeoutError, cp.APIConnectionError)
    assert cp.APIError("x").status is None  # attributes always exist


def test_parse_message_maps_statuses_to_classes() -> None:
    body = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_9"}'
    with pytest.raises(cp.OverloadedError) as e:
        native.parse_message(529, [("request-id", "req_h")], body)
    assert (e.value.status, e.value.request_id, e.value.error_type) == (529, "req_h", "overloaded_error")
    with pytest.raises(cp.APIError) as e2:
        native.parse_message(418, {}, b'{"type":"error","error":{"type":"teapot_error","message":"no"}}')
    assert type(e2.value) is cp.APIError and e2.value.error_type == "teapot_error"
    with pytest.raises(cp.ResponseParseError) as e3:
        native.parse_message(200, {}, b"{}")
    assert e3.value.reason == "malformed"


def test_message_stream_reports_failures_once_and_for_all() -> None:
    s = native.MessageStream(max_event_bytes=64)
    s.feed(b"data: " + b"x" * 200 + b"\n\n")
    with pytest.raises(cp.StreamEventTooLargeError) as e:
        s.next_event()
    assert (e.value.limit, isinstance(e.value.size, int)) == (64, True)
    with pytest.raises(cp.StreamEventTooLargeError):
        s.next_event()
    s2 = native.MessageStream()
    start = b'data: {"type":"message_start","message":{"id":"m","type":"message","role":"assistant","model":"x","content":[],"stop_reason":null,"usage":{"input_tokens":1,"output_tokens":1}}}\n\n'
    assert [e["type"] for e in s2.events(start)] == ["message_start"]
    with pytest.raises(cp.StreamIncompleteError) as e2:
        s2.finish()
    assert e2.value.partial is not None and e2.value.partial["id"] == "m"
    with pytest.raises(cp.StreamError):
        s2.finish()


def test_money_views() -> None:
    m = cp.nanos(1_500_000_000)
    assert (m.nanos, m.dollars, m.usd, str(m), repr(m)) == (1_500_000_000, Decimal("1.5"), "$1.50", "$1.50", 'usd("1.5")')
    assert cp.format_usd(cp.nanos(15_000)) == "$0.000015"
    assert cp.usd("0.5") == cp.nanos(500_000_000) and cp.usd(1) != 10**9
    assert str(cp.Money.ZERO) == "$0.00" and str(cp.Money.ZERO.dollars) == "0"  # never $0E-9


def test_price_table_and_worst_case() -> None:
    table = cp.PriceTable()
    assert table.as_of == cp.PRICES_AS_OF
    est = table.worst_case({"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]}, 120)
    assert est["cost"] > 0 and est["output_tokens_bound"] == 100
    with pytest.raises(cp.UnknownModelError) as e:
        table.cost("no-such-model", {"input_tokens": 1, "output_tokens": 1})
    assert e.value.model == "no-such-model" and e.value.kind == "unknown_model"
    prices = {"input": "1", "cache_write_5m": "1.25", "cache_write_1h": "2", "cache_read": "0.1", "output": "5"}
    priced = cp.PriceTable([{"model": "no-such-model", "prices": prices}])
    assert priced.cost("no-such-model", {"input_tokens": 1000, "output_tokens": 0})["total"] == 1_000_000
    with pytest.raises(cp.InvalidPriceError):
        cp.PriceTable([{"model": "m", "prices": {**prices, "input": "abc"}}])


def test_the_exception_classes_are_the_cores_table() -> None:
    """Every class of ``creditpool_core::codes::CLASSES`` exists, with its
    parent, its doc, and ``ValueError`` where the table says so; every code
    maps to one of them; the package exports them all."""
    import creditpool

    table = native.error_classes()
    assert table[0][0] == "CreditpoolError" and table[0][1] is None
    for name, parent, doc, value_error in table:
        cls = getattr(native, name)
        assert getattr(creditpool, name) is cls
        assert cls.__doc__ == doc
        assert cls.__bases__[0] is (getattr(native, parent) if parent is not None else Exception)
        assert (ValueError in cls.__bases__) == value_error, name
    names = {name for name, *_ in table}
    for code, name in native.error_codes():
        assert name in names and native.class_for_code(code) == name
    with pytest.raises(native.InvalidOptionsError) as err:
        native.MessagesCall(native.RequestBuilder("k"), {"model": "m", "max_tokens": 1, "messages": []}, {"no_such_option": 1})
    assert err.value.code == "invalid_options"
