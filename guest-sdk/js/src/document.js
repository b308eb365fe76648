// Documents shaped like docarray v1's `Document`, with camelCase field names,
// and DocumentArray, an Array of them.

import { valueError } from './errors.js';
import { parseJson, stringifyJson } from './json.js';
import { randomBytes } from './host.js';
import { Tensor } from './tensor.js';

// Two hex digits per byte value: an id is 16 table lookups rather than 16
// `toString(16)` calls (everything here runs in an interpreter).
const HEX = Array.from({ length: 256 }, (_, b) => (b < 16 ? '0' : '') + b.toString(16));

// Random bytes are fetched from the host 16 ids at a time (one host call per
// 16 documents instead of one each). The pool is filled on first use, at run
// time: the build-time snapshot never holds random bytes (see warmup.js).
const POOL_IDS = 16;
let pool = null;
let poolAt = 0;

/** Forgets the pooled random bytes (after the build-time warm-up). */
export function resetIdPool() {
  pool = null;
  poolAt = 0;
}

/** A fresh random id: 32 hex digits, like docarray's. */
export function newId() {
  if (pool === null || poolAt === pool.length) {
    pool = randomBytes(16 * POOL_IDS);
    poolAt = 0;
  }
  const b = pool;
  const i = poolAt;
  poolAt = i + 16;
  return (
    HEX[b[i]] + HEX[b[i + 1]] + HEX[b[i + 2]] + HEX[b[i + 3]] + HEX[b[i + 4]] + HEX[b[i + 5]] + HEX[b[i + 6]] + HEX[b[i + 7]] +
    HEX[b[i + 8]] + HEX[b[i + 9]] + HEX[b[i + 10]] + HEX[b[i + 11]] + HEX[b[i + 12]] + HEX[b[i + 13]] + HEX[b[i + 14]] + HEX[b[i + 15]]
  );
}

/** Every field, in the WIT record's order. */
export const FIELDS = Object.freeze([
  'id', 'parentId', 'granularity', 'adjacency', 'text', 'blob', 'tensor', 'embedding', 'uri',
  'mimeType', 'tags', 'weight', 'modality', 'offset', 'location', 'scores', 'evaluations', 'chunks', 'matches',
]);
const KNOWN = new Set(FIELDS);
const camel = (s) => s.replace(/_([a-z])/g, (_m, c) => c.toUpperCase());

function unknownField(key) {
  const hint = KNOWN.has(camel(key)) ? ` (fields are camelCase: ${camel(key)})` : '';
  return valueError(`unknown Document field ${JSON.stringify(key)}${hint}`);
}

/** Builds a document without a fresh id (for decoding). */
export const BARE = Symbol('bare');

function parseTags(raw, id) {
  if (raw === null || raw === undefined) return {};
  let v;
  try {
    v = parseJson(raw);
  } catch (err) {
    throw valueError(`document ${JSON.stringify(id)}: tags are not valid JSON: ${err.message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw valueError(`document ${JSON.stringify(id)}: tags must be a JSON object, got ${raw}`);
  }
  return v;
}

function copyScores(scores, what) {
  const out = {};
  if (scores === null || scores === undefined) return out;
  if (typeof scores !== 'object') throw valueError(`${what} must be an object of named scores`);
  for (const [name, s] of Object.entries(scores)) out[name] = typeof s === 'number' ? { value: s } : { ...s };
  return out;
}

/** The tags' JSON text as it goes back to the host (null when there are none). */
export let rawTags;
/** Sets the tags' JSON text as received from the host (parsed when first read). */
export let receiveRawTags;

/** `new Document({...})` of a plain object: only the keys it has are looked at. */
function fromPlain(doc, o) {
  const keys = Object.keys(o);
  let id;
  let tags;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    const v = o[key];
    switch (key) {
      case 'id':
        id = v;
        break;
      case 'tags':
        tags = v;
        break;
      case 'location':
        if (v) doc.location = Array.from(v, Number);
        break;
      case 'scores':
      case 'evaluations':
        if (v !== null && v !== undefined) doc[key] = copyScores(v, key);
        break;
      case 'chunks':
      case 'matches':
        if (v !== null && v !== undefined) doc[key] = toDocumentArray(v);
        break;
      case 'parentId':
      case 'granularity':
      case 'adjacency':
      case 'text':
      case 'blob':
      case 'tensor':
      case 'embedding':
      case 'uri':
      case 'mimeType':
      case 'weight':
      case 'modality':
      case 'offset':
        if (v !== undefined) doc[key] = v;
        break;
      default:
        throw unknownField(key);
    }
  }
  doc.id = id !== undefined && id !== null ? String(id) : newId();
  if (tags !== undefined && tags !== null) doc.tags = tags;
}

/** `new Document(x)` of anything else (a class instance, another Document): its fields are read, inherited ones too. */
function fromAny(doc, o) {
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key)) throw unknownField(key);
  }
  doc.id = o.id !== undefined && o.id !== null ? String(o.id) : newId();
  doc.parentId = o.parentId ?? null;
  doc.granularity = o.granularity ?? null;
  doc.adjacency = o.adjacency ?? null;
  doc.text = o.text ?? null;
  doc.blob = o.blob ?? null;
  doc.tensor = o.tensor ?? null;
  doc.embedding = o.embedding ?? null;
  doc.uri = o.uri ?? null;
  doc.mimeType = o.mimeType ?? null;
  doc.weight = o.weight ?? null;
  doc.modality = o.modality ?? null;
  doc.offset = o.offset ?? null;
  if (o.location) doc.location = Array.from(o.location, Number);
  doc.scores = copyScores(o.scores, 'scores');
  doc.evaluations = copyScores(o.evaluations, 'evaluations');
  if (o.chunks !== null && o.chunks !== undefined) doc.chunks = toDocumentArray(o.chunks);
  if (o.matches !== null && o.matches !== undefined) doc.matches = toDocumentArray(o.matches);
  if (o.tags !== undefined && o.tags !== null) doc.tags = o.tags;
}

/**
 * One document. Unset fields are `null` (lists and maps are empty instead).
 *
 * ```js
 * const doc = new Document({ text: 'hello', tags: { lang: 'en' } });   // fresh hex id
 * doc.embedding = new Tensor(Float32Array.of(0.1, 0.2));
 * doc.scores.cosine = { value: 0.9, opName: 'cosine' };
 * doc.addChunk(new Document({ text: 'hel' }));
 * ```
 */
export class Document {
  // Two private fields, not three (each is one more field to add per document):
  // the received text stays after the tags are parsed or replaced, and whether
  // the host sent tags (then empty tags go back as {}, not as none) is whether it is set.
  #tagsRaw = null; // the JSON text as received (null or undefined: the host sent none)
  #tags = undefined; // the parsed (or assigned) tags object; undefined until the tags are read or set

  constructor(init = {}) {
    // Every field is defined here, in FIELDS' order, with its unset value first:
    // all Documents then share one shape, and the cheapest way to build one
    // (for decoding) is this and nothing else.
    this.id = '';
    this.parentId = null;
    this.granularity = null;
    this.adjacency = null;
    this.text = null;
    this.blob = null;
    this.tensor = null;
    this.embedding = null;
    this.uri = null;
    this.mimeType = null;
    this.weight = null;
    this.modality = null;
    this.offset = null;
    this.location = [];
    this.scores = {};
    this.evaluations = {};
    this.chunks = new DocumentArray();
    this.matches = new DocumentArray();
    if (init === BARE) return;
    const o = init ?? {};
    if (typeof o !== 'object') throw valueError('new Document() takes an object of fields, e.g. {text: "hello"}');
    // Module functions, not private methods: a class with private methods
    // stamps each instance with a private brand, one more field to add.
    if (Object.getPrototypeOf(o) === Object.prototype) fromPlain(this, o);
    else fromAny(this, o);
  }

  static {
    // Set here, where the private fields are in scope; exported as they are
    // (each wrapper call would cost a call per document, in an interpreter).
    rawTags = (doc) => {
      if (doc.#tags === undefined) return doc.#tagsRaw;
      const tags = doc.#tags;
      for (const _ in tags) return stringifyJson(tags);
      return doc.#tagsRaw !== null && doc.#tagsRaw !== undefined ? '{}' : null;
    };
    receiveRawTags = (doc, raw) => {
      doc.#tagsRaw = raw;
      doc.#tags = undefined;
    };
  }

  /**
   * Free-form tags, a plain object (JSON). Parsed on first read; tags nobody
   * reads go back to the host exactly as they came.
   */
  get tags() {
    if (this.#tags === undefined) {
      this.#tags = parseTags(this.#tagsRaw, this.id);
    }
    return this.#tags;
  }

  set tags(value) {
    if (value === null || value === undefined) value = {};
    if (typeof value === 'string') value = parseTags(value, this.id);
    if (typeof value !== 'object' || Array.isArray(value)) throw valueError('tags must be a plain object');
    this.#tags = value;
  }

  /** Appends a chunk, setting its parentId and granularity as docarray does; returns it. */
  addChunk(chunk) {
    chunk = toDocument(chunk);
    chunk.parentId = this.id;
    chunk.granularity = (this.granularity ?? 0) + 1;
    this.chunks.push(chunk);
    return chunk;
  }

  /** Appends a match, setting its adjacency as docarray does; returns it. */
  addMatch(match) {
    match = toDocument(match);
    match.adjacency = (this.adjacency ?? 0) + 1;
    this.matches.push(match);
    return match;
  }

  /** A deep copy (same id). */
  clone() {
    const d = new Document(BARE);
    for (const f of FIELDS) {
      if (f === 'tags') continue;
      const v = this[f];
      if (f === 'chunks' || f === 'matches') d[f] = DocumentArray.from(v, (c) => toDocument(c).clone());
      else if (f === 'scores' || f === 'evaluations') d[f] = copyScores(v, f);
      else if (v instanceof Tensor) d[f] = v.clone();
      else if (ArrayBuffer.isView(v)) d[f] = v.slice();
      else if (Array.isArray(v)) d[f] = v.slice();
      else d[f] = v;
    }
    receiveRawTags(d, rawTags(this));
    return d;
  }

  /** A plain object of the set fields (for logs and JSON.stringify). */
  toJSON() {
    const out = { id: this.id };
    for (const f of FIELDS) {
      if (f === 'id') continue;
      let v;
      if (f === 'tags') {
        try {
          v = this.tags;
        } catch {
          v = rawTags(this);
        }
        if (v && Object.keys(v).length === 0) continue;
      } else v = this[f];
      if (v === null || v === undefined) continue;
      if (Array.isArray(v) && v.length === 0) continue;
      if ((f === 'scores' || f === 'evaluations') && Object.keys(v).length === 0) continue;
      if (v instanceof Uint8Array && f === 'blob') v = Array.from(v);
      out[f] = v;
    }
    return out;
  }
}

/** A Document as it is, or one built from a plain object of fields. */
export function toDocument(value) {
  if (value instanceof Document) return value;
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return new Document(value);
  throw valueError(`expected a Document (or an object of its fields), got ${value === null ? 'null' : typeof value}`);
}

function toDocumentArray(list) {
  if (list === null || list === undefined) return new DocumentArray();
  return DocumentArray.from(list, toDocument);
}

/** An Array of Documents (every Array method works; `map`/`filter` give DocumentArrays). */
export class DocumentArray extends Array {
  /** The first document with this id, or undefined. */
  byId(id) {
    return this.find((d) => d && d.id === id);
  }

  /** The documents' texts. */
  get texts() {
    return Array.from(this, (d) => d.text);
  }
}
