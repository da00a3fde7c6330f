// Types of `creditpool/core`: the core's machinery for callers who drive it
// themselves (their own transport, their own pool store) or want a single
// rule. The shared data types are the main entry's.
import type {
  Completed,
  CreditpoolError,
  HeadersInit,
  Message,
  MessageCreateParams,
  MessageParam,
  RateLimitInfo,
  RetryPolicyJSON,
  StreamEvent,
  StreamRetryItem,
  ToolDefinition,
  ToolInputIssue,
  AgentOutcome,
  Client,
  Money,
  PoolOpJSON,
  PoolOpResultJSON,
  APIError,
  ToolResultBlock,
} from './index.js';

export {
  parsePartialJson,
  PriceTable,
  cost,
  worstCase,
  checkRequest,
  checkTool,
  checkTools,
  version,
  activityChart,
  CLASSES,
  CODES,
} from './index.js';

export interface HttpRequestJSON {
  method: string;
  path: string;
  /** Includes `x-api-key`: send it, do not log it. */
  headers: [string, string][];
  body: string;
  stream: boolean;
}

/** The core's request options (snake_case; unknown fields refused). */
export interface CoreRequestOptions {
  anthropic_version?: string;
  betas?: string[];
  browser?: boolean;
  pool_selector?: boolean | { field: string; value: unknown };
  extra_headers?: [string, string][];
}

export declare function buildRequest(spec: {
  apiKey: string;
  options?: CoreRequestOptions | null;
  request: MessageCreateParams;
  stream?: boolean;
  endpoint?: 'messages' | 'count_tokens';
}): HttpRequestJSON;
export declare function parseMessage(status: number, headers: HeadersInit, body: Uint8Array | string, options?: { maxBodyBytes?: number }): Message;
export declare function parseCountTokens(status: number, headers: HeadersInit, body: Uint8Array | string, options?: { maxBodyBytes?: number }): number;
export declare function parseErrorEvent(data: string): APIError;
export declare function rateLimitInfo(headers: HeadersInit, nowMs?: number | bigint): RateLimitInfo;

export type RetryDecisionJSON =
  | { decision: 'retry'; delay_ms: number; source: 'backoff' | 'server'; reason: Record<string, unknown> }
  | { decision: 'give_up'; reason: Record<string, unknown> };

export declare class RetryPolicy {
  constructor(policy?: RetryPolicyJSON | null);
  decide(spec: {
    attempt: number;
    failure: Record<string, unknown>;
    headers?: HeadersInit;
    jitterSeed: number | bigint;
    nowMs?: number | bigint;
  }): RetryDecisionJSON;
  backoffMs(attempt: number, jitterSeed: number | bigint): number;
  toJSON(): Required<RetryPolicyJSON>;
}

export interface SseEvent {
  event: string | null;
  data: string;
  id: string | null;
  retry: number | null;
}

export declare class SseDecoder {
  constructor(options?: { maxEventBytes?: number });
  feed(bytes: Uint8Array | string): void;
  next(): SseEvent | null;
  finish(): SseEvent | null;
}

export declare class MessageStreamParser {
  constructor(options?: { maxEventBytes?: number });
  feed(bytes: Uint8Array | string): void;
  endOfInput(): void;
  next(): StreamEvent | null;
  skipAvailable(): number;
  readonly message: Message | null;
  finish(): { message: Message; tool_input_issues: ToolInputIssue[] };
}

/** What a transport reports: `{type: "connection"}` whenever the connection failed. */
export type FailureJSON = { type: 'connection' } | { type: string; [field: string]: unknown };

export type CallAction =
  | { type: 'send'; request: HttpRequestJSON }
  | { type: 'wait'; until_ms: number; retry: StreamRetryItem | null }
  | { type: 'done' };

/** The core's call state machine (docs/ARCHITECTURE.md, "Driving a call"). */
export declare class MessagesCall {
  constructor(spec: { apiKey: string; requestOptions?: CoreRequestOptions | null; request: MessageCreateParams; options?: Record<string, unknown> | null });
  /** A count_tokens call; its result is `{input_tokens, attempts, request_id}`. */
  static countTokens(spec: { apiKey: string; requestOptions?: CoreRequestOptions | null; request: MessageCreateParams; options?: Record<string, unknown> | null }): MessagesCall;
  /** A webhook delivery with retries; its result is `{status, attempts}`. */
  static webhook(delivery: { body: string; headers?: [string, string][] }, options?: Record<string, unknown> | null): MessagesCall;
  nextAction(nowMs?: number): CallAction;
  handleHead(status: number, headers: HeadersInit, nowMs?: number): 'whole' | 'chunks';
  handleBody(body: Uint8Array | string, nowMs?: number): void;
  handleChunk(bytes: Uint8Array | string, nowMs?: number): StreamEvent[];
  handleEnd(nowMs?: number): StreamEvent[];
  handleTransportError(failure: FailureJSON, nowMs?: number): void;
  handleTimeout(nowMs?: number): boolean;
  readonly isReading: boolean;
  readonly deadline: number | null;
  readonly attempt: number;
  readonly partialMessage: Message | null;
  readonly lastAttempt: null | { outcome: 'succeeded' } | { outcome: 'failed'; error: CreditpoolError; decision: RetryDecisionJSON };
  takeResult(): Completed | { input_tokens: number; attempts: number; request_id: string | null } | { status: number; attempts: number } | null;
  free(): void;
}

export declare function parsePartialJsonText(text: string): { json: string; complete: boolean };
/** The class name the core raises for an error code. */
export declare function classForCode(code: string): string;
export declare function headerPairs(headers: HeadersInit): [string, string][];

export type AgentAction =
  | { type: 'pool'; op: PoolOpJSON }
  | { type: 'send'; request: { method: string; path: string } }
  | { type: 'call_tools'; calls: ToolCallJSON[] }
  | { type: 'wait'; until_ms: number; reason: 'retry' | 'rate_limited'; retry: StreamRetryItem | null }
  | { type: 'done' };

export interface ToolCallJSON {
  id: string;
  name: string;
  input: any;
}

/** What a tool did, as the core's `ToolOutput` JSON. */
export type ToolOutputJSON = { value: unknown } | { content: string | Record<string, unknown>[] } | { failed: string } | 'unknown';

export interface ToolResultJSON {
  tool_use_id: string;
  content: string | Record<string, unknown>[];
  is_error?: boolean;
}

/** The core's AgentRun, for callers who drive a run themselves (docs/ARCHITECTURE.md, "Driving an agent"). */
export declare class AgentRun {
  constructor(spec: { client: Client; config?: Record<string, unknown>; request: MessageCreateParams });
  nextAction(nowMs?: number): AgentAction;
  handlePool(result: PoolOpResultJSON, nowMs?: number): void;
  pollPool(nowMs?: number): PoolOpJSON | null;
  send(options?: { signal?: AbortSignal }): Promise<{ status: number; headers: [string, string][]; body: ReadableStream<Uint8Array> | null } | { failure: FailureJSON }>;
  handleHead(status: number, headers: [string, string][], nowMs?: number): 'whole' | 'chunks';
  handleBody(body: Uint8Array | string, nowMs?: number): void;
  handleChunk(bytes: Uint8Array | string, nowMs?: number): StreamEvent[];
  handleEnd(nowMs?: number): StreamEvent[];
  handleTransportError(failure: FailureJSON, nowMs?: number): void;
  handleTimeout(nowMs?: number): boolean;
  toolResult(call: ToolCallJSON, output: ToolOutputJSON): ToolResultJSON;
  handleToolResults(results: ToolResultJSON[]): void;
  readonly isReading: boolean;
  readonly deadline: number | null;
  readonly spent: Money;
  cancel(nowMs?: number): void;
  outcome(): AgentOutcome | null;
  outcomeError(): CreditpoolError | null;
  free(): void;
}



export declare class ToolValidator {
  constructor(tools: ToolDefinition[]);
  readonly names: string[];
  check(toolUse: { id: string; name: string; input: any }, options?: { truncated?: boolean }): void;
  refusal(toolUse: { id: string; name: string; input: any }, options?: { truncated?: boolean }): ToolResultBlock | null;
}

/** The core's Meter: the books of one call made through the official SDK's middleware (crates/creditpool-core/src/meter.rs). */
/** The core's book of message threads: one per middleware, shared by its Meters. */
export declare class ThreadBook {
  constructor(capacity?: number);
  readonly size: number;
}

export declare class Meter {
  constructor(
    config: { agent?: string; lease_ms?: number; estimate?: unknown; pool_selector?: unknown; max_retries?: number; unknown_thread?: 'context_window' | 'refuse' },
    body: string | Uint8Array,
    options?: { threads?: ThreadBook | 'pool'; nowMs?: number },
  );
  static applies(method: string, url: string): boolean;
  readonly body: string;
  readonly bodyChanged: boolean;
  readonly amount: { nanos: bigint; usd: string };
  beginAttempt(retriesTaken: number, maxRetries: number | null | undefined, nowMs: number): void;
  nextAction(nowMs: number): { type: 'pool'; op: { op: string; [k: string]: unknown } } | { type: 'wait'; until_ms: number } | { type: 'send' | 'idle' | 'done' };
  handlePool(result: { result: string; [k: string]: unknown }, nowMs: number): void;
  handleHead(status: number, headers: [string, string][], nowMs: number): 'whole' | 'chunks';
  handleBody(body: string | Uint8Array, nowMs: number): void;
  handleChunk(bytes: Uint8Array, nowMs: number): void;
  handleEnd(nowMs: number): void;
  handleTransportError(failure: 'not_sent' | 'lost', nowMs: number): void;
  abandon(nowMs: number): void;
  isReading(): boolean;
  summary(): { reservations: number; attempts: number; settled: number; estimated: number; done: boolean };
  free(): void;
}
