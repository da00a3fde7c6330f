// Everything the package exports, whichever entry point loaded it.
export * from './errors.js';
export { Client, Messages, MessageStream } from './client.js';
export { Tool, Toolbox, tool } from './tools.js';
export { Pool } from './pool.js';
export { Agent, AgentRun } from './agent.js';
export {
  buildRequest,
  parseMessage,
  parseCountTokens,
  parseErrorEvent,
  rateLimitInfo,
  RetryPolicy,
  SseDecoder,
  MessageStreamParser,
  parsePartialJson,
  parsePartialJsonText,
  PriceTable,
  cost,
  worstCase,
  checkRequest,
  checkTool,
  checkTools,
  ToolValidator,
  MessagesCall,
  version,
} from './core.js';
