// flowhost's JavaScript guest SDK: write executors as classes over Documents.
// See README.md; the types are in flowhost.d.ts.

export { defineExecutor, exportExecutor, UNCHANGED } from './src/executor.js';
export { Document, DocumentArray, newId } from './src/document.js';
export { Tensor, DTYPES, toFloat16Bits, fromFloat16Bits } from './src/tensor.js';
export { ExecutorError, INVALID_BATCH } from './src/errors.js';
export { logger, log, installConsole } from './src/logging.js';
export { parseJson, stringifyJson } from './src/json.js';
export { flatten, unflatten } from './src/batch.js';
export { bindHost, encodeUtf8, decodeUtf8 } from './src/host.js';
export * as fs from './src/fs.js';
