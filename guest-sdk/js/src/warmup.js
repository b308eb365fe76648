// Build-time warm-up.
//
// componentize-js evaluates the bundle's top level once, at build time, and
// snapshots the engine (wizer); every instance starts from that snapshot. The
// functions the top level never ran are stored uncompiled, so without this
// each new instance compiled the SDK's init/describe/call/decode/encode code on
// its first calls (about 0.3 ms of every replica start). `warmUp` runs those
// paths once, with a throwaway executor and batches, before the snapshot, so
// their compiled code is in it.
//
// Nothing of the warm-up may reach the host: at build time there is none (an
// import call traps the build). So it never logs, and random bytes are zeros
// while it runs. It leaves no state behind: the id pool and the JSON literal
// flag are reset, the probe executor is garbage.

import { defineExecutor, UNCHANGED } from './executor.js';
import { Document } from './document.js';
import { resetIdPool } from './document.js';
import { ExecutorError } from './errors.js';
import { resetJsonState, parseJson, stringifyJson } from './json.js';
import { Tensor } from './tensor.js';
import { host } from './host.js';

const METAS = { name: 'warm-up', description: undefined, workspace: undefined, replicaId: 0, shardId: 0, shards: 1, replicas: 1 };

/**
 * A WIT node as componentize-js's bindings lift it: options undefined, number lists typed.
 * (Exported for the SDK's tests, which build batches the same way.)
 */
export function node(id, fields = {}) {
  return {
    id,
    parentId: undefined,
    granularity: undefined,
    adjacency: undefined,
    text: undefined,
    blob: undefined,
    tensor: undefined,
    embedding: undefined,
    uri: undefined,
    mimeType: undefined,
    tags: undefined,
    weight: undefined,
    modality: undefined,
    offset: undefined,
    location: new Float64Array(0),
    scores: [],
    evaluations: [],
    chunks: new Uint32Array(0),
    matches: new Uint32Array(0),
    ...fields,
  };
}

const f32 = (...values) => ({ dtype: 'float32', shape: Uint32Array.of(values.length), data: new Uint8Array(Float32Array.from(values).buffer) });

/** One document, the usual shape: an id and a text. */
const simpleBatch = () => ({ nodes: [node('00000000000000000000000000000000', { text: 'hello' })], roots: Uint32Array.of(0) });

/** Every field set, chunks and matches two levels deep. */
function treeBatch() {
  const score = { name: 'cosine', value: 0.5, opName: 'cosine', description: undefined, refId: undefined };
  return {
    nodes: [
      node('a', {
        text: 'root',
        tags: '{"k": 1, "s": "x", "n": {"m": [1, 2]}}',
        embedding: f32(1, 2),
        blob: Uint8Array.of(1, 2),
        uri: 'u',
        mimeType: 'text/plain',
        weight: 1,
        modality: 'text',
        offset: 0,
        location: Float64Array.of(1, 2),
        scores: [score],
        chunks: Uint32Array.of(2),
        matches: Uint32Array.of(3),
      }),
      node('b', { tensor: f32(3), tags: '{}' }),
      node('a.c', { parentId: 'a', granularity: 1, chunks: Uint32Array.of(4) }),
      node('a.m', { adjacency: 1, evaluations: [score] }),
      node('a.c.c', { parentId: 'a.c', granularity: 2, text: 'deep' }),
    ],
    roots: Uint32Array.of(0, 1),
  };
}

class WarmUp {
  static requests = { edit: '/edit', add: ['/add', '/more'], replace: [], keep: '/keep', same: '/same', skip: '/skip', fail: '/fail', later: '/later', other: '*' };

  constructor(usesWith, metas) {
    this.label = usesWith.label ?? metas.name;
  }

  /** Reads and edits every document in place (tags, texts, tensors, chunks, matches). */
  edit(docs, { parameters }) {
    for (const doc of docs) {
      doc.tags.label = this.label;
      doc.tags.limit = parameters.limit;
      if (doc.text !== null) doc.text += '!';
      if (doc.embedding) doc.embedding = new Tensor(doc.embedding.toFloat32Array());
      for (const chunk of doc.chunks) void chunk.tags;
      doc.addChunk(new Document({ id: 'chunk', text: 'c' }));
      doc.addMatch({ id: 'match', scores: { cosine: 0.5 } }).clone();
    }
  }

  /** Foo: appends a document (fresh id). */
  add(docs) {
    docs.push(new Document({ text: `got ${docs.length}`, embedding: Float32Array.of(1) }));
  }

  replace(docs) {
    return docs.map((doc) => ({ id: doc.id, text: doc.text, tags: { k: 1 } }));
  }

  keep(docs) {
    return docs;
  }

  same(docs) {
    void docs.length;
    return UNCHANGED;
  }

  skip() {}

  fail(docs) {
    throw new ExecutorError('ValueError', `failing on ${docs.length}`);
  }

  async later(docs) {
    await null;
    docs.push(new Document({ id: 'later' }));
  }

  other(docs) {
    return new Document({ id: 'one', tags: { endpoint: 'x' } });
  }
}

/** Runs the SDK's paths once (see the top of this file); returns whether all of them ran. */
export function warmUp() {
  host.warmingUp = true;
  try {
    const probe = defineExecutor(WarmUp);
    probe.init('{"label": "warm", "ratio": 1.0, "nested": {"list": [1, 2.5e3]}}', METAS);
    probe.describe();
    const calls = [
      ['edit', '/edit', treeBatch, '{"limit": 2}'],
      ['edit', '/edit', simpleBatch, '{}'],
      ['add', '/index', simpleBatch, '{}'],
      ['add', '/index', treeBatch, ''],
      ['replace', '/r', simpleBatch, '{"a": 1.0}'],
      ['keep', '/keep', simpleBatch, '{}'],
      ['same', '/same', simpleBatch, '{}'],
      ['skip', '/skip', simpleBatch, '{}'],
      ['other', '/x', simpleBatch, '{}'],
      ['later', '/later', simpleBatch, '{}'],
    ];
    for (const [method, endpoint, batch, parameters] of calls) {
      const out = probe.call(method, endpoint, batch(), parameters);
      if (out && typeof out.then === 'function') out.then(null, () => {});
    }
    for (const [method, parameters] of [['fail', '{}'], ['missing', '{}'], ['skip', '[1]']]) {
      try {
        probe.call(method, '/fail', simpleBatch(), parameters);
      } catch {
        // the WIT error record: expected
      }
    }
    stringifyJson(parseJson('{"a": 1.0, "b": [2.0, 12345678901234567890]}'));
    return true;
  } catch {
    // A warm-up failure only costs the speed-up, never the build.
    return false;
  } finally {
    host.warmingUp = false;
    resetIdPool();
    resetJsonState();
  }
}
