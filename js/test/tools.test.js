// Tools: definitions checked by the core when made, inputs checked before the
// function runs, calls run concurrently, and a hand-written tool loop against
// a scripted server.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, Tool, ToolDefinitionError, Toolbox, tool } from 'creditpool';
import { json, message, startServer } from './helpers/server.js';

const weather = () =>
  tool({
    name: 'get_weather',
    description: 'The weather in a city.',
    inputSchema: {
      type: 'object',
      properties: { city: { type: 'string' }, unit: { enum: ['c', 'f'] } },
      required: ['city'],
      additionalProperties: false,
    },
    run: async ({ city, unit = 'c' }) => ({ city, temperature: unit === 'c' ? 21 : 70 }),
  });

function call(name, input, id = 'toolu_1') {
  return { type: 'tool_use', id, name, input };
}

test('a tool definition is checked when the tool is made', () => {
  const make = (spec) => () => new Tool({ run: () => 'ok', ...spec });
  assert.throws(make({ name: 'has space', description: 'd', inputSchema: { type: 'object' } }), (e) => {
    assert.ok(e instanceof ToolDefinitionError);
    assert.equal(e.type, 'tool_definition_invalid');
    assert.equal(e.rule, 'invalid_name');
    assert.equal(e.tool, 'has space');
    return true;
  });
  assert.throws(make({ name: 'f', description: ' ', inputSchema: { type: 'object' } }), { rule: 'missing_description' });
  assert.throws(make({ name: 'f', description: 'd', inputSchema: { type: 'array' } }), { rule: 'schema_type_not_object' });
  assert.throws(make({ name: 'f', description: 'd', inputSchema: { type: 'object', properties: { a: { $ref: 'https://example.com/s.json' } } } }), {
    rule: 'external_ref',
  });
  assert.throws(() => new Tool({ name: 'f', description: 'd', inputSchema: { type: 'object' } }), { type: 'invalid_argument' });
  assert.throws(() => new Toolbox([weather(), weather()]), { rule: 'duplicate_name' });
});

test('a valid call runs the function with the input', async () => {
  const box = new Toolbox([weather()]);
  assert.deepEqual(box.names, ['get_weather']);
  assert.equal(box.definitions[0].input_schema.required[0], 'city');
  const result = await box.run(call('get_weather', { city: 'Oslo', unit: 'f' }));
  assert.deepEqual(result, { type: 'tool_result', tool_use_id: 'toolu_1', content: '{"city":"Oslo","temperature":70}' });
});

test('an invalid input is answered with is_error and the function does not run', async () => {
  let ran = 0;
  const box = new Toolbox([
    tool({
      name: 'count',
      description: 'Counts.',
      inputSchema: { type: 'object', properties: { n: { type: 'integer', minimum: 1 } }, required: ['n'] },
      run: () => {
        ran++;
        return 'counted';
      },
    }),
  ]);
  const bad = await box.run(call('count', { n: 'seven' }));
  assert.equal(bad.is_error, true);
  assert.match(bad.content, /Invalid input for tool "count"/);
  assert.match(bad.content, /\/n/);
  const unknown = await box.run(call('cuont', { n: 1 }));
  assert.equal(unknown.is_error, true);
  assert.match(unknown.content, /Unknown tool "cuont"/);
  const cut = await box.run(call('count', { n: 3 }), { truncated: true });
  assert.equal(cut.is_error, true);
  assert.match(cut.content, /max_tokens/);
  assert.equal(ran, 0);
  assert.deepEqual(await box.run(call('count', { n: 3 })), { type: 'tool_result', tool_use_id: 'toolu_1', content: 'counted' });
  assert.equal(ran, 1);
});

test('an exception from the function becomes an is_error result', async () => {
  const box = new Toolbox([
    tool({
      name: 'fail',
      description: 'Always fails.',
      inputSchema: { type: 'object' },
      run: async () => {
        throw new Error('database is down');
      },
    }),
  ]);
  assert.deepEqual(await box.run(call('fail', {})), {
    type: 'tool_result',
    tool_use_id: 'toolu_1',
    // The core's words (AgentTexts::tool_failed).
    content: 'The tool "fail" failed. Its error is not shown; try another way, or answer without it.',
    is_error: true,
  });
});

test('runAll runs independent calls concurrently and keeps their order', async () => {
  // Each call waits until both have started: sequential running would never finish.
  let started = 0;
  let release;
  const both = new Promise((resolve) => (release = resolve));
  const box = new Toolbox([
    tool({
      name: 'wait',
      description: 'Waits for the other call.',
      inputSchema: { type: 'object', properties: { tag: { type: 'string' } } },
      run: async ({ tag }) => {
        started++;
        if (started === 2) release();
        await both;
        return tag;
      },
    }),
  ]);
  const msg = message({
    content: [{ type: 'text', text: 'two calls' }, call('wait', { tag: 'first' }, 'toolu_a'), call('wait', { tag: 'second' }, 'toolu_b')],
    stop_reason: 'tool_use',
  });
  const results = await box.runAll(msg);
  assert.deepEqual(
    results.map((r) => [r.tool_use_id, r.content]),
    [
      ['toolu_a', 'first'],
      ['toolu_b', 'second'],
    ],
  );
});

test('runAll refuses calls a stream reports as cut off', async () => {
  const box = new Toolbox([weather()]);
  const msg = message({ content: [call('get_weather', { city: 'Ber' }, 'toolu_cut')], stop_reason: 'max_tokens' });
  const [r] = await box.runAll(msg, { toolInputIssues: [{ index: 0, id: 'toolu_cut', name: 'get_weather', kind: 'truncated', raw_json: '{"city":"Ber' }] });
  assert.equal(r.is_error, true);
});

test('a hand-written tool loop: the model calls a tool, gets its result, answers', async () => {
  const s = await startServer([
    json(200, message({ content: [{ type: 'text', text: 'Let me check.' }, call('get_weather', { city: 'Oslo' })], stop_reason: 'tool_use' })),
    json(200, message({ text: 'It is 21 degrees in Oslo.' })),
  ]);
  after(() => s.close());
  const client = new Client({ apiKey: 'sk-test', baseURL: s.url });
  const box = new Toolbox([weather()]);
  const messages = [{ role: 'user', content: 'Weather in Oslo?' }];
  let reply;
  for (;;) {
    reply = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 256, tools: box.definitions, messages });
    if (reply.stop_reason !== 'tool_use') break;
    messages.push({ role: 'assistant', content: reply.content });
    messages.push({ role: 'user', content: await box.runAll(reply) });
  }
  assert.equal(reply.content[0].text, 'It is 21 degrees in Oslo.');
  const second = JSON.parse(s.requests[1].body);
  assert.equal(second.tools[0].name, 'get_weather');
  assert.deepEqual(second.messages[2].content, [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '{"city":"Oslo","temperature":21}' }]);
});
