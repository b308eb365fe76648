import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defineExecutor, exportExecutor, UNCHANGED } from '../src/executor.js';
import { Document } from '../src/document.js';
import { ExecutorError } from '../src/errors.js';
import { flatten } from '../src/batch.js';
import { bindHost, host } from '../src/host.js';
import { logger } from '../src/logging.js';

const metas = { name: 'exec', description: undefined, workspace: undefined, replicaId: 0, shardId: 0, shards: 1, replicas: 1 };
const batchOf = (...texts) => flatten(texts.map((text, i) => new Document({ id: `d${i}`, text })));

/** Throws what the WIT export threw (an executor-error record) as a value. */
function callErr(ex, ...args) {
  try {
    ex.call(...args);
  } catch (e) {
    return e;
  }
  assert.fail('no error');
}

class NotFound extends Error {}

const Exec = defineExecutor(
  class Exec {
    static requests = { index: '/index', search: ['/search', '/query'], hidden: [], count: '/count', other: '*', boom: '/boom', notFound: '/nf', swap: '/swap', keep: '/keep', lazy: '/lazy', bad: '/bad', later: '/later' };

    constructor(usesWith, metas) {
      this.prefix = usesWith.prefix ?? 'seen';
      this.name = metas.name;
      this.seen = 0;
    }
    index(docs) {
      for (const d of docs) d.text = `${this.prefix} ${d.text}`;
    }
    search(docs, { parameters }) {
      return docs.slice(0, parameters.limit ?? 1);
    }
    hidden() {}
    count(docs) {
      this.seen += docs.length;
      return UNCHANGED;
    }
    other(docs, { endpoint, metas }) {
      docs.push(new Document({ text: `${metas.name} on ${endpoint}` }));
    }
    boom(docs) {
      throw new ExecutorError('ValueError', `bad ${docs.length}`);
    }
    notFound() {
      throw new NotFound('nothing here');
    }
    swap() {
      return [{ text: 'new' }];
    }
    keep(docs) {
      return docs;
    }
    lazy() {}
    bad() {
      return 42;
    }
    later(docs) {
      return Promise.resolve().then(() => {
        docs.push(new Document({ text: 'async' }));
      });
    }
  },
);

test('describe lists the bindings and the catch-all', () => {
  const d = Exec.describe();
  assert.deepEqual(d.methods.slice(0, 4), [
    { name: 'index', endpoints: ['/index'] },
    { name: 'search', endpoints: ['/search', '/query'] },
    { name: 'hidden', endpoints: [] },
    { name: 'count', endpoints: ['/count'] },
  ]);
  assert.equal(d.catchAll, 'other');
});

test('calls before init, init twice', () => {
  const e = defineExecutor({ requests: { a: '*' }, a() {} });
  assert.equal(callErr(e, 'a', '/', batchOf(), '{}').name, 'NotInitialized');
  e.init('', metas);
  assert.throws(() => e.init('{}', metas), (err) => err.name === 'AlreadyInitialized');
});

test('the executor gets uses_with and metas; replies follow what the handler did', () => {
  Exec.init('{"prefix": "got"}', metas);
  // Edited in place: docs.
  let out = Exec.call('index', '/index', batchOf('a', 'b'), '{}');
  assert.equal(out.tag, 'docs');
  assert.deepEqual(out.val.nodes.map((n) => n.text), ['got a', 'got b']);
  // A new array: docs.
  out = Exec.call('search', '/search', batchOf('a', 'b', 'c'), '{"limit": 2}');
  assert.deepEqual(out.val.nodes.map((n) => n.text), ['a', 'b']);
  // Never read, nothing returned: unchanged.
  assert.deepEqual(Exec.call('lazy', '/lazy', batchOf('a'), '{}'), { tag: 'unchanged' });
  // Read, but UNCHANGED returned.
  assert.deepEqual(Exec.call('count', '/count', batchOf('a', 'b'), '{}'), { tag: 'unchanged' });
  // Returned without reading: the batch goes back as it came.
  const batch = batchOf('x');
  out = Exec.call('keep', '/keep', batch, '{}');
  assert.equal(out.val, batch);
  // Plain objects are documents.
  out = Exec.call('swap', '/swap', batchOf('x'), '{}');
  assert.equal(out.val.nodes[0].text, 'new');
  out = Exec.call('other', '/anything', batchOf(), '{}');
  assert.equal(out.val.nodes[0].text, 'exec on /anything');
});

test('thrown errors become executor-errors', () => {
  let e = callErr(Exec, 'boom', '/boom', batchOf('a', 'b'), '{}');
  assert.equal(e.name, 'ValueError');
  assert.equal(e.message, 'bad 2');
  assert.ok(e.details.length > 0);
  e = callErr(Exec, 'notFound', '/nf', batchOf(), '{}');
  assert.equal(e.name, 'NotFound');
  assert.match(e.details, /notFound|NotFound/);
  e = callErr(Exec, 'bad', '/bad', batchOf(), '{}');
  assert.match(e.message, /returned number/);
  e = callErr(Exec, 'nope', '/', batchOf(), '{}');
  assert.equal(e.name, 'UnknownMethod');
  e = callErr(Exec, 'index', '/index', batchOf(), '{"a": ');
  assert.equal(e.name, 'ValueError');
  e = callErr(Exec, 'index', '/index', { nodes: [], roots: [0] }, '{}');
  assert.equal(e.name, 'InvalidDocumentBatch');
});

test('promises: resolved where the engine runs an event loop, refused on QuickJS', async () => {
  const out = await Exec.call('later', '/later', batchOf('a'), '{}');
  assert.deepEqual(out.val.nodes.map((n) => n.text), ['a', 'async']);
  const saved = { async: host.async, engine: host.engine };
  bindHost({ async: false, engine: 'quickjs' });
  try {
    assert.equal(callErr(Exec, 'later', '/later', batchOf('a'), '{}').name, 'AsyncNotSupported');
  } finally {
    bindHost(saved);
  }
});

test('a constructor that throws fails init', () => {
  const e = defineExecutor(
    class Picky {
      static requests = { a: '*' };
      constructor(usesWith) {
        if (!usesWith.ok) throw new ExecutorError('ValueError', 'not ok');
      }
      a() {}
    },
  );
  assert.throws(() => e.init('{}', metas), (err) => err.name === 'ValueError' && err.message === 'not ok' && err.details.length > 0);
  assert.throws(() => e.init('[]', metas), (err) => err.name === 'ValueError' && /uses_with must be a JSON object/.test(err.message));
});

test('plain objects of handlers', () => {
  const seen = [];
  const e = defineExecutor({
    requests: { hello: '/hello', rest: '*' },
    init(usesWith, m) {
      this.greeting = usesWith.greeting;
      seen.push(m.name);
    },
    hello(docs) {
      docs.push(new Document({ text: this.greeting }));
    },
    rest() {},
  });
  e.init('{"greeting": "hi"}', metas);
  assert.deepEqual(seen, ['exec']);
  assert.equal(e.call('hello', '/hello', batchOf(), '{}').val.nodes[0].text, 'hi');
});

test('bindings are checked', () => {
  assert.throws(() => defineExecutor(class A {}), /needs its endpoint bindings/);
  assert.throws(() => defineExecutor({ requests: { a: '*', b: '*' }, a() {}, b() {} }), /at most one can be/);
  assert.throws(() => defineExecutor({ requests: { a: 3 }, a() {} }), /binding of a/);
  assert.throws(() => defineExecutor({ requests: { a: '/a' } }), /not a function/);
  const missing = defineExecutor(class B {
    static requests = { nope: '/x' };
  });
  assert.throws(() => missing.init('{}', metas), (err) => /requests names nope, which is not a method/.test(err.message));
});

test('exportExecutor finds the default export', () => {
  assert.equal(exportExecutor({ default: Exec }), Exec);
  assert.equal(exportExecutor({ executor: Exec }), Exec);
  class C {
    static requests = { a: '*' };
    a() {}
  }
  assert.equal(typeof exportExecutor({ default: C }).call, 'function');
  assert.throws(() => exportExecutor({}), /export default defineExecutor/);
});

test('logger goes to the bound logging import', () => {
  const lines = [];
  const saved = host.log;
  bindHost({ log: (level, message) => lines.push([level, message]) });
  try {
    logger.info('n =', 3, { a: [1] });
    logger.warn('careful');
    logger.debug(new Float32Array([1.5]));
  } finally {
    bindHost({ log: saved });
  }
  assert.deepEqual(lines, [['info', 'n = 3 {"a":[1]}'], ['warn', 'careful'], ['debug', 'Float32Array(1) [1.5]']]);
});

test('every operation on the lazy documents decodes them first', () => {
  const ops = {
    get: (docs) => docs[0].text,
    set: (docs) => ((docs[1] = new Document({ id: 'n', text: 'new' })), docs[1].text),
    has: (docs) => 0 in docs,
    deleteProperty: (docs) => (delete docs[5], docs.length),
    ownKeys: (docs) => Reflect.ownKeys(docs).join(),
    getOwnPropertyDescriptor: (docs) => Object.getOwnPropertyDescriptor(docs, 0).value.text,
    defineProperty: (docs) => (Object.defineProperty(docs, 'extra', { value: 1 }), docs.extra),
  };
  const expected = { get: 'a', set: 'new', has: true, deleteProperty: 1, ownKeys: '0,length', getOwnPropertyDescriptor: 'a', defineProperty: 1 };
  for (const [trap, op] of Object.entries(ops)) {
    let seen;
    const ex = defineExecutor({ requests: { run: '*' }, run: (docs) => void (seen = op(docs)) });
    ex.init('{}', metas);
    const out = ex.call('run', '/x', batchOf('a'), '{}');
    assert.equal(seen, expected[trap], trap);
    assert.equal(out.tag, 'docs', trap);
  }
});
