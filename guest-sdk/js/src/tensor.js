// Tensors: a dtype, a shape and the elements as a typed array (row-major,
// little-endian on the wire, which is also WebAssembly's byte order).

import { valueError } from './errors.js';
import { toBytes, typedArrayName } from './host.js';

/** The typed array used for float16: `Float16Array` where the engine has it, else raw bits. */
export const Float16 = typeof Float16Array === 'function' ? Float16Array : Uint16Array;

/** Every WIT dtype: [bytes per element, typed array class]. */
export const DTYPES = Object.freeze({
  float16: [2, Float16],
  float32: [4, Float32Array],
  float64: [8, Float64Array],
  int8: [1, Int8Array],
  int16: [2, Int16Array],
  int32: [4, Int32Array],
  int64: [8, BigInt64Array],
  uint8: [1, Uint8Array],
  uint16: [2, Uint16Array],
  uint32: [4, Uint32Array],
  uint64: [8, BigUint64Array],
  boolean: [1, Uint8Array],
});

/** Typed array class name -> dtype (by name: arrays may come from another realm). */
const BY_NAME = new Map([
  ['Float16Array', 'float16'],
  ['Float32Array', 'float32'],
  ['Float64Array', 'float64'],
  ['Int8Array', 'int8'],
  ['Int16Array', 'int16'],
  ['Int32Array', 'int32'],
  ['BigInt64Array', 'int64'],
  ['Uint8Array', 'uint8'],
  ['Uint8ClampedArray', 'uint8'],
  ['Uint16Array', 'uint16'],
  ['Uint32Array', 'uint32'],
  ['BigUint64Array', 'uint64'],
]);

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The IEEE half-precision bits of a number (round to nearest even). */
export function toFloat16Bits(value) {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  let mant = x & 0x7fffff;
  const e = (x >>> 23) & 0xff;
  if (e === 255) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const exp = e - 127 + 15;
  if (exp >= 31) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - exp;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (exp << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

/** The number IEEE half-precision bits stand for. */
export function fromFloat16Bits(h) {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 31;
  const m = h & 1023;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

const rawHalf = Float16 === Uint16Array;

function checkDtype(dtype) {
  if (!Object.hasOwn(DTYPES, dtype)) {
    throw valueError(`unknown dtype ${JSON.stringify(dtype)}; one of ${Object.keys(DTYPES).join(', ')}`);
  }
}

/** A typed array of `dtype` holding `values` (numbers, bigints or booleans). */
function fromValues(dtype, values) {
  const Arr = DTYPES[dtype][1];
  switch (dtype) {
    case 'float16':
      return rawHalf ? Uint16Array.from(values, (v) => toFloat16Bits(Number(v))) : Float16.from(values, Number);
    case 'int64':
    case 'uint64':
      return Arr.from(values, (v) => (typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v)))));
    case 'boolean':
      return Uint8Array.from(values, (v) => (v ? 1 : 0));
    default:
      return Arr.from(values, Number);
  }
}

function checkShape(shape, length) {
  const dims = Array.from(shape, (d) => {
    const n = Number(d);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw valueError(`tensor shape ${JSON.stringify(Array.from(shape, String))} has an invalid dimension ${String(d)}`);
    return n;
  });
  const size = dims.reduce((a, b) => a * b, 1);
  if (size !== length) throw valueError(`tensor shape [${dims}] holds ${size} elements, the data has ${length}`);
  return dims;
}

const INTERNAL = Symbol('internal');

/**
 * A dense n-dimensional array.
 *
 * `new Tensor(Float32Array.of(1, 2, 3, 4), [2, 2])`: the dtype follows the typed
 * array (give it to convert: `new Tensor([1, 2], [2], 'int64')`); a plain array
 * without dtype is float64; the shape defaults to `[length]`.
 */
export class Tensor {
  constructor(data, shape, dtype) {
    if (data === INTERNAL) return; // fromBytes fills the fields
    if (dtype !== undefined) checkDtype(dtype);
    let typed;
    const name = typedArrayName(data);
    if (name !== undefined) {
      dtype ??= BY_NAME.get(name);
      if (dtype === undefined) throw valueError(`cannot make a tensor of a ${name}`);
      const Arr = DTYPES[dtype][1];
      if (data instanceof Arr) typed = data;
      else if (name === Arr.name || (dtype === 'float16' && name === 'Uint16Array')) typed = new Arr(data.buffer, data.byteOffset, data.length);
      else typed = fromValues(dtype, data);
    } else if (data !== null && typeof data === 'object' && typeof data[Symbol.iterator] === 'function') {
      typed = fromValues(dtype ?? 'float64', data);
      dtype ??= 'float64';
    } else {
      throw valueError('tensor data must be a typed array or an array of numbers');
    }
    /** The element type, one of the WIT dtypes (`float32`, `int64`, `boolean`, …). */
    this.dtype = dtype;
    /** The dimensions. */
    this.shape = checkShape(shape ?? [typed.length], typed.length);
    /** The elements in row-major order. */
    this.data = typed;
  }

  /**
   * A tensor over little-endian bytes as they travel (no copy when aligned).
   * `bytes.length` must be `product(shape) * size-of(dtype)`.
   */
  static fromBytes(dtype, shape, bytes) {
    checkDtype(dtype);
    const [size, Arr] = DTYPES[dtype];
    const dims = Array.from(shape, Number);
    const count = dims.reduce((a, b) => a * b, 1);
    if (bytes.length !== count * size) {
      throw valueError(`a ${dtype} tensor of shape [${dims}] needs ${count * size} bytes, got ${bytes.length}`);
    }
    bytes = toBytes(bytes);
    if (bytes.byteOffset % size !== 0) bytes = bytes.slice();
    const t = new Tensor(INTERNAL);
    t.dtype = dtype;
    t.shape = dims;
    t.data = new Arr(bytes.buffer, bytes.byteOffset, count);
    return t;
  }

  /** A float16 tensor from numbers, whatever the engine's float16 support. */
  static float16(values, shape) {
    return new Tensor(fromValues('float16', values), shape, 'float16');
  }

  /** Number of elements. */
  get size() {
    return this.data.length;
  }

  /** Number of dimensions (0 for a scalar). */
  get ndim() {
    return this.shape.length;
  }

  /** The elements as little-endian bytes (a view, no copy). */
  bytes() {
    return new Uint8Array(this.data.buffer, this.data.byteOffset, this.data.byteLength);
  }

  /** The elements as numbers (booleans for `boolean`, float16 decoded), flat. */
  toArray() {
    if (this.dtype === 'boolean') return Array.from(this.data, (v) => v !== 0);
    if (this.dtype === 'float16' && rawHalf) return Array.from(this.data, fromFloat16Bits);
    return Array.from(this.data, Number);
  }

  /** The elements nested by the shape, like numpy's `tolist()` (a scalar for 0-d). */
  toNested() {
    const flat = this.toArray();
    if (this.shape.length === 0) return flat[0];
    const build = (offset, dim) => {
      const n = this.shape[dim];
      if (dim === this.shape.length - 1) return flat.slice(offset, offset + n);
      const step = this.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
      const out = [];
      for (let i = 0; i < n; i++) out.push(build(offset + i * step, dim + 1));
      return out;
    };
    return build(0, 0);
  }

  /** The elements converted to float32, whatever the dtype. */
  toFloat32Array() {
    if (this.dtype === 'float32') return this.data.slice();
    return Float32Array.from(this.toArray(), Number);
  }

  /** The elements converted to float64, whatever the dtype. */
  toFloat64Array() {
    return Float64Array.from(this.toArray(), Number);
  }

  /** A deep copy. */
  clone() {
    const t = new Tensor(INTERNAL);
    t.dtype = this.dtype;
    t.shape = this.shape.slice();
    t.data = this.data.slice();
    return t;
  }

  /** Same dtype, shape and bytes. */
  equals(other) {
    if (!(other instanceof Tensor) || other.dtype !== this.dtype || other.shape.length !== this.shape.length) return false;
    if (this.shape.some((d, i) => d !== other.shape[i])) return false;
    const a = this.bytes();
    const b = other.bytes();
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  toJSON() {
    return { dtype: this.dtype, shape: this.shape, data: this.toArray() };
  }
}

/**
 * Coerces what a document's `tensor` / `embedding` may hold into a Tensor:
 * a Tensor, a typed array or a plain array (1-d), or null.
 */
export function asTensor(value, what) {
  if (value === null || value === undefined) return null;
  if (value instanceof Tensor) return value;
  try {
    return new Tensor(value);
  } catch (err) {
    throw valueError(`${what}: ${err.message}`);
  }
}
