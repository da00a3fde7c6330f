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
    "StreamTooLargeError",
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
    "PoolRefusedError",
    "PoolExhaustedError",
    "AgentCapError",
    "PoolRateLimitedError",
    "FairShareError",
    "UnknownAgentError",
    "PoolError",
    "UnknownReservationError",
    "PoolConfigError",
    "PoolSnapshotError",
    "PoolStoreError",
    "WebhookError",
    "AgentRunError",
    "MaxTurnsError",
    "BudgetExhaustedError",
    "InternalError",
    "class_for_code",
    "error_codes",
    "error_classes",
    "__version__",
    "PRICES_AS_OF",
    "RequestBuilder",
    "MessagesCall",
    "DEFAULT_IDLE_TIMEOUT_MS",
    "default_call_options",
    "default_webhook_options",
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
    "tool_result_content",
    "tool_text",
    "check_capabilities",
    "usd_decimal_string",
    "format_usd",
    "Pool",
    "AgentRun",
    "webhook_delivery",
    "verify_webhook_signature",
    "WEBHOOK_SIGNATURE_HEADER",
    "WEBHOOK_TIMESTAMP_HEADER",
    "WEBHOOK_IDEMPOTENCY_KEY_HEADER",
    "parse_ledger_jsonl",
    "activity_from_ledger",
    "activity_from_report",
    "activity_from_pool",
    "activity_chart",
    "standalone_html",
    "VEGA_LITE_VERSION",
    "VEGA_VERSION",
    "VEGA_EMBED_VERSION",
]

__version__: str
PRICES_AS_OF: str

_Headers = Mapping[str, str] | Iterable[tuple[str, str]] | Iterable[Sequence[str]]
_Bytes = bytes | bytearray | memoryview | str

# Exceptions ---------------------------------------------------------------

class CreditpoolError(Exception):
    code: str | None
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
class APIConnectionError(CreditpoolError):
    partial: dict[str, Any] | None

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

class StreamTooLargeError(StreamError):
    limit: int | None

class RequestBuildError(CreditpoolError, ValueError):
    kind: str | None

class InvalidOptionsError(CreditpoolError, ValueError):
    what: str | None
    line: int | None

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

class PoolRefusedError(CreditpoolError):
    reason: str | None
    agent: str | None
    requested: int | None
    details: dict[str, Any] | None
    retry_at_ms: int | None
    retry_at: float | None

class PoolExhaustedError(PoolRefusedError):
    available: int | None

class AgentCapError(PoolRefusedError):
    cap: int | None
    spent: int | None
    reserved: int | None

class PoolRateLimitedError(PoolRefusedError):
    which: str | None

class FairShareError(PoolRefusedError):
    share: int | None
    held: int | None
    active_agents: int | None

class UnknownAgentError(PoolRefusedError): ...
class PoolError(CreditpoolError): ...

class UnknownReservationError(PoolError):
    id: int | None

class PoolStoreError(PoolError): ...

class PoolConfigError(PoolError, ValueError):
    reason: str | None

class PoolSnapshotError(PoolError, ValueError):
    reason: str | None
    version: int | None

class WebhookError(CreditpoolError): ...

class AgentRunError(CreditpoolError):
    status: str | None

class MaxTurnsError(AgentRunError):
    max_turns: int | None

class BudgetExhaustedError(AgentRunError):
    needed: int | None
    remaining: int | None

class InternalError(CreditpoolError): ...

def class_for_code(code: str) -> str: ...
def error_codes() -> list[tuple[str, str]]: ...
def error_classes() -> list[tuple[str, str | None, str, bool]]: ...

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
def default_webhook_options() -> dict[str, Any]: ...

@final
class MessagesCall:
    def __new__(cls, builder: RequestBuilder, request: Mapping[str, Any], options: Mapping[str, Any] | None = None) -> MessagesCall: ...
    @staticmethod
    def count_tokens(builder: RequestBuilder, request: Mapping[str, Any], options: Mapping[str, Any] | None = None) -> MessagesCall: ...
    @staticmethod
    def webhook(delivery: Mapping[str, Any], options: Mapping[str, Any] | None = None) -> MessagesCall: ...
    def next_action(self, now_ms: int) -> dict[str, Any]: ...
    def handle_head(self, status: int, headers: _Headers, now_ms: int) -> str: ...
    def handle_body(self, body: _Bytes, now_ms: int) -> None: ...
    def handle_chunk(self, data: _Bytes, now_ms: int) -> list[dict[str, Any]]: ...
    def handle_end(self, now_ms: int) -> list[dict[str, Any]]: ...
    def handle_transport_error(self, failure: Mapping[str, Any], now_ms: int) -> None: ...
    def is_reading(self) -> bool: ...
    def deadline(self) -> int | None: ...
    def handle_timeout(self, now_ms: int) -> bool: ...
    @property
    def attempt(self) -> int: ...
    @property
    def max_body_bytes(self) -> int: ...
    def partial_message(self) -> dict[str, Any] | None: ...
    def last_attempt(self) -> dict[str, Any] | None: ...
    def take_result(self) -> dict[str, Any] | None: ...
    def take_output(self) -> dict[str, Any] | None: ...

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
def tool_result_content(value: Any) -> str | list[dict[str, Any]]: ...
def tool_text(kind: str, name: str, error: str = "") -> str: ...

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

# The pool ------------------------------------------------------------------

WEBHOOK_SIGNATURE_HEADER: str
WEBHOOK_TIMESTAMP_HEADER: str
WEBHOOK_IDEMPOTENCY_KEY_HEADER: str

@final
class Pool:
    def __new__(cls, config: Mapping[str, Any], now_ms: int) -> Pool: ...
    @staticmethod
    def restore_json(json: str) -> Pool: ...
    def snapshot_json(self) -> str: ...
    def config(self) -> dict[str, Any]: ...
    def reserve(self, agent: str, amount: int, now_ms: int, lease_ms: int | None = None) -> dict[str, Any]: ...
    def settle(self, id: int, cost: int, now_ms: int, attribution: Mapping[str, Any] | None = None) -> dict[str, Any]: ...
    def release(self, id: int, now_ms: int) -> dict[str, Any]: ...
    def tick(self, now_ms: int) -> dict[str, Any]: ...
    def set_limit(self, limit: int, now_ms: int) -> None: ...
    def set_agent_policy(self, agent: str, policy: Mapping[str, Any], now_ms: int) -> None: ...
    def report(self, now_ms: int) -> dict[str, Any]: ...
    def next_deadline_ms(self) -> int: ...
    def totals(self) -> dict[str, Any]: ...
    def marker(self) -> tuple[int, int]: ...
    def poll_events(self) -> list[dict[str, Any]]: ...
    def poll_ledger(self) -> list[tuple[str, dict[str, Any]]]: ...
    def apply(self, op: Mapping[str, Any]) -> dict[str, Any]: ...

def webhook_delivery(alert: Mapping[str, Any], secret: bytes) -> dict[str, Any]: ...
def verify_webhook_signature(secret: bytes, body: bytes, signature: str) -> bool: ...

# Activity charts (creditpool_core::activity) ------------------------------

VEGA_LITE_VERSION: str
VEGA_VERSION: str
VEGA_EMBED_VERSION: str

def parse_ledger_jsonl(text: str) -> list[dict[str, Any]]: ...
def activity_from_ledger(
    entries: Iterable[Mapping[str, Any]],
    options: Mapping[str, Any] | None = None,
    refusals: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]: ...
def activity_from_report(report: Mapping[str, Any], options: Mapping[str, Any] | None = None) -> dict[str, Any]: ...
def activity_from_pool(pool: Pool, now_ms: int) -> dict[str, Any]: ...
def activity_chart(activity: Mapping[str, Any]) -> dict[str, Any]: ...
def standalone_html(spec: Mapping[str, Any], title: str, scripts: tuple[str, str, str] | None = None) -> str: ...

# Agent runs ---------------------------------------------------------------

@final
class AgentRun:
    def __new__(cls, config: Mapping[str, Any], request: Mapping[str, Any], builder: RequestBuilder, prices: PriceTable) -> AgentRun: ...
    def next_action(self, now_ms: int) -> dict[str, Any]: ...
    def handle_pool(self, result: Mapping[str, Any], now_ms: int) -> None: ...
    def poll_pool(self, now_ms: int) -> dict[str, Any] | None: ...
    def handle_head(self, status: int, headers: _Headers, now_ms: int) -> str: ...
    def handle_body(self, body: _Bytes, now_ms: int) -> None: ...
    def handle_chunk(self, data: _Bytes, now_ms: int) -> list[dict[str, Any]]: ...
    def handle_end(self, now_ms: int) -> list[dict[str, Any]]: ...
    def handle_transport_error(self, failure: Mapping[str, Any], now_ms: int) -> None: ...
    def handle_timeout(self, now_ms: int) -> bool: ...
    def handle_tool_results(self, results: Sequence[Mapping[str, Any]]) -> None: ...
    def tool_result(self, call: Mapping[str, Any], output: Any) -> dict[str, Any]: ...
    def cancel(self, now_ms: int) -> None: ...
    def is_reading(self) -> bool: ...
    def deadline(self) -> int | None: ...
    def is_done(self) -> bool: ...
    @property
    def max_body_bytes(self) -> int: ...
    @property
    def spent(self) -> int: ...
    @property
    def agent_id(self) -> str: ...
    def transcript(self) -> list[dict[str, Any]]: ...
    def outcome(self) -> dict[str, Any] | None: ...
    def error(self) -> CreditpoolError | None: ...
