// Types of flowhost's JavaScript guest SDK (flowhost.js). See README.md.

/** The WIT dtypes. `boolean` is one byte per element, zero is false. */
export type DType =
  | 'float16' | 'float32' | 'float64'
  | 'int8' | 'int16' | 'int32' | 'int64'
  | 'uint8' | 'uint16' | 'uint32' | 'uint64'
  | 'boolean';

/**
 * The typed array holding a dtype's elements: float16 is a `Float16Array` where
 * the engine has one (StarlingMonkey and QuickJS do), else a `Uint16Array` of raw
 * half-precision bits; int64/uint64 are BigInt arrays; boolean is a Uint8Array.
 */
export type TypedArray =
  | Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | BigInt64Array
  | Uint8Array | Uint16Array | Uint32Array | BigUint64Array;

/** Every dtype: [bytes per element, typed array class]. */
export const DTYPES: Readonly<Record<DType, readonly [number, new (...args: any[]) => TypedArray]>>;

/** A dense n-dimensional array: dtype, shape and the elements in row-major order. */
export class Tensor {
  /**
   * `new Tensor(Float32Array.of(1, 2, 3, 4), [2, 2])`. The dtype follows the typed
   * array unless given (then the values are converted); a plain array without a
   * dtype is float64; the shape defaults to `[data.length]`.
   */
  constructor(data: TypedArray | ArrayLike<number | bigint | boolean> | Iterable<number | bigint | boolean>, shape?: readonly number[], dtype?: DType);
  /** A tensor over little-endian bytes (no copy when aligned). */
  static fromBytes(dtype: DType, shape: ArrayLike<number>, bytes: Uint8Array): Tensor;
  /** A float16 tensor from numbers. */
  static float16(values: Iterable<number>, shape?: readonly number[]): Tensor;
  dtype: DType;
  shape: number[];
  data: TypedArray;
  /** Number of elements. */
  readonly size: number;
  /** Number of dimensions (0 for a scalar). */
  readonly ndim: number;
  /** The elements as little-endian bytes (a view). */
  bytes(): Uint8Array;
  /** Flat numbers (booleans for `boolean`, float16 decoded). */
  toArray(): Array<number | boolean>;
  /** Nested by the shape, like numpy's `tolist()`. */
  toNested(): unknown;
  toFloat32Array(): Float32Array;
  toFloat64Array(): Float64Array;
  clone(): Tensor;
  /** Same dtype, shape and bytes. */
  equals(other: unknown): boolean;
  toJSON(): { dtype: DType; shape: number[]; data: Array<number | boolean> };
}

/** IEEE half-precision bits of a number, and back. */
export function toFloat16Bits(value: number): number;
export function fromFloat16Bits(bits: number): number;

/** A named score or evaluation (docarray's NamedScore). */
export interface NamedScore {
  value: number;
  opName?: string | null;
  description?: string | null;
  refId?: string | null;
}

/** JSON values, as tags, parameters and uses_with hold them. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** What `new Document(...)` takes: any fields, camelCase. */
export interface DocumentInit {
  id?: string | number;
  parentId?: string | null;
  granularity?: number | null;
  adjacency?: number | null;
  text?: string | null;
  blob?: Uint8Array | null;
  tensor?: Tensor | TypedArray | number[] | null;
  embedding?: Tensor | TypedArray | number[] | null;
  uri?: string | null;
  mimeType?: string | null;
  tags?: JsonObject | null;
  weight?: number | null;
  modality?: string | null;
  offset?: number | null;
  location?: number[];
  scores?: Record<string, NamedScore | number>;
  evaluations?: Record<string, NamedScore | number>;
  chunks?: Array<Document | DocumentInit>;
  matches?: Array<Document | DocumentInit>;
}

/** One document, shaped like docarray v1's. Unset fields are null. */
export class Document {
  /** Fields camelCase; without an id, a fresh random 32-hex-digit one. */
  constructor(init?: DocumentInit);
  id: string;
  parentId: string | null;
  granularity: number | null;
  adjacency: number | null;
  text: string | null;
  blob: Uint8Array | null;
  /** A Tensor; a typed array or number[] assigned here is sent as a 1-d tensor. */
  tensor: Tensor | TypedArray | number[] | null;
  embedding: Tensor | TypedArray | number[] | null;
  uri: string | null;
  mimeType: string | null;
  /** Free-form JSON tags, parsed on first read (a ValueError if the host sent non-object tags). */
  tags: JsonObject;
  weight: number | null;
  modality: string | null;
  offset: number | null;
  location: number[];
  scores: Record<string, NamedScore>;
  evaluations: Record<string, NamedScore>;
  chunks: DocumentArray;
  matches: DocumentArray;
  /** Appends a chunk, setting its parentId and granularity; returns it. */
  addChunk(chunk: Document | DocumentInit): Document;
  /** Appends a match, setting its adjacency; returns it. */
  addMatch(match: Document | DocumentInit): Document;
  /** A deep copy (same id). */
  clone(): Document;
  toJSON(): Record<string, unknown>;
}

/** An Array of Documents. */
export class DocumentArray extends Array<Document> {
  /** The first document with this id. */
  byId(id: string): Document | undefined;
  /** The documents' texts. */
  readonly texts: Array<string | null>;
}

/** A fresh random id (32 hex digits). */
export function newId(): string;

/** Jina's metas: who this executor instance is. */
export interface Metas {
  readonly name: string;
  readonly description: string | null;
  /** The guest path of the granted workspace directory (use with `fs`), or null. */
  readonly workspace: string | null;
  readonly replicaId: number;
  readonly shardId: number;
  readonly shards: number;
  readonly replicas: number;
}

/** What a handler learns about the call. */
export interface Request<P extends JsonObject = JsonObject> {
  /** The method's name. */
  readonly method: string;
  /** The endpoint called, e.g. `/index`. */
  readonly endpoint: string;
  /** The request's parameters (a JSON object). */
  readonly parameters: P;
  readonly metas: Metas;
}

/** Return this to answer `unchanged` (the host keeps its documents) after reading them. */
export const UNCHANGED: { readonly unchanged: true };

/** What a handler may return. */
export type Reply = void | undefined | null | typeof UNCHANGED | Document | Iterable<Document | DocumentInit>;

/** A handler: `docs` decoded on first use; change it in place or return documents. */
export type Handler<This = any> = (this: This, docs: DocumentArray, request: Request) => Reply | Promise<Reply>;

/**
 * Endpoint bindings: method name -> `'/endpoint'`, a list of them, `[]` (bound only
 * by a flow's `uses_requests`) or `'*'` (the catch-all, at most one).
 */
export type Requests = Record<string, string | readonly string[]>;

/** An executor class: constructed once with uses_with and metas. */
export interface ExecutorClass {
  new (usesWith: JsonObject, metas: Metas): object;
  requests?: Requests;
}

/** An executor as an object of handlers. */
export interface ExecutorObject {
  requests?: Requests;
  init?(usesWith: JsonObject, metas: Metas): void | Promise<void>;
  [method: string]: unknown;
}

/** The WIT `executor` export that `defineExecutor` builds (the host calls it). */
export interface ExecutorExport {
  init(usesWith: string, metas: object): void;
  describe(): { methods: Array<{ name: string; endpoints: string[] }>; catchAll: string | null };
  call(method: string, endpoint: string, docs: WitDocumentBatch, parameters: string): unknown;
}

/**
 * Defines the component's executor: `export default defineExecutor(class MyExec {...})`.
 * Bindings come from `static requests` (or `requests` of an object), or `requests`.
 */
export function defineExecutor(def: ExecutorClass | ExecutorObject, requests?: Requests): ExecutorExport;

/** The executor export of a module (used by the build's entry glue). */
export function exportExecutor(mod: Record<string, unknown>): ExecutorExport;

/**
 * An error with an explicit type name, reported like a Python exception in Jina:
 * `throw new ExecutorError('ValueError', 'limit must be positive')`. Any thrown
 * Error works: its name (or class name) is the type, its stack the details.
 */
export class ExecutorError extends Error {
  constructor(name: string, message: string, details?: string);
  details?: string;
}

/** The error name for a malformed document batch. */
export const INVALID_BATCH: 'InvalidDocumentBatch';

export type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** Logs to the host (console-style arguments). */
export function log(level: Level, ...args: unknown[]): void;
export const logger: Readonly<{
  trace(...args: unknown[]): void;
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
  log(level: Level, ...args: unknown[]): void;
}>;
/** Defines `console` where the engine has none (done for you on QuickJS). */
export function installConsole(): void;

/** JSON.parse / JSON.stringify that keep `1.0` a float and long integers exact. */
export function parseJson(text: string): Json;
export function stringifyJson(value: unknown): string;

/** UTF-8, on every engine. */
export function encodeUtf8(text: string): Uint8Array;
export function decodeUtf8(bytes: Uint8Array): string;

/** The WIT document-batch (flat nodes, children by index). */
export interface WitDocumentBatch {
  nodes: Array<Record<string, unknown>>;
  roots: ArrayLike<number>;
}
/** Tree -> flat WIT batch and back (what the SDK does around every call). */
export function flatten(docs: Iterable<Document | DocumentInit>): WitDocumentBatch;
export function unflatten(batch: WitDocumentBatch): DocumentArray;

/** Binds the engine's WIT imports (used by the build's entry glue). */
export function bindHost(bindings: Record<string, unknown>): void;

/** Files in granted directories (the workspace), synchronous. Errors are FileSystemErrors. */
export namespace fs {
  class FileSystemError extends ExecutorError {
    /** The WASI error code: `no-entry`, `exist`, `access`, `not-permitted`, … */
    code: string;
    path: string;
  }
  function readFile(path: string, encoding: 'utf8' | 'utf-8'): string;
  function readFile(path: string): Uint8Array;
  function writeFile(path: string, data: string | Uint8Array | ArrayBufferView): void;
  function appendFile(path: string, data: string | Uint8Array | ArrayBufferView): void;
  function exists(path: string): boolean;
  function mkdir(path: string, options?: { recursive?: boolean }): void;
  function readdir(path: string): string[];
  function unlink(path: string): void;
  function rmdir(path: string): void;
}
