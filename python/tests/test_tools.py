"""``@tool``: schemas from type hints, descriptions from docstrings, definitions
checked by the core and inputs validated by the core before the function runs."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import subprocess
import sys
from typing import Annotated, Any, Literal, Optional, TypedDict

import pytest

import creditpool as cp
from creditpool._docstrings import parse_docstring
from creditpool._transport import plain


class Color(enum.Enum):
    """A color."""

    RED = "red"
    BLUE = "blue"


@dataclasses.dataclass
class Point:
    """A point."""

    x: float
    y: float
    label: str = ""


class Filter(TypedDict, total=False):
    """A filter."""

    field: str
    value: int


def test_schema_from_hints_and_google_docstring() -> None:
    @cp.tool
    def lookup(sku: str, qty: int, exact: bool = False, note: Optional[str] = None, tags: list[str] | None = None) -> str:
        """Look up stock for a product.

        Args:
            sku: The product's SKU.
            qty (int): How many units
                are wanted.
            exact: Whether to match exactly.
        """
        return f"{sku}:{qty}"

    assert lookup.name == "lookup"
    assert lookup.description == "Look up stock for a product."
    s = lookup.input_schema
    assert s["type"] == "object" and s["required"] == ["sku", "qty"] and s["additionalProperties"] is False
    assert s["properties"]["sku"] == {"type": "string", "description": "The product's SKU."}
    assert s["properties"]["qty"] == {"type": "integer", "description": "How many units are wanted."}
    assert s["properties"]["exact"]["type"] == "boolean"
    assert s["properties"]["note"] == {"type": ["string", "null"]}
    assert s["properties"]["tags"] == {"type": ["array", "null"], "items": {"type": "string"}}
    assert lookup.definition == {"name": "lookup", "description": "Look up stock for a product.", "input_schema": s}
    assert lookup("A1", 2) == "A1:2"


def test_numpy_and_rest_docstrings() -> None:
    numpy = parse_docstring(
        """Ship an order.

        Parameters
        ----------
        order_id : str
            The order.
        express : bool
            Faster.

        Returns
        -------
        str
        """
    )
    assert numpy.description == "Ship an order."
    assert numpy.params == {"order_id": "The order.", "express": "Faster."}
    rest = parse_docstring(
        """Ship an order.

        :param order_id: The order.
        :param bool express: Faster,
            much faster.
        :returns: a tracking number
        """
    )
    assert rest.params == {"order_id": "The order.", "express": "Faster, much faster."}


def test_literal_enum_typeddict_dataclass_annotated() -> None:
    @cp.tool(name="paint", description="Paint a point.")
    def paint(color: Color, at: Point, mode: Literal["fast", "slow"], where: Filter, weight: Annotated[float, "Kilograms."] = 1.0) -> dict[str, Any]:
        return {"color": color, "at": at, "mode": mode, "where": where, "weight": weight}

    s = paint.input_schema["properties"]
    assert s["color"] == {"type": "string", "enum": ["red", "blue"]}
    assert s["mode"] == {"type": "string", "enum": ["fast", "slow"]}
    assert s["at"]["required"] == ["x", "y"] and s["at"]["properties"]["x"] == {"type": "number"}
    assert s["where"]["required"] == [] and s["where"]["properties"]["value"] == {"type": "integer"}
    assert s["weight"] == {"type": "number", "description": "Kilograms."}
    out = paint.run({"color": "blue", "at": {"x": 1, "y": 2.5}, "mode": "slow", "where": {"field": "f"}})
    assert out["color"] is Color.BLUE
    assert out["at"] == Point(1.0, 2.5)
    assert isinstance(out["at"].x, float)


def test_inputs_are_validated_by_the_core_before_the_function_runs() -> None:
    calls: list[int] = []

    @cp.tool
    def count(n: int) -> int:
        """Count to n."""
        calls.append(n)
        return n

    with pytest.raises(cp.ToolInputInvalidError) as e:
        count.run({"n": "three"})
    assert e.value.kind == "invalid_input" and e.value.tool == "count"
    assert "/n" in (e.value.tool_result_text or "")
    with pytest.raises(cp.ToolInputInvalidError):
        count.run({"n": 1, "extra": True})
    assert calls == []
    assert count.run({"n": 3}) == 3 and calls == [3]


def test_definitions_are_checked_by_the_core() -> None:
    def no_doc(x: int) -> int:
        return x

    with pytest.raises(cp.ToolDefinitionError) as e:
        cp.tool(no_doc)
    assert e.value.rule == "missing_description" and e.value.tool == "no_doc"
    with pytest.raises(cp.ToolDefinitionError) as e2:
        cp.tool(name="bad name!", description="d")(no_doc)
    assert e2.value.rule == "invalid_name"
    assert isinstance(e2.value, ValueError)


def test_unsupported_hints_are_refused() -> None:
    def f(x: complex) -> None:
        """Takes a complex number."""

    with pytest.raises(cp.ToolDefinitionError, match="parameter 'x'") as e:
        cp.tool(f)
    assert (e.value.code, e.value.rule, e.value.tool) == ("invalid_tool_schema", "invalid_schema", "f")


def test_async_tools_and_sync_tools_in_async_code() -> None:
    @cp.tool
    async def fetch(url: str) -> str:
        """Fetch a URL."""
        await asyncio.sleep(0)
        return url.upper()

    @cp.tool
    def double(n: int) -> int:
        """Double a number."""
        return 2 * n

    assert fetch.is_async and not double.is_async
    assert fetch.run({"url": "a"}) == "A"

    async def main() -> tuple[str, int]:
        return await fetch.arun({"url": "b"}), await double.arun({"n": 4})

    assert asyncio.run(main()) == ("B", 8)


def test_pydantic_models_when_installed() -> None:
    import pydantic  # a test dependency; the package itself never requires it

    class Item(pydantic.BaseModel):
        sku: str
        qty: int = 1

    @cp.tool
    def add(item: Item) -> int:
        """Add an item."""
        return int(item.qty)

    assert add.input_schema["properties"]["item"]["properties"]["sku"]["type"] == "string"
    assert add.run({"item": {"sku": "x", "qty": 5}}) == 5


def test_tools_go_into_requests_as_definitions() -> None:
    @cp.tool
    def ping(host: str) -> str:
        """Ping a host."""
        return host

    assert plain({"tools": [ping]}) == {"tools": [ping.definition]}
    assert cp.tool_result_content({"a": 1}) == '{"a":1}'  # the core's rule: compact JSON text
    assert cp.tool_result_content("x") == "x"


def test_pydantic_is_not_required() -> None:
    code = (
        "import sys; sys.modules['pydantic'] = None\n"
        "import creditpool\n"
        "@creditpool.tool\n"
        "def f(x: int, y: list[str]) -> int:\n"
        "    'Do f.'\n"
        "    return x\n"
        "assert f.run({'x': 1, 'y': []}) == 1\n"
        "try:\n"
        "    creditpool.tool(lambda z: z)\n"
        "except creditpool.ToolDefinitionError:\n"
        "    pass\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
