// The Node half of the cross-process message-thread test
// (tests/threads/cross_process.py): joins the Redis pool another process
// (Python) created, and continues, through creditpoolMiddleware on the
// official SDK, the thread that process created. Prints one JSON line: the
// pool operations the middleware applied, the body the SDK built, and the
// response's ID.
//
//   node thread-continue.mjs REDIS_URL POOL SIM_URL PREVIOUS_MESSAGE_ID MAX_TOKENS
import Anthropic from '@anthropic-ai/sdk';
import { RedisPool, creditpoolMiddleware } from 'creditpool';

const [url, name, sim, previous, maxTokens] = process.argv.slice(2);
const pool = await RedisPool.join(url, { name });
const ops = [];
const store = {
  apply(op) {
    ops.push(op);
    return pool.apply(op);
  },
};
const bodies = [];
const spy = async (request, next, ctx) => {
  bodies.push(typeof request.body === 'string' ? request.body : JSON.stringify(ctx?.options?.body ?? null));
  return next(request);
};
const client = new Anthropic({ apiKey: 'sk-sim', baseURL: sim, maxRetries: 0, middleware: [spy, creditpoolMiddleware(store, { agent: 'node' })] });
try {
  const message = await client.beta.messages.create({
    model: 'claude-haiku-4-5',
    max_tokens: Number(maxTokens),
    messages: [{ role: 'user', content: 'And in Rome?' }],
    thread: { type: 'continue', previous_message_id: previous },
    betas: ['message-threads-2026-08-12'],
  });
  const plain = (v) => JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? Number(x) : x)));
  console.log(JSON.stringify({ ops: plain(ops), body: bodies[0], id: message.id }));
} finally {
  await pool.close?.();
}
