"""Typed views over the plain data the core returns.

The native module hands back dicts shaped exactly like the API's JSON. These
classes wrap such a dict and give attribute access with types: known fields are
properties, unknown fields stay reachable with ``obj["field"]`` or
``obj.get("field")``, and ``to_dict()`` returns the JSON as it came (a message
read and written back is the message that was sent). They are hand-written, not
pydantic models, and cost nothing until a field is read.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Iterator, Literal, Union, cast

from ._money import Money

__all__ = [
    "Model",
    "Usage",
    "TextBlock",
    "ToolUseBlock",
    "ThinkingBlock",
    "RedactedThinkingBlock",
    "ServerToolUseBlock",
    "WebSearchToolResultBlock",
    "UnknownBlock",
    "ContentBlock",
    "Message",
    "TextDelta",
    "InputJsonDelta",
    "ThinkingDelta",
    "SignatureDelta",
    "CitationsDelta",
    "UnknownDelta",
    "Delta",
    "MessageStartEvent",
    "ContentBlockStartEvent",
    "ContentBlockDeltaEvent",
    "ContentBlockStopEvent",
    "MessageDeltaEvent",
    "MessageStopEvent",
    "PingEvent",
    "UnknownEvent",
    "StreamRetryEvent",
    "FinalMessageEvent",
    "StreamEvent",
    "Cost",
    "block_from_dict",
    "delta_from_dict",
    "event_from_dict",
]


class Model:
    """A typed view over one JSON object; see the module documentation."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]) -> None:
        """Wraps ``data`` (not copied)."""
        self._data = data

    def to_dict(self) -> dict[str, Any]:
        """The JSON object as received (the same dict, not a copy)."""
        return self._data

    def __getitem__(self, key: str) -> Any:
        """A field by its JSON name, known or not."""
        return self._data[key]

    def __contains__(self, key: object) -> bool:
        """Whether the JSON object has the field."""
        return key in self._data

    def get(self, key: str, default: Any = None) -> Any:
        """A field by its JSON name, or ``default``."""
        return self._data.get(key, default)

    def __eq__(self, other: object) -> bool:
        """Equal when the same class holds equal JSON."""
        return isinstance(other, Model) and type(other) is type(self) and self._data == other._data

    def __hash__(self) -> int:
        """Views are mutable containers: identity hash."""
        return id(self)

    def __repr__(self) -> str:
        """The class name and the JSON."""
        return f"{type(self).__name__}({self._data!r})"


class Usage(Model):
    """A message's token usage. Figures are exact ints."""

    __slots__ = ()

    @property
    def input_tokens(self) -> int:
        """Uncached input tokens."""
        return int(self._data.get("input_tokens") or 0)

    @property
    def output_tokens(self) -> int:
        """Output tokens (including thinking)."""
        return int(self._data.get("output_tokens") or 0)

    @property
    def cache_creation_input_tokens(self) -> int | None:
        """Tokens written to the cache."""
        v = self._data.get("cache_creation_input_tokens")
        return None if v is None else int(v)

    @property
    def cache_read_input_tokens(self) -> int | None:
        """Tokens read from the cache."""
        v = self._data.get("cache_read_input_tokens")
        return None if v is None else int(v)

    @property
    def server_tool_use(self) -> dict[str, Any] | None:
        """Server tool calls (``web_search_requests``, ...)."""
        v = self._data.get("server_tool_use")
        return v if isinstance(v, dict) else None

    @property
    def service_tier(self) -> str | None:
        """``standard``, ``priority`` or ``batch``."""
        v = self._data.get("service_tier")
        return v if isinstance(v, str) else None


class _Block(Model):
    """A content block; ``type`` is its wire tag.

    A block of a message the core handed over unconverted (``Message`` over a
    ``LazyMessage``) holds ``_src``, the message and its index, and builds its
    dict on first use (the dict the message's ``to_dict()`` holds)."""

    __slots__ = ("_src",)
    _src: tuple[Any, int]

    @classmethod
    def _lazy(cls, native: Any, index: int) -> "_Block":
        """Block ``index`` of a ``LazyMessage``, its dict not built yet."""
        b = cls.__new__(cls)
        b._src = (native, index)
        return b

    def __getattr__(self, name: str) -> Any:
        """Builds ``_data`` of a lazy block on first use."""
        if name == "_data":
            try:
                native, index = object.__getattribute__(self, "_src")
            except AttributeError:
                pass
            else:
                data = native.block(index)
                self._data = data
                return data
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled and copied as the class and its dict."""
        return (type(self), (self._data,))

    @property
    def type(self) -> str:
        """The block's ``type`` tag."""
        return str(self._data.get("type", ""))


class TextBlock(_Block):
    """A ``text`` block."""

    __slots__ = ()

    @property
    def text(self) -> str:
        """The text."""
        return str(self._data.get("text", ""))

    @property
    def citations(self) -> list[dict[str, Any]] | None:
        """Citations supporting the text, as the API sent them."""
        v = self._data.get("citations")
        return v if isinstance(v, list) else None


class ToolUseBlock(_Block):
    """A ``tool_use`` block: the model calls a tool the caller defined."""

    __slots__ = ()

    @property
    def id(self) -> str:
        """The call's ID, echoed by the matching ``tool_result``."""
        return str(self._data["id"])

    @property
    def name(self) -> str:
        """The tool's name."""
        return str(self._data["name"])

    @property
    def input(self) -> Any:
        """The input (usually a dict)."""
        return self._data.get("input")


class ServerToolUseBlock(ToolUseBlock):
    """A ``server_tool_use`` block: a tool the API runs itself."""

    __slots__ = ()


class ThinkingBlock(_Block):
    """A ``thinking`` block."""

    __slots__ = ()

    @property
    def thinking(self) -> str:
        """The thinking text."""
        return str(self._data.get("thinking", ""))

    @property
    def signature(self) -> str:
        """The signature to send back unchanged."""
        return str(self._data.get("signature", ""))


class RedactedThinkingBlock(_Block):
    """A ``redacted_thinking`` block."""

    __slots__ = ()

    @property
    def data(self) -> str:
        """Opaque data to send back unchanged."""
        return str(self._data.get("data", ""))


class WebSearchToolResultBlock(_Block):
    """A ``web_search_tool_result`` block."""

    __slots__ = ()

    @property
    def tool_use_id(self) -> str:
        """The ``server_tool_use`` this answers."""
        return str(self._data.get("tool_use_id", ""))

    @property
    def content(self) -> Any:
        """The results (a list) or an error object."""
        return self._data.get("content")


class UnknownBlock(_Block):
    """A block type this version does not know, kept verbatim."""

    __slots__ = ()


ContentBlock = Union[
    TextBlock,
    ToolUseBlock,
    ServerToolUseBlock,
    ThinkingBlock,
    RedactedThinkingBlock,
    WebSearchToolResultBlock,
    UnknownBlock,
]

_BLOCKS: dict[str, type[_Block]] = {
    "text": TextBlock,
    "tool_use": ToolUseBlock,
    "server_tool_use": ServerToolUseBlock,
    "thinking": ThinkingBlock,
    "redacted_thinking": RedactedThinkingBlock,
    "web_search_tool_result": WebSearchToolResultBlock,
}


def block_from_dict(data: dict[str, Any]) -> ContentBlock:
    """The typed view of a content block dict."""
    cls = _BLOCKS.get(str(data.get("type", "")), UnknownBlock)
    return cls(data)  # type: ignore[return-value]


class Message(Model):
    """A message from the model (the response of ``messages.create``).

    ``messages.create`` hands over the core's parsed message unconverted
    (``_creditpool.LazyMessage``): a field or content block becomes a Python
    object when first read, and ``to_dict()`` builds the whole dict, the same
    one ``Message(dict)`` would hold (benches/RESULTS.md, issue 15)."""

    __slots__ = ("_content", "_native")

    def __init__(self, data: dict[str, Any]) -> None:
        """Wraps a message dict."""
        super().__init__(data)
        self._content: list[ContentBlock] | None = None
        self._native: Any = None

    @classmethod
    def _lazy(cls, native: Any) -> "Message":
        """A message over a ``LazyMessage`` (nothing converted yet)."""
        m = cls.__new__(cls)
        m._content = None
        m._native = native
        return m

    def __getattr__(self, name: str) -> Any:
        """``_data`` of a lazy message: its whole dict, built once. From then
        on every read goes through the dict, as for ``Message(dict)``."""
        if name == "_data":
            native = object.__getattribute__(self, "_native")
            if native is not None:
                data = native.to_dict()
                self._data = data
                self._native = None
                return data
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled and copied as the class and its dict."""
        return (type(self), (self._data,))

    def _get(self, key: str, default: Any = None) -> Any:
        native = self._native
        if native is None:
            return self._data.get(key, default)
        return native.get(key, default)

    def __getitem__(self, key: str) -> Any:
        """A field by its JSON name, known or not."""
        native = self._native
        if native is None or not isinstance(key, str):
            return self._data[key]
        return native[key]

    def __contains__(self, key: object) -> bool:
        """Whether the JSON object has the field."""
        native = self._native
        if native is None or not isinstance(key, str):
            return key in self._data
        return key in native

    def get(self, key: str, default: Any = None) -> Any:
        """A field by its JSON name, or ``default``."""
        return self._get(key, default)

    @property
    def id(self) -> str:
        """The message ID (``msg_...``)."""
        return str(self._get("id", ""))

    @property
    def type(self) -> str:
        """Always ``message``."""
        return str(self._get("type", "message"))

    @property
    def role(self) -> str:
        """Always ``assistant``."""
        return str(self._get("role", "assistant"))

    @property
    def model(self) -> str:
        """The model that answered."""
        return str(self._get("model", ""))

    @property
    def content(self) -> list[ContentBlock]:
        """The content blocks, typed."""
        if self._content is None:
            native = self._native
            if native is None:
                self._content = [block_from_dict(b) for b in self._data.get("content", [])]
            else:
                self._content = cast("list[ContentBlock]", [_BLOCKS.get(t, UnknownBlock)._lazy(native, i) for i, t in enumerate(native.block_types())])
        return self._content

    @property
    def stop_reason(self) -> str | None:
        """Why the model stopped (``end_turn``, ``tool_use``, ``pause_turn``, ...)."""
        v = self._get("stop_reason")
        return v if isinstance(v, str) else None

    @property
    def stop_sequence(self) -> str | None:
        """The stop sequence that matched, if any."""
        v = self._get("stop_sequence")
        return v if isinstance(v, str) else None

    @property
    def usage(self) -> Usage:
        """Token usage."""
        return Usage(self._get("usage") or {})

    @property
    def text(self) -> str:
        """The text of every text block, concatenated."""
        return "".join(b.text for b in self.content if isinstance(b, TextBlock))

    @property
    def tool_uses(self) -> list[ToolUseBlock]:
        """The ``tool_use`` blocks (not server tools), in order."""
        return [b for b in self.content if type(b) is ToolUseBlock]


class _Delta(Model):
    """The ``delta`` of a ``content_block_delta`` event."""

    __slots__ = ()

    @property
    def type(self) -> str:
        """The delta's ``type`` tag."""
        return str(self._data.get("type", ""))


class TextDelta(_Delta):
    """``text_delta``."""

    __slots__ = ()

    @property
    def text(self) -> str:
        """Text to append."""
        return str(self._data.get("text", ""))


class InputJsonDelta(_Delta):
    """``input_json_delta``: a piece of a tool input's JSON text."""

    __slots__ = ()

    @property
    def partial_json(self) -> str:
        """JSON text to append (not a JSON value on its own)."""
        return str(self._data.get("partial_json", ""))


class ThinkingDelta(_Delta):
    """``thinking_delta``."""

    __slots__ = ()

    @property
    def thinking(self) -> str:
        """Thinking text to append."""
        return str(self._data.get("thinking", ""))


class SignatureDelta(_Delta):
    """``signature_delta``."""

    __slots__ = ()

    @property
    def signature(self) -> str:
        """The thinking block's signature."""
        return str(self._data.get("signature", ""))


class CitationsDelta(_Delta):
    """``citations_delta``."""

    __slots__ = ()

    @property
    def citation(self) -> dict[str, Any]:
        """A citation to append."""
        v = self._data.get("citation")
        return v if isinstance(v, dict) else {}


class UnknownDelta(_Delta):
    """A delta type this version does not know (ignored by the accumulator)."""

    __slots__ = ()


Delta = Union[TextDelta, InputJsonDelta, ThinkingDelta, SignatureDelta, CitationsDelta, UnknownDelta]

_DELTAS: dict[str, type[_Delta]] = {
    "text_delta": TextDelta,
    "input_json_delta": InputJsonDelta,
    "thinking_delta": ThinkingDelta,
    "signature_delta": SignatureDelta,
    "citations_delta": CitationsDelta,
}


def delta_from_dict(data: dict[str, Any]) -> Delta:
    """The typed view of a delta dict."""
    return _DELTAS.get(str(data.get("type", "")), UnknownDelta)(data)  # type: ignore[return-value]


class _Event(Model):
    """One event of a message stream."""

    __slots__ = ()

    @property
    def type(self) -> str:
        """The event's ``type`` tag."""
        return str(self._data.get("type", ""))


class MessageStartEvent(_Event):
    """``message_start``: the message with empty content."""

    __slots__ = ()

    @property
    def message(self) -> Message:
        """The message so far."""
        return Message(self._data.get("message") or {})


class ContentBlockStartEvent(_Event):
    """``content_block_start``."""

    __slots__ = ()

    @property
    def index(self) -> int:
        """The block's position in ``content``."""
        return int(self._data.get("index", 0))

    @property
    def content_block(self) -> ContentBlock:
        """The block's initial value."""
        return block_from_dict(self._data.get("content_block") or {})


class ContentBlockDeltaEvent(_Event):
    """``content_block_delta``."""

    __slots__ = ()

    @property
    def index(self) -> int:
        """The block's position."""
        return int(self._data.get("index", 0))

    @property
    def delta(self) -> Delta:
        """The piece."""
        return delta_from_dict(self._data.get("delta") or {})


class ContentBlockStopEvent(_Event):
    """``content_block_stop``."""

    __slots__ = ()

    @property
    def index(self) -> int:
        """The block's position."""
        return int(self._data.get("index", 0))


class MessageDeltaEvent(_Event):
    """``message_delta``: top-level changes and cumulative usage."""

    __slots__ = ()

    @property
    def delta(self) -> dict[str, Any]:
        """``stop_reason``, ``stop_sequence`` and other top-level changes."""
        v = self._data.get("delta")
        return v if isinstance(v, dict) else {}

    @property
    def usage(self) -> dict[str, Any]:
        """Usage so far (cumulative: fields present overwrite)."""
        v = self._data.get("usage")
        return v if isinstance(v, dict) else {}


class MessageStopEvent(_Event):
    """``message_stop``."""

    __slots__ = ()


class PingEvent(_Event):
    """``ping``: keep-alive."""

    __slots__ = ()


class UnknownEvent(_Event):
    """An event type this version does not know (changes nothing)."""

    __slots__ = ()


class StreamRetryEvent(_Event):
    """Not from the API: the stream failed after events were delivered, and
    the core's retry policy decided to send the request again. Everything since
    the last ``message_start`` is void; a new ``message_start`` follows. The
    event is the core's (``RetryNotice::to_event``): ``attempt``,
    ``delay_ms``, ``code``, ``message``."""

    __slots__ = ()

    @property
    def attempt(self) -> int:
        """The attempt that failed (0-based)."""
        return int(self._data.get("attempt", 0))

    @property
    def delay_ms(self) -> int:
        """How long until the next attempt, in ms."""
        return int(self._data.get("delay_ms", 0))

    @property
    def code(self) -> str:
        """The failure's error code (``overloaded_error``,
        ``stream_incomplete``, ``idle_timeout``, ...; see docs/errors.md)."""
        return str(self._data.get("code", ""))

    @property
    def message(self) -> str:
        """The failure, for people."""
        return str(self._data.get("message", ""))

    @property
    def reason(self) -> dict[str, Any]:
        """Deprecated: the core's notice has no retry reason any more (read
        ``code``); an empty dict unless the event carries one."""
        v = self._data.get("reason")
        return v if isinstance(v, dict) else {}


class FinalMessageEvent(_Event):
    """Not from the API: the last item of every stream, holding the final
    message."""

    __slots__ = ("_message", "_issues")

    def __init__(self, message: Message, tool_input_issues: list[dict[str, Any]]) -> None:
        """The final message and any tool inputs that are cut off or malformed."""
        super().__init__({"type": "final_message", "message": message.to_dict(), "tool_input_issues": tool_input_issues})
        self._message = message
        self._issues = tool_input_issues

    @property
    def message(self) -> Message:
        """The final message."""
        return self._message

    @property
    def tool_input_issues(self) -> list[dict[str, Any]]:
        """Tool inputs that are cut off or malformed; never run those tools."""
        return self._issues


StreamEvent = Union[
    MessageStartEvent,
    ContentBlockStartEvent,
    ContentBlockDeltaEvent,
    ContentBlockStopEvent,
    MessageDeltaEvent,
    MessageStopEvent,
    PingEvent,
    UnknownEvent,
    StreamRetryEvent,
    FinalMessageEvent,
]

_EVENTS: dict[str, type[_Event]] = {
    "message_start": MessageStartEvent,
    "content_block_start": ContentBlockStartEvent,
    "content_block_delta": ContentBlockDeltaEvent,
    "content_block_stop": ContentBlockStopEvent,
    "message_delta": MessageDeltaEvent,
    "message_stop": MessageStopEvent,
    "ping": PingEvent,
    "stream_retry": StreamRetryEvent,
}


def event_from_dict(data: dict[str, Any]) -> StreamEvent:
    """The typed view of a stream event dict."""
    return _EVENTS.get(str(data.get("type", "")), UnknownEvent)(data)  # type: ignore[return-value]


CostComponent = Literal["input", "cache_write_5m", "cache_write_1h", "cache_read", "output", "web_search", "code_execution", "total"]


class Cost(Model):
    """A response's cost per component: ``total`` and ``amount(component)``
    as ``Money``, ``nanos(component)`` as int nano-USD."""

    __slots__ = ()

    def nanos(self, component: CostComponent = "total") -> int:
        """A component in int nano-USD (1 USD = 10**9)."""
        return int(self._data.get(component, 0))

    def amount(self, component: CostComponent = "total") -> Money:
        """A component as ``Money``."""
        return Money(nanos=self.nanos(component))

    @property
    def total(self) -> Money:
        """The total (``str()`` shows ``$0.0042``)."""
        return self.amount("total")

    @property
    def total_usd(self) -> Decimal:
        """The total in US dollars, exact."""
        return self.total.dollars

    @property
    def long_context(self) -> bool:
        """Whether a long-context tier applied."""
        return bool(self._data.get("long_context", False))

    @property
    def container_minutes(self) -> int:
        """Minutes of code execution container time in ``code_execution`` (0 when none)."""
        return int(self._data.get("container_minutes", 0))

    @property
    def estimated(self) -> bool:
        """Whether part of the cost was assumed rather than reported (container
        time: the API reports code execution calls, not time)."""
        return bool(self._data.get("estimated", False))

    def components(self) -> Iterator[tuple[str, Money]]:
        """Every component but the total, as ``(name, Money)``."""
        for k in ("input", "cache_write_5m", "cache_write_1h", "cache_read", "output", "web_search", "code_execution"):
            yield k, Money(nanos=int(self._data.get(k, 0)))

