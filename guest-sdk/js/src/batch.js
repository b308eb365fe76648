// Conversion between the flat WIT `document-batch` (nodes + roots, children by
// index) and a tree of Documents, both ways, at any depth, without recursion.

import { ExecutorError, INVALID_BATCH, valueError } from './errors.js';
import { BARE, Document, DocumentArray, rawTags, receiveRawTags, toDocument } from './document.js';
import { Tensor, asTensor } from './tensor.js';
import { toBytes } from './host.js';

const invalid = (message) => new ExecutorError(INVALID_BATCH, message);

function tensorFromWit(t, id, field) {
  if (t === null || t === undefined) return null;
  try {
    return Tensor.fromBytes(t.dtype, t.shape, t.data);
  } catch (err) {
    throw invalid(`document ${JSON.stringify(id)}: ${field}: ${err.message}`);
  }
}

function scoresFromWit(list) {
  const out = {};
  if (!list) return out;
  for (let i = 0; i < list.length; i++) {
    const s = list[i];
    out[s.name] = {
      value: s.value,
      opName: s.opName ?? null,
      description: s.description ?? null,
      refId: s.refId ?? null,
    };
  }
  return out;
}

/**
 * One WIT node as a Document, leaving chunks and matches empty. Only the fields
 * the node sets are touched (a new Document has every field unset already):
 * this runs once per document in an interpreter, where each step counts (so
 * `!= null`, one test for both null and undefined).
 */
export function docFromWit(n) {
  const d = new Document(BARE);
  const id = n.id;
  d.id = id;
  let v;
  if ((v = n.parentId) != null) d.parentId = v;
  if ((v = n.granularity) != null) d.granularity = v;
  if ((v = n.adjacency) != null) d.adjacency = v;
  if ((v = n.text) != null) d.text = v;
  if ((v = n.blob) != null) d.blob = toBytes(v);
  if ((v = n.tensor) != null) d.tensor = tensorFromWit(v, id, 'tensor');
  if ((v = n.embedding) != null) d.embedding = tensorFromWit(v, id, 'embedding');
  if ((v = n.uri) != null) d.uri = v;
  if ((v = n.mimeType) != null) d.mimeType = v;
  if ((v = n.tags) != null) receiveRawTags(d, v);
  if ((v = n.weight) != null) d.weight = v;
  if ((v = n.modality) != null) d.modality = v;
  if ((v = n.offset) != null) d.offset = v;
  if ((v = n.location) && v.length) d.location = Array.from(v);
  if ((v = n.scores) && v.length) d.scores = scoresFromWit(v);
  if ((v = n.evaluations) && v.length) d.evaluations = scoresFromWit(v);
  return d;
}

/** Checks the batch is a forest and returns its node indices parents-first. */
function validate(nodes, roots) {
  const n = nodes.length;
  const seen = new Uint8Array(n);
  const order = [];
  const visit = (idx, via) => {
    if (!(idx >= 0 && idx < n)) throw invalid(`${via} is node ${idx}, out of range (the batch has ${n} nodes)`);
    if (seen[idx]) {
      throw invalid(
        `node ${idx} (id ${JSON.stringify(nodes[idx].id)}) is reached twice, the second time as ${via}; ` +
          'a batch must be a forest without cycles or shared children',
      );
    }
    seen[idx] = 1;
    order.push(idx);
  };
  for (let pos = 0; pos < roots.length; pos++) visit(roots[pos], `root #${pos}`);
  for (let k = 0; k < order.length; k++) {
    const parent = order[k];
    const { chunks, matches } = nodes[parent];
    for (let pos = 0; pos < chunks.length; pos++) visit(chunks[pos], `chunk #${pos} of node ${parent}`);
    for (let pos = 0; pos < matches.length; pos++) visit(matches[pos], `match #${pos} of node ${parent}`);
  }
  if (order.length !== n) {
    const orphan = seen.indexOf(0);
    throw invalid(`node ${orphan} (id ${JSON.stringify(nodes[orphan].id)}) is not reachable from any root`);
  }
  return order;
}

/** Rebuilds the document tree from a flat WIT batch, rejecting malformed batches. */
export function unflatten(batch) {
  return unflattenInto(batch, new DocumentArray());
}

/** {@link unflatten}, appending the top-level documents to `docs` (which it returns). */
export function unflattenInto(batch, docs) {
  const { nodes, roots } = batch;
  const n = nodes.length;
  let flat = roots.length === n;
  for (let i = 0; flat && i < n; i++) {
    const node = nodes[i];
    flat = roots[i] === i && node.chunks.length === 0 && node.matches.length === 0;
  }
  if (flat) {
    for (let i = 0; i < n; i++) docs.push(docFromWit(nodes[i]));
    return docs;
  }
  const order = validate(nodes, roots);
  const built = new Array(n);
  for (let k = order.length - 1; k >= 0; k--) {
    const i = order[k];
    const node = nodes[i];
    const doc = docFromWit(node);
    const { chunks, matches } = node;
    for (let j = 0; j < chunks.length; j++) doc.chunks.push(built[chunks[j]]);
    for (let j = 0; j < matches.length; j++) doc.matches.push(built[matches[j]]);
    built[i] = doc;
  }
  for (let r = 0; r < roots.length; r++) docs.push(built[roots[r]]);
  return docs;
}

// --- tree -> batch ---------------------------------------------------------

function optString(v, id, field) {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'string') throw valueError(`document ${JSON.stringify(id)}: ${field} must be a string, got ${typeof v}`);
  return v;
}

function optInt32(v, id, field) {
  if (v === null || v === undefined) return null;
  if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) {
    throw valueError(`document ${JSON.stringify(id)}: ${field} must be a 32-bit integer, got ${String(v)}`);
  }
  return v;
}

function optNumber(v, id, field) {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'number') throw valueError(`document ${JSON.stringify(id)}: ${field} must be a number, got ${typeof v}`);
  return v;
}

function bytes(v, id) {
  if (v === null || v === undefined) return null;
  if (v instanceof Uint8Array) return v;
  if (ArrayBuffer.isView(v) || Array.isArray(v) || Object.prototype.toString.call(v) === '[object ArrayBuffer]') return toBytes(v);
  throw valueError(`document ${JSON.stringify(id)}: blob must be a Uint8Array, got ${typeof v}`);
}

function tensorToWit(v, id, field) {
  const t = asTensor(v, `document ${JSON.stringify(id)}: ${field}`);
  if (t === null) return null;
  return { dtype: t.dtype, shape: t.shape.slice(), data: t.bytes() };
}

// The empty list of every node field a document leaves empty: the bindings
// only read it, and most nodes have no location, scores, chunks or matches.
const NONE = Object.freeze([]);

/** Named scores as a WIT list; the caller has checked `scores` has keys. */
function scoresToWit(scores, id, field) {
  const out = [];
  const names = Object.keys(scores);
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    let s = scores[name];
    if (typeof s === 'number') s = { value: s };
    if (s === null || typeof s !== 'object' || typeof s.value !== 'number') {
      throw valueError(`document ${JSON.stringify(id)}: ${field}.${name} must be {value: number, ...}`);
    }
    out.push({
      name,
      value: s.value,
      opName: optString(s.opName, id, `${field}.${name}.opName`),
      description: optString(s.description, id, `${field}.${name}.description`),
      refId: optString(s.refId, id, `${field}.${name}.refId`),
    });
  }
  return out;
}

/**
 * One Document as a WIT node, without chunks and matches (shared empty lists:
 * a caller that fills them sets its own). Unset fields (`== null`: null or
 * undefined) skip their checker (a call each, in an interpreter).
 */
export function docToWit(d) {
  const id = d.id;
  if (typeof id !== 'string') throw valueError(`a document id must be a string, got ${typeof id}`);
  const location = d.location;
  let loc;
  if (location === null || location === undefined || location.length === 0) loc = NONE;
  else {
    loc = new Array(location.length);
    for (let i = 0; i < location.length; i++) {
      if (typeof location[i] !== 'number') throw valueError(`document ${JSON.stringify(id)}: location must hold numbers`);
      loc[i] = location[i];
    }
  }
  const { parentId, granularity, adjacency, text, blob, tensor, embedding, uri, mimeType, weight, modality, offset, scores, evaluations } = d;
  // Most documents have no scores: the emptiness test is inline (`for...in`
  // does nothing for null or undefined), a call less per field.
  let witScores = NONE;
  for (const _ in scores) {
    witScores = scoresToWit(scores, id, 'scores');
    break;
  }
  let witEvaluations = NONE;
  for (const _ in evaluations) {
    witEvaluations = scoresToWit(evaluations, id, 'evaluations');
    break;
  }
  return {
    id,
    parentId: parentId == null ? null : optString(parentId, id, 'parentId'),
    granularity: granularity == null ? null : optInt32(granularity, id, 'granularity'),
    adjacency: adjacency == null ? null : optInt32(adjacency, id, 'adjacency'),
    text: text == null ? null : optString(text, id, 'text'),
    blob: blob == null ? null : bytes(blob, id),
    tensor: tensor == null ? null : tensorToWit(tensor, id, 'tensor'),
    embedding: embedding == null ? null : tensorToWit(embedding, id, 'embedding'),
    uri: uri == null ? null : optString(uri, id, 'uri'),
    mimeType: mimeType == null ? null : optString(mimeType, id, 'mimeType'),
    tags: rawTags(d),
    weight: weight == null ? null : optNumber(weight, id, 'weight'),
    modality: modality == null ? null : optString(modality, id, 'modality'),
    offset: offset == null ? null : optNumber(offset, id, 'offset'),
    location: loc,
    scores: witScores,
    evaluations: witEvaluations,
    chunks: NONE,
    matches: NONE,
  };
}

/**
 * Turns plain-object children into Documents (in place) and rejects a document
 * that contains itself. The same Document may appear in several places: it is
 * sent once per place.
 */
function normalizeTree(docs) {
  const state = new Map(); // doc -> 1 on the current path, 2 done
  for (const root of docs) {
    if (state.get(root) === 2) continue;
    state.set(root, 1);
    const stack = [[root, 0]];
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const doc = top[0];
      const i = top[1];
      const nChunks = doc.chunks.length;
      if (i === nChunks + doc.matches.length) {
        state.set(doc, 2);
        stack.pop();
        continue;
      }
      top[1] = i + 1;
      const list = i < nChunks ? doc.chunks : doc.matches;
      const j = i < nChunks ? i : i - nChunks;
      let child = list[j];
      if (!(child instanceof Document)) {
        child = toDocument(child);
        list[j] = child;
      }
      const s = state.get(child);
      if (s === 1) throw valueError(`document ${JSON.stringify(child.id)} contains itself through its chunks or matches`);
      if (s === 2) continue;
      state.set(child, 1);
      stack.push([child, 0]);
    }
  }
}

/** Flattens a document tree into a WIT batch: roots first, then descendants breadth-first. */
export function flatten(input) {
  const docs = [];
  if (Array.isArray(input)) {
    for (let i = 0; i < input.length; i++) {
      const d = input[i];
      docs.push(d instanceof Document ? d : toDocument(d)); // (a call less for a Document)
    }
  } else {
    for (const d of input) docs.push(toDocument(d));
  }
  const count = docs.length;
  let flat = true;
  for (let i = 0; i < count; i++) {
    const d = docs[i];
    if ((d.chunks && d.chunks.length) || (d.matches && d.matches.length)) {
      flat = false;
      break;
    }
  }
  if (flat) {
    const nodes = new Array(count);
    const roots = new Array(count);
    for (let i = 0; i < count; i++) {
      nodes[i] = docToWit(docs[i]);
      roots[i] = i;
    }
    return { nodes, roots };
  }
  normalizeTree(docs);
  const nodes = [];
  const roots = [];
  const queue = [];
  for (let i = 0; i < count; i++) queue.push(docs[i], null, 0);
  for (let head = 0; head < queue.length; head += 3) {
    const doc = queue[head];
    const parent = queue[head + 1];
    const idx = nodes.length;
    const node = docToWit(doc);
    node.chunks = [];
    node.matches = [];
    nodes.push(node);
    if (parent === null) roots.push(idx);
    else if (queue[head + 2] === 1) parent.chunks.push(idx);
    else parent.matches.push(idx);
    const { chunks, matches } = doc;
    for (let j = 0; j < chunks.length; j++) queue.push(chunks[j], node, 1);
    for (let j = 0; j < matches.length; j++) queue.push(matches[j], node, 2);
  }
  return { nodes, roots };
}
