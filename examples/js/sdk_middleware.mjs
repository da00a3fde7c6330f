// An existing program written for the official SDK (@anthropic-ai/sdk),
// drawing on a creditpool credit pool through one added line: the middleware.
//
// Run it against the offline simulator (`cargo run -p creditpool-sim`; set
// ANTHROPIC_BASE_URL to the URL it prints and ANTHROPIC_API_KEY to any
// non-empty value) or against the real API with a real key. Needs
// `npm install @anthropic-ai/sdk`. js/test/middleware-example.test.js runs it
// against the simulator.
import Anthropic from '@anthropic-ai/sdk';
import { Pool, PoolRefusedError, creditpoolMiddleware, nanos, usd } from 'creditpool';

const ledger = [];
const pool = new Pool({ limit: usd(5) }, { onLedger: (entry) => ledger.push(entry) }); // $5 per monthly cycle

// The one added line: every messages.create / messages.stream of this client
// reserves its worst case first, and settles its exact cost from the usage.
const client = new Anthropic({ middleware: [creditpoolMiddleware(pool, { agent: 'researcher' })] });

const message = await client.messages.create({
  model: 'claude-haiku-4-5',
  max_tokens: 300,
  messages: [{ role: 'user', content: 'Say hello in five words.' }],
});
console.log(message.content[0].type === 'text' ? message.content[0].text : message.content[0].type);

const stream = client.messages.stream({
  model: 'claude-haiku-4-5',
  max_tokens: 300,
  messages: [{ role: 'user', content: 'Count to three.' }],
});
stream.on('text', (text) => process.stdout.write(text));
await stream.finalMessage();
process.stdout.write('\n');

// countTokens and every other endpoint pass through untouched.
const counted = await client.messages.countTokens({ model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'How many?' }] });
console.log(`countTokens: ${counted.input_tokens} input tokens (not metered)`);

for (const e of ledger) console.log(`ledger: ${e.kind} ${e.agent} ${e.request_id} ${nanos(e.cost)}`);
console.log(`pool: settled ${pool.usage.settled}, reserved ${pool.usage.reserved}`);

// A pool that cannot cover the worst case refuses before anything is sent,
// with creditpool's typed error (not a connection error).
const tiny = new Anthropic({ middleware: [creditpoolMiddleware(new Pool({ limit: nanos(1000) }), { agent: 'intern' })] });
try {
  await tiny.messages.create({ model: 'claude-haiku-4-5', max_tokens: 300, messages: [{ role: 'user', content: 'Hi' }] });
} catch (e) {
  if (!(e instanceof PoolRefusedError)) throw e;
  console.log(`refused by the pool (${e.code})`);
}
