import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Document, DocumentArray, newId } from '../src/document.js';
import { receiveRawTags, rawTags } from '../src/document.js';
import { Tensor } from '../src/tensor.js';

test('fresh ids are 32 random hex digits', () => {
  const a = new Document({ text: 'x' });
  const b = new Document();
  assert.match(a.id, /^[0-9a-f]{32}$/);
  assert.notEqual(a.id, b.id);
  assert.match(newId(), /^[0-9a-f]{32}$/);
  assert.equal(new Document({ id: 7 }).id, '7');
});

test('unset fields are null, lists empty', () => {
  const d = new Document({ text: 'hi' });
  assert.equal(d.text, 'hi');
  for (const f of ['parentId', 'granularity', 'adjacency', 'blob', 'tensor', 'embedding', 'uri', 'mimeType', 'weight', 'modality', 'offset']) {
    assert.equal(d[f], null, f);
  }
  assert.deepEqual(d.location, []);
  assert.deepEqual(d.scores, {});
  assert.deepEqual(d.tags, {});
  assert.ok(d.chunks instanceof DocumentArray);
});

test('unknown fields are refused, with a hint for snake_case', () => {
  assert.throws(() => new Document({ mime_type: 'x' }), /fields are camelCase: mimeType/);
  assert.throws(() => new Document({ txt: 'x' }), /unknown Document field "txt"/);
});

test('addChunk and addMatch keep docarray bookkeeping', () => {
  const p = new Document({ id: 'p' });
  const c = p.addChunk(new Document({ id: 'c' }));
  const cc = c.addChunk({ id: 'cc' });
  const m = p.addMatch(new Document({ id: 'm' }));
  assert.equal(c.parentId, 'p');
  assert.equal(c.granularity, 1);
  assert.equal(cc.granularity, 2);
  assert.equal(cc.parentId, 'c');
  assert.equal(m.adjacency, 1);
});

test('tags: parsed lazily, raw text kept until read', () => {
  const d = new Document({ id: 'd' });
  receiveRawTags(d, '{"b": 1, "a": 2.50}');
  assert.equal(rawTags(d), '{"b": 1, "a": 2.50}');
  assert.equal(d.tags.a, 2.5);
  assert.equal(rawTags(d), '{"b":1,"a":2.5}');
  receiveRawTags(d, '{}');
  void d.tags;
  assert.equal(rawTags(d), '{}');
  assert.equal(rawTags(new Document()), null);
  receiveRawTags(d, '[1]');
  assert.throws(() => d.tags, (e) => e.name === 'ValueError' && /document "d": tags must be a JSON object/.test(e.message));
  assert.equal(rawTags(d), '[1]');
  d.tags = { ok: true };
  assert.equal(rawTags(d), '{"ok":true}');
  assert.throws(() => (d.tags = [1]), /plain object/);
});

test('tags: emptied tags go back as {} if the host sent tags, else as none', () => {
  const received = new Document({ id: 'r' });
  receiveRawTags(received, '{"a": 1}');
  delete received.tags.a;
  assert.equal(rawTags(received), '{}');
  received.tags = {};
  assert.equal(rawTags(received), '{}');
  assert.equal(rawTags(received.clone()), '{}');
  const fresh = new Document({ id: 'f', tags: { a: 1 } });
  fresh.tags = {};
  assert.equal(rawTags(fresh), null);
  assert.equal(rawTags(fresh.clone()), null);
  receiveRawTags(fresh, null);
  fresh.tags.b = 2;
  assert.equal(rawTags(fresh), '{"b":2}');
  delete fresh.tags.b;
  assert.equal(rawTags(fresh), null);
});

test('clone is deep', () => {
  const d = new Document({ text: 't', tags: { n: { m: 1 } }, embedding: new Tensor(Float32Array.of(1)), chunks: [{ id: 'c' }], scores: { s: 1 } });
  const c = d.clone();
  assert.equal(c.id, d.id);
  c.tags.n.m = 2;
  c.embedding.data[0] = 5;
  c.chunks[0].text = 'changed';
  c.scores.s.value = 3;
  assert.equal(d.tags.n.m, 1);
  assert.equal(d.embedding.data[0], 1);
  assert.equal(d.chunks[0].text, null);
  assert.equal(d.scores.s.value, 1);
});

test('DocumentArray is an Array', () => {
  const docs = DocumentArray.from([{ id: 'a', text: 'x' }, { id: 'b', text: 'y' }], (o) => new Document(o));
  assert.ok(Array.isArray(docs));
  assert.deepEqual(docs.texts, ['x', 'y']);
  assert.equal(docs.byId('b').text, 'y');
  assert.ok(docs.filter((d) => d.id === 'a') instanceof DocumentArray);
  assert.deepEqual(JSON.parse(JSON.stringify(docs[0])), { id: 'a', text: 'x' });
});
