// Everything the package's main entry exports, whichever entry point loaded
// it: the user API. The low-level machinery (MessagesCall, AgentRun,
// SseDecoder, ...) is in `creditpool/core` (lowlevel.js).
export * from './errors.js';
export { Client, Messages, MessageStream } from './client.js';
export { Tool, Toolbox, tool } from './tools.js';
export { Pool } from './pool.js';
// Node only (ioredis); in a browser its connect rejects with a typed error.
export { RedisPool } from './redis.js';
export { Money, usd, nanos } from './money.js';
export { Agent, AgentOutcome } from './agent.js';
export { creditpoolMiddleware, withPool, checkSdk, minSdkVersion } from './middleware.js';
export { activityChart, activityChartFromLedger, parsePartialJson, PriceTable, cost, worstCase, checkRequest, checkTool, checkTools, version } from './core.js';
export { renderActivity, PoolReport } from './activity.js';
