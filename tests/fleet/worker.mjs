// One Node worker of the mixed-language fleet test (tests/fleet/fleet.py):
// joins the Redis pool another process created, runs agents against
// creditpool-sim until its time is up, and delivers the pool's alerts through
// the outbox's consumer group (appending each alert's idempotency key to a
// file, the receiver).
//
//   node worker.mjs REDIS_URL POOL SIM_URL WORKER_ID DELIVERIES_FILE SECONDS AGENTS
import { appendFileSync } from 'node:fs';
import { Agent, Client, RedisPool, Tool } from '../../js/src/node.js';

const CLAIM_IDLE_MS = 1000; // an alert taken by a worker that died is claimed after this
const [url, name, sim, worker, path, seconds, agents] = process.argv.slice(2);
const deadline = Date.now() + Number(seconds) * 1000;
const pool = await RedisPool.join(url, { name });
const client = new Client({ apiKey: 'sk-fleet', baseURL: sim, retry: { max_retries: 6, initial_backoff_ms: 5, max_backoff_ms: 50 } });
const search = new Tool({
  name: 'search_database',
  description: 'Query the product inventory database.',
  inputSchema: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] },
  run: async ({ query }) => `2 products match ${query}`,
});

async function deliver() {
  const done = await pool.deliverAlerts(worker, async (alert) => appendFileSync(path, `${alert.idempotencyKey}\t${worker}\n`), { minIdleMs: CLAIM_IDLE_MS });
  return done;
}

const errors = [];
let runs = 0;
async function slot(i) {
  for (let n = 1; Date.now() < deadline; n += 1) {
    const agentId = `${worker}-${i}-${n}`;
    try {
      const agent = new Agent({ client, pool, agentId, model: 'claude-haiku-4-5', tools: [search], maxTokens: 200, config: { lease_ms: 1500 }, params: { metadata: { user_id: agentId } } });
      const outcome = await agent.run('Find products under $50');
      runs += 1;
      if (outcome.status === 'pool_refused') await new Promise((r) => setTimeout(r, 100));
    } catch (e) {
      errors.push(String(e?.stack ?? e));
    }
  }
}

console.log(`ready ${worker}`);
const slots = Array.from({ length: Number(agents) }, (_, i) => slot(i));
while (Date.now() < deadline) {
  try {
    await deliver();
  } catch (e) {
    console.error(`${worker}: alert delivery: ${e}`);
  }
  await new Promise((r) => setTimeout(r, 100));
}
await Promise.all(slots);
await deliver();
for (const e of errors) console.error(`${worker}: agent: ${e}`);
console.log(`done ${worker} runs=${runs}`);
await pool.close();
process.exit(errors.length > 0 ? 1 : 0);
