// The C SDK's canonical-ABI check (run by run.sh): drives the conformance executor's WIT
// exports, transpiled by jco, with hand-made batches and checks every reply against
// tests/conformance/README.md, plus the SDK's own errors and its memory use.
import { executor } from './gen/conformance.js';
import { logs } from './logging.js';
import assert from 'node:assert/strict';

const sizes = {float16:2,float32:4,float64:8,int8:1,int16:2,int32:4,int64:8,uint8:1,uint16:2,uint32:4,uint64:8,boolean:1};
function tensor(dtype, shape) {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Uint8Array(n * sizes[dtype]);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37 + 11) & 255;
  if (dtype === 'boolean') for (let i = 0; i < data.length; i++) data[i] &= 1;
  return { dtype, shape: Uint32Array.from(shape), data };
}
function doc(id, extra = {}) {
  return { id, location: new Float64Array(), scores: [], evaluations: [], chunks: new Uint32Array(), matches: new Uint32Array(), ...extra };
}
const TAGS = '{"s":"x\\u0001y\\"\\\\é😀\\n","i":3,"neg":-7,"big":9007199254740993,"f":1.0,"g":2.5e-10,"h":1e300,"b":true,"t":false,"n":null,"l":[1,2.0,"three",[],{}],"o":{"deep":{"deeper":[false,-0.5]}},"empty":"","zero":0,"exp":1E5}';

function bigBatch() {
  const nodes = [];
  const dtypes = Object.keys(sizes);
  // root 0 with every field
  nodes.push(doc('root', {
    parentId: 'p', granularity: 1, adjacency: -2, text: 'héllo\0world', blob: Uint8Array.from([0, 1, 255]),
    tensor: tensor('float32', [2, 3]), embedding: tensor('float16', [4]), uri: 'u', mimeType: 'm', tags: TAGS,
    weight: 0.5, modality: 'mod', offset: 7.25, location: Float64Array.from([1, -2.5, 1e300]),
    scores: [{ name: 'cos', value: 0.25, opName: 'op', description: 'd', refId: 'r' }, { name: 'l2', value: -1 }],
    evaluations: [{ name: 'acc', value: 1, description: 'only description' }],
    chunks: Uint32Array.from([2, 1]), matches: Uint32Array.from([3]) }));
  nodes.push(doc('chunk-b', { text: '', tags: '{}' , chunks: Uint32Array.from([4])}));
  nodes.push(doc('chunk-a', { embedding: tensor('float32', []) }));
  nodes.push(doc('match', { tensor: tensor('int64', [2, 0, 3]) }));
  nodes.push(doc('deep', { matches: Uint32Array.from([5]) }));
  nodes.push(doc('deeper', { tags: '{"a": [1, 2]}' }));
  const roots = [0];
  for (const dt of dtypes) {
    for (const shape of [[], [3], [2, 2], [0], [2, 0]]) {
      roots.push(nodes.length);
      nodes.push(doc(`${dt}-${shape.join('x')}`, { embedding: tensor(dt, shape), tensor: tensor(dt, shape) }));
    }
  }
  roots.push(nodes.length); nodes.push(doc(''));
  return { nodes, roots: Uint32Array.from(roots) };
}
const clone = (b) => structuredClone(b);
function norm(x) {
  if (ArrayBuffer.isView(x)) return { typed: x.constructor.name, v: Array.from(x) };
  if (Array.isArray(x)) return x.map(norm);
  if (x && typeof x === 'object') { const o = {}; for (const k of Object.keys(x).sort()) if (x[k] !== undefined) o[k] = norm(x[k]); return o; }
  return x;
}
const same = (a, b) => assert.deepEqual(norm(a), norm(b));

// describe
const d = executor.describe();
assert.deepEqual(d.methods.map(m => [m.name, m.endpoints]), [
  ['unchanged', ['/unchanged']], ['roundtrip', ['/roundtrip']], ['mutate', ['/mutate']], ['params', ['/params']],
  ['fail', ['/fail']], ['log', ['/log']], ['workspace', ['/workspace']], ['other', []]]);
assert.equal(d.catchAll, 'other');

// call before init
assert.throws(() => executor.call('other', '/x', { nodes: [], roots: new Uint32Array() }, '{}'), e => e.payload.name === 'NotInitialized');

executor.init('{"label": "L", "junk": [1, 2.0]}', { name: 'conf', description: 'desc', replicaId: 1, shardId: 2, shards: 3, replicas: 4 });
assert.throws(() => executor.init('{}', { name: 'x', replicaId: 0, shardId: 0, shards: 1, replicas: 1 }), e => e.payload.name === 'AlreadyInitialized');

// unchanged
assert.deepEqual(executor.call('unchanged', '/unchanged', bigBatch(), '{}'), { tag: 'unchanged' });

// roundtrip: equal to what was sent (tags: same text, as the SDK re-serialises them)
{
  const sent = bigBatch();
  const out = executor.call('roundtrip', '/roundtrip', clone(sent), '{}');
  assert.equal(out.tag, 'docs');
  const expected = clone(sent); expected.nodes[5].tags = '{"a":[1,2]}';
  same(out.val, expected);
  // tags written with spaces come back compact but equal
  const b = { nodes: [doc('x', { tags: '{ "a" : 1.50 ,\n "b": [ ] }' })], roots: Uint32Array.from([0]) };
  const o = executor.call('roundtrip', '/roundtrip', b, '');
  assert.equal(o.val.nodes[0].tags, '{"a":1.50,"b":[]}');
}

// mutate
{
  const sent = bigBatch();
  const out = executor.call('mutate', '/mutate', clone(sent), '{}').val;
  assert.equal(out.nodes.length, sent.nodes.length + 1);
  assert.equal(out.roots.length, sent.roots.length + 1);
  for (let i = 0; i < sent.nodes.length; i++) {
    const a = sent.nodes[i], b = out.nodes[i];
    assert.equal(b.text, a.text === undefined ? undefined : a.text + '!');
    const tags = JSON.parse(b.tags);
    assert.equal(tags.label, 'L');
    if (a.tags) { const at = JSON.parse(a.tags); at.label = 'L'; assert.deepEqual(tags, at); }
    if (a.embedding && a.embedding.dtype === 'float32') {
      const x = new Float32Array(a.embedding.data.buffer.slice(0)), y = new Float32Array(b.embedding.data.buffer.slice(b.embedding.data.byteOffset, b.embedding.data.byteOffset + b.embedding.data.length));
      assert.deepEqual(Array.from(y), Array.from(x).map(v => Math.fround(v * 2)));
      same(b.embedding.shape, a.embedding.shape);
    } else {
      same(b.embedding, a.embedding);
    }
    same(b.tensor, a.tensor);
    same(b.chunks, a.chunks);
    same(b.matches, a.matches);
  }
  const added = out.nodes[out.roots[out.roots.length - 1]];
  assert.equal(added.text, 'added by L');
  assert.match(added.id, /^[0-9a-f]{32}$/);
}

// params
{
  const out = executor.call('params', '/params', bigBatch(), '{"p": 1, "f": 1.0, "o": {"x": [true]}}').val;
  assert.equal(out.nodes.length, 1);
  assert.equal(out.nodes[0].tags, '{"parameters":{"p":1,"f":1.0,"o":{"x":[true]}},"uses_with":{"label":"L","junk":[1,2.0]},"metas":{"name":"conf","description":"desc","workspace":null,"replica_id":1,"shard_id":2,"shards":3,"replicas":4}}');
}

// fail
assert.throws(() => executor.call('fail', '/fail', bigBatch(), '{}'), (e) => {
  assert.equal(e.payload.name, 'ValueError');
  assert.equal(e.payload.message, `conformance failure: ${bigBatch().roots.length} documents`);
  assert.ok(e.payload.details.length > 0); console.log('fail details:', e.payload.details);
  return true;
});

// log
logs.length = 0;
assert.deepEqual(executor.call('log', '/log', bigBatch(), '{}'), { tag: 'unchanged' });
assert.deepEqual(logs, [[ 'info', 'conformance log info' ], [ 'warn', 'conformance log warn' ]]);

// workspace without one
assert.throws(() => executor.call('workspace', '/workspace', bigBatch(), '{"content": "x"}'), e => e.payload.name === 'NoWorkspace');

// other
{
  const out = executor.call('other', '/foo', bigBatch(), '{}').val;
  for (const r of out.roots) assert.equal(JSON.parse(out.nodes[r].tags).endpoint, '/foo');
  assert.equal(out.nodes[5].tags, '{"a": [1, 2]}'); // not a root: verbatim
}

// errors
assert.throws(() => executor.call('nope', '/x', bigBatch(), '{}'), e => e.payload.name === 'UnknownMethod');
assert.throws(() => executor.call('other', '/x', bigBatch(), '[1]'), e => e.payload.name === 'ValueError' && /must be a JSON object/.test(e.payload.message));
assert.throws(() => executor.call('other', '/x', { nodes: [doc('a')], roots: Uint32Array.from([0, 0]) }, '{}'), e => e.payload.name === 'InvalidDocumentBatch');
assert.throws(() => executor.call('other', '/x', { nodes: [doc('a'), doc('b')], roots: Uint32Array.from([0]) }, '{}'), e => e.payload.name === 'InvalidDocumentBatch');
assert.throws(() => executor.call('other', '/x', { nodes: [doc('a', { chunks: Uint32Array.from([5]) })], roots: Uint32Array.from([0]) }, '{}'), e => e.payload.name === 'InvalidDocumentBatch');
assert.throws(() => executor.call('other', '/x', { nodes: [doc('a', { tags: '[1]' })], roots: Uint32Array.from([0]) }, '{}'), e => e.payload.name === 'ValueError');

// no leaks: many calls with a ~1 MB batch
{
  const big = { nodes: [], roots: [] };
  for (let i = 0; i < 200; i++) { big.roots.push(i); big.nodes.push(doc('d' + i, { text: 'x'.repeat(1000), tags: TAGS, embedding: tensor('float32', [1000]) })); }
  big.roots = Uint32Array.from(big.roots);
  const t0 = Date.now();
  const sizes0 = [];
  for (let i = 0; i < 300; i++) {
    if (i % 50 == 0 && globalThis.__mem) sizes0.push(globalThis.__mem.buffer.byteLength >> 20);
    const m = ['roundtrip', 'mutate', 'other', 'unchanged', 'params'][i % 5];
    executor.call(m, '/' + m, clone(big), '{"a": 1}');
    try { executor.call('fail', '/fail', clone(big), '{}'); } catch (e) {}
  }
  console.log('memory MiB over time', sizes0);
  console.log('600 calls of ~1 MB in', Date.now() - t0, 'ms');
}
console.log('all checks passed');
