"""The ``@tool`` decorator: a typed Python function (sync or async) as a tool.

The input schema comes from the type hints (see ``_schema``), the descriptions
from the docstring (see ``_docstrings``). The core checks the definition when
the decorator runs (``tools::check_tool``) and validates every input against
the schema before the function runs; the function then gets its arguments in
the annotated types.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import sys
import typing
from typing import Any, Awaitable, Callable, Generic, Mapping, TypeVar, overload

from . import _creditpool
from ._docstrings import parse_docstring
from ._schema import SchemaError, coerce, schema_for

__all__ = ["Tool", "tool", "tool_result_content"]

R = TypeVar("R")


class Tool(Generic[R]):
    """A tool made from a function by ``@tool``. Call it like the function;
    ``run(input)`` / ``arun(input)`` validate a model's input first."""

    def __init__(
        self,
        fn: Callable[..., R | Awaitable[R]],
        *,
        name: str | None = None,
        description: str | None = None,
        localns: Mapping[str, Any] | None = None,
    ) -> None:
        """Builds the definition from ``fn`` and has the core check it.
        ``localns`` resolves string annotations that name local classes (the
        decorator passes its caller's locals)."""
        self.fn = fn
        """The wrapped function."""
        self.is_async: bool = inspect.iscoroutinefunction(fn)
        """Whether the function is a coroutine function."""
        self.name: str = name or fn.__name__
        """The tool's name."""
        doc = parse_docstring(fn.__doc__)
        self.description: str = description or doc.description
        """What the tool does (the docstring's summary unless given)."""
        hints = typing.get_type_hints(fn, localns=dict(localns) if localns is not None else None, include_extras=True)
        self._params: dict[str, Any] = {}
        defs: dict[str, Any] = {}
        props: dict[str, Any] = {}
        required: list[str] = []
        for p in inspect.signature(fn).parameters.values():
            if p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
                raise SchemaError(f"tool {self.name!r}: *args and **kwargs have no schema")
            tp = hints.get(p.name, Any)
            try:
                prop = schema_for(tp, defs)
            except SchemaError as e:
                raise SchemaError(f"tool {self.name!r}, parameter {p.name!r}: {e}") from None
            if p.name in doc.params and "description" not in prop:
                prop = {**prop, "description": doc.params[p.name]}
            if p.default is inspect.Parameter.empty:
                required.append(p.name)
            props[p.name] = prop
            self._params[p.name] = tp
        schema: dict[str, Any] = {"type": "object", "properties": props, "required": required, "additionalProperties": False}
        if defs:
            schema["$defs"] = defs
        self.input_schema: dict[str, Any] = schema
        """The JSON Schema of the input."""
        self.definition: dict[str, Any] = {"name": self.name, "description": self.description, "input_schema": schema}
        """The definition sent in a request's ``tools``."""
        _creditpool.check_tool(self.definition)
        self._set = _creditpool.ToolSet([self.definition])
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        """The tool's name."""
        return f"Tool({self.name!r})"

    def __call__(self, *args: Any, **kwargs: Any) -> R | Awaitable[R]:
        """Calls the function directly, unchecked."""
        return self.fn(*args, **kwargs)

    def validate(self, input: Any) -> dict[str, Any]:
        """Checks a model's input with the core (``ToolInputInvalidError``) and
        returns the keyword arguments in their annotated types."""
        self._set.check_input(self.name, input)
        return {k: coerce(v, self._params.get(k, Any)) for k, v in dict(input).items()}

    def run(self, input: Any) -> R:
        """Validates ``input`` and calls the function (an async one is run to
        completion with ``asyncio.run``)."""
        kwargs = self.validate(input)
        result = self.fn(**kwargs)
        if inspect.isawaitable(result):
            return typing.cast(R, asyncio.run(_await(result)))
        return result

    async def arun(self, input: Any) -> R:
        """Validates ``input`` and calls the function; a sync one runs in a
        worker thread so that it does not block the event loop."""
        kwargs = self.validate(input)
        if self.is_async:
            return await self.fn(**kwargs)  # type: ignore[misc, no-any-return]
        return await asyncio.to_thread(functools.partial(self.fn, **kwargs))  # type: ignore[arg-type]


async def _await(value: Awaitable[R]) -> R:
    return await value


@overload
def tool(fn: Callable[..., Awaitable[R]]) -> Tool[R]: ...
@overload
def tool(fn: Callable[..., R]) -> Tool[R]: ...
@overload
def tool(fn: None = None, *, name: str | None = None, description: str | None = None) -> Callable[[Callable[..., Awaitable[R] | R]], Tool[R]]: ...


def tool(
    fn: Callable[..., Awaitable[R] | R] | None = None, *, name: str | None = None, description: str | None = None
) -> Tool[R] | Callable[[Callable[..., Awaitable[R] | R]], Tool[R]]:
    """Turns a typed function into a ``Tool``: ``@tool`` or
    ``@tool(name=..., description=...)``."""
    if fn is not None:
        return Tool(fn, name=name, description=description, localns=sys._getframe(1).f_locals)

    def wrap(f: Callable[..., Awaitable[R] | R]) -> Tool[R]:
        return Tool(f, name=name, description=description, localns=sys._getframe(1).f_locals)

    return wrap


def tool_result_content(result: Any) -> str | list[dict[str, Any]]:
    """A tool's return value as ``tool_result`` content: a string as is, a
    list of content blocks as is, anything else as JSON text."""
    if isinstance(result, str):
        return result
    if isinstance(result, list) and all(isinstance(b, Mapping) and "type" in b for b in result) and result:
        return [dict(b) for b in result]
    return json.dumps(result, default=_default)


def _default(value: Any) -> Any:
    to_dict = getattr(value, "to_dict", None) or getattr(value, "model_dump", None)
    if callable(to_dict):
        return to_dict()
    import dataclasses
    import enum

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, enum.Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
