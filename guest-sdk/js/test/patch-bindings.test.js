import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { patchBindings } from '../tools/patch-bindings.mjs';

const glue = readFileSync(new URL('./fixtures/componentize-js-0.23.0-glue.js', import.meta.url), 'utf8');
const patched = patchBindings(glue);

/** Evaluates glue against a fresh memory and a bump allocator. */
function load(js, { grow = false } = {}) {
  const memory = { buffer: new ArrayBuffer(1 << 16) };
  const state = { top: 1024, allocs: 0 };
  const realloc = (_old, _oldSize, align, size) => {
    state.allocs++;
    // As a Wasm memory does when it grows: the old buffer is detached.
    if (grow) {
      const old = memory.buffer;
      memory.buffer = new ArrayBuffer(old.byteLength + (1 << 16));
      new Uint8Array(memory.buffer).set(new Uint8Array(old));
      structuredClone(old, { transfer: [old] });
    }
    state.top = Math.ceil(state.top / align) * align;
    const ptr = state.top;
    state.top += size;
    return ptr;
  };
  const fns = new Function('$memory', '$realloc', '$dealloc', `${js}\nreturn { lowerU32List, lowerNames, liftU32List, liftNames, lowerOptionalName, liftOptionalName };`)(memory, realloc, () => {});
  /** The (ptr, len) pair a lowering wrote at 0, and the list's u32 words or bytes. */
  const list = (words) => {
    const [ptr, len] = new Uint32Array(memory.buffer, 0, 2);
    return { ptr, len, items: words ? Array.from(new Uint32Array(memory.buffer, ptr, len)) : null };
  };
  return { fns, state, memory, list };
}

test('patchBindings rewrites every pattern it knows in the 0.23.0 glue', () => {
  assert.deepEqual(patched.counts, {
    debugLog: 2, utf8Encode: 1, emptyListAlloc: 2, emptyListCopy: 1, emptyListLift: 1, boundCheck: 1, dataView: 1, sharedView: 9,
  });
  assert.doesNotMatch(patched.js, /_debugLog\('/);
  // A pointer and its length share a view; after an allocation the view is taken again.
  assert.match(patched.js, /\n\s*var encodeRes = [^\n]*\n[^\n]*\n[^\n]*\n\s*\n\s*\(memoryView = dataView\(\$memory\)\)\.setUint32\(base \+ 4, len1, true\);\n\s*memoryView\.setUint32\(base \+ 0, ptr1, true\);/);
  // After both branches of an option kept the view, the next option uses it.
  assert.match(patched.js, /if \(variant2 === null \|\| variant2=== undefined\) \{\n\s*memoryView\.setInt8\(retptr \+ 12, 0, true\);/);
});

test('strings are lowered to the same bytes', () => {
  for (const s of ['', 'hello', '0123456789abcdef0123456789abcdef', 'é€😀', 'lone \ud800 surrogate', 'end \udc00']) {
    const [a, b] = [load(glue), load(patched.js)];
    a.fns.lowerNames([s], 0);
    b.fns.lowerNames([s], 0);
    const [[pa, la], [pb, lb]] = [a, b].map(({ memory, list }) => new Uint32Array(memory.buffer, list().ptr, 2));
    assert.equal(lb, la, s);
    assert.deepEqual(new Uint8Array(b.memory.buffer, pb, lb), new Uint8Array(a.memory.buffer, pa, la), s);
  }
  assert.throws(() => load(patched.js).fns.lowerNames([3], 0), /expected a string/);
});

test('lists are lowered the same; empty ones without an allocation', () => {
  for (const value of [[1, 2, 4294967295], Uint32Array.of(7, 8), [], new Uint32Array(0)]) {
    const [a, b] = [load(glue), load(patched.js)];
    a.fns.lowerU32List(value, 0);
    b.fns.lowerU32List(value, 0);
    assert.deepEqual(b.list(true).items, a.list(true).items);
    if (value.length === 0) {
      assert.equal(b.state.allocs, 0);
      assert.equal(b.list().ptr % 4, 0);
    }
  }
  for (const bad of [[-1], [1.5], ['1']]) assert.throws(() => load(patched.js).fns.lowerU32List(bad, 0), /invalid u32/);
  assert.deepEqual(load(patched.js).fns.lowerNames([], 0), load(glue).fns.lowerNames([], 0));
});

test('lists of strings are lowered to the same bytes and lifted back, also when memory grows', () => {
  const names = ['a', '', 'é€😀', 'hello world'];
  for (const grow of [false, true]) {
    const [a, b] = [load(glue, { grow }), load(patched.js, { grow })];
    a.fns.lowerNames(names, 0);
    b.fns.lowerNames(names, 0);
    const [la, lb] = [a.list(), b.list()];
    assert.deepEqual(lb, la);
    assert.deepEqual(new Uint8Array(b.memory.buffer, 0, b.state.top), new Uint8Array(a.memory.buffer, 0, a.state.top));
    assert.deepEqual(b.fns.liftNames(lb.ptr, lb.len), names);
    assert.deepEqual(a.fns.liftNames(la.ptr, la.len), names);
  }
});

test('options are lowered to the same bytes and lifted back, also when memory grows', () => {
  for (const value of [null, undefined, '', 'x', 'é€😀 hello']) {
    for (const grow of [false, true]) {
      const [a, b] = [load(glue, { grow }), load(patched.js, { grow })];
      a.fns.lowerOptionalName(value, 16);
      b.fns.lowerOptionalName(value, 16);
      const [ba, bb] = [a, b].map(({ memory, state }) => new Uint8Array(memory.buffer, 0, Math.max(state.top, 32)));
      assert.deepEqual(bb, ba, `${value} grow=${grow}`);
      assert.equal(b.fns.liftOptionalName(16), value ?? undefined);
      assert.equal(a.fns.liftOptionalName(16), value ?? undefined);
    }
  }
});

test('the memory view follows the buffer when the memory grows', () => {
  const { fns, memory } = load(patched.js, { grow: true });
  fns.lowerU32List([1, 2, 3], 0);
  const [ptr, len] = new Uint32Array(memory.buffer, 0, 2);
  assert.deepEqual(Array.from(new Uint32Array(memory.buffer, ptr, len)), [1, 2, 3]);
  assert.deepEqual(fns.liftU32List(ptr, len), Uint32Array.of(1, 2, 3));
});

test('empty lists are lifted as empty typed arrays of the same type', () => {
  const { fns, memory } = load(patched.js);
  new Uint32Array(memory.buffer, 64, 2).set([5, 6]);
  assert.deepEqual(fns.liftU32List(64, 2), Uint32Array.of(5, 6));
  assert.deepEqual(fns.liftU32List(8, 0), new Uint32Array(0));
  assert.throws(() => fns.liftU32List(6, 0), /not aligned/);
});

test('glue it does not recognize is left as is, with zero counts', () => {
  const { js, counts } = patchBindings('export const x = 1;');
  assert.equal(js, 'export const x = 1;');
  assert.ok(Object.values(counts).every((n) => n === 0));
});
