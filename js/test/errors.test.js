// The Error classes are the core's (codes.rs: CLASSES, CODES): classes.js is
// generated from the wasm module's table and must be current, every class has
// the core's name and parent, and the deprecated JS names are the same classes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as creditpool from 'creditpool';
import { CLASSES, CODES, classForCode } from 'creditpool/core';
import * as glue from '../wasm/creditpool.js';
import { render } from '../scripts/gen-errors.mjs';

test('src/classes.js is generated from the core table (run npm run gen:errors when this fails)', () => {
  const current = readFileSync(new URL('../src/classes.js', import.meta.url), 'utf8');
  assert.equal(current, render(glue.errorClasses(), glue.errorCodes()));
});

test('every class of the core table is exported with its name and parent', () => {
  assert.ok(CLASSES.length > 30);
  for (const c of CLASSES) {
    const Class = creditpool[c.name];
    assert.equal(typeof Class, 'function', `${c.name} is exported`);
    assert.equal(Class.name, c.name);
    if (c.parent !== null) assert.equal(Object.getPrototypeOf(Class), creditpool[c.parent], `${c.name} extends ${c.parent}`);
    const e = new Class('x');
    assert.equal(e.name, c.name);
    assert.ok(e instanceof creditpool.CreditpoolError && e instanceof Error);
  }
  for (const [code, name] of Object.entries(CODES)) {
    assert.equal(classForCode(code), name);
    assert.equal(typeof creditpool[name], 'function', `${name} (for ${code})`);
  }
});

test('the deprecated JS names are the same classes', () => {
  const aliases = {
    InvalidRequestError: 'BadRequestError',
    ConnectionError: 'APIConnectionError',
    ConnectionTimeoutError: 'APITimeoutError',
    ResponseError: 'ResponseParseError',
    ToolInputError: 'ToolInputInvalidError',
  };
  for (const [old, name] of Object.entries(aliases)) assert.equal(creditpool[old], creditpool[name], `${old} is ${name}`);
  const build = new creditpool.RequestBuildError('x', { code: 'missing_api_key' });
  const options = new creditpool.InvalidOptionsError('x');
  assert.ok(build instanceof creditpool.ConfigurationError && options instanceof creditpool.ConfigurationError);
  assert.ok(!(new creditpool.OverloadedError('x') instanceof creditpool.ConfigurationError));
});

test('an error the wasm module builds has the class the core names for its code', () => {
  assert.throws(
    () => creditpool.checkTool({ name: 'bad name', description: 'x', input_schema: { type: 'object' } }),
    (e) => e instanceof creditpool.ToolDefinitionError && e.code === 'invalid_tool_name' && e.name === classForCode(e.code) && e.type === 'tool_definition_invalid',
  );
  assert.throws(
    () => creditpool.parsePartialJson('{"a": tru x'),
    (e) => e instanceof creditpool.PartialJsonError && e.code === 'partial_json_syntax' && e.kind === 'syntax',
  );
  assert.throws(
    () => creditpool.cost('no-such-model', { input_tokens: 1, output_tokens: 1 }),
    (e) => e instanceof creditpool.UnknownModelError && e.code === 'unknown_model',
  );
});
