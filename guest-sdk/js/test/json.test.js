import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJson, stringifyJson, parseObject } from '../src/json.js';

test('plain JSON goes through the engine', () => {
  const text = '{"a":1,"b":[true,null,"x"],"c":{"d":2.5}}';
  assert.deepEqual(parseJson(text), JSON.parse(text));
  assert.equal(stringifyJson(parseJson(text)), text);
});

test('floats written as integers stay floats, long integers stay exact', () => {
  const text = '{"f":2.0,"e":1e3,"z":-0.0,"big":12345678901234567890,"l":[1.0,2,3.50],"s":"1.0"}';
  const v = parseJson(text);
  assert.equal(v.f, 2);
  assert.equal(v.big, 12345678901234567890);
  assert.equal(stringifyJson(v), '{"f":2.0,"e":1e3,"z":-0.0,"big":12345678901234567890,"l":[1.0,2,3.5],"s":"1.0"}');
});

test('a changed value is written as it is now', () => {
  const v = parseJson('{"f":2.0,"g":3.0}');
  v.f = 7;
  v.h = 1;
  assert.equal(stringifyJson(v), '{"f":7,"g":3.0,"h":1}');
  // The kind travels with the container it was read in.
  assert.equal(stringifyJson({ nested: v }), '{"nested":{"f":7,"g":3.0,"h":1}}');
});

test('strings with escapes and odd keys', () => {
  const text = '{"q":"a\\"b\\\\c\\u00e9 1.0","__proto__":1.0,"k":[]}';
  const v = parseJson(text);
  assert.equal(v.q, 'a"b\\cé 1.0');
  assert.equal(Object.getPrototypeOf(v), Object.prototype);
  assert.equal(Object.keys(v).join(), 'q,__proto__,k');
  assert.equal(stringifyJson(v), '{"q":"a\\"b\\\\cé 1.0","__proto__":1.0,"k":[]}');
});

test('syntax errors are the engine\'s', () => {
  assert.throws(() => parseJson('{"a":1.0,}'), SyntaxError);
  assert.throws(() => parseJson('[1.0'), SyntaxError);
});

test('parseObject: empty is {}, non-objects are ValueErrors', () => {
  assert.deepEqual(parseObject('', 'x'), {});
  assert.deepEqual(parseObject(' {"a": 1} ', 'x'), { a: 1 });
  for (const bad of ['[1]', '3', 'null', '{nope']) {
    assert.throws(() => parseObject(bad, 'parameters'), (e) => e.name === 'ValueError' && e.message.startsWith('parameters'));
  }
});
