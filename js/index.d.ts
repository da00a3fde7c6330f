// Types of the creditpool npm package (hand-written; the wasm glue's own
// types are internal). Data objects keep the Messages API's JSON shape
// (snake_case); amounts of money are `Money`.

// ---------------------------------------------------------------- data

/**
 * An exact amount of money, never negative: the one shape of every amount
 * the package takes or gives. Make one with `usd(...)` (dollars) or
 * `nanos(...)` (whole nano-dollars, 1 USD = 10^9).
 */
export declare class Money {
  private constructor();
  /** Exact nano-USD. */
  readonly nanos: bigint;
  /** For display: dollars with at least two decimals (`"$1.50"`, `"$0.000015"`). */
  readonly usd: string;
  /** The exact dollars, no needless digit (`"1.5"`, `"0"`). */
  readonly dollars: string;
  /** Zero dollars. */
  static readonly ZERO: Money;
  toString(): string;
  /** `"$1.5"`: exact, and accepted back as an amount. */
  toJSON(): string;
  equals(other: Money): boolean;
  compare(other: Money): -1 | 0 | 1;
  plus(other: Money): Money;
  /** Throws an InvalidOptionsError below zero. */
  minus(other: Money): Money;
  times(k: number | bigint): Money;
  isZero(): boolean;
}

/** What an amount option takes: a `Money`, or a string with its dollar sign (`"$5"`). A bare number is refused. */
export type Amount = Money | `$${string}`;

/**
 * Dollars as Money, exact: `usd(5)`, `usd('0.50')`, `usd('$0.50')`, `usd(0.1)`
 * (a number by its shortest text). Finer than a nano-dollar, negative, not
 * finite or too large throws an InvalidOptionsError; nothing is rounded.
 */
export declare function usd(dollars: number | bigint | string): Money;
/** Whole nano-dollars as Money: `nanos(1500)`, `nanos(1500n)`. */
export declare function nanos(n: number | bigint): Money;

export type Role = 'user' | 'assistant';

export interface TextBlock {
  type: 'text';
  text: string;
  citations?: unknown[] | null;
  [key: string]: unknown;
}
export interface ToolUseBlock {
  type: 'tool_use';
  id: string;
  name: string;
  input: any;
  [key: string]: unknown;
}
export interface ToolResultBlock {
  type: 'tool_result';
  tool_use_id: string;
  content?: string | ContentBlock[];
  is_error?: boolean;
  [key: string]: unknown;
}
export interface ThinkingBlock {
  type: 'thinking';
  thinking: string;
  signature: string;
  [key: string]: unknown;
}
/** Any other block type, kept as sent. */
export interface OtherBlock {
  type: string;
  [key: string]: unknown;
}
export type ContentBlock = TextBlock | ToolUseBlock | ToolResultBlock | ThinkingBlock | OtherBlock;

export interface MessageParam {
  role: Role;
  content: string | ContentBlock[];
}

/** A tool as sent in a request's `tools`: custom (`input_schema`) or server (`type`). */
export interface ToolDefinition {
  name: string;
  description?: string;
  input_schema?: Record<string, unknown>;
  type?: string;
  cache_control?: Record<string, unknown>;
  [key: string]: unknown;
}

/** The body of `POST /v1/messages` (`stream` is set by the client). */
export interface MessageCreateParams {
  model: string;
  max_tokens: number;
  messages: MessageParam[];
  system?: string | TextBlock[];
  tools?: ToolDefinition[];
  tool_choice?: Record<string, unknown>;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  stop_sequences?: string[];
  metadata?: Record<string, unknown>;
  thinking?: Record<string, unknown>;
  service_tier?: string;
  inference_geo?: string;
  stream?: boolean;
  container?: unknown;
  mcp_servers?: Record<string, unknown>[];
  context_management?: Record<string, unknown>;
  output_config?: Record<string, unknown>;
  output_format?: Record<string, unknown>;
  speed?: string;
  thread?: Record<string, unknown>;
  cache_control?: Record<string, unknown>;
  fallbacks?: Record<string, unknown>[];
  /**
   * Fields newer than this library, sent as given (as the official SDKs'
   * `extra_body`). Any other name is refused with `UnknownParameterError`
   * before anything is sent; a field above may not be repeated here.
   */
  extra_body?: Record<string, unknown>;
}

export interface Usage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation?: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number } | null;
  server_tool_use?: Record<string, unknown> | null;
  service_tier?: string | null;
  inference_geo?: string | null;
  [key: string]: unknown;
}

export type StopReason =
  | 'end_turn'
  | 'max_tokens'
  | 'stop_sequence'
  | 'tool_use'
  | 'pause_turn'
  | 'refusal'
  | 'model_context_window_exceeded'
  | (string & {});

export interface Message {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: ContentBlock[];
  stop_reason: StopReason | null;
  stop_sequence: string | null;
  usage: Usage;
  [key: string]: unknown;
}

/** An event of the Messages API stream (`message_start`, `content_block_delta`, ...). */
export interface StreamEvent {
  type: string;
  [key: string]: unknown;
}

/**
 * Not an API event: the core's retry notice (`RetryNotice::to_event`). A
 * retried stream starts over: discard what was shown since the last
 * message_start.
 */
export interface StreamRetryItem {
  type: 'stream_retry';
  /** The attempt that failed, 0-based. */
  attempt: number;
  /** How long until the next attempt, ms. */
  delay_ms: number;
  /** The failure's error code. */
  code: string;
  /** The failure, for people. */
  message: string;
}

export interface ToolInputIssue {
  index: number;
  id: string;
  name: string;
  kind: 'truncated' | 'malformed';
  detail?: string;
  raw_json: string;
}

export interface RateLimitBucket {
  limit: number | null;
  remaining: number | null;
  reset_at_ms: number | null;
}

export interface RateLimitInfo {
  requests: RateLimitBucket;
  tokens: RateLimitBucket;
  input_tokens: RateLimitBucket;
  output_tokens: RateLimitBucket;
  retry_after_ms: number | null;
  should_retry: boolean | null;
  request_id: string | null;
}

export interface Completed {
  message: Message;
  tool_input_issues: ToolInputIssue[];
  attempts: number;
  request_id: string | null;
  rate_limit: RateLimitInfo;
}

/** The core's retry policy (every field optional; unknown fields refused). */
export interface RetryPolicyJSON {
  max_retries?: number;
  max_retry_after_ms?: number;
  initial_backoff_ms?: number;
  max_backoff_ms?: number;
  jitter?: number;
}

/** Headers as the core reads them, or anything convertible. */
export type HeadersInit = [string, string][] | Headers | Record<string, string> | null | undefined;

// ---------------------------------------------------------------- client

export interface ClientOptions {
  /** Default: `ANTHROPIC_API_KEY` (Node). Never shown in errors, logs or string forms. */
  apiKey?: string;
  /** Default: `ANTHROPIC_BASE_URL` (Node) or `https://api.anthropic.com`. */
  baseURL?: string;
  /** `false` sends none; default `"credit_pool": "programmatic"`. */
  poolSelector?: false | true | { field: string; value: unknown };
  betas?: string[];
  anthropicVersion?: string;
  defaultHeaders?: HeadersInit;
  maxRetries?: number;
  retry?: RetryPolicyJSON;
  /** Time allowed for a response's headers (and a whole non-streamed body), ms; 0: none. Default 600000. */
  timeout?: number;
  /** Time a stream may stay silent, ms; 0: none. Default 600000. */
  idleTimeout?: number;
  /** One deadline for a whole call, every attempt and retry wait included, ms; 0 or absent: none. Past it the call throws an APITimeoutError with code `total_timeout` (phase `total`), not retried. */
  totalTimeout?: number;
  /** Refuse parameters the model is known to reject, before sending. Default true. */
  checkCapabilities?: boolean;
  /** Required in a browser: the key is visible to anyone who can open the page. */
  dangerouslyAllowBrowser?: boolean;
  /** Prices for models the built-in table does not price (or new prices), applied in order; the client's agents use them. */
  priceOverrides?: { model: string; prices: ModelPricesJSON }[];
}

export interface RequestOptions {
  signal?: AbortSignal;
}

export declare class Client {
  constructor(options?: ClientOptions);
  readonly messages: Messages;
  readonly baseURL: string;
  readonly retryPolicy: Required<RetryPolicyJSON>;
  toString(): string;
  toJSON(): { baseURL: string; apiKey: '****' };
}

export declare class Messages {
  create(params: MessageCreateParams & { stream?: false }, options?: RequestOptions): Promise<Message>;
  create(params: MessageCreateParams & { stream: true }, options?: RequestOptions): Promise<MessageStream>;
  stream(params: MessageCreateParams, options?: RequestOptions): MessageStream;
  countTokens(params: MessageCreateParams, options?: RequestOptions): Promise<number>;
}

export declare class MessageStream implements AsyncIterable<StreamEvent | StreamRetryItem> {
  /** Resolves once the response has begun (after any retries). */
  readonly opened: Promise<void>;
  [Symbol.asyncIterator](): AsyncIterator<StreamEvent | StreamRetryItem>;
  finished(): Promise<Completed>;
  finalMessage(): Promise<Message>;
  finalText(): Promise<string>;
  readonly currentMessage: Message | null;
  readonly requestId: string | null;
  readonly headers: [string, string][] | null;
  readonly attempts: number;
  abort(): void;
}

// ---------------------------------------------------------------- tools

export interface ToolContext {
  id: string;
  name: string;
  signal?: AbortSignal;
}

export interface ToolSpec<I = any> {
  name: string;
  description: string;
  /** A JSON Schema of `"type": "object"`. */
  inputSchema: Record<string, unknown>;
  /** Returns a string, content blocks, or any JSON value (sent as JSON text). */
  run: (input: I, context: ToolContext) => unknown | Promise<unknown>;
  cacheControl?: Record<string, unknown>;
}

export declare class Tool<I = any> {
  constructor(spec: ToolSpec<I>);
  readonly name: string;
  readonly definition: Readonly<ToolDefinition>;
  runValidated(input: I, context: ToolContext): unknown | Promise<unknown>;
}

export declare function tool<I = any>(spec: ToolSpec<I>): Tool<I>;

export declare class Toolbox {
  /** `onToolError`: called for every tool that throws (log it there); the model reads only the core's words. */
  constructor(tools?: Tool[], options?: { onToolError?: (failure: ToolFailure) => void });
  readonly definitions: ToolDefinition[];
  readonly names: string[];
  run(toolUse: ToolUseBlock, options?: { truncated?: boolean; signal?: AbortSignal }): Promise<ToolResultBlock>;
  runAll(message: Message, options?: { toolInputIssues?: ToolInputIssue[]; signal?: AbortSignal }): Promise<ToolResultBlock[]>;
}

// ---------------------------------------------------------------- the core's functions

export declare function parsePartialJson(text: string): { value: any; complete: boolean };

export interface CostBreakdown {
  input: Money;
  cache_write_5m: Money;
  cache_write_1h: Money;
  cache_read: Money;
  output: Money;
  web_search: Money;
  /** Code execution container time (an assumed duration: see `estimated`). */
  code_execution: Money;
  total: Money;
  long_context: boolean;
  /** Minutes of container time counted (0 when none). */
  container_minutes: number;
  /** Part of the cost (container time) was assumed, not reported. */
  estimated: boolean;
}

export interface CostOptions {
  batch?: boolean;
  inference_geo?: string | null;
  refused_before_output?: boolean;
  stop_reason?: StopReason | null;
  /** The request's code execution is billed by container time (no web search/fetch tool dated 20260209 or later). */
  container_billed?: boolean;
  /** The request preloads files onto the container (`container_upload` blocks). */
  container_files?: boolean;
  /** Minutes of container time counted (default 5, the billing minimum; at most 43,200). */
  container_minutes?: number | null;
}

export interface Estimate {
  input_tokens_bound: number;
  output_tokens_bound: number;
  cost: Money;
  may_overshoot: boolean;
  /** Minutes of code execution container time assumed per attempt (0: not billed by time). */
  container_minutes: number;
  /** What that container time adds to `cost`. */
  container_cost: Money;
  notes: string[];
}

export type EstimateMode = { type: 'bound' } | { type: 'heuristic' } | { type: 'exact'; input_tokens: number };

/** Decimal strings, USD per million tokens. */
export interface ModelPricesJSON {
  input: string;
  cache_write_5m: string;
  cache_write_1h: string;
  cache_read: string;
  output: string;
  long_context?: { threshold_input_tokens: number; prices: Omit<ModelPricesJSON, 'long_context' | 'inference_geo_us'> };
  inference_geo_us?: boolean;
}

export declare class PriceTable {
  /** The built-in, dated table. */
  constructor();
  static fromJSON(json: string | object): PriceTable;
  readonly asOf: string;
  readonly modelIds: string[];
  withOverride(model: string, prices: ModelPricesJSON): PriceTable;
  cost(model: string, usage: Usage, options?: CostOptions | null): CostBreakdown;
  worstCase(request: MessageCreateParams, bodyLen: number, mode?: EstimateMode | null): Estimate;
  checkRequest(request: MessageCreateParams): void;
}

export declare function cost(model: string, usage: Usage, options?: CostOptions | null): CostBreakdown;
export declare function worstCase(request: MessageCreateParams, bodyLen: number, mode?: EstimateMode | null): Estimate;
export declare function checkRequest(request: MessageCreateParams): void;
export declare function checkTool(tool: ToolDefinition): void;
export declare function checkTools(tools: ToolDefinition[]): void;


// ---- The credit pool ----

/** An amount in nano-USD going in: a bigint, or a safe integer. */
/** @deprecated amounts are `Amount` (`usd(...)`, `nanos(...)`); raw core JSON (`PoolOpJSON`) stays integer nano-USD. */
export type Nanos = bigint | number;

/** The core's PoolConfig JSON (amounts in integer nano-USD). See docs/JS.md. */
export interface PoolConfig {
  pool_id?: string;
  limit: Amount;
  cycle?: { kind: 'monthly'; anchor_day?: number } | { kind: 'fixed'; start_ms: number; length_ms: number } | Record<string, unknown>;
  lease_ms?: number;
  late_settle_window_ms?: number;
  alerts?: { thresholds_pct?: number[]; on_committed?: boolean; burn_rate?: Record<string, unknown> | null };
  agents?: Record<string, AgentPolicy>;
  default_agent?: AgentPolicy;
  /** Unset: a pool that names its agents refuses others (UnknownAgentError), one that names none allows all. `true`: others reserve under `default_agent`. */
  allow_unknown_agents?: boolean | null;
  fair_share?: { when_committed_pct?: number; active_window_ms?: number } | null;
  report_bucket_ms?: number;
  report_top?: number;
}

/** The core's AgentPolicy JSON. */
export interface AgentPolicy {
  cap?: { kind: 'absolute'; amount: Amount } | { kind: 'share'; basis_points: number } | null;
  weight?: number;
  credits_per_minute?: Amount | null;
  requests_per_minute?: number | null;
}

/** An alert the pool fired. */
export interface PoolAlert {
  /** `threshold`, `committed_threshold` or `projected_exhaustion`. */
  kind: string;
  percent: number | null;
  /** The webhook payload (docs/webhook.schema.json). */
  payload: Record<string, any>;
  /** The webhook body's exact text. */
  body: string;
}

export interface PoolOptions {
  now?: () => number;
  onAlert?: (alert: PoolAlert) => void;
  onLedger?: (entry: Record<string, any>, line: string) => void;
  webhooks?: { url: string; secret: string }[];
  /** A failed delivery; `origin` is the webhook URL's scheme://host[:port] (never its path), `index` its place in `webhooks`. */
  onWebhookError?: (error: unknown, alert: PoolAlert, origin: string, index: number) => void;
  /** How many webhook deliveries run at once (default 4); the rest wait in order. */
  webhookConcurrency?: number;
  /**
   * A callback that threw (`source`: `onAlert`, `onLedger`, `onWebhookError`)
   * or a ledger-file append that failed (`ledgerFile`, a PoolStoreError with
   * code `file_io`), after the operation's result was kept. Default: a
   * console.warn that shows no secret.
   */
  onError?: (error: unknown, info: { source: 'onAlert' | 'onLedger' | 'onWebhookError' | 'ledgerFile'; entry?: Record<string, any> }) => void;
  /** Node only: every ledger entry is appended to this file as one JSON line. */
  ledgerFile?: string;
  fetch?: typeof fetch;
}

export interface PoolReservation {
  id: number;
  amount: Money;
  expiresAtMs: number;
}

export type PoolSettlement =
  | { id: number; duplicate: false; reserved: Money; cost: Money; refunded: Money; overrun: Money; late: boolean; ledgerSeq: number }
  | { id: number; duplicate: true };

export type PoolRelease = { id: number; duplicate: false; amount: Money; ledgerSeq: number } | { id: number; duplicate: true };

export interface PoolUsage {
  limit: Money;
  settled: Money;
  reserved: Money;
  overrun: Money;
}

/** A credit pool shared by agents. */
export declare class Pool implements PoolStore {
  constructor(config: PoolConfig, options?: PoolOptions);
  /** A pool shared through Redis (Node, ioredis): the same as `RedisPool.connect`. */
  static connect(url: string, options: RedisConnectOptions): Promise<RedisPool>;
  static restore(snapshot: string, options?: PoolOptions): Pool;
  readonly alerts: PoolAlert[];
  onAlert(fn: (alert: PoolAlert) => void): this;
  onLedger(fn: (entry: Record<string, any>, line: string) => void): this;
  /** Waits for the webhook deliveries under way or queued; with a deadline (ms), rejects with a WebhookTimeoutError when it passes. */
  flush(deadline?: number | { timeoutMs?: number }): Promise<void>;
  /** Stops webhook delivery and waits for what is pending; with a deadline (ms), abandons it then and rejects with a WebhookTimeoutError. */
  close(deadline?: number | { timeoutMs?: number }): Promise<void>;
  reserve(agent: string, amount: Amount, options?: { leaseMs?: number }): PoolReservation;
  settle(id: number, cost: Amount, attribution?: Record<string, unknown> | null): PoolSettlement;
  release(id: number): PoolRelease;
  /** Throws `ClockJumpError` when the clock is further ahead of the pool's latest time than `max_clock_jump_ms` (nothing changes). */
  tick(): { expired: number[]; rolledOver: boolean };
  /** Accepts the clock however far ahead (the resume after a `ClockJumpError`), then ticks. */
  advanceClock(): { expired: number[]; rolledOver: boolean };
  setLimit(limit: Amount): void;
  setAgentPolicy(agent: string, policy: AgentPolicy): void;
  apply(op: PoolOpJSON): PoolOpResultJSON;
  /** The report for the current cycle, every amount a Money; `chart()` is its activity dashboard with this pool's thresholds. */
  report(): PoolReport;
  /** The pool's activity dashboard now (the core's `Activity::from_pool`), a Vega-Lite v5 specification. */
  chart(): VegaLiteSpec;
  readonly usage: PoolUsage;
  readonly nextDeadlineMs: number;
  snapshot(): string;
}

// ---- A pool in Redis (Node only) ----

/** How to join a pool in Redis (`RedisPool.join`). */
export interface RedisJoinOptions {
  /** The pool's name (its keys' hash tag: `cp:{name}:...`). */
  name: string;
  /** `"server"` (the default: Redis `TIME` is the fleet's one clock) or `"given"` (each op's `now_ms`; tests). */
  clock?: 'server' | 'given';
  /** FCALL on a Functions library or EVALSHA; by default Functions where the server has them. */
  scriptMode?: 'function' | 'eval';
  /** An ioredis client to use instead of the URL. */
  client?: unknown;
  /** Options for `new Redis(url, options)`. */
  redisOptions?: Record<string, unknown>;
}

/** How to create or join a pool in Redis (`RedisPool.connect`, `Pool.connect`). */
export interface RedisConnectOptions extends RedisJoinOptions {
  /** The pool's configuration: created with it, or joined if the stored one is the same. */
  config: PoolConfig;
  /** Replace a different stored configuration (else a RedisConfigConflictError). */
  update?: boolean;
  /** The creation time with the given clock. */
  createdAtMs?: number;
}

/** An alert read from a Redis pool's outbox stream. */
export interface RedisPoolAlert extends PoolAlert {
  /** What a receiver deduplicates by (`pool_id:cycle_start:kind:percent`). */
  idempotencyKey: string;
  occurred_at_ms: number;
  /** With `secrets`: for each, the headers of a signed webhook delivery. */
  deliveries?: [string, string][][];
  [field: string]: unknown;
}

/**
 * A pool that lives in Redis, shared by processes, machines and languages
 * (Node with the optional peer dependency ioredis; browsers have no Redis:
 * `connect` rejects there with an InvalidOptionsError, `kind`
 * `redis_unsupported`). A PoolStore: `Agent` takes it as it takes a `Pool`.
 */
export declare class RedisPool implements PoolStore {
  private constructor();
  static connect(url: string, options: RedisConnectOptions): Promise<RedisPool>;
  static join(url: string, options: RedisJoinOptions): Promise<RedisPool>;
  apply(op: PoolOpJSON): Promise<PoolOpResultJSON>;
  /** `apply` with an explicit reserve idempotency key (a repeat answers the reservation already made). */
  applyKeyed(op: PoolOpJSON, key?: string | null): Promise<PoolOpResultJSON>;
  nextKey(): string;
  readonly name: string;
  readonly config: PoolConfig;
  readonly scriptMode: 'function' | 'eval';
  /** The ioredis client. */
  readonly client: any;
  report(): Promise<PoolOpResultJSON>;
  /** Ledger entries (the file ledger's JSON) after stream ID `after`: `[id, entry]` pairs. */
  ledger(after?: string, count?: number): Promise<[string, Record<string, any>][]>;
  /** Removes the ledger entries through stream ID `through` (archive them first); how many went. */
  trimLedger(through: string): Promise<number>;
  /** Alerts in the outbox after stream ID `after` (no consumer group). */
  alerts(after?: string, count?: number, options?: { secrets?: string[] | null; nowMs?: number }): Promise<[string, RedisPoolAlert][]>;
  /** Alerts for `consumer` to deliver (claimed from a dead consumer after `minIdleMs`, then new ones); `ack` each once delivered. */
  nextAlerts(consumer: string, options?: { group?: string; minIdleMs?: number; count?: number }): Promise<[string, RedisPoolAlert][]>;
  ack(ids: string[], options?: { group?: string }): Promise<void>;
  /** One round of delivery through the consumer group: how many alerts `deliver` took (at least once; deduplicate by `idempotencyKey`). */
  deliverAlerts(consumer: string, deliver: (alert: RedisPoolAlert) => unknown, options?: { group?: string; minIdleMs?: number; count?: number }): Promise<number>;
  close(): Promise<void>;
}

// ---- The agent loop ----

/**
 * A pool store: what an Agent applies its pool operations to. `apply` takes
 * one of the core's `PoolOp`s (`reserve`, `settle`, `release`, `extend`) and
 * returns its `OpResult` JSON, or a promise of it. `Pool` is one (in memory);
 * browsers have no shared (Redis) store.
 */
export interface PoolStore {
  apply(op: PoolOpJSON): PoolOpResultJSON | Promise<PoolOpResultJSON>;
}

/** One of the core's pool operations (`PoolOp` JSON, tagged by `op`; amounts in integer nano-USD). */
export type PoolOpJSON = { op: string; [field: string]: unknown };
/** The core's `OpResult` JSON, tagged by `result`. */
export type PoolOpResultJSON = { result: string; [field: string]: unknown };

export interface AgentOptions {
  client: Client;
  /** A Pool, or any PoolStore. */
  pool: PoolStore;
  agentId: string;
  model: string;
  tools?: Tool[];
  maxTurns?: number;
  /** The run's own budget: `usd('0.10')`. */
  maxSpend?: Amount;
  /** Default: the core's (`AgentConfig.max_tokens`, 1024). */
  maxTokens?: number;
  system?: string | Record<string, unknown>[];
  /** Stream each model call (default: the core's, streaming). */
  stream?: boolean;
  /** More of the core's AgentConfig JSON (`estimate`, `lease_ms`, `call`, `texts`). */
  config?: Record<string, unknown>;
  /** More request fields by their API names (`temperature`, ...; newer ones in `extra_body`): an unknown name throws `UnknownParameterError`. */
  params?: Partial<MessageCreateParams>;
  /** The clock (default the Pool's, else `Date.now`). */
  now?: () => number;
  /** Called for every tool that throws (the error keeps its stack); also listed in the outcome's `toolFailures`. */
  onToolError?: (failure: ToolFailure) => void;
  /** The `{error}` text of a tool that threw (default its message); the model reads it only if `config.texts.tool_failed` contains `{error}`. */
  toolError?: (error: unknown) => string;
}

/** A tool that threw during a run: the thrown value and its stack (the model read only the core's words). */
export interface ToolFailure {
  readonly tool: string;
  readonly callId: string;
  readonly error: unknown;
  /** The error's `stack` (the thrown value's text when it has none). */
  readonly stack: string;
}

/** The core's record of a call whose tool threw (which call only; the error is in `toolFailures`). */
export interface ToolFailureRecord {
  readonly call_id: string;
  readonly tool: string;
}

/** How a run ended. */
export type AgentStatus = 'completed' | 'stopped' | 'max_turns' | 'budget_exhausted' | 'pool_refused' | 'failed' | 'invalid' | 'cancelled';

/** A response's cost by component (the core's `CostBreakdown`), each a Money. */
export interface TurnCost {
  readonly input: Money;
  readonly cache_write_5m: Money;
  readonly cache_write_1h: Money;
  readonly cache_read: Money;
  readonly output: Money;
  readonly web_search: Money;
  /** Code execution container time (assumed minutes: see `estimated`). */
  readonly code_execution: Money;
  readonly total: Money;
  readonly long_context?: boolean;
  /** Minutes of container time counted (0 when none). */
  readonly container_minutes?: number;
  /** Part of the cost (container time) was assumed, not reported by the API. */
  readonly estimated?: boolean;
}

/** One model call of a run. */
export interface AgentTurn {
  readonly request_id: string | null;
  readonly model: string;
  readonly stop_reason: string | null;
  readonly usage: Usage;
  readonly cost: TurnCost;
  readonly reserved: Money;
  readonly attempts: number;
  readonly attribution: Record<string, unknown>;
  readonly tool_calls: string[];
  /** The calls of this turn whose tool threw (the core's record). */
  readonly tool_failures: readonly ToolFailureRecord[];
  /** The same calls with what was thrown and its stack. */
  readonly toolFailures: readonly ToolFailure[];
}

/**
 * How a run ended (the same as Python's `AgentOutcome`): every amount a
 * Money, `error` the typed error the status stands for.
 */
export declare class AgentOutcome {
  private constructor();
  readonly status: AgentStatus;
  /** Whether the model finished (`completed`). */
  readonly ok: boolean;
  /** The typed error the status stands for: a PoolRefusedError subclass, the call's APIError subclass, MaxTurnsError, BudgetExhaustedError, ...; null for completed, stopped and cancelled. */
  readonly error: CreditpoolError | null;
  /** @deprecated the same as `error`. */
  readonly exception: CreditpoolError | null;
  /** The error's stable code, for a status that ends with an error. */
  readonly code: string | null;
  readonly agent_id: string;
  readonly final_text: string;
  readonly final_message: Message | null;
  /** For `stopped`: the model's stop reason. */
  readonly stop_reason: string | null;
  /** For `max_turns`: the limit. */
  readonly max_turns: number | null;
  /** For `budget_exhausted`: the next request's worst case and what was left of `maxSpend`. */
  readonly needed: Money | null;
  readonly remaining: Money | null;
  /** For `pool_refused`: the refusal (the same object as `error`). */
  readonly refusal: PoolRefusedError | null;
  /** For `failed`: the API error type and HTTP status, when there were any, and a stream's partial message. */
  readonly api_error_type: string | null;
  readonly http_status: number | null;
  readonly partial: Message | null;
  readonly turns: readonly AgentTurn[];
  readonly total_cost: Money;
  /** Of `total_cost`, what was settled at a worst case (a cut stream). */
  readonly estimated_cost: Money;
  readonly usage: Usage;
  /** Cost per tool (definitions, calls and results), largest first. */
  readonly tool_costs: Readonly<Record<string, Money>>;
  /** What is not charged to a tool. */
  readonly conversation_cost: Money;
  readonly transcript: MessageParam[];
  /** Every tool that threw during the run. */
  readonly toolFailures: readonly ToolFailure[];
  /** Throws `error` if there is one; returns the outcome otherwise. */
  raiseForStatus(): this;
  /** The core's Outcome JSON (amounts in integer nano-USD). */
  toJSON(): Record<string, unknown>;
}

/** An agent drawing on a pool; `run()` runs each batch of tool calls concurrently. */
export declare class Agent {
  constructor(options: AgentOptions);
  readonly agentId: string;
  run(prompt: string | MessageParam[], options?: { signal?: AbortSignal }): Promise<AgentOutcome>;
}

export declare function version(): string;
/** A pool ledger's activity as one Vega-Lite v5 specification (the core's `activity`). */
export declare function activityChart(ledger: Record<string, unknown>[], options?: ActivityOptions | null): VegaLiteSpec;

// ---- Activity charts (docs/ACTIVITY.md) ----
/** A Vega-Lite v5 specification, exactly the core's JSON (data inline). */
export type VegaLiteSpec = Record<string, any>;
/** The core's `ActivityOptions` JSON (strict: unknown keys are an InvalidOptionsError). */
export interface ActivityOptions {
  /** The limit, a Money (without it, spend is drawn without limit and thresholds). */
  limit?: Amount;
  /** Default `[50, 75, 90, 100]`. */
  thresholds_pct?: number[];
  /** The cycle to draw (default: the latest in the ledger). */
  cycle_start_ms?: number;
  title?: string;
}
/** One agent in a report. */
export interface ReportAgent {
  readonly agent: string;
  readonly settled: Money;
  readonly reserved: Money;
  readonly requests: number;
  readonly refusals: number;
  /** Its cap this cycle; null without one. */
  readonly cap: Money | null;
}
/** One model in a report. */
export interface ReportModel {
  readonly model: string;
  readonly cost: Money;
  readonly requests: number;
  readonly tokens: Record<string, number>;
}
/** One tool in a report, by part. */
export interface ReportTool {
  readonly tool: string;
  readonly definition: Money;
  readonly uses: Money;
  readonly result: Money;
  readonly total: Money;
  readonly definition_requests: number;
}
/** A name and an amount. */
export interface ReportConsumer {
  readonly name: string;
  readonly cost: Money;
}
/** A pool's report for the current cycle (the core's Report), every amount a Money, with its dashboard. */
export declare class PoolReport {
  private constructor();
  readonly pool_id: string;
  readonly at_ms: number;
  readonly cycle: { start_ms: number; end_ms: number };
  readonly limit: Money;
  readonly settled: Money;
  readonly reserved: Money;
  readonly available: Money;
  readonly overrun: Money;
  readonly requests: number;
  readonly conversation: Money;
  readonly agents: readonly ReportAgent[];
  readonly models: readonly ReportModel[];
  readonly tools: readonly ReportTool[];
  readonly top: { readonly agents: readonly ReportConsumer[]; readonly tools: readonly ReportConsumer[]; readonly models: readonly ReportConsumer[] };
  readonly definition_overhead: readonly { readonly tool: string; readonly cost: Money; readonly requests: number; readonly per_request: Money }[];
  readonly bucket_ms: number;
  readonly series: readonly { readonly start_ms: number; readonly cost: Money; readonly requests: number }[];
  readonly history: readonly { readonly start_ms: number; readonly end_ms: number; readonly limit: Money; readonly settled: Money; readonly overrun: Money; readonly requests: number; readonly agents: readonly ReportConsumer[] }[];
  /** This report's activity dashboard, drawn by the core with the pool's thresholds. */
  chart(): VegaLiteSpec;
  /** A short plain-text summary. */
  text(): string;
  /** The core's Report JSON (amounts in integer nano-USD). */
  toJSON(): Record<string, unknown>;
}
/**
 * The activity dashboard of any ledger: entries (as `onLedger` hands them
 * out, or `{entry, line}`) or a JSON Lines ledger file's text. A bad line
 * throws an InvalidOptionsError (`what` `ledger`, `line`).
 */
export declare function activityChartFromLedger(
  ledger: Record<string, unknown>[] | { entry: Record<string, unknown>; line: string }[] | string,
  options?: ActivityOptions | null,
): VegaLiteSpec;
/** What vega-embed resolves to (the parts used here). */
export interface ActivityView {
  view: any;
  spec: any;
  finalize(): void;
}
/**
 * Draws an activity spec into `element` with vega-embed (SVG by default).
 * `vegaEmbed`: the function (or module); without it `import('vega-embed')`,
 * else a global `vegaEmbed`, else a MissingDependencyError.
 */
export declare function renderActivity(
  element: object | string,
  spec: VegaLiteSpec,
  options?: { vegaEmbed?: ((el: any, spec: any, opts?: any) => Promise<any>) | { default: (el: any, spec: any, opts?: any) => Promise<any> }; embedOptions?: Record<string, unknown> },
): Promise<ActivityView>;

// ---------------------------------------------------------------- errors
//
// The classes are the core's (crates/creditpool-core/src/codes.rs, CLASSES),
// with the same names and parents as in Python; docs/errors.md lists every
// code and its class.

/** The base class of every error creditpool throws. */
export declare class CreditpoolError extends Error {
  constructor(message: string, fields?: Record<string, unknown>);
  /** The core's stable error code (docs/errors.md). */
  readonly code: string;
  /** The kind the package has always reported (kept for compatibility; prefer `code`). */
  readonly type: string;
  /** Set on a call's final error: attempts made. */
  readonly attempts?: number;
  /** Set when the retry policy gave up: the core's GiveUpReason JSON. */
  readonly giveUp?: Record<string, unknown>;
  toJSON(): Record<string, unknown>;
  [field: string]: unknown;
}

/** An error the API reported; `type` is the API's error type. */
export declare class APIError extends CreditpoolError {
  /** The HTTP status; null for an `error` event mid-stream. */
  readonly status: number | null;
  readonly requestId: string | null;
  readonly apiMessage: string;
  /** The message a failed stream had received (from the core). */
  readonly partial: Message | null;
}
export declare class BadRequestError extends APIError {}
/** The API does not know the pool selector field (400 `credit_pool: Extra inputs are not permitted`): switch it off with `poolSelector: false` or rename it. */
export declare class PoolSelectorRejectedError extends BadRequestError {
  /** The selector's field name. */
  readonly field: string;
}
export declare class AuthenticationError extends APIError {}
export declare class BillingError extends APIError {}
export declare class PermissionDeniedError extends APIError {}
export declare class NotFoundError extends APIError {}
export declare class ConflictError extends APIError {}
export declare class RequestTooLargeError extends APIError {}
export declare class RateLimitError extends APIError {}
export declare class InternalServerError extends APIError {}
export declare class ServerTimeoutError extends APIError {}
export declare class OverloadedError extends APIError {}

export declare class APIConnectionError extends CreditpoolError {
  readonly partial?: Message | null;
}
export declare class APITimeoutError extends APIConnectionError {
  readonly phase: 'connect' | 'read' | 'idle';
}
export declare class ResponseParseError extends CreditpoolError {}
export declare class StreamError extends CreditpoolError {
  readonly partial?: Message | null;
}
export declare class StreamIncompleteError extends StreamError {
  readonly partial: Message | null;
}
export declare class StreamProtocolError extends StreamError {}
export declare class StreamEventTooLargeError extends StreamError {}
export declare class RequestBuildError extends CreditpoolError {
  readonly kind: string;
}
/** A request parameter the Messages API does not have (often a misspelling): nothing was sent. */
export declare class UnknownParameterError extends RequestBuildError {
  /** The name as written. */
  readonly parameter: string;
  /** The closest known name, or null. */
  readonly suggestion: string | null;
}
export declare class InvalidOptionsError extends CreditpoolError {
  readonly kind?: string;
}
export declare class ToolDefinitionError extends CreditpoolError {
  readonly rule: string;
  readonly tool: string;
}
export declare class ToolInputInvalidError extends CreditpoolError {
  readonly kind: 'unknown_tool' | 'invalid_input' | 'truncated';
  readonly tool: string;
  readonly toolResultText: string;
  readonly errors?: { path: string; message: string }[];
  readonly omitted?: number;
  readonly known?: string[];
}
export declare class PricingError extends CreditpoolError {
  readonly kind: string;
}
export declare class UnknownModelError extends PricingError {
  readonly model: string;
  /** The known model closest to `model`, if one is close enough. */
  readonly suggestion: string | null;
}
export declare class UnpricedModelError extends PricingError {}
export declare class InvalidPriceError extends PricingError {}
export declare class CapabilityError extends CreditpoolError {
  readonly kind: string;
  readonly model: string;
}
export declare class PartialJsonError extends CreditpoolError {
  readonly kind: 'syntax' | 'incomplete' | 'too_deep' | 'non_finite';
}
export declare class PoolRefusedError extends CreditpoolError {
  /** Why the pool refused (the same fields as Python's `PoolRefusedError`). */
  readonly reason: 'pool_exhausted' | 'agent_cap' | 'rate_limited' | 'fair_share' | 'unknown_agent';
  /** The core's refusal JSON (amounts in integer nano-USD). */
  readonly details: Record<string, unknown>;
}
export declare class PoolExhaustedError extends PoolRefusedError {
  readonly requested: Money;
  readonly available: Money;
}
export declare class AgentCapError extends PoolRefusedError {
  readonly agent: string;
  readonly cap: Money;
  readonly spent: Money;
  readonly reserved: Money;
  readonly requested: Money;
}
export declare class PoolRateLimitedError extends PoolRefusedError {
  readonly which: 'credits' | 'requests';
  /** Unix ms when the same request is admitted. */
  readonly retryAtMs: number;
  /** @deprecated The same as `retryAtMs` (Unix ms). */
  readonly retryAt: number;
}
export declare class FairShareError extends PoolRefusedError {
  readonly share: Money;
  readonly held: Money;
  readonly requested: Money;
}
export declare class UnknownAgentError extends PoolRefusedError {
  readonly agent: string;
  /** The agents the pool names, in name order. */
  readonly known: string[];
  /** The named agent closest to `agent`, if one is close enough. */
  readonly suggestion?: string;
}
export declare class PoolError extends CreditpoolError {}
export declare class UnknownReservationError extends PoolError {
  readonly id: number;
}
export declare class PoolConfigError extends PoolError {}
export declare class PoolSnapshotError extends PoolError {}
/** A time further ahead of the pool's latest than `max_clock_jump_ms` (code `clock_jump`): nothing changed; `advanceClock()` resumes. */
export declare class ClockJumpError extends PoolError {
  readonly now_ms: number;
  readonly last_now_ms: number;
  readonly max_clock_jump_ms: number;
}
/** A process joined a Redis pool with another configuration than the pool's own (code `redis_config_conflict`; docs/REDIS.md). */
export declare class RedisConfigConflictError extends PoolError {}
/** The pool store failed (a file, a remote store): code `pool_store` or `file_io`. */
export declare class PoolStoreError extends PoolError {}
/** An alert's webhook could not be delivered (code `webhook_delivery`). */
export declare class WebhookError extends CreditpoolError {}
export declare class AgentRunError extends CreditpoolError {}
export declare class MaxTurnsError extends AgentRunError {}
export declare class BudgetExhaustedError extends AgentRunError {}
export declare class InternalError extends CreditpoolError {}

/** The caller aborted (code `aborted`; not in the core's table yet). `reason` (and `cause`): the AbortSignal's reason, whatever it was. */
export declare class AbortError extends CreditpoolError {
  reason?: unknown;
}
/** `pool.flush(ms)` / `pool.close(ms)` passed the deadline with deliveries pending (code `webhook_timeout`; not in the core's table yet). */
export declare class WebhookTimeoutError extends WebhookError {
  pending: number;
  timeoutMs: number;
}
/** An optional package a feature needs is missing (code `missing_dependency`), e.g. `vega-embed` for `renderActivity`. */
export declare class MissingDependencyError extends CreditpoolError {
  dependency: string;
}
/** An object used by two calls at once (code `busy`; not in the core's table yet). */
export declare class BusyError extends CreditpoolError {}
/** A JS argument of the wrong shape (code `invalid_options`). */
export declare class InvalidArgumentError extends InvalidOptionsError {}

/** @deprecated Use `BadRequestError` (the same class). */
export declare const InvalidRequestError: typeof BadRequestError;
/** @deprecated Use `BadRequestError` (the same class). */
export type InvalidRequestError = BadRequestError;
/** @deprecated Use `APIConnectionError` (the same class). */
export declare const ConnectionError: typeof APIConnectionError;
/** @deprecated Use `APIConnectionError` (the same class). */
export type ConnectionError = APIConnectionError;
/** @deprecated Use `APITimeoutError` (the same class). */
export declare const ConnectionTimeoutError: typeof APITimeoutError;
/** @deprecated Use `APITimeoutError` (the same class). */
export type ConnectionTimeoutError = APITimeoutError;
/** @deprecated Use `ResponseParseError` (the same class). */
export declare const ResponseError: typeof ResponseParseError;
/** @deprecated Use `ResponseParseError` (the same class). */
export type ResponseError = ResponseParseError;
/** @deprecated Use `ToolInputInvalidError` (the same class). */
export declare const ToolInputError: typeof ToolInputInvalidError;
/** @deprecated Use `ToolInputInvalidError` (the same class). */
export type ToolInputError = ToolInputInvalidError;
/** @deprecated `instanceof ConfigurationError` is true for a RequestBuildError or an InvalidOptionsError. */
export declare class ConfigurationError extends CreditpoolError {
  readonly kind: string;
}

/** The core's error classes, parents first. */
export declare const CLASSES: readonly { name: string; parent: string | null; doc: string; value_error: boolean }[];
/** Every error code of the core and the name of the class it raises. */
export declare const CODES: Readonly<Record<string, string>>;
/** Builds the error of class `className` (called by the wasm module). */
export declare function makeError(className: string, code: string, type: string, message: string, fields?: Record<string, unknown> | null): CreditpoolError;

// ----- The official SDK's middleware (src/middleware.js) -------------------

/** A thread continue request the middleware does not know, refused because `unknownThread: 'refuse'`; nothing was sent. */
export declare class UnknownThreadError extends CreditpoolError {
  previousMessageId?: string;
  expired?: boolean;
}

/** The official SDK (`@anthropic-ai/sdk`) given to creditpool has no middleware hook; `minimum` names the lowest version that works. */
export declare class SdkUnsupportedError extends CreditpoolError {
  minimum?: string;
}

/** Options of `creditpoolMiddleware` (read strictly: an unknown key is an InvalidOptionsError). */
export interface CreditpoolMiddlewareOptions {
  /** The agent the calls are booked to (default `"default"`). */
  agent?: string;
  /** `false` for no pool selector, or `{field, value}`; default `"credit_pool": "programmatic"`. */
  poolSelector?: false | { field: string; value: unknown };
  /** The reservation's lease, if not the pool's. */
  leaseMs?: number;
  /** The core's `EstimateMode` JSON (default `{type: "bound"}`). */
  estimate?: { type: 'bound' } | { type: 'heuristic' } | { type: 'exact'; input_tokens: number };
  /** The client's `maxRetries`, when it is not the SDK's default (2). */
  maxRetries?: number;
  /** Unix ms (default `Date.now`). */
  clock?: () => number;
  /**
   * A message-thread continue request whose thread the middleware has not seen (or that expired):
   * `'context_window'` (default) reserves the model's whole context window; `'refuse'` throws
   * `UnknownThreadError` before anything is sent.
   */
  unknownThread?: 'context_window' | 'refuse';
  /**
   * Minutes of code execution container time counted for a request whose code execution is billed
   * by time (no `web_search_*` / `web_fetch_*` tool dated 20260209 or later beside it): reserved,
   * and settled (flagged estimated) when the tool ran or files were preloaded. Default 5 (the
   * billing minimum); below 5 or above 43,200 (30 days) throws `invalid_container_minutes` when the
   * middleware is made.
   */
  containerMinutes?: number;
  /**
   * The book of message threads: absent (default) for the pool store's own (a `RedisPool` shares it
   * with every process on the pool), or an in-process `ThreadBook` (from `creditpool/core`).
   */
  threads?: import('./core.js').ThreadBook;
}

/**
 * A middleware for `@anthropic-ai/sdk` (`new Anthropic({ middleware: [...] })`)
 * that draws every `POST /v1/messages` on `pool`: the worst case reserved
 * before the first attempt (a refusal throws its PoolRefusedError subclass
 * before anything is sent), one hold across the SDK's retries, settled from
 * the usage or from a copy of the stream. Other endpoints pass through.
 */
export declare function creditpoolMiddleware(
  pool: PoolStore,
  options?: CreditpoolMiddlewareOptions,
): (request: { url: string; method?: string; headers?: unknown; body?: unknown }, next: (request: any) => Promise<Response>, ctx?: any) => Promise<Response>;

/** `client` with the pool's middleware added after its own (`client.withOptions`); throws SdkUnsupportedError for an SDK without the hook. */
export declare function withPool<C extends { middleware: readonly unknown[]; withOptions(options: { middleware: unknown[] }): C }>(
  client: C,
  pool: PoolStore,
  options?: CreditpoolMiddlewareOptions,
): C;

/** Returns `client` if it has the middleware hook; throws SdkUnsupportedError otherwise. */
export declare function checkSdk<C>(client: C): C;

/** The lowest `@anthropic-ai/sdk` version the middleware works with. */
export declare function minSdkVersion(): string;
