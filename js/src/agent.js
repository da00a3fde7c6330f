// The agent loop: the core's AgentRun decides everything (what to send, what
// to reserve and settle, retries, which tool calls are valid, when the run
// ends). This driver only sends (through the wasm module, which keeps the
// key), runs tools, and sleeps.
import { rawClient } from './client.js';
import { AbortError, ConfigurationError, InvalidArgumentError } from './errors.js';
import { plainJson, rawPool } from './pool.js';
import { Tool } from './tools.js';
import { call, callAsync, glue } from './wasm.js';

const AGENT_OPTIONS = new Set(['client', 'pool', 'agentId', 'model', 'tools', 'maxTurns', 'maxSpend', 'maxTokens', 'system', 'stream', 'config', 'params']);

function configError(message) {
  return new ConfigurationError(message, { type: 'configuration_error', kind: 'invalid_options' });
}

function abortError() {
  return new AbortError('the run was aborted', { type: 'aborted' });
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    const onAbort = () => {
      clearTimeout(t);
      reject(abortError());
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function errorText(e) {
  const message = e && typeof e === 'object' && typeof e.message === 'string' ? e.message : String(e);
  return `Error: ${message}`;
}

function resultContent(value) {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((b) => b && typeof b === 'object' && typeof b.type === 'string')) return value;
  if (value === undefined) return '';
  return JSON.stringify(value);
}

/**
 * An agent: a model, tools and a budget, drawing on a Pool through a Client.
 *
 * Options: `client`, `pool`, `agentId`, `model`, `tools` (Tool objects),
 * `maxTurns`, `maxSpend` (nano-USD), `maxTokens` (default 1024), `system`,
 * `stream` (default true), `config` (more of the core's AgentConfig JSON:
 * `estimate`, `lease_ms`, `call`) and `params` (more request fields).
 */
export class Agent {
  #client;
  #pool;
  #tools = new Map();
  #config;
  #template;

  constructor(options = {}) {
    for (const key of Object.keys(options)) {
      if (!AGENT_OPTIONS.has(key)) throw configError(`unknown agent option ${JSON.stringify(key)}`);
    }
    const { client, pool, agentId, model, tools = [], maxTurns, maxSpend, maxTokens = 1024, system, stream = true } = options;
    rawClient(client);
    rawPool(pool);
    if (typeof agentId !== 'string' || agentId === '') throw configError('agentId must be a non-empty string');
    if (typeof model !== 'string') throw configError('model must be a string');
    for (const t of tools) {
      if (!(t instanceof Tool)) throw configError('tools must be Tool objects (new Tool({...}))');
      this.#tools.set(t.name, t);
    }
    this.#client = client;
    this.#pool = pool;
    const callOptions = { ...(options.config?.call ?? {}), stream };
    this.#config = plainJson({ ...(options.config ?? {}), agent_id: agentId, call: callOptions });
    if (maxTurns !== undefined) this.#config.max_turns = maxTurns;
    if (maxSpend !== undefined) this.#config.max_spend = plainJson(maxSpend);
    this.#template = { ...(options.params ?? {}), model, max_tokens: maxTokens, tools: tools.map((t) => t.definition) };
    if (system !== undefined) this.#template.system = system;
  }

  /** The agent's ID. */
  get agentId() {
    return this.#config.agent_id;
  }

  /**
   * Runs the agent on `prompt` (a string, or the messages so far) and
   * resolves to the core's outcome: `status` (`completed`, `stopped`,
   * `max_turns`, `budget_exhausted`, `pool_refused`, `failed`, ...) with its
   * fields, `final_text`, `final_message`, `turns`, `total_cost`, `usage`,
   * `attribution` and `transcript` (amounts in integer nano-USD).
   * `options.signal` aborts the run (what it holds is released).
   */
  async run(prompt, { signal } = {}) {
    const messages = typeof prompt === 'string' ? [{ role: 'user', content: prompt }] : prompt;
    if (!Array.isArray(messages)) throw new InvalidArgumentError('prompt must be a string or an array of messages', { type: 'invalid_argument' });
    const client = rawClient(this.#client);
    const { raw: pool, drain, now } = rawPool(this.#pool);
    const run = call(() => new glue.RawAgentRun(client, this.#config, { ...this.#template, messages }));
    const step = (fn) => {
      try {
        return call(fn);
      } finally {
        drain();
      }
    };
    try {
      for (;;) {
        if (signal?.aborted) throw abortError();
        const action = step(() => run.nextAction(pool, now()));
        if (action.type === 'done') break;
        if (action.type === 'wait') {
          await sleep(action.until_ms - now(), signal);
        } else if (action.type === 'call_tools') {
          const results = await Promise.all(action.calls.map((c) => this.#runTool(c, signal)));
          step(() => run.handleToolResults(results));
        } else if (action.type === 'send') {
          await this.#exchange(run, pool, step, now, signal);
        }
      }
      return call(() => run.outcome());
    } catch (e) {
      if (e instanceof AbortError) step(() => run.cancel(pool, now()));
      throw e;
    } finally {
      run.free();
    }
  }

  async #exchange(run, pool, step, now, signal) {
    const sent = await callAsync(() => run.send(signal ?? undefined));
    if (sent.failure) return step(() => run.handleTransportError(pool, sent.failure, now()));
    const response = sent.response;
    try {
      const mode = step(() => run.handleHead(response.status, response.headers, now()));
      if (mode === 'whole') {
        const r = await callAsync(() => response.readAll());
        if (r.failure) step(() => run.handleTransportError(pool, r.failure, now()));
        else step(() => run.handleBody(pool, r.body, now()));
        return;
      }
      while (call(() => run.isReading)) {
        const deadline = call(() => run.deadline);
        // The core's deadline bounds the wait for the next chunk.
        const idle = deadline === null ? 0 : Math.max(1, deadline - now());
        const r = await callAsync(() => response.readChunk(idle));
        if (r.failure) {
          step(() => run.handleTransportError(pool, r.failure, now()));
          return;
        }
        if (r.end) {
          step(() => run.handleEnd(pool, now()));
          return;
        }
        step(() => run.handleChunk(pool, r.chunk, now()));
      }
    } finally {
      response.cancel();
      response.free();
    }
  }

  async #runTool(c, signal) {
    const t = this.#tools.get(c.name);
    if (t === undefined) return { tool_use_id: c.id, content: `Error: unknown tool ${c.name}`, is_error: true };
    try {
      const value = await t.runValidated(c.input, { id: c.id, name: c.name, signal });
      return { tool_use_id: c.id, content: resultContent(value), is_error: false };
    } catch (e) {
      return { tool_use_id: c.id, content: errorText(e), is_error: true };
    }
  }
}

/**
 * The core's AgentRun, for callers who drive a run themselves (the vectors
 * do; `Agent.run` is the driver most callers want). The time is the pool's
 * clock; what the pool queues is delivered after every step. `send()`
 * resolves to `{response}` (with `status`, `headers`, `readChunk(idleMs)`,
 * `readAll()`, `cancel()`) or `{failure}`.
 */
export class AgentRun {
  #run;
  #pool;
  #drain;
  #now;

  /** `config` is the core's AgentConfig JSON, `request` a Messages API body holding the prompt. */
  constructor({ client, pool, config, request }) {
    const p = rawPool(pool);
    this.#pool = p.raw;
    this.#drain = p.drain;
    this.#now = p.now;
    this.#run = call(() => new glue.RawAgentRun(rawClient(client), plainJson(config), request));
  }

  #step(fn) {
    try {
      return call(fn);
    } finally {
      this.#drain();
    }
  }

  /** `{type: "send", request: {method, path}}`, `{type: "call_tools", calls}`, `{type: "wait", until_ms, reason}` or `{type: "done"}`. */
  nextAction() {
    return this.#step(() => this.#run.nextAction(this.#pool, this.#now()));
  }

  send({ signal } = {}) {
    return callAsync(() => this.#run.send(signal ?? undefined));
  }

  handleHead(status, headers) {
    return this.#step(() => this.#run.handleHead(status, headers, this.#now()));
  }

  handleBody(body) {
    this.#step(() => this.#run.handleBody(this.#pool, body, this.#now()));
  }

  handleChunk(bytes) {
    return this.#step(() => this.#run.handleChunk(this.#pool, bytes, this.#now()));
  }

  handleEnd() {
    return this.#step(() => this.#run.handleEnd(this.#pool, this.#now()));
  }

  /** `failure`: `{type: "connection"}` or `{type: "timeout", phase}`. */
  handleTransportError(failure) {
    this.#step(() => this.#run.handleTransportError(this.#pool, failure, this.#now()));
  }

  /** `[{tool_use_id, content, is_error}]` for the last call_tools action. */
  handleToolResults(results) {
    this.#step(() => this.#run.handleToolResults(results));
  }

  get isReading() {
    return call(() => this.#run.isReading);
  }

  /** While a stream is read, the Unix ms by which the next chunk must arrive. */
  get deadline() {
    return call(() => this.#run.deadline);
  }

  cancel() {
    this.#step(() => this.#run.cancel(this.#pool, this.#now()));
  }

  /** The core's Outcome JSON once done, else null. */
  outcome() {
    return call(() => this.#run.outcome());
  }
}
