// The inventory agents in a browser: the same pool and agents as
// inventory.mjs, with the pool's usage shown live (on every ledger entry and
// while requests hold reservations) and its activity dashboard (the core's
// Vega-Lite spec, pool.chart(), drawn with vega-embed) redrawn as the ledger
// grows. Served by serve.mjs, which also starts the simulator and passes its
// URL as ?api=.
import { Agent, Client, MissingDependencyError, Pool, Tool, renderActivity, usd } from '../../js/src/browser.js';
import { searchInventory } from './inventory-data.js';

const params = new URL(location.href).searchParams;
const api = params.get('api') ?? 'http://127.0.0.1:8787';
const $ = (id) => document.getElementById(id);
const statuses = {};

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
  {
    onAlert: (a) => {
      const li = document.createElement('li');
      li.className = 'warn';
      li.textContent = a.payload.text;
      $('alerts').append(li);
    },
    onLedger: () => {
      show();
      drawActivity();
    },
  },
);
$('limit').textContent = pool.usage.limit.usd;

function show() {
  const u = pool.usage;
  const pct = (m) => `${(Number(m.nanos) * 100) / Number(u.limit.nanos)}%`;
  $('settled').style.width = pct(u.settled);
  $('reserved').style.width = `calc(${pct(u.settled)} + ${pct(u.reserved)})`;
  $('usage').textContent = `settled ${u.settled.usd}, reserved ${u.reserved.usd}, of ${u.limit.usd}`;
  $('agents').innerHTML = pool
    .report()
    .agents.map((a) => `<tr><td>${a.agent}</td><td>${statuses[a.agent] ?? ''}</td><td>${a.settled}</td><td>${a.requests}</td><td>${a.refusals}</td></tr>`)
    .join('');
}

// The activity chart: at most one drawing at a time, the latest state drawn
// next (vega-embed takes a few ms per drawing; ledger entries come faster).
let drawing = null;
let again = false;
let embedded = null;
let chartOff = false;
function drawActivity() {
  if (chartOff) return Promise.resolve();
  if (drawing) {
    again = true;
    return drawing;
  }
  drawing = (async () => {
    do {
      again = false;
      try {
        const result = await renderActivity($('activity'), pool.chart());
        embedded?.finalize();
        embedded = result;
        window.__activityDraws = (window.__activityDraws ?? 0) + 1;
      } catch (e) {
        chartOff = true;
        $('activity-note').textContent =
          e instanceof MissingDependencyError
            ? 'No activity chart: the Vega bundles are not installed (bash scripts/lib/vega-lite-schema.sh).'
            : `No activity chart: ${e.name}: ${e.message}`;
      }
    } while (again && !chartOff);
  })().finally(() => {
    drawing = null;
  });
  return drawing;
}

const search = new Tool({
  name: 'search_database',
  description: 'Query the product inventory database.',
  inputSchema: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] },
  run: async ({ query }) => searchInventory(query),
});
const client = new Client({ apiKey: params.get('key') ?? 'sk-sim-example', baseURL: api, dangerouslyAllowBrowser: true });

async function run(agentId) {
  statuses[agentId] = 'running';
  const agent = new Agent({ client, pool, agentId, model: 'claude-haiku-4-5', tools: [search], maxTokens: 100, maxTurns: 4, config: { estimate: { type: 'heuristic' } } });
  const outcome = await agent.run('Find products under $50');
  statuses[agentId] = outcome.status === 'pool_refused' ? `refused (${outcome.refusal.code})` : outcome.status;
  show();
  return outcome;
}

const timer = setInterval(show, 100);
$('start').onclick = async () => {
  $('start').disabled = true;
  $('status').textContent = 'running…';
  try {
    await Promise.all([run('buyer'), run('scout'), run('intern')]);
    for (let round = 0; round < 5; round++) if ((await run('buyer')).status !== 'completed') break;
    $('status').textContent = 'done';
  } catch (e) {
    $('status').textContent = `failed: ${e.name}: ${e.message}`;
  } finally {
    clearInterval(timer);
    show();
    await drawActivity();
    await drawing;
    window.__done = true;
  }
};
show();
drawActivity();
