// Reserve+settle pairs per second through a Redis pool from Node: one client,
// then CONCURRENCY concurrent loops on the same RedisPool (one ioredis
// connection: ioredis writes concurrent commands back to back). Run by
// benches/redis/run.sh. Prints one JSON line per mode.
//
//   node bench.mjs REDIS_URL PAIRS CONCURRENCY
import { RedisPool, usd } from '../../js/src/node.js';

const [url, nArg, cArg] = process.argv.slice(2);
const n = Number(nArg);
const concurrency = Number(cArg);
const pool = await RedisPool.connect(url, { name: `bench-node-${process.pid}`, config: { limit: usd(1_000_000) } });

async function pairs(agent, count) {
  for (let i = 0; i < count; i += 1) {
    const r = await pool.apply({ op: 'reserve', agent, amount: 1000, now_ms: 0 });
    if (r.result !== 'reserved') throw new Error(JSON.stringify(r));
    await pool.apply({ op: 'settle', id: r.id, cost: 900, now_ms: 0 });
  }
}

await pairs('warmup', 200);
for (const clients of [1, concurrency]) {
  const per = Math.floor(n / clients);
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: clients }, (_, i) => pairs(`a${i}`, per)));
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(JSON.stringify({ lang: 'node', clients, pairs: per * clients, seconds: Number(secs.toFixed(3)), pairs_per_s: Math.round((per * clients) / secs) }));
}
await pool.close();
