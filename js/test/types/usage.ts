// Compiled (not run) by test/types.test.js: the declarations in index.d.ts
// must describe the package as the docs use it.
import {
  APIError,
  AbortError,
  WebhookTimeoutError,
  Agent,
  Client,
  MissingDependencyError,
  Pool,
  PoolRateLimitedError,
  activityChartFromLedger,
  renderActivity,
  type VegaLiteSpec,
  CreditpoolError,
  MessageStream,
  PriceTable,
  StreamIncompleteError,
  Toolbox,
  cost,
  parsePartialJson,
  tool,
  type Message,
  type Money,
  AgentOutcome,
  AgentCapError,
  PoolReport,
  nanos,
  usd,
  type StreamEvent,
  type StreamRetryItem,
} from 'creditpool';
import { MessagesCall, classForCode } from 'creditpool/core';

async function main(): Promise<void> {
  const client = new Client({ apiKey: 'sk-test', baseURL: 'http://127.0.0.1:1', poolSelector: false, maxRetries: 1 });
  const m: Message = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] });
  const first = m.content[0];
  if (first.type === 'text') console.log(first.text);

  const stream: MessageStream = client.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] });
  for await (const ev of stream) {
    const e: StreamEvent | StreamRetryItem = ev;
    console.log(e.type);
  }
  const text: string = await stream.finalText();
  const streamed: MessageStream = await client.messages.create({ model: 'm', max_tokens: 1, messages: [], stream: true });
  console.log(text, streamed.attempts);

  const weather = tool<{ city: string }>({
    name: 'get_weather',
    description: 'Weather.',
    inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    run: async ({ city }) => `sunny in ${city}`,
  });
  const box = new Toolbox([weather]);
  const results = await box.runAll(m);
  console.log(results[0]?.tool_use_id, box.definitions.length);

  const c = cost('claude-sonnet-4-5', { input_tokens: 10, output_tokens: 2 });
  const total: Money = c.total;
  const nanos: bigint = total.nanos;
  console.log(nanos + 1n, total.usd, new PriceTable().asOf);
  console.log(parsePartialJson('{"a": 1').complete);

  try {
    await client.messages.create({ model: 'm', max_tokens: 1, messages: [] });
  } catch (e) {
    if (e instanceof APIError) console.log(e.status, e.requestId, e.type);
    if (e instanceof StreamIncompleteError) console.log(e.partial?.id);
    if (e instanceof CreditpoolError) console.log(e.toJSON());
  }
}

void main;

// The pool.
export function poolUsage(): void {
  const pool = new Pool({ limit: usd(10) }, { onAlert: (a) => a.percent });
  const r = pool.reserve('agent', nanos(1_000_000n));
  const s = pool.settle(r.id, '$0.0009');
  if (!s.duplicate) s.refunded.nanos satisfies bigint;
  const text: string = pool.snapshot();
  void text;
}
export async function poolFaults(): Promise<void> {
  const pool = new Pool(
    { limit: nanos(1_000n) },
    {
      webhooks: [{ url: 'https://hooks.example/x', secret: 's' }],
      webhookConcurrency: 2,
      onWebhookError: (_e, _a, origin: string, index: number) => console.log(origin, index),
      onError: (e, info) => console.log(info.source, e),
    },
  );
  try {
    await pool.flush(500);
    await pool.close({ timeoutMs: 500 });
  } catch (e) {
    if (e instanceof WebhookTimeoutError) console.log(e.pending, e.timeoutMs);
    if (e instanceof AbortError) console.log(e.reason);
  }
}
import { renderActivity as renderOnly, MissingDependencyError as MissingDep } from 'creditpool/activity';
export const activitySubpath: [typeof renderOnly, typeof MissingDep] = [renderActivity, MissingDependencyError];

// Activity charts.
export async function activityUsage(pool: Pool, el: HTMLElement, jsonl: string): Promise<void> {
  const now: VegaLiteSpec = pool.chart();
  const report = pool.report();
  const ofReport: VegaLiteSpec = report.chart();
  const fromFile = activityChartFromLedger(jsonl, { limit: usd('0.04'), thresholds_pct: [50, 90] });
  const entries: Record<string, unknown>[] = [];
  pool.onLedger((entry) => entries.push(entry));
  const fromEntries = activityChartFromLedger(entries, null);
  try {
    const shown = await renderActivity(el, now);
    shown.finalize();
    await renderActivity('#chart', ofReport, { vegaEmbed: async (_el: any, spec: any) => ({ view: null, spec, finalize() {} }), embedOptions: { renderer: 'canvas' } });
  } catch (e) {
    if (e instanceof MissingDependencyError) console.log(e.dependency);
  }
  void fromFile;
  void fromEntries;
}
export function refusal(e: unknown): number | null {
  return e instanceof PoolRateLimitedError ? e.retryAt : null;
}

export async function agentUsage(client: Client, pool: Pool, t: ReturnType<typeof tool>): Promise<string> {
  const agent = new Agent({ client, pool, agentId: 'inventory', model: 'claude-haiku-4-5', tools: [t], maxSpend: usd('0.05') });
  const outcome = await agent.run('Find products under $50');
  return outcome.status === 'completed' ? outcome.final_text : outcome.status;
}

// The low-level machinery, from creditpool/core.
export function coreUsage(): string {
  const call = new MessagesCall({ apiKey: 'sk-test', request: { model: 'claude-haiku-4-5', max_tokens: 8, messages: [] } });
  const action = call.nextAction(0);
  if (action.type === 'wait' && action.retry) return action.retry.code;
  const timedOut: boolean = call.handleTimeout(0);
  return `${action.type} ${timedOut} ${classForCode('overloaded_error')}`;
}

export function outcomeError(outcome: Awaited<ReturnType<Agent['run']>>): string | undefined {
  return outcome.exception?.code;
}

// Issue 13 items 1 and 8: one money type; typed outcomes and reports.
export function moneyTypes(pool: Pool, outcome: AgentOutcome, report: PoolReport): string {
  // @ts-expect-error a bare number is not an amount
  new Pool({ limit: 5 });
  // @ts-expect-error a string amount needs its dollar sign
  pool.reserve('a', '5');
  // @ts-expect-error maxSpend is a Money
  new Agent({ client: new Client(), pool, agentId: 'a', model: 'm', maxSpend: 1 });
  const total: Money = outcome.total_cost;
  const perTool: Money | undefined = outcome.tool_costs['search'];
  const sum: Money = total.plus(outcome.conversation_cost);
  // @ts-expect-error total_cost is a Money, not a number
  const asNumber: number = outcome.total_cost;
  // @ts-expect-error an outcome has no such field
  outcome.totalCost;
  // @ts-expect-error not a status
  if (outcome.status === 'complete') return '';
  const refused: boolean = outcome.refusal instanceof AgentCapError;
  const err: CreditpoolError | null = outcome.error;
  const settled: Money = report.settled;
  const cap: Money | null = report.agents[0]?.cap ?? null;
  // @ts-expect-error a report has no such field
  report.spent;
  // @ts-expect-error a report's amounts are Money
  const limit: number = report.limit;
  void [perTool, sum, asNumber, refused, err, cap, limit];
  return `${settled.usd} ${settled.dollars} ${settled.nanos} ${outcome.raiseForStatus().final_text}`;
}

// Issue 13 item 7 and the refusal fields: a turn keeps its tool failures;
// a refusal has Python's `reason` and `details`.
export function toolFailureTypes(outcome: AgentOutcome): string {
  const turn = outcome.turns[0];
  const stack: string | undefined = turn?.toolFailures[0]?.stack;
  const callId: string | undefined = turn?.tool_failures[0]?.call_id;
  // @ts-expect-error a failure record has no such field
  turn?.tool_failures[0]?.error;
  const reason: 'pool_exhausted' | 'agent_cap' | 'rate_limited' | 'fair_share' | 'unknown_agent' | undefined = outcome.refusal?.reason;
  const details: Record<string, unknown> | undefined = outcome.refusal?.details;
  void details;
  return `${stack} ${callId} ${reason}`;
}
