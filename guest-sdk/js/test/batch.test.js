import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flatten, unflatten } from '../src/batch.js';
import { Document, DocumentArray } from '../src/document.js';
import { Tensor } from '../src/tensor.js';
import { node } from '../src/warmup.js';

function tree() {
  return new DocumentArray(
    new Document({
      id: 'a',
      text: 'root a',
      tags: { k: 1 },
      chunks: [new Document({ id: 'a.c1', chunks: [{ id: 'a.c1.c1', text: 'deep' }] }), { id: 'a.c2' }],
      matches: [{ id: 'a.m1', scores: { cosine: { value: 0.5, opName: 'cosine' } }, matches: [{ id: 'a.m1.m1' }] }],
    }),
    new Document({ id: 'b', embedding: new Tensor(Float32Array.of(1, 2)), location: [1, 2], blob: Uint8Array.of(9) }),
  );
}

test('flatten: roots first, then descendants breadth-first', () => {
  const batch = flatten(tree());
  assert.deepEqual(batch.roots, [0, 1]);
  assert.deepEqual(batch.nodes.map((n) => n.id), ['a', 'b', 'a.c1', 'a.c2', 'a.m1', 'a.c1.c1', 'a.m1.m1']);
  assert.deepEqual(batch.nodes[0].chunks, [2, 3]);
  assert.deepEqual(batch.nodes[0].matches, [4]);
  assert.deepEqual(batch.nodes[2].chunks, [5]);
  assert.deepEqual(batch.nodes[4].matches, [6]);
  assert.equal(batch.nodes[0].tags, '{"k":1}');
  assert.deepEqual(batch.nodes[4].scores, [{ name: 'cosine', value: 0.5, opName: 'cosine', description: null, refId: null }]);
  assert.deepEqual(batch.nodes[1].embedding.shape, [2]);
  assert.equal(batch.nodes[1].embedding.dtype, 'float32');
  assert.equal(batch.nodes[1].text, null);
});

test('unflatten(flatten(x)) is x, at any depth', () => {
  const back = unflatten(flatten(tree()));
  assert.ok(back instanceof DocumentArray);
  const a = back[0];
  assert.equal(a.chunks[0].chunks[0].text, 'deep');
  assert.equal(a.matches[0].matches[0].id, 'a.m1.m1');
  assert.deepEqual(a.tags, { k: 1 });
  assert.deepEqual(a.matches[0].scores.cosine, { value: 0.5, opName: 'cosine', description: null, refId: null });
  assert.deepEqual(Array.from(back[1].embedding.data), [1, 2]);
  assert.deepEqual(back[1].location, [1, 2]);
  assert.deepEqual(Array.from(back[1].blob), [9]);
  assert.deepEqual(flatten(back), flatten(tree()));
});

test('unflatten: any node order, engine-shaped nodes', () => {
  // Roots listed after their children; chunks and matches as Uint32Arrays.
  const batch = {
    nodes: [
      node('m', { text: 'match' }),
      node('c', { text: 'chunk', parentId: 'r' }),
      node('r', { chunks: Uint32Array.of(1), matches: Uint32Array.of(0), tags: '{"x": 1.0}', location: Float64Array.of(3) }),
    ],
    roots: Uint32Array.of(2),
  };
  const [r] = unflatten(batch);
  assert.equal(r.id, 'r');
  assert.equal(r.chunks[0].text, 'chunk');
  assert.equal(r.matches[0].text, 'match');
  assert.equal(r.parentId, null);
  assert.deepEqual(r.location, [3]);
  // Untouched tags go back verbatim.
  assert.equal(flatten([r]).nodes[0].tags, '{"x": 1.0}');
  r.tags.y = 2;
  assert.equal(flatten([r]).nodes[0].tags, '{"x":1.0,"y":2}');
});

test('unflatten rejects malformed batches', () => {
  const bad = [
    [{ nodes: [node('a')], roots: [1] }, /root #0 is node 1, out of range/],
    [{ nodes: [node('a')], roots: [0, 0] }, /node 0 \(id "a"\) is reached twice/],
    [{ nodes: [node('a', { chunks: [0] })], roots: [0] }, /reached twice/],
    [{ nodes: [node('a'), node('b')], roots: [0] }, /node 1 \(id "b"\) is not reachable/],
    [{ nodes: [node('a', { matches: [5] })], roots: [0] }, /match #0 of node 0 is node 5/],
    [{ nodes: [node('a', { tensor: { dtype: 'float32', shape: [3], data: new Uint8Array(4) } })], roots: [0] }, /document "a": tensor: a float32 tensor of shape \[3\] needs 12 bytes/],
  ];
  for (const [batch, message] of bad) {
    assert.throws(() => unflatten(batch), (e) => e.name === 'InvalidDocumentBatch' && message.test(e.message), String(message));
  }
});

test('flatten: shared documents are sent once per place, cycles are refused', () => {
  const shared = new Document({ id: 's' });
  const docs = [new Document({ id: 'q1', matches: [shared] }), new Document({ id: 'q2', matches: [shared] })];
  const batch = flatten(docs);
  assert.deepEqual(batch.nodes.map((n) => n.id), ['q1', 'q2', 's', 's']);
  const loop = new Document({ id: 'loop' });
  loop.chunks.push(loop);
  assert.throws(() => flatten([loop]), /contains itself/);
});

test('flatten validates what it sends', () => {
  assert.throws(() => flatten([new Document({ granularity: 1.5 })]), /granularity must be a 32-bit integer/);
  assert.throws(() => flatten([new Document({ text: 3 })]), /text must be a string/);
  assert.throws(() => flatten([new Document({ scores: { a: { value: 'x' } } })]), /scores.a must be/);
  assert.throws(() => flatten([3]), /expected a Document/);
  // Plain objects and typed-array embeddings are accepted.
  const batch = flatten([{ text: 'plain', embedding: Float32Array.of(1), scores: { s: 0.5 } }]);
  assert.equal(batch.nodes[0].text, 'plain');
  assert.equal(batch.nodes[0].id.length, 32);
  assert.equal(batch.nodes[0].embedding.dtype, 'float32');
  assert.deepEqual(batch.nodes[0].scores[0].value, 0.5);
});
