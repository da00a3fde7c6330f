// RedisPool as docs/JS.md and docs/REDIS.md use it (type-checked only).
import { Agent, Client, Pool, RedisConfigConflictError, RedisPool, nanos, usd } from 'creditpool';

export async function redisUsage(client: Client): Promise<number> {
  const pool = await Pool.connect('redis://127.0.0.1:6379/0', { name: 'fleet', config: { limit: usd(5) } });
  const joined: RedisPool = await RedisPool.join('redis://127.0.0.1:6379/0', { name: 'fleet' });
  const outcome = await new Agent({ client, pool, agentId: 'scout', model: 'claude-haiku-4-5' }).run('hi');
  const delivered = await joined.deliverAlerts('worker-1', async (alert) => alert.idempotencyKey);
  for (const [id, entry] of await pool.ledger()) void [id, entry.kind];
  try {
    await RedisPool.connect('redis://127.0.0.1:6379/0', { name: 'fleet', config: { limit: nanos(1) }, scriptMode: 'eval' });
  } catch (e) {
    if (e instanceof RedisConfigConflictError) return -1;
  }
  await pool.close();
  return delivered + (outcome.status === 'completed' ? 1 : 0);
}
