"""Stubs of the native module ``creditpool._creditpool`` (checked against the
built module by ``mypy.stubtest``). Values cross as plain JSON-shaped data."""

from typing import Any, Iterable, Mapping, Sequence, final

__all__ = [
    "CreditpoolError",
    "APIError",
    "BadRequestError",
    "AuthenticationError",
    "BillingError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "RequestTooLargeError",
    "RateLimitError",
    "InternalServerError",
    "ServerTimeoutError",
    "OverloadedError",
    "APIConnectionError",
    "APITimeoutError",
    "ResponseParseError",
    "StreamError",
    "StreamIncompleteError",
    "StreamProtocolError",
    "StreamEventTooLargeError",
    "RequestBuildError",
    "InvalidOptionsError",
    "ToolDefinitionError",
    "ToolInputInvalidError",
    "PricingError",
    "UnknownModelError",
    "UnpricedModelError",
    "InvalidPriceError",
    "CapabilityError",
    "PartialJsonError",
    "InternalError",
    "__version__",
    "PRICES_AS_OF",
    "RequestBuilder",
    "MessagesCall",
    "DEFAULT_IDLE_TIMEOUT_MS",
    "default_call_options",
    "RetryPolicy",
    "MessageStream",
    "SseDecoder",
    "ToolSet",
    "PriceTable",
    "normalize_request",
    "json_round_trip",
    "parse_message",
    "parse_count_tokens",
    "rate_limit_info",
    "parse_partial_json",
    "check_tool",
    "check_tools",
    "check_capabilities",
    "usd_decimal_string",
    "format_usd",
]

__version__: str
PRICES_AS_OF: str

_Headers = Mapping[str, str] | Iterable[tuple[str, str]] | Iterable[Sequence[str]]
_Bytes = bytes | bytearray | memoryview | str

# Exceptions ---------------------------------------------------------------

class CreditpoolError(Exception):
    attempts: int | None
    give_up_reason: dict[str, Any] | None

class APIError(CreditpoolError):
    error_type: str | None
    status: int | None
    request_id: str | None
    message: str | None
    partial: dict[str, Any] | None

class BadRequestError(APIError): ...
class AuthenticationError(APIError): ...
class BillingError(APIError): ...
class PermissionDeniedError(APIError): ...
class NotFoundError(APIError): ...
class ConflictError(APIError): ...
class RequestTooLargeError(APIError): ...
class RateLimitError(APIError): ...
class InternalServerError(APIError): ...
class ServerTimeoutError(APIError): ...
class OverloadedError(APIError): ...
class APIConnectionError(CreditpoolError): ...

class APITimeoutError(APIConnectionError):
    phase: str | None

class ResponseParseError(CreditpoolError):
    reason: str | None

class StreamError(CreditpoolError):
    partial: dict[str, Any] | None

class StreamIncompleteError(StreamError):
    reason: str | None

class StreamProtocolError(StreamError):
    reason: str | None

class StreamEventTooLargeError(StreamError):
    size: int | None
    limit: int | None

class RequestBuildError(CreditpoolError, ValueError):
    kind: str | None

class InvalidOptionsError(CreditpoolError, ValueError):
    what: str | None

class ToolDefinitionError(CreditpoolError, ValueError):
    rule: str | None
    tool: str | None
    details: dict[str, Any] | None

class ToolInputInvalidError(CreditpoolError, ValueError):
    kind: str | None
    tool: str | None
    details: dict[str, Any] | None
    tool_result_text: str | None
    tool_result: dict[str, Any] | None

class PricingError(CreditpoolError):
    kind: str | None
    model: str | None

class UnknownModelError(PricingError): ...
class UnpricedModelError(PricingError): ...

class InvalidPriceError(PricingError, ValueError):
    value: str | None

class CapabilityError(CreditpoolError, ValueError):
    kind: str | None
    model: str | None
    details: dict[str, Any] | None

class PartialJsonError(CreditpoolError, ValueError):
    kind: str | None

class InternalError(CreditpoolError): ...

# Requests -----------------------------------------------------------------

@final
class RequestBuilder:
    def __new__(cls, api_key: str, options: Mapping[str, Any] | None = None) -> RequestBuilder: ...
    def messages(self, request: Mapping[str, Any], stream: bool = False) -> dict[str, Any]: ...
    def count_tokens(self, request: Mapping[str, Any]) -> dict[str, Any]: ...
    def options(self) -> dict[str, Any]: ...

# Calls --------------------------------------------------------------------

DEFAULT_IDLE_TIMEOUT_MS: int

def default_call_options() -> dict[str, Any]: ...

@final
class MessagesCall:
    def __new__(cls, builder: RequestBuilder, request: Mapping[str, Any], options: Mapping[str, Any] | None = None) -> MessagesCall: ...
    def next_action(self, now_ms: int) -> dict[str, Any]: ...
    def handle_head(self, status: int, headers: _Headers, now_ms: int) -> str: ...
    def handle_body(self, body: _Bytes, now_ms: int) -> None: ...
    def handle_chunk(self, data: _Bytes, now_ms: int) -> list[dict[str, Any]]: ...
    def handle_end(self, now_ms: int) -> list[dict[str, Any]]: ...
    def handle_transport_error(self, failure: Mapping[str, Any], now_ms: int) -> None: ...
    def is_reading(self) -> bool: ...
    def deadline(self) -> int | None: ...
    @property
    def attempt(self) -> int: ...
    def partial_message(self) -> dict[str, Any] | None: ...
    def last_attempt(self) -> dict[str, Any] | None: ...
    def take_result(self) -> dict[str, Any] | None: ...

def normalize_request(request: Mapping[str, Any]) -> dict[str, Any]: ...
def json_round_trip(value: Any) -> Any: ...

# Responses ----------------------------------------------------------------

def parse_message(status: int, headers: _Headers, body: bytes, max_body_bytes: int | None = None) -> dict[str, Any]: ...
def parse_count_tokens(status: int, headers: _Headers, body: bytes, max_body_bytes: int | None = None) -> int: ...
def rate_limit_info(headers: _Headers, now_ms: int) -> dict[str, Any]: ...

# Retries ------------------------------------------------------------------

@final
class RetryPolicy:
    def __new__(cls, policy: Mapping[str, Any] | None = None) -> RetryPolicy: ...
    def decide(
        self, attempt: int, failure: Mapping[str, Any], headers: _Headers | None, jitter_seed: int, now_ms: int
    ) -> dict[str, Any]: ...
    def to_dict(self) -> dict[str, Any]: ...
    @property
    def max_retries(self) -> int: ...

# Streams ------------------------------------------------------------------

@final
class MessageStream:
    def __new__(cls, max_event_bytes: int | None = None) -> MessageStream: ...
    def feed(self, data: _Bytes) -> None: ...
    def end_of_input(self) -> None: ...
    def next_event(self) -> dict[str, Any] | None: ...
    def events(self, data: _Bytes, end: bool = False) -> list[dict[str, Any]]: ...
    def message(self) -> dict[str, Any] | None: ...
    def partial_tool_input(self, index: int) -> Any | None: ...
    def finish(self) -> dict[str, Any]: ...

@final
class SseDecoder:
    def __new__(cls, max_event_bytes: int | None = None) -> SseDecoder: ...
    def feed(self, data: _Bytes) -> None: ...
    def next_event(self) -> dict[str, Any] | None: ...
    def finish(self) -> dict[str, Any] | None: ...

def parse_partial_json(text: str) -> tuple[Any, bool]: ...

# Tools --------------------------------------------------------------------

def check_tool(tool: Mapping[str, Any]) -> None: ...
def check_tools(tools: Sequence[Mapping[str, Any]]) -> None: ...

@final
class ToolSet:
    def __new__(cls, tools: Sequence[Mapping[str, Any]]) -> ToolSet: ...
    def check_call(self, call: Mapping[str, Any], truncated: bool = False) -> None: ...
    def check_input(self, name: str, input: Any) -> None: ...
    def names(self) -> list[str]: ...
    def get(self, name: str) -> dict[str, Any] | None: ...
    def __len__(self) -> int: ...

# Pricing ------------------------------------------------------------------

@final
class PriceTable:
    def __new__(cls, overrides: Sequence[Mapping[str, Any]] | None = None) -> PriceTable: ...
    @property
    def as_of(self) -> str: ...
    def model_ids(self) -> list[str]: ...
    def cost(self, model: str, usage: Mapping[str, Any], options: Mapping[str, Any] | None = None) -> dict[str, Any]: ...
    def worst_case(self, request: Mapping[str, Any], body_len: int, mode: Mapping[str, Any] | None = None) -> dict[str, Any]: ...
    def check_request(self, request: Mapping[str, Any]) -> None: ...

def check_capabilities(request: Mapping[str, Any]) -> None: ...

# Money --------------------------------------------------------------------

def usd_decimal_string(nanos: int) -> str: ...
def format_usd(nanos: int) -> str: ...
