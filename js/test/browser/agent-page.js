// Runs in Chromium: an inventory agent with one tool, on a small pool, against
// the simulator given in ?api= (another origin: CORS). The outcome, the
// pool's report and the alerts go to window.__agent (for the runner) and to
// the page (for the screenshot).
import { Agent, Client, Pool, Tool, nanos } from '../../src/browser.js';

const api = new URL(location.href).searchParams.get('api');
const INVENTORY = [
  { name: 'Desk lamp', price: 39 },
  { name: 'Office chair', price: 189 },
  { name: 'Notebook (5 pack)', price: 12 },
];
const queries = [];
const alerts = [];
const text = (id, s) => (document.getElementById(id).textContent = s);

try {
  const search = new Tool({
    name: 'search_database',
    description: 'Query the product inventory database.',
    inputSchema: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] },
    run: async ({ query }) => {
      queries.push(query);
      return INVENTORY.filter((p) => p.price < 50);
    },
  });
  const pool = new Pool(
    { limit: nanos(1_900_000) },
    {
      onAlert: (a) => {
        alerts.push({ kind: a.kind, percent: a.percent, text: a.payload.text });
        const li = document.createElement('li');
        li.textContent = a.payload.text;
        document.getElementById('alerts').append(li);
      },
    },
  );
  const client = new Client({ apiKey: 'sk-sim-browser', baseURL: api, dangerouslyAllowBrowser: true });
  const agent = new Agent({
    client,
    pool,
    agentId: 'inventory',
    model: 'claude-haiku-4-5',
    tools: [search],
    maxTokens: 100,
    config: { estimate: { type: 'heuristic' } },
  });
  const outcome = await agent.run('Find products under $50');
  const report = pool.report();
  const usage = pool.usage;
  text('status', `${outcome.status}: ${outcome.turns.length} turns, ${usage.settled.usd} of ${usage.limit.usd}`);
  text('answer', outcome.final_text);
  document.getElementById('report').innerHTML =
    '<tr><th>agent</th><th>settled</th><th>requests</th></tr>' +
    report.agents.map((a) => `<tr><td>${a.agent}</td><td>${a.settled}</td><td>${a.requests}</td></tr>`).join('');
  window.__agent = {
    status: outcome.status,
    finalText: outcome.final_text,
    turns: outcome.turns.length,
    totalCost: Number(outcome.total_cost.nanos),
    settled: Number(usage.settled.nanos),
    reserved: Number(usage.reserved.nanos),
    report: report.toJSON(),
    alerts,
    queries,
  };
} catch (e) {
  text('status', `failed: ${e.name}: ${e.message}`);
  window.__agent = { error: `${e.name} (${e.type}): ${e.message}` };
}
