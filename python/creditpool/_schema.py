"""JSON Schema from Python type hints, and tool inputs back into those types.

Supported: ``str``, ``int``, ``float``, ``bool``, ``None``, ``Any``, ``list`` /
``Sequence`` / ``set`` / ``tuple``, ``dict[str, X]``, ``Optional`` and unions,
``Literal``, ``Enum``, ``TypedDict``, dataclasses, ``Annotated[X, "description"]``,
and pydantic models when pydantic is installed (it is never required). Whether a
schema is acceptable, and whether an input matches it, is the core's call; this
module only translates.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import enum
import importlib
import sys
import types
import typing
from typing import Any, Literal, Union, get_args, get_origin

__all__ = ["SchemaError", "schema_for", "coerce"]


class SchemaError(TypeError):
    """A type hint that has no JSON Schema form."""


def _pydantic_base() -> type | None:
    mod = sys.modules.get("pydantic")
    if mod is None:
        try:
            mod = importlib.import_module("pydantic")
        except ImportError:
            return None
    base = getattr(mod, "BaseModel", None)
    return base if isinstance(base, type) else None


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__required_keys__")


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    t = schema.get("type")
    if isinstance(t, str) and set(schema) <= {"type", "description", "items", "additionalProperties", "format"}:
        return {**schema, "type": [t, "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def schema_for(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema of a type hint. Definitions of pydantic models land in
    ``defs`` (to be placed under ``$defs`` at the top)."""
    if tp is Any or tp is object:
        return {}
    if tp is None or tp is type(None):
        return {"type": "null"}
    if tp is str:
        return {"type": "string"}
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer"}
    if tp is float:
        return {"type": "number"}
    if tp is dict:
        return {"type": "object"}
    if tp in (list, tuple, set, frozenset):
        return {"type": "array"}
    origin = get_origin(tp)
    args = get_args(tp)
    if origin is typing.Annotated:
        inner = schema_for(args[0], defs)
        notes = [a for a in args[1:] if isinstance(a, str)]
        if notes:
            inner = {**inner, "description": " ".join(notes)}
        return inner
    if origin is Literal:
        values = list(args)
        out: dict[str, Any] = {"enum": values}
        kinds = {type(v) for v in values}
        names = {str: "string", int: "integer", bool: "boolean", float: "number"}
        if len(kinds) == 1 and next(iter(kinds)) in names:
            out = {"type": names[next(iter(kinds))], "enum": values}
        return out
    if origin is Union or origin is types.UnionType:
        members = [a for a in args if a is not type(None)]
        if len(members) == 1:
            inner = schema_for(members[0], defs)
            return _nullable(inner) if len(members) < len(args) else inner
        schemas = [schema_for(a, defs) for a in members]
        if len(members) < len(args):
            schemas.append({"type": "null"})
        return {"anyOf": schemas}
    if origin in (list, set, frozenset, collections.abc.Sequence, collections.abc.Iterable, collections.abc.Set, collections.abc.MutableSequence):
        out = {"type": "array"}
        if args:
            out["items"] = schema_for(args[0], defs)
        if origin in (set, frozenset, collections.abc.Set):
            out["uniqueItems"] = True
        return out
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": schema_for(args[0], defs)}
        if args == ((),):
            return {"type": "array", "maxItems": 0}
        items = [schema_for(a, defs) for a in args]
        return {"type": "array", "prefixItems": items, "items": False, "minItems": len(items), "maxItems": len(items)}
    if origin in (dict, collections.abc.Mapping, collections.abc.MutableMapping):
        if args and args[0] is not str:
            raise SchemaError(f"dict keys must be str in a tool schema, not {args[0]!r}")
        out = {"type": "object"}
        if len(args) == 2:
            out["additionalProperties"] = schema_for(args[1], defs)
        return out
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return schema_for(Literal[tuple(m.value for m in tp)], defs)
    if _is_typeddict(tp):
        hints = typing.get_type_hints(tp, include_extras=True)
        props = {k: schema_for(v, defs) for k, v in hints.items()}
        required = [k for k in hints if k in tp.__required_keys__]
        return {"type": "object", "properties": props, "required": required, "additionalProperties": False}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp, include_extras=True)
        props = {}
        required = []
        for f in dataclasses.fields(tp):
            props[f.name] = schema_for(hints.get(f.name, Any), defs)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                required.append(f.name)
        return {"type": "object", "properties": props, "required": required, "additionalProperties": False}
    base = _pydantic_base()
    if base is not None and isinstance(tp, type) and issubclass(tp, base):
        schema: dict[str, Any] = dict(tp.model_json_schema(ref_template="#/$defs/{model}"))  # type: ignore[attr-defined]
        for k, v in schema.pop("$defs", {}).items():
            defs[k] = v
        return schema
    raise SchemaError(f"no JSON Schema for the type hint {tp!r}")


def coerce(value: Any, tp: Any) -> Any:
    """A validated JSON value turned into the annotated type: dataclasses,
    enums, pydantic models and tuples are built; everything else passes as is."""
    if value is None:
        return None
    origin = get_origin(tp)
    args = get_args(tp)
    if origin is typing.Annotated:
        return coerce(value, args[0])
    if origin is Union or origin is types.UnionType:
        members = [a for a in args if a is not type(None)]
        return coerce(value, members[0]) if len(members) == 1 else value
    if origin in (list, collections.abc.Sequence, collections.abc.Iterable, collections.abc.MutableSequence) and args and isinstance(value, list):
        return [coerce(v, args[0]) for v in value]
    if origin in (set, frozenset) and isinstance(value, list):
        return origin(coerce(v, args[0]) if args else v for v in value)
    if origin is tuple and isinstance(value, list):
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(coerce(v, args[0]) for v in value)
        return tuple(coerce(v, a) for v, a in zip(value, args))
    if origin in (dict, collections.abc.Mapping) and len(args) == 2 and isinstance(value, dict):
        return {k: coerce(v, args[1]) for k, v in value.items()}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(value)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp) and isinstance(value, dict):
        hints = typing.get_type_hints(tp)
        return tp(**{k: coerce(v, hints.get(k, Any)) for k, v in value.items()})
    base = _pydantic_base()
    if base is not None and isinstance(tp, type) and issubclass(tp, base):
        return tp.model_validate(value)  # type: ignore[attr-defined]
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value
