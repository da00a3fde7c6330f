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
from typing import Any, Awaitable, Callable, Generic, Iterable, Mapping, TypeVar, overload

from . import _creditpool
from ._transport import log
from ._docstrings import parse_docstring
from ._errors import typed_error
from ._schema import SchemaError, coerce, schema_for

__all__ = ["Tool", "Toolbox", "tool", "tool_result_content", "jsonable"]

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
                raise _schema_error(self.name, p.name, "*args and **kwargs have no schema")
            tp = hints.get(p.name, Any)
            try:
                prop = schema_for(tp, defs)
            except SchemaError as e:
                raise _schema_error(self.name, p.name, str(e)) from None
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


    def respond(self, call: Any) -> dict[str, Any]:
        """Runs a ``tool_use`` call (a block or its dict) and returns the
        ``tool_result`` block for the model. The core checks the call first: a
        bad input becomes the core's ``is_error`` result and the function does
        not run; an exception raised by the function becomes an ``is_error``
        result in the core's default words (which do not show the exception's
        text: it may hold a secret), and is logged on the ``creditpool``
        logger with its traceback."""
        block = _call_dict(call)
        try:
            self._set.check_call(block)
        except _creditpool.ToolInputInvalidError as e:
            return dict(e.tool_result or _error_result(block["id"], e.tool_result_text or str(e)))
        try:
            out = self.run(block["input"])
        except Exception as e:  # the model reads the failure and may try again
            return self._failed(block, e)
        return {"type": "tool_result", "tool_use_id": block["id"], "content": tool_result_content(out)}

    def _failed(self, block: Mapping[str, Any], e: Exception) -> dict[str, Any]:
        """The ``is_error`` result for a function that raised, in the core's
        words; the exception is logged with its traceback (as an agent's)."""
        log.warning("tool %r raised %s", self.name, type(e).__name__, exc_info=e)
        call = {"id": block["id"], "name": self.name, "input": block.get("input")}
        result = _creditpool.tool_result(call, {"failed": str(e) or type(e).__name__})
        return _error_result(block["id"], str(result["content"]))

    async def arespond(self, call: Any) -> dict[str, Any]:
        """The async form of ``respond``."""
        block = _call_dict(call)
        try:
            self._set.check_call(block)
        except _creditpool.ToolInputInvalidError as e:
            return dict(e.tool_result or _error_result(block["id"], e.tool_result_text or str(e)))
        try:
            out = await self.arun(block["input"])
        except Exception as e:  # the model reads the failure and may try again
            return self._failed(block, e)
        return {"type": "tool_result", "tool_use_id": block["id"], "content": tool_result_content(out)}


class Toolbox:
    """Several tools: their definitions for a request, and the answers to a
    message's ``tool_use`` calls. The core checks the whole list (unique
    names) and every call (an unknown tool or a bad input becomes an
    ``is_error`` result, and nothing runs)."""

    def __init__(self, tools: Iterable[Tool[Any]]) -> None:
        """A toolbox of ``@tool`` functions. Anything but a ``Tool`` (a
        hand-written definition dict has no function to run) raises
        ``InvalidOptionsError``; two tools of one name raise the core's
        ``ToolDefinitionError`` (rule ``duplicate_name``), as in JS."""
        listed = list(tools)
        for t in listed:
            if not isinstance(t, Tool):
                raise typed_error(
                    _creditpool.InvalidOptionsError,
                    "invalid_options",
                    f"tools: a Toolbox holds Tool objects (made with @tool), not {type(t).__name__}"
                    + (": a hand-written definition has no function to run; decorate the function with @tool(name=..., description=...)" if isinstance(t, Mapping) else ""),
                    what="tools",
                )
        # Every definition goes to the core, which checks them (unique names included).
        self._set = _creditpool.ToolSet([t.definition for t in listed])
        self.tools: dict[str, Tool[Any]] = {t.name: t for t in listed}
        self.definitions: list[dict[str, Any]] = [t.definition for t in self.tools.values()]
        """The definitions, for a request's ``tools``."""

    def _calls(self, message_or_calls: Any) -> list[dict[str, Any]]:
        uses = getattr(message_or_calls, "tool_uses", None)
        items = uses if uses is not None else message_or_calls
        return [_call_dict(c) for c in items]

    def _checked(self, call: dict[str, Any]) -> dict[str, Any] | None:
        try:
            self._set.check_call(call)
        except _creditpool.ToolInputInvalidError as e:
            return dict(e.tool_result or _error_result(call["id"], e.tool_result_text or str(e)))
        return None

    def respond(self, message_or_calls: Any) -> list[dict[str, Any]]:
        """The ``tool_result`` blocks for a message's ``tool_use`` calls (or a
        list of calls), in order, each tool run after the core checked its call."""
        out = []
        for call in self._calls(message_or_calls):
            refused = self._checked(call)
            out.append(refused if refused is not None else self.tools[call["name"]].respond(call))
        return out

    async def arespond(self, message_or_calls: Any) -> list[dict[str, Any]]:
        """Like ``respond``, with the calls running concurrently."""
        calls = self._calls(message_or_calls)

        async def one(call: dict[str, Any]) -> dict[str, Any]:
            refused = self._checked(call)
            return refused if refused is not None else await self.tools[call["name"]].arespond(call)

        return list(await asyncio.gather(*(one(c) for c in calls)))


def _schema_error(tool: str, parameter: str, reason: str) -> _creditpool.ToolDefinitionError:
    """A parameter whose type hint has no JSON Schema: the package's
    ``ToolDefinitionError`` (rule ``invalid_schema``), naming the tool and
    the parameter."""
    return typed_error(
        _creditpool.ToolDefinitionError,
        "invalid_tool_schema",
        f"tool {tool!r}, parameter {parameter!r}: {reason}",
        rule="invalid_schema",
        tool=tool,
        details={"parameter": parameter, "reason": reason},
    )


def _call_dict(call: Any) -> dict[str, Any]:
    to_dict = getattr(call, "to_dict", None)
    data = to_dict() if callable(to_dict) else call
    return {"id": str(data["id"]), "name": str(data["name"]), "input": data.get("input")}


def _error_result(tool_use_id: str, text: str) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": tool_use_id, "content": text, "is_error": True}


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
    """A tool's return value as ``tool_result`` content, by the core's one
    rule (``ToolOutput::content``): a string as is, ``None`` as empty text, a
    non-empty list of objects that each have a string ``type`` as content
    blocks, anything else as its JSON text. Dataclasses, enums and pydantic
    models are turned into JSON first."""
    out: str | list[dict[str, Any]] = _creditpool.tool_result_content(jsonable(result))
    return out


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data (dict, list, str, int, float, bool,
    None): dataclasses, enums, pydantic models and typed views converted."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    return json.loads(json.dumps(value, default=_default))


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
