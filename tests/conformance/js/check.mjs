// Runs the conformance cases (tests/conformance/README.md) against a built
// conformance component, calling its WIT exports directly: the component is
// transpiled with jco and run in Node on the WASI preview2 shim. This sees what
// `flowhost executor call` cannot: the exact `output` variant (unchanged vs
// docs), every dtype bit for bit, error details and the logging import.
//
//   node tests/conformance/js/check.mjs target/polyglot/js/conformance.wasm
//
// Any language's conformance component can be checked this way. Exit code 0
// when every case passes. Needs the JS toolchain (bash scripts/install-toolchains.sh js).
import { register } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// Node 20 needs this for QuickJS components (constant expressions with i32.add).
setFlagsFromString('--experimental-wasm-extended-const');

const here = dirname(fileURLToPath(import.meta.url));
const home = resolve(process.env.FLOWHOST_HOME || join(here, '..', '..', '..'));
const toolchains = resolve(process.env.FLOWHOST_TOOLCHAINS || join(home, '.toolchains'));
const jcoDir = join(toolchains, 'js', 'node_modules', '@bytecodealliance', 'jco');
register(pathToFileURL(join(home, 'guest-sdk', 'js', 'tools', 'resolve-hook.mjs')), {
  data: { fallbackParents: [join(toolchains, 'js', 'package.json'), join(jcoDir, 'package.json')].map((p) => pathToFileURL(p).href) },
});

const componentPath = process.argv[2];
if (!componentPath) {
  console.error('usage: node check.mjs <conformance.wasm>');
  process.exit(2);
}

// --- an independent JSON canonicalizer: keys sorted, integers and floats told apart ---
function canonicalJson(text) {
  let i = 0;
  const ws = () => {
    while (' \t\n\r'.includes(text[i]) && i < text.length) i++;
  };
  const value = () => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const entries = [];
      ws();
      if (text[i] === '}') return i++, '{}';
      for (;;) {
        ws();
        const k = string();
        ws();
        i++; // :
        entries.push([k, value()]);
        ws();
        if (text[i++] === '}') break;
      }
      entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      return '{' + entries.map(([k, v]) => JSON.stringify(k) + ':' + v).join(',') + '}';
    }
    if (c === '[') {
      i++;
      const items = [];
      ws();
      if (text[i] === ']') return i++, '[]';
      for (;;) {
        items.push(value());
        ws();
        if (text[i++] === ']') break;
      }
      return '[' + items.join(',') + ']';
    }
    if (c === '"') return JSON.stringify(string());
    for (const w of ['true', 'false', 'null']) if (text.startsWith(w, i)) return (i += w.length), w;
    const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    i += m[0].length;
    if (/[.eE]/.test(m[0])) {
      const v = Number(m[0]);
      return 'f:' + (Object.is(v, -0) ? '-0' : String(v));
    }
    return 'i:' + BigInt(m[0]).toString();
  };
  const string = () => {
    const start = i;
    i++;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i));
  };
  return value();
}

// --- test data -----------------------------------------------------------------
const DTYPES = { float16: 2, float32: 4, float64: 8, int8: 1, int16: 2, int32: 4, int64: 8, uint8: 1, uint16: 2, uint32: 4, uint64: 8, boolean: 1 };
let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) & 0xff;
function tensor(dtype, shape, { finite = false } = {}) {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Uint8Array(n * DTYPES[dtype]);
  if (dtype === 'boolean') for (let k = 0; k < n; k++) data[k] = rand() & 1;
  else if (finite && dtype === 'float32') new Float32Array(data.buffer).forEach((_, k, a) => (a[k] = (rand() - 128) / 7));
  else for (let k = 0; k < data.length; k++) data[k] = rand();
  return { dtype, shape, data };
}
const TAGS = [
  '{"s":"x","n":3,"f":1.5,"fi":2.0,"neg":-7,"big":12345678901234567890,"e":1e3,"z":-0.0,"nested":{"l":[1,2.0,"a",true,null,{"zz":false}]},"u":"h\\u00e9llo \\u2713 \\"q\\""}',
  '{"only":null}',
  '{}',
  '{"1":1,"0":[],"k":{"deep":{"deeper":[[1.25e-7]]}}}',
];
function doc(id, k, extra = {}) {
  const shapes = [[], [0], [2, 0, 3], [3], [2, 3], [1, 2, 2]];
  const dtypes = Object.keys(DTYPES);
  return {
    id,
    parentId: k % 3 === 0 ? undefined : `parent-of-${id}`,
    granularity: k % 2 ? k : undefined,
    adjacency: k % 4 === 1 ? -k : undefined,
    text: k % 5 === 4 ? undefined : `text ${id} ✓`,
    blob: k % 2 === 0 ? Uint8Array.from({ length: k + 1 }, rand) : undefined,
    tensor: tensor(dtypes[k % dtypes.length], shapes[k % shapes.length]),
    embedding: k % 3 === 2 ? undefined : tensor(dtypes[(k * 5 + 1) % dtypes.length], shapes[(k + 3) % shapes.length]),
    uri: k % 2 ? `https://example.invalid/${id}` : undefined,
    mimeType: k % 2 ? 'text/plain' : undefined,
    tags: k % 5 === 3 ? undefined : TAGS[k % TAGS.length],
    weight: k % 2 ? k / 3 : undefined,
    modality: k % 3 === 1 ? 'text' : undefined,
    offset: k % 3 === 2 ? k * 1.5 : undefined,
    location: k % 2 ? [k, -0.5, 1e300] : [],
    scores: k % 2 ? [{ name: 'cosine', value: 0.25 + k, opName: 'cosine', description: 'd', refId: 'r' }, { name: 'l2', value: -1.5 }] : [],
    evaluations: k % 3 === 0 ? [{ name: 'precision', value: 0.5, opName: undefined, description: 'prec', refId: undefined }] : [],
    chunks: [],
    matches: [],
    ...extra,
  };
}
/** A batch: roots shuffled after descendants, chunks and matches 3 deep. */
function treeBatch() {
  const nodes = [];
  const add = (d) => nodes.push(d) - 1;
  const roots = [];
  let k = 0;
  for (let r = 0; r < 3; r++) {
    const build = (depth) => {
      const i = add(doc(`n${k}`, k++));
      if (depth < 3) {
        for (let c = 0; c < 2; c++) nodes[i].chunks.push(build(depth + 1));
        nodes[i].matches.push(build(depth + 2));
      }
      return i;
    };
    roots.push(build(r === 2 ? 3 : 1));
  }
  return { nodes, roots };
}
const flatBatch = (n) => ({ nodes: Array.from({ length: n }, (_, i) => doc(`f${i}`, i)), roots: Array.from({ length: n }, (_, i) => i) });

// --- comparison ------------------------------------------------------------------
const opt = (v) => (v === undefined ? null : v);
const bytesEqual = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
function tensorDiff(a, b) {
  if (!a || !b) return opt(a) === opt(b) ? null : 'set vs unset';
  if (a.dtype !== b.dtype) return `dtype ${a.dtype} vs ${b.dtype}`;
  if (!bytesEqual(Array.from(a.shape), Array.from(b.shape))) return `shape ${Array.from(a.shape)} vs ${Array.from(b.shape)}`;
  if (!bytesEqual(a.data, b.data)) return 'data differs';
  return null;
}
function scoreMap(list) {
  const m = {};
  for (const s of list) m[s.name] = [s.value, opt(s.opName), opt(s.description), opt(s.refId)];
  return m;
}
function docDiff(ba, ia, bb, ib, path) {
  const a = ba.nodes[ia];
  const b = bb.nodes[ib];
  for (const f of ['id', 'parentId', 'granularity', 'adjacency', 'text', 'uri', 'mimeType', 'weight', 'modality', 'offset']) {
    if (!Object.is(opt(a[f]), opt(b[f]))) return `${path}.${f}: ${opt(a[f])} vs ${opt(b[f])}`;
  }
  if ((a.blob == null) !== (b.blob == null) || (a.blob && !bytesEqual(a.blob, b.blob))) return `${path}.blob differs`;
  for (const f of ['tensor', 'embedding']) {
    const d = tensorDiff(a[f], b[f]);
    if (d) return `${path}.${f}: ${d}`;
  }
  const ta = a.tags == null || a.tags === '{}' ? null : canonicalJson(a.tags);
  const tb = b.tags == null || b.tags === '{}' ? null : canonicalJson(b.tags);
  if (ta !== tb) return `${path}.tags: ${ta} vs ${tb}`;
  const la = Array.from(a.location);
  const lb = Array.from(b.location);
  if (la.length !== lb.length || la.some((x, i) => !Object.is(x, lb[i]))) return `${path}.location: ${la} vs ${lb}`;
  for (const f of ['scores', 'evaluations']) {
    const sa = JSON.stringify(Object.entries(scoreMap(a[f])).sort());
    const sb = JSON.stringify(Object.entries(scoreMap(b[f])).sort());
    if (sa !== sb) return `${path}.${f}: ${sa} vs ${sb}`;
  }
  for (const f of ['chunks', 'matches']) {
    if (a[f].length !== b[f].length) return `${path}.${f}: ${a[f].length} vs ${b[f].length}`;
    for (let k = 0; k < a[f].length; k++) {
      const d = docDiff(ba, a[f][k], bb, b[f][k], `${path}.${f}[${k}]`);
      if (d) return d;
    }
  }
  return null;
}
function batchDiff(a, b) {
  if (a.roots.length !== b.roots.length) return `roots: ${a.roots.length} vs ${b.roots.length}`;
  if (a.nodes.length !== b.nodes.length) return `nodes: ${a.nodes.length} vs ${b.nodes.length}`;
  for (let k = 0; k < a.roots.length; k++) {
    const d = docDiff(a, a.roots[k], b, b.roots[k], `root[${k}]`);
    if (d) return d;
  }
  return null;
}
function* walk(batch) {
  const stack = Array.from(batch.roots).reverse();
  while (stack.length) {
    const i = stack.pop();
    yield batch.nodes[i];
    for (const c of Array.from(batch.nodes[i].matches).reverse()) stack.push(c);
    for (const c of Array.from(batch.nodes[i].chunks).reverse()) stack.push(c);
  }
}

// --- running the component -------------------------------------------------------
const { transpile } = await import(pathToFileURL(join(jcoDir, 'dist', 'api.js')).href);
const shim = await import('@bytecodealliance/preview2-shim');
const work = mkdtempSync(join(tmpdir(), 'flowhost-conformance-'));
let failures = 0;
try {
  const { files } = await transpile(readFileSync(componentPath), { name: 'component', instantiation: 'async' });
  for (const [name, bytes] of Object.entries(files)) {
    mkdirSync(dirname(join(work, name)), { recursive: true });
    writeFileSync(join(work, name), bytes);
  }
  const { instantiate } = await import(pathToFileURL(join(work, 'component.js')).href);
  const camel = (s) => s.replace(/-([a-z])/g, (_m, c) => c.toUpperCase());

  async function start(usesWith, { workspace = null, name = 'conformance' } = {}) {
    const logs = [];
    const imports = {};
    const fsys = workspace ? shim.filesystem.createFilesystem({ preopens: { '/workspace': workspace } }) : shim.filesystem.createFilesystem({ preopens: {} });
    for (const [pkg, ifaces] of Object.entries({
      cli: ['environment', 'exit', 'stderr', 'stdin', 'stdout', 'terminal-input', 'terminal-output', 'terminal-stderr', 'terminal-stdin', 'terminal-stdout'],
      clocks: ['monotonic-clock', 'wall-clock'],
      io: ['error', 'poll', 'streams'],
      random: ['insecure-seed', 'random', 'insecure'],
    })) {
      for (const iface of ifaces) imports[`wasi:${pkg}/${iface}`] = shim[pkg][camel(iface)];
    }
    imports['wasi:filesystem/preopens'] = fsys.preopens;
    imports['wasi:filesystem/types'] = fsys.types;
    imports['flowhost:executor/logging'] = { log: (level, message) => logs.push([level, message]) };
    imports['flowhost:executor/types'] = {};
    const root = await instantiate(async (p) => WebAssembly.compile(readFileSync(join(work, p))), imports);
    const ex = root.executor;
    ex.init(JSON.stringify(usesWith), { name, description: undefined, workspace: workspace ? '/workspace' : undefined, replicaId: 1, shardId: 2, shards: 3, replicas: 4 });
    return { ex, logs };
  }
  const call = (ex, method, endpoint, batch, params = {}) => {
    try {
      return { ok: ex.call(method, endpoint, batch, JSON.stringify(params)) };
    } catch (e) {
      return { err: e.payload ?? e };
    }
  };
  function check(name, fn) {
    try {
      const problem = fn();
      if (problem) throw new Error(problem);
      console.log(`ok   ${name}`);
    } catch (e) {
      failures++;
      console.log(`FAIL ${name}: ${e.message}`);
    }
  }

  const usesWith = { label: 'L7', unknown: { keep: [1, 2.5] } };
  const { ex, logs } = await start(usesWith);

  check('describe: eight methods, seven bound, other the catch-all', () => {
    const d = ex.describe();
    const got = JSON.stringify(d.methods.map((m) => [m.name, Array.from(m.endpoints)]).sort());
    const want = JSON.stringify([['fail', ['/fail']], ['log', ['/log']], ['mutate', ['/mutate']], ['other', []], ['params', ['/params']], ['roundtrip', ['/roundtrip']], ['unchanged', ['/unchanged']], ['workspace', ['/workspace']]]);
    if (got !== want) return `methods ${got}`;
    if (d.catchAll !== 'other') return `catch-all ${d.catchAll}`;
  });
  check('unchanged answers unchanged', () => {
    const r = call(ex, 'unchanged', '/unchanged', treeBatch());
    if (r.err || r.ok.tag !== 'unchanged') return JSON.stringify(r.err ?? r.ok.tag);
  });
  for (const [label, batch] of [['a tree (3 deep, every dtype, 0-d and zero-sized shapes)', treeBatch()], ['a flat batch', flatBatch(24)], ['no documents', { nodes: [], roots: [] }]]) {
    check(`roundtrip: ${label}`, () => {
      const sent = structuredClone(batch);
      const r = call(ex, 'roundtrip', '/roundtrip', batch);
      if (r.err) return `error ${JSON.stringify(r.err)}`;
      if (r.ok.tag !== 'docs') return `answered ${r.ok.tag}`;
      return batchDiff(sent, r.ok.val);
    });
  }
  check('mutate', () => {
    const batch = treeBatch();
    for (const n of batch.nodes) if (n.embedding?.dtype === 'float32') n.embedding = tensor('float32', n.embedding.shape, { finite: true });
    const sent = structuredClone(batch);
    const r = call(ex, 'mutate', '/mutate', batch);
    if (r.err) return `error ${JSON.stringify(r.err)}`;
    const got = r.ok.val;
    if (got.roots.length !== sent.roots.length + 1) return `${got.roots.length} roots`;
    const added = got.nodes[got.roots[got.roots.length - 1]];
    if (added.text !== 'added by L7' || !added.id || sent.nodes.some((n) => n.id === added.id)) return `added ${JSON.stringify(added.text)} ${added.id}`;
    const before = [...walk(sent)];
    const after = [...walk({ nodes: got.nodes, roots: Array.from(got.roots).slice(0, -1) })];
    if (before.length !== after.length) return `${after.length} documents in the tree, sent ${before.length}`;
    for (let k = 0; k < before.length; k++) {
      const a = before[k];
      const b = after[k];
      if (opt(b.text) !== (a.text == null ? null : a.text + '!')) return `text ${a.text} -> ${b.text}`;
      const tags = JSON.parse(b.tags);
      const want = JSON.parse(a.tags ?? '{}');
      want.label = 'L7';
      if (canonicalJson(JSON.stringify(tags)) !== canonicalJson(JSON.stringify(want))) return `tags ${b.tags}`;
      if (a.tags && canonicalJson(b.tags).replace(/,?"label":"L7"/, '').replace('{,', '{') !== canonicalJson(a.tags)) return `tags lost number kinds: ${a.tags} -> ${b.tags}`;
      if (a.embedding?.dtype === 'float32') {
        const x = new Float32Array(a.embedding.data.slice().buffer);
        const y = new Float32Array(b.embedding.data.slice().buffer);
        if (x.length !== y.length || x.some((v, i) => y[i] !== v * 2)) return `embedding ${x} -> ${y}`;
      } else if (tensorDiff(a.embedding, b.embedding)) return `embedding ${a.embedding?.dtype} changed`;
      if (tensorDiff(a.tensor, b.tensor)) return 'tensor changed';
    }
  });
  check('params', () => {
    const params = { a: [1, 2.5, { b: null }], f: 2.0, s: 'x' };
    const r = call(ex, 'params', '/params', flatBatch(2), params);
    if (r.err) return `error ${JSON.stringify(r.err)}`;
    const got = r.ok.val;
    if (got.roots.length !== 1 || got.nodes.length !== 1) return `${got.nodes.length} documents`;
    const want = { parameters: params, uses_with: usesWith, metas: { name: 'conformance', description: null, workspace: null, replica_id: 1, shard_id: 2, shards: 3, replicas: 4 } };
    if (canonicalJson(got.nodes[0].tags) !== canonicalJson(JSON.stringify(want))) return got.nodes[0].tags;
  });
  check('params: number kinds survive (1.0, big integers)', () => {
    const r = call(ex, 'params', '/params', flatBatch(0), {});
    const text = '{"x":1.0,"n":1,"big":12345678901234567890,"e":1e2}';
    const r2 = (() => {
      try {
        return { ok: ex.call('params', '/params', { nodes: [], roots: [] }, text) };
      } catch (e) {
        return { err: e.payload ?? e };
      }
    })();
    if (r.err || r2.err) return JSON.stringify(r.err ?? r2.err);
    const tags = r2.ok.val.nodes[0].tags;
    const inner = canonicalJson(tags);
    if (!inner.includes(canonicalJson(text))) return tags;
  });
  check('fail', () => {
    const r = call(ex, 'fail', '/fail', treeBatch());
    if (!r.err) return 'no error';
    const { name, message, details } = r.err;
    if (name !== 'ValueError' || message !== 'conformance failure: 3 documents' || !details) return JSON.stringify(r.err);
  });
  check('log: logger lines, unchanged', () => {
    logs.length = 0;
    const r = call(ex, 'log', '/log', treeBatch());
    if (r.err || r.ok.tag !== 'unchanged') return JSON.stringify(r.err ?? r.ok.tag);
    const want = JSON.stringify([['info', 'conformance log info'], ['warn', 'conformance log warn']]);
    if (JSON.stringify(logs) !== want) return JSON.stringify(logs);
  });
  check('workspace without a workspace: NoWorkspace', () => {
    const r = call(ex, 'workspace', '/workspace', flatBatch(1), { content: 'x' });
    if (!r.err || r.err.name !== 'NoWorkspace') return JSON.stringify(r.err ?? r.ok);
  });
  check('other: tags.endpoint on top-level documents', () => {
    const batch = treeBatch();
    const sent = structuredClone(batch);
    const r = call(ex, 'other', '/something/else', batch);
    if (r.err) return JSON.stringify(r.err);
    const got = r.ok.val;
    for (let k = 0; k < sent.roots.length; k++) {
      const tags = JSON.parse(got.nodes[got.roots[k]].tags);
      if (tags.endpoint !== '/something/else') return JSON.stringify(tags);
      const want = JSON.parse(sent.nodes[sent.roots[k]].tags ?? '{}');
      want.endpoint = '/something/else';
      if (canonicalJson(JSON.stringify(tags)) !== canonicalJson(JSON.stringify(want))) return JSON.stringify(tags);
      got.nodes[got.roots[k]].tags = sent.nodes[sent.roots[k]].tags;
    }
    return batchDiff(sent, got);
  });
  check('errors: unknown method, bad batch, bad parameters, init twice', () => {
    let r = call(ex, 'nope', '/x', flatBatch(1));
    if (r.err?.name !== 'UnknownMethod') return JSON.stringify(r);
    r = call(ex, 'roundtrip', '/roundtrip', { nodes: [doc('a', 0)], roots: [0, 0] });
    if (r.err?.name !== 'InvalidDocumentBatch') return JSON.stringify(r.err);
    r = call(ex, 'roundtrip', '/roundtrip', { nodes: [doc('a', 0)], roots: [3] });
    if (r.err?.name !== 'InvalidDocumentBatch') return JSON.stringify(r.err);
    try {
      ex.call('other', '/x', flatBatch(1), '[1]');
      return 'parameters [1] accepted';
    } catch (e) {
      if ((e.payload ?? e).name !== 'ValueError') return JSON.stringify(e.payload ?? e.message);
    }
    try {
      ex.init('{}', { name: 'x', replicaId: 0, shardId: 0, shards: 1, replicas: 1 });
      return 'init twice accepted';
    } catch (e) {
      if ((e.payload ?? e).name !== 'AlreadyInitialized') return JSON.stringify(e.payload ?? e.message);
    }
  });
  const ws = join(work, 'ws');
  mkdirSync(ws);
  const granted = await start({}, { workspace: ws, name: 'withws' });
  check('workspace: write, read back', () => {
    const content = 'héllo ✓ ' + 'x'.repeat(10000);
    const r = call(granted.ex, 'workspace', '/workspace', flatBatch(2), { content });
    if (r.err) return JSON.stringify(r.err);
    if (r.ok.val.nodes.length !== 1 || r.ok.val.nodes[0].text !== content) return `text ${r.ok.val.nodes[0]?.text?.slice(0, 20)}`;
    if (readFileSync(join(ws, 'conformance.txt'), 'utf8') !== content) return 'file content differs';
  });
} finally {
  rmSync(work, { recursive: true, force: true });
}
console.log(failures === 0 ? 'all cases pass' : `${failures} case(s) failed`);
process.exit(failures === 0 ? 0 : 1);
