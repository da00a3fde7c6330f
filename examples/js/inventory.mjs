// The inventory agent in Node: three agents with a search_database tool share
// one small credit pool, with per-agent limits and alerts; one agent is
// refused; a usage report at the end.
//
//   node examples/js/inventory.mjs                 # against a simulator it starts
//   ANTHROPIC_BASE_URL=http://127.0.0.1:PORT node examples/js/inventory.mjs
//   ANTHROPIC_API_KEY=sk-... node examples/js/inventory.mjs   # the real API
//
// Needs the package built (bash scripts/build-wasm.sh) and, for the default,
// the simulator (cargo build -p creditpool-sim).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Agent, Client, Pool, Tool, usd } from '../../js/src/node.js';
import { INVENTORY, searchInventory } from './inventory-data.js';

const MODEL = process.env.CREDITPOOL_MODEL ?? 'claude-haiku-4-5';

async function startSimulator() {
  const bin = process.env.CREDITPOOL_SIM ?? fileURLToPath(new URL('../../target/debug/creditpool-sim', import.meta.url));
  const child = spawn(bin, ['--port', '0'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout.once('data', (d) => resolve(/listening on (\S+)/.exec(d.toString())?.[1]));
  });
  return { url, stop: () => child.stdin.end() };
}

const realApi = process.env.ANTHROPIC_API_KEY !== undefined && process.env.ANTHROPIC_BASE_URL === undefined;
const sim = realApi || process.env.ANTHROPIC_BASE_URL ? null : await startSimulator();
const client = new Client({ apiKey: process.env.ANTHROPIC_API_KEY ?? 'sk-sim-example', baseURL: sim?.url ?? process.env.ANTHROPIC_BASE_URL });

const search = new Tool({
  name: 'search_database',
  description: 'Query the product inventory database.',
  inputSchema: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] },
  run: async ({ query }) => searchInventory(query),
});

// A small pool: $0.006 for the cycle. "scout" may use at most half of it, and
// "intern" $0.0001, which cannot cover a single request.
const pool = new Pool(
  {
    pool_id: 'inventory-demo',
    limit: usd('0.006'),
    agents: {
      buyer: { weight: 2 },
      scout: { cap: { kind: 'share', basis_points: 5000 }, requests_per_minute: 30 },
      intern: { cap: { kind: 'absolute', amount: usd('0.0001') } },
    },
  },
  { onAlert: (a) => console.log(`ALERT  ${a.payload.text}`) },
);

const run = async (agentId) => {
  const agent = new Agent({ client, pool, agentId, model: MODEL, tools: [search], maxTokens: 100, maxTurns: 4, config: { estimate: { type: 'heuristic' } } });
  const outcome = await agent.run('Find products under $50');
  const why = outcome.status === 'pool_refused' ? ` (${outcome.refusal.code})` : '';
  console.log(`${agentId.padEnd(7)} ${outcome.status}${why}: ${outcome.turns.length} turns, ${outcome.total_cost}`);
  if (outcome.final_text) console.log(`        ${outcome.final_text.slice(0, 100)}`);
  return outcome;
};

try {
  console.log(`inventory: ${INVENTORY.length} products; pool limit ${pool.usage.limit.usd}`);
  await Promise.all([run('buyer'), run('scout'), run('intern')]);
  // More rounds for the buyer until the pool refuses.
  for (let round = 0; round < 5; round++) {
    if ((await run('buyer')).status !== 'completed') break;
  }
  const u = pool.usage;
  console.log(`\npool: settled ${u.settled.usd} of ${u.limit.usd}, reserved ${u.reserved.usd}`);
  for (const a of pool.report().agents) {
    console.log(`  ${a.agent.padEnd(7)} settled ${String(a.settled).padStart(12)}, ${a.requests} requests, ${a.refusals} refusals`);
  }
} finally {
  sim?.stop();
}
