// What `creditpool/core` exports: the core's machinery for callers who drive
// it themselves (their own transport, their own pool store) or want a single
// rule. The main entry (index.js) keeps the user API.
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
  classForCode,
  activityChart,
  headerPairs,
  version,
} from './core.js';
export { AgentRun } from './agent.js';
export { Meter, ThreadBook } from './middleware.js';
export { CLASSES, CODES } from './classes.js';
