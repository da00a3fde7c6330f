"""creditpool: the Anthropic Messages API with a programmatic credit pool.

A thin layer over the Rust core ``creditpool-core`` (the native module
``creditpool._creditpool``): the core builds requests, reads responses and
streams, decides retries, prices usage and validates tools; this package sends
and receives with httpx2, sleeps, and gives typed results and exceptions. ``Pool`` (a credit pool threads
share, with persistence, alerts and webhooks) and ``Agent`` (a tool loop that
draws on a pool store: ``PoolStore``, which ``Pool`` implements) drive the
core's pool and agent-run state machines the same way.
Money is one type, ``Money`` (exact int nano-USD inside): write amounts as
``usd("1.50")`` or ``nanos(1500)``; a bare number is never an amount.
"""

from __future__ import annotations

from . import _creditpool
from ._activity import VEGA_LITE_MIME, ActivityChart
from ._agent import Agent, AgentOutcome, ToolFailure, Turn
from ._client import AsyncClient, AsyncMessages, Client, Messages
from ._config import DEFAULT_BASE_URL, PoolSelector, Timeouts
from ._creditpool import (
    AgentCapError,
    AgentRunError,
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BudgetExhaustedError,
    BadRequestError,
    BillingError,
    CapabilityError,
    ClockJumpError,
    ConflictError,
    CreditpoolError,
    FairShareError,
    InternalError,
    InternalServerError,
    InvalidOptionsError,
    InvalidPriceError,
    MaxTurnsError,
    NotFoundError,
    OverloadedError,
    PartialJsonError,
    PermissionDeniedError,
    PoolConfigError,
    PoolError,
    PoolExhaustedError,
    PoolRateLimitedError,
    PoolRefusedError,
    PoolSelectorRejectedError,
    PoolSnapshotError,
    PoolStoreError,
    PriceTable,
    PricingError,
    RateLimitError,
    RedisConfigConflictError,
    RequestBuildError,
    RequestTooLargeError,
    ResponseParseError,
    SdkUnsupportedError,
    UnknownThreadError,
    ServerTimeoutError,
    StreamError,
    StreamEventTooLargeError,
    StreamIncompleteError,
    StreamProtocolError,
    StreamTooLargeError,
    ToolDefinitionError,
    ToolInputInvalidError,
    UnknownAgentError,
    UnknownModelError,
    UnknownParameterError,
    UnknownReservationError,
    UnpricedModelError,
    WebhookError,
    verify_webhook_signature,
)
from ._errors import MissingExtraError
from ._middleware import MIN_SDK_VERSION, middleware
from ._creditpool import ThreadBook
from ._money import NANOS_PER_USD, AmountLike, Money, format_usd, nanos, usd
from ._redis import AsyncRedisPool, RedisPool
from ._pool import (
    AgentPolicy,
    Alert,
    LedgerEntry,
    Pool,
    PoolReport,
    Released,
    Reservation,
    Settlement,
    Webhook,
    WebhookResult,
    iter_ledger_file,
)
from ._store import AsyncPoolStore, PoolStore
from ._streaming import AsyncMessageStream, MessageStream
from ._tools import Tool, Toolbox, tool, tool_result_content
from ._types import (
    CitationsDelta,
    ContentBlock,
    ContentBlockDeltaEvent,
    ContentBlockStartEvent,
    ContentBlockStopEvent,
    Cost,
    Delta,
    FinalMessageEvent,
    InputJsonDelta,
    Message,
    MessageDeltaEvent,
    MessageStartEvent,
    MessageStopEvent,
    PingEvent,
    RedactedThinkingBlock,
    ServerToolUseBlock,
    SignatureDelta,
    StreamEvent,
    StreamRetryEvent,
    TextBlock,
    TextDelta,
    ThinkingBlock,
    ThinkingDelta,
    ToolUseBlock,
    UnknownBlock,
    UnknownDelta,
    UnknownEvent,
    Usage,
    WebSearchToolResultBlock,
)

__version__: str = _creditpool.__version__
"""The package version (that of the native module)."""

PRICES_AS_OF: str = _creditpool.PRICES_AS_OF
"""The date of the built-in price table."""

__all__ = [
    "ActivityChart", "MissingExtraError", "VEGA_LITE_MIME",
    "middleware", "MIN_SDK_VERSION", "SdkUnsupportedError", "UnknownThreadError", "ThreadBook",
    "Agent", "AsyncPoolStore", "PoolStore", "AgentCapError", "AgentOutcome", "AgentPolicy", "AgentRunError", "Alert", "BudgetExhaustedError",
    "ClockJumpError", "FairShareError", "LedgerEntry", "MaxTurnsError", "Pool", "RedisPool", "AsyncRedisPool", "PoolConfigError", "PoolError", "PoolExhaustedError",
    "PoolRateLimitedError", "PoolRefusedError", "PoolReport", "PoolSnapshotError", "PoolStoreError", "RedisConfigConflictError", "Released", "Reservation",
    "Settlement", "Turn", "UnknownAgentError", "UnknownReservationError", "Webhook", "WebhookError", "WebhookResult",
    "iter_ledger_file", "nanos", "verify_webhook_signature",
    "APIConnectionError", "APIError", "APITimeoutError", "AsyncClient", "AsyncMessageStream", "AsyncMessages",
    "AuthenticationError", "BadRequestError", "BillingError", "CapabilityError", "CitationsDelta", "Client",
    "ConflictError", "ContentBlock", "ContentBlockDeltaEvent", "ContentBlockStartEvent", "ContentBlockStopEvent",
    "Cost", "CreditpoolError", "DEFAULT_BASE_URL", "Delta", "FinalMessageEvent", "InputJsonDelta", "InternalError",
    "InternalServerError", "InvalidOptionsError", "InvalidPriceError", "Message", "MessageDeltaEvent",
    "MessageStartEvent", "MessageStopEvent", "MessageStream", "Messages", "NANOS_PER_USD", "NotFoundError",
    "OverloadedError", "PRICES_AS_OF", "PartialJsonError", "PermissionDeniedError", "PingEvent", "PoolSelector", "PoolSelectorRejectedError",
    "PriceTable", "PricingError", "RateLimitError", "RedactedThinkingBlock", "RequestBuildError",
    "RequestTooLargeError", "ResponseParseError", "ServerTimeoutError", "ServerToolUseBlock", "SignatureDelta",
    "StreamError", "StreamEvent", "StreamEventTooLargeError", "StreamIncompleteError", "StreamProtocolError", "StreamTooLargeError",
    "StreamRetryEvent", "TextBlock", "TextDelta", "ThinkingBlock", "ThinkingDelta", "Timeouts", "Tool",
    "ToolDefinitionError", "ToolFailure", "ToolInputInvalidError", "Toolbox", "ToolUseBlock", "UnknownBlock", "UnknownDelta", "UnknownEvent",
    "UnknownModelError", "UnknownParameterError", "UnpricedModelError", "Usage", "WebSearchToolResultBlock", "format_usd", "tool",
    "tool_result_content", "usd", "Money", "AmountLike",
]
