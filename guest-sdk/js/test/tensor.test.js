import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, DTYPES, toFloat16Bits, fromFloat16Bits } from '../src/tensor.js';

test('every dtype round-trips through bytes', () => {
  for (const [dtype, [size]] of Object.entries(DTYPES)) {
    for (const shape of [[], [0], [3], [2, 3], [2, 0, 4]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const bytes = Uint8Array.from({ length: n * size }, (_, i) => (dtype === 'boolean' ? i & 1 : (i * 37 + 11) & 255));
      const t = Tensor.fromBytes(dtype, shape, bytes);
      assert.equal(t.dtype, dtype);
      assert.deepEqual(t.shape, shape);
      assert.equal(t.size, n);
      assert.equal(t.ndim, shape.length);
      assert.deepEqual(Array.from(t.bytes()), Array.from(bytes), `${dtype} ${shape}`);
    }
  }
});

test('typed arrays per dtype', () => {
  assert.ok(Tensor.fromBytes('float32', [1], new Uint8Array(4)).data instanceof Float32Array);
  assert.ok(Tensor.fromBytes('int64', [1], new Uint8Array(8)).data instanceof BigInt64Array);
  assert.ok(Tensor.fromBytes('uint64', [1], new Uint8Array(8)).data instanceof BigUint64Array);
  assert.ok(Tensor.fromBytes('boolean', [1], new Uint8Array(1)).data instanceof Uint8Array);
  assert.equal(Tensor.fromBytes('float16', [1], new Uint8Array(2)).data.BYTES_PER_ELEMENT, 2);
});

test('bytes are read little-endian, unaligned input is copied', () => {
  const buf = new Uint8Array(9);
  new DataView(buf.buffer).setFloat64(1, 1.5, true);
  const t = Tensor.fromBytes('float64', [1], buf.subarray(1));
  assert.equal(t.data[0], 1.5);
  const view = Tensor.fromBytes('float64', [1], buf.slice(1));
  assert.equal(view.data[0], 1.5);
});

test('wrong sizes and dtypes are ValueErrors', () => {
  assert.throws(() => Tensor.fromBytes('float32', [2], new Uint8Array(4)), (e) => e.name === 'ValueError');
  assert.throws(() => Tensor.fromBytes('complex64', [1], new Uint8Array(8)), (e) => e.name === 'ValueError');
  assert.throws(() => new Tensor(Float32Array.of(1, 2, 3), [2, 2]), /holds 4 elements, the data has 3/);
  assert.throws(() => new Tensor(Float32Array.of(1), [-1]), (e) => e.name === 'ValueError');
});

test('constructor: dtype from the typed array, conversions, default shape', () => {
  const t = new Tensor(Float32Array.of(1, 2, 3, 4), [2, 2]);
  assert.equal(t.dtype, 'float32');
  assert.deepEqual(t.toNested(), [[1, 2], [3, 4]]);
  const plain = new Tensor([1, 2, 3]);
  assert.equal(plain.dtype, 'float64');
  assert.deepEqual(plain.shape, [3]);
  const ints = new Tensor([1, -2, 3.9], undefined, 'int64');
  assert.deepEqual(Array.from(ints.data), [1n, -2n, 3n]);
  assert.deepEqual(Array.from(new Tensor([true, false, 1], [3], 'boolean').data), [1, 0, 1]);
  assert.deepEqual(new Tensor([true, false], [2], 'boolean').toArray(), [true, false]);
  assert.equal(new Tensor(Float64Array.of(7), []).toNested(), 7);
  const converted = new Tensor(Float64Array.of(0.5, 1.5), [2], 'float32');
  assert.ok(converted.data instanceof Float32Array);
  assert.deepEqual(Array.from(converted.toFloat32Array()), [0.5, 1.5]);
});

test('float16: bits conversion and tensors', () => {
  for (const [v, bits] of [[0, 0], [1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [Infinity, 0x7c00], [5.960464477539063e-8, 1], [0.333251953125, 0x3555]]) {
    assert.equal(toFloat16Bits(v), bits, `to ${v}`);
    assert.equal(fromFloat16Bits(bits), v, `from ${bits}`);
  }
  assert.equal(toFloat16Bits(1e6), 0x7c00);
  assert.ok(Number.isNaN(fromFloat16Bits(toFloat16Bits(NaN))));
  assert.equal(toFloat16Bits(1 + 2 ** -11), 0x3c00); // ties to even
  const t = Tensor.float16([1, -2, 0.5]);
  assert.equal(t.dtype, 'float16');
  assert.deepEqual(Array.from(t.bytes()), [0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38]);
  assert.deepEqual(t.toArray(), [1, -2, 0.5]);
  assert.deepEqual(Array.from(t.toFloat32Array()), [1, -2, 0.5]);
  // A Uint16Array with dtype float16 is raw bits.
  assert.deepEqual(new Tensor(Uint16Array.of(0x3c00), [1], 'float16').toArray(), [1]);
});

test('clone and equals', () => {
  const t = new Tensor(Int32Array.of(1, 2), [2]);
  const c = t.clone();
  assert.ok(t.equals(c));
  c.data[0] = 5;
  assert.ok(!t.equals(c));
  assert.equal(t.data[0], 1);
  assert.deepEqual(JSON.parse(JSON.stringify(t)), { dtype: 'int32', shape: [2], data: [1, 2] });
});

test('int64 values beyond 2^53 survive', () => {
  const big = 2n ** 62n + 1n;
  const t = new Tensor(BigInt64Array.of(big, -big));
  const back = Tensor.fromBytes('int64', [2], t.bytes().slice());
  assert.deepEqual(Array.from(back.data), [big, -big]);
});
