// The agent loop: the core's AgentRun decides everything (what to send, the
// pool operations around each attempt, lease renewals, retries, which tool
// calls are valid, the words the model reads, when the run ends). This
// driver applies pool operations to a pool store, plays attempts with the
// package's one attempt player (player.js), runs tools, and sleeps.
import { rawClient } from './client.js';
import { AbortError } from './errors.js';
import { abortError, argumentError, optionsError } from './fail.js';
import { amountNanos, makeMoney } from './money.js';
import { plainJson, poolClock } from './pool.js';
import { drive, machine } from './player.js';
import { Tool } from './tools.js';
import { call, callAsync, glue, lazyPartial, partialReader } from './wasm.js';

const AGENT_OPTIONS = new Set(['client', 'pool', 'agentId', 'model', 'tools', 'maxTurns', 'maxSpend', 'maxTokens', 'system', 'stream', 'config', 'params', 'now', 'onToolError', 'toolError']);

/**
 * The `PoolStore` seam: anything with `apply(op)` that applies one of the
 * core's pool operations (`reserve`, `settle`, `release`, `extend`, as the
 * core's `PoolOp` JSON) and returns its `OpResult` JSON, or a promise of it.
 */
function checkStore(pool) {
  if (pool === null || typeof pool !== 'object' || typeof pool.apply !== 'function') {
    throw optionsError('invalid_options', 'pool must be a pool store: a Pool, or an object with apply(op) (see PoolStore in docs/JS.md)');
  }
  return pool;
}

/** The text of a thrown value (its `message` for an Error). */
function thrownText(e) {
  return String(e !== null && typeof e === 'object' && 'message' in e ? e.message : e);
}

/**
 * What a tool did, as the core's `ToolOutput` JSON. A tool that throws is
 * reported to `hooks.onToolError({tool, callId, error})` (the error keeps its
 * stack), kept in `hooks.failures`, and handed to the core as `{failed:
 * text}` with `hooks.toolError(error)` as the text (default its message):
 * the model reads it only if the core's `texts.tool_failed` asks for `{error}`.
 */
async function toolOutput(tool, c, signal, hooks = {}) {
  if (tool === undefined) return 'unknown';
  try {
    const value = await tool.runValidated(c.input, { id: c.id, name: c.name, signal });
    // JSON has no `undefined`: a tool that returns nothing returned null.
    return { value: value === undefined ? null : plainJson(value) };
  } catch (e) {
    // The thrown value with its stack (the traceback), kept on the turn.
    const stack = e !== null && typeof e === 'object' && typeof e.stack === 'string' ? e.stack : String(e);
    const failure = Object.freeze({ tool: c.name, callId: c.id, error: e, stack });
    hooks.failures?.push(failure);
    if (hooks.onToolError !== undefined) {
      try {
        hooks.onToolError(failure);
      } catch {
        // A hook that throws must not change what the model reads.
      }
    }
    let text;
    try {
      text = hooks.toolError !== undefined ? String(hooks.toolError(e)) : thrownText(e);
    } catch {
      text = '';
    }
    return { failed: text || 'error' };
  }
}

/**
 * Drives a raw run (`RawAgentRun`) to its end against `store`: the core's
 * driving protocol (docs/ARCHITECTURE.md). `runTool(call)` resolves to the
 * call's ToolOutput JSON.
 */
async function driveRun(run, store, { now, signal, runTool }) {
  const apply = async (op) => {
    const result = await store.apply(op);
    run.handlePool(plainJson(result), now());
  };
  const ctx = {
    now,
    signal,
    afterInput: async () => {
      for (let op = run.pollPool(now()); op !== null; op = run.pollPool(now())) await apply(op);
    },
  };
  try {
    await drive(run, ctx, async (action) => {
      if (action.type === 'pool') await apply(action.op);
      else if (action.type === 'call_tools') {
        const outputs = await Promise.all(action.calls.map((c) => runTool(c)));
        run.handleToolResults(action.calls.map((c, i) => run.toolResult(c, outputs[i])));
      } else throw new Error(`unexpected agent action ${action.type}`);
    });
  } catch (e) {
    // Aborted, whatever the reason the signal was given (an Error, a string,
    // nothing) and whatever was under way: cancel the run through the core
    // and apply what it asks until it is done (a held reservation is
    // released, or settled at its worst case and flagged estimated when the
    // API may have billed it: the core's rule).
    if (e instanceof AbortError || signal?.aborted) {
      run.cancel(now());
      for (let a = run.nextAction(now()); a.type === 'pool'; a = run.nextAction(now())) await apply(a.op);
      throw e instanceof AbortError ? e : abortError('the run was aborted', signal);
    }
    throw e;
  }
}

const money = (v) => (v === null || v === undefined ? null : makeMoney(BigInt(v), undefined));
const COST_PARTS = ['input', 'cache_write_5m', 'cache_write_1h', 'cache_read', 'output', 'web_search', 'code_execution', 'total'];
const RAW_OUTCOME = new WeakMap();

/**
 * A turn record with its amounts as Money, and `toolFailures`: the failures
 * of the calls it asked for whose tool threw (the core's record says which
 * calls: `tool_failures`; the thrown value and its stack are kept here).
 */
function turnOf(t, failures) {
  const cost = { ...(t.cost ?? {}) };
  for (const k of COST_PARTS) if (cost[k] !== undefined) cost[k] = money(cost[k]);
  const records = Object.freeze((t.tool_failures ?? []).map((r) => Object.freeze({ ...r })));
  const toolFailures = Object.freeze(records.map((r) => failures.find((f) => f.callId === r.call_id)).filter((f) => f !== undefined));
  return Object.freeze({ ...t, cost: Object.freeze(cost), reserved: money(t.reserved), tool_failures: records, toolFailures });
}

/**
 * How a run ended, typed (the same as Python's `AgentOutcome`): `status`,
 * `ok`, `error` (the typed error the status stands for: a PoolRefusedError
 * subclass, the call's APIError subclass, MaxTurnsError,
 * BudgetExhaustedError, ...; null for completed, stopped and cancelled),
 * `raiseForStatus()`, and every amount a `Money`. `toJSON()` is the core's
 * Outcome JSON (integer nano-USD).
 */
export class AgentOutcome {
  constructor(json, error, toolFailures = []) {
    RAW_OUTCOME.set(this, json);
    this.status = json.status;
    this.ok = json.status === 'completed';
    this.error = error ?? null;
    this.code = json.code ?? null;
    this.agent_id = json.agent_id;
    this.final_text = json.final_text ?? '';
    this.final_message = json.final_message ?? null;
    this.stop_reason = json.status === 'stopped' ? (json.reason ?? null) : null;
    this.max_turns = json.status === 'max_turns' ? json.max_turns : null;
    this.needed = json.status === 'budget_exhausted' ? money(json.needed) : null;
    this.remaining = json.status === 'budget_exhausted' ? money(json.remaining) : null;
    this.refusal = json.status === 'pool_refused' ? this.error : null;
    this.api_error_type = json.api_error_type ?? null;
    this.http_status = json.http_status ?? null;
    if (json.partial instanceof glue.RawPartial) {
      // A failed stream's message so far (up to the stream cap), converted
      // when `partial` is first read, here or on the error (one conversion).
      const raw = json.partial;
      const get = partialReader(raw);
      const shown = { ...json };
      delete shown.partial;
      json = shown;
      RAW_OUTCOME.set(this, json);
      Object.defineProperty(this, 'partial', { enumerable: true, get });
      if (error && error.partial === raw) lazyPartial(error, get);
    } else {
      this.partial = json.partial ?? null;
    }
    this.turns = Object.freeze((json.turns ?? []).map((t) => turnOf(t, toolFailures)));
    this.total_cost = money(json.total_cost ?? 0);
    this.estimated_cost = money(json.estimated_cost ?? 0);
    this.usage = json.usage;
    const attribution = json.attribution ?? { conversation: 0, tools: [] };
    this.conversation_cost = money(attribution.conversation ?? 0);
    this.tool_costs = Object.freeze(Object.fromEntries((attribution.tools ?? []).map(([name, cost]) => [name, money(cost)])));
    this.transcript = json.transcript ?? [];
    this.toolFailures = Object.freeze([...toolFailures]);
    Object.freeze(this);
  }

  /** The typed error (an alias of `error`, kept for older code). */
  get exception() {
    return this.error;
  }

  /** Throws `error` if there is one; returns the outcome otherwise. */
  raiseForStatus() {
    if (this.error) throw this.error;
    return this;
  }

  /** The core's Outcome JSON (amounts in integer nano-USD). */
  toJSON() {
    const json = RAW_OUTCOME.get(this);
    return this.partial === null || 'partial' in json ? json : { ...json, partial: this.partial };
  }
}

/** The run's outcome, typed. */
function outcomeOf(run, failures = []) {
  const { outcome, error } = run.outcomeAndError();
  return new AgentOutcome(outcome, error, failures);
}

/**
 * An agent: a model, tools and a budget, drawing on a pool store through a
 * Client.
 *
 * Options: `client`, `pool` (a `PoolStore`: a `Pool`, or any object with
 * `apply(op)`), `agentId`, `model`, `tools` (Tool objects), and, passed to the
 * core only when given (the core's `AgentConfig` defaults the rest):
 * `maxTurns`, `maxSpend` (a Money: `usd('0.10')`), `maxTokens`, `system`, `stream`,
 * `config` (more of the core's AgentConfig JSON: `estimate`, `lease_ms`,
 * `call`, `texts`: by default a tool that throws is reported to the model
 * without its message, which may hold a secret; `texts: {tool_failed: 'The
 * tool "{name}" failed: {error}'}` shows it), `onToolError({tool, callId,
 * error})` (called for every tool that throws; the error keeps its stack;
 * the run's `outcome.toolFailures`, not enumerable, lists them too),
 * `toolError(error)` (the `{error}` text; default the error's message; the
 * model reads it only if `texts.tool_failed` asks for `{error}`); each
 * failure `{tool, callId, error, stack}` is also kept on the turn that asked
 * for the call (`outcome.turns[i].toolFailures`), and
 * `params` (more request fields, by their API names: a
 * name the Messages API does not have throws `UnknownParameterError`; newer
 * fields go in `params.extra_body`, sent as given); `now` (a clock,
 * default the Pool's, else `Date.now`).
 */
export class Agent {
  #client;
  #pool;
  #tools = new Map();
  #config;
  #template;
  #now;
  #hooks;

  constructor(options = {}) {
    // The core's rule and words: an unknown option names the closest known
    // one; a request parameter the Messages API does not have (in `params`)
    // is an UnknownParameterError, before anything is spent (newer fields go
    // in `params.extra_body`).
    for (const key of Object.keys(options)) {
      if (!AGENT_OPTIONS.has(key)) throw optionsError('invalid_options', call(() => glue.unknownNameMessage('agent option', key, [...AGENT_OPTIONS])));
    }
    if (options.params !== undefined && options.params !== null) {
      if (typeof options.params !== 'object') throw optionsError('invalid_options', 'params must be an object of Messages API parameters');
      call(() => glue.checkRequestParams(Object.keys(options.params), []));
    }
    const { client, pool, agentId, model, tools = [], maxTurns, maxSpend, maxTokens, system, stream, onToolError, toolError } = options;
    for (const [name, f] of [['onToolError', onToolError], ['toolError', toolError]]) {
      if (f !== undefined && typeof f !== 'function') throw optionsError('invalid_options', `${name} must be a function`);
    }
    this.#hooks = { onToolError, toolError };
    rawClient(client);
    this.#pool = checkStore(pool);
    if (typeof agentId !== 'string' || agentId === '') throw optionsError('invalid_options', 'agentId must be a non-empty string');
    if (typeof model !== 'string') throw optionsError('invalid_options', 'model must be a string');
    for (const t of tools) {
      if (!(t instanceof Tool)) throw optionsError('invalid_options', 'tools must be Tool objects (new Tool({...}))');
      this.#tools.set(t.name, t);
    }
    this.#client = client;
    this.#now = options.now ?? poolClock(pool) ?? (() => Date.now());
    const config = { ...(options.config ?? {}), agent_id: agentId };
    if (maxTurns !== undefined) config.max_turns = maxTurns;
    if (maxSpend !== undefined) config.max_spend = amountNanos(maxSpend, 'maxSpend');
    if (maxTokens !== undefined) config.max_tokens = maxTokens;
    if (stream !== undefined) config.call = { ...(config.call ?? {}), stream };
    this.#config = plainJson(config);
    // max_tokens 0: the core's AgentConfig gives it.
    this.#template = { max_tokens: 0, ...(options.params ?? {}), model, tools: tools.map((t) => t.definition) };
    if (system !== undefined) this.#template.system = system;
  }

  /** The agent's ID. */
  get agentId() {
    return this.#config.agent_id;
  }

  /**
   * Runs the agent on `prompt` (a string, or the messages so far) and
   * resolves to an `AgentOutcome`: `status` (`completed`, `stopped`,
   * `max_turns`, `budget_exhausted`, `pool_refused`, `failed`, `invalid`,
   * `cancelled`) with its fields (`code` for an error), `final_text`,
   * `final_message`, `turns`, `total_cost`, `tool_costs`, `usage` and
   * `transcript` (every amount a `Money`). `outcome.error` is the typed
   * error the status stands for (a PoolRefusedError subclass, the call's
   * APIError subclass, MaxTurnsError, BudgetExhaustedError, ...), or null. `options.signal` aborts the run,
   * whatever its reason: the run is cancelled through the core, the pool
   * operations it then asks for are applied, and the promise rejects with an
   * AbortError whose `reason` (and `cause`) is the signal's reason.
   */
  async run(prompt, { signal } = {}) {
    const messages = typeof prompt === 'string' ? [{ role: 'user', content: prompt }] : prompt;
    if (!Array.isArray(messages)) throw argumentError('prompt must be a string or an array of messages');
    const client = rawClient(this.#client);
    const run = machine(call(() => new glue.RawAgentRun(client, this.#config, { ...this.#template, messages })));
    const failures = [];
    try {
      await driveRun(run, this.#pool, {
        now: this.#now,
        signal,
        runTool: (c) => toolOutput(this.#tools.get(c.name), c, signal, { ...this.#hooks, failures }),
      });
      return outcomeOf(run, failures);
    } finally {
      run.raw.free();
    }
  }
}

/**
 * The core's AgentRun, for callers who drive a run themselves (the vectors
 * do; `Agent.run` is the driver most callers want). It holds no pool: its
 * `{type: "pool", op}` actions are applied by the caller to a pool store and
 * answered with `handlePool(result)`. `send()` sends the request of the last
 * `send` action from inside the module (the key stays there) and resolves to
 * `{status, headers, body}` or `{failure}`.
 */
export class AgentRun {
  #run;

  /** `config` is the core's AgentConfig JSON, `request` a Messages API body holding the prompt. */
  constructor({ client, config, request }) {
    this.#run = call(() => new glue.RawAgentRun(rawClient(client), plainJson(config ?? {}), request));
  }

  /** `{type: "pool", op}`, `{type: "send", request: {method, path}}`, `{type: "call_tools", calls}`, `{type: "wait", until_ms, reason, retry}` or `{type: "done"}`. */
  nextAction(nowMs = Date.now()) {
    return call(() => this.#run.nextAction(nowMs));
  }

  /** The pool store's answer (the core's OpResult JSON) to the last pool op. */
  handlePool(result, nowMs = Date.now()) {
    call(() => this.#run.handlePool(plainJson(result), nowMs));
  }

  /** While a response is read: a pool op to apply now (a lease renewal), or null. */
  pollPool(nowMs = Date.now()) {
    return call(() => this.#run.pollPool(nowMs));
  }

  send({ signal } = {}) {
    return callAsync(() => this.#run.send(signal ?? undefined));
  }

  handleHead(status, headers, nowMs = Date.now()) {
    return call(() => this.#run.handleHead(status, headers, nowMs));
  }

  handleBody(body, nowMs = Date.now()) {
    call(() => this.#run.handleBody(body, nowMs));
  }

  handleChunk(bytes, nowMs = Date.now()) {
    return call(() => this.#run.handleChunk(bytes, nowMs));
  }

  handleEnd(nowMs = Date.now()) {
    return call(() => this.#run.handleEnd(nowMs));
  }

  /** `failure`: the core's Failure JSON as the transport saw it (`{type: "connection"}`). */
  handleTransportError(failure, nowMs = Date.now()) {
    call(() => this.#run.handleTransportError(failure, nowMs));
  }

  /** Time passed with nothing read: whether the attempt timed out. */
  handleTimeout(nowMs = Date.now()) {
    return call(() => this.#run.handleTimeout(nowMs));
  }

  /** The `tool_result` for `call` from what its tool did: `{value}`, `{content}`, `{failed: message}` or `"unknown"`. */
  toolResult(toolCall, output) {
    return call(() => this.#run.toolResult(toolCall, output));
  }

  /** `[{tool_use_id, content, is_error}]` for the last call_tools action. */
  handleToolResults(results) {
    call(() => this.#run.handleToolResults(results));
  }

  get isReading() {
    return call(() => this.#run.isReading);
  }

  /** While a request is out, the Unix ms by which the next input must arrive (or the lease is due); else null. */
  get deadline() {
    return call(() => this.#run.deadline);
  }

  /** Ends the run; keep applying the pool ops `nextAction` asks for until done. */
  cancel(nowMs = Date.now()) {
    call(() => this.#run.cancel(nowMs));
  }

  /** Money settled so far, `{nanos, usd}`. */
  get spent() {
    return call(() => this.#run.spent);
  }

  /** The core's Outcome JSON once done, else null. */
  outcome() {
    return call(() => this.#run.outcome());
  }

  /** The typed error the outcome's status stands for, or null. */
  outcomeError() {
    return call(() => this.#run.outcomeError());
  }

  /** Frees the wasm memory of the run. */
  free() {
    this.#run.free();
  }
}
