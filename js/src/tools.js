// Tools: a JSON Schema for the input plus an async function. The core checks
// each definition when it is made and each `tool_use` input before the
// function runs; a call that must not run is answered with an `is_error`
// tool_result the model can read, never a crash.
import { argumentError } from './fail.js';
import { ToolValidator, checkTool } from './core.js';
import { plainJson } from './pool.js';
import { call, glue } from './wasm.js';

function invalid(message) {
  return argumentError(message);
}

/**
 * One tool. `run(input, context)` receives the validated input and
 * `{id, name, signal}`, and returns a string, an array of content blocks, or
 * any other JSON value; the core turns it into `tool_result` content (a
 * string as it is, content blocks as blocks, null as empty text, anything else
 * as its JSON text).
 */
export class Tool {
  #run;

  /**
   * @param {{name: string, description: string, inputSchema: object,
   *   run: (input: any, context: {id: string, name: string, signal?: AbortSignal}) => any,
   *   cacheControl?: object}} spec
   */
  constructor({ name, description, inputSchema, run, cacheControl } = {}) {
    if (typeof run !== 'function') throw invalid(`tool ${JSON.stringify(name)} needs a run function`);
    const definition = { name, description, input_schema: inputSchema };
    if (cacheControl !== undefined) definition.cache_control = cacheControl;
    checkTool(definition);
    /** The definition as sent in a request's `tools`. */
    this.definition = Object.freeze(definition);
    this.#run = run;
  }

  /** The tool's name. */
  get name() {
    return this.definition.name;
  }

  /** Runs the function on an input that has already been validated. */
  runValidated(input, context) {
    return this.#run(input, context);
  }
}

/** `new Tool(spec)`. */
export function tool(spec) {
  return new Tool(spec);
}

/**
 * A set of tools: their definitions for a request's `tools`, and the running
 * of the model's `tool_use` calls, each input checked against its schema
 * first.
 */
export class Toolbox {
  #tools = new Map();
  #validator;
  #onToolError;

  /**
   * @param {Tool[]} tools names must be unique
   * @param {{onToolError?: (failure: {tool: string, callId: string, error: unknown, stack: string}) => void}} options
   *   `onToolError` is called for every tool that throws (the documented hook
   *   to log it; the model reads only the core's words), as an Agent's.
   */
  constructor(tools = [], { onToolError } = {}) {
    if (onToolError !== undefined && typeof onToolError !== 'function') throw invalid('onToolError must be a function');
    this.#onToolError = onToolError;
    for (const t of tools) {
      if (!(t instanceof Tool)) throw invalid('a Toolbox holds Tool objects (new Tool({...}))');
    }
    this.#validator = new ToolValidator(tools.map((t) => t.definition));
    for (const t of tools) this.#tools.set(t.name, t);
  }

  /** The definitions, for a request's `tools`. */
  get definitions() {
    return [...this.#tools.values()].map((t) => t.definition);
  }

  /** The tools' names. */
  get names() {
    return [...this.#tools.keys()];
  }

  /**
   * Answers one `tool_use` block with its `tool_result` block. An input that
   * breaks the schema, an unknown tool, or a call cut off at max_tokens
   * (`truncated`) gets an `is_error` result explaining why, and the function
   * does not run; an exception from the function becomes an `is_error`
   * result in the core's words (by default without its message, which may
   * hold a secret), and goes to `onToolError`.
   */
  async run(toolUse, { truncated = false, signal } = {}) {
    const refusal = this.#validator.refusal(toolUse, { truncated });
    if (refusal !== null) return refusal;
    const t = this.#tools.get(toolUse.name);
    let output;
    try {
      const value = await t.runValidated(toolUse.input, { id: toolUse.id, name: toolUse.name, signal });
      output = { value: value === undefined ? null : plainJson(value) };
    } catch (e) {
      output = { failed: String(e !== null && typeof e === 'object' && 'message' in e ? e.message : e) };
      if (this.#onToolError !== undefined) {
        const stack = e !== null && typeof e === 'object' && typeof e.stack === 'string' ? e.stack : String(e);
        try {
          this.#onToolError(Object.freeze({ tool: toolUse.name, callId: toolUse.id, error: e, stack }));
        } catch {
          // A hook that throws must not change what the model reads.
        }
      }
    }
    // The core words the result and turns the value into content.
    const r = call(() => glue.toolResult({ id: toolUse.id, name: toolUse.name, input: toolUse.input ?? null }, output, null));
    const block = { type: 'tool_result', tool_use_id: r.tool_use_id, content: r.content };
    if (r.is_error) block.is_error = true;
    return block;
  }

  /**
   * Runs every `tool_use` block of `message` at once and resolves to their
   * `tool_result` blocks, in the order of the calls. `toolInputIssues` (from
   * a stream's `finished()`) marks calls whose input was cut off.
   */
  async runAll(message, { toolInputIssues = [], signal } = {}) {
    const cut = new Set(toolInputIssues.filter((i) => i.kind === 'truncated').map((i) => i.id));
    const calls = message.content.filter((b) => b.type === 'tool_use');
    return Promise.all(calls.map((c) => this.run(c, { truncated: cut.has(c.id), signal })));
  }
}
