// Errors: what a handler throws to fail a request, and how any thrown value
// becomes the WIT `executor-error` record.

/**
 * An error with an explicit type name, reported to the client like a Python
 * exception in Jina: `throw new ExecutorError('ValueError', 'limit must be positive')`.
 * Any other `Error` works too; its `name` (or its class name) becomes the type.
 */
export class ExecutorError extends Error {
  constructor(name, message, details) {
    super(message);
    this.name = name;
    if (details !== undefined && details !== null) this.details = String(details);
  }
}

/** A `ValueError`: the input (documents, parameters, uses_with) is wrong. */
export function valueError(message) {
  return new ExecutorError('ValueError', message);
}

/** The name of a malformed-batch error, as in the other SDKs. */
export const INVALID_BATCH = 'InvalidDocumentBatch';

/** The error's type name: `err.name`, or its class name when `name` is the inherited `Error`. */
function errorName(err) {
  let name = typeof err.name === 'string' && err.name ? err.name : '';
  if (name === '' || name === 'Error') {
    const ctor = err.constructor && err.constructor.name;
    if (ctor && ctor !== 'Error' && ctor !== 'Object') name = ctor;
  }
  return name || 'Error';
}

/** Converts anything thrown into the WIT `executor-error` record `{name, message, details}`. */
export function toWitError(err) {
  if (err !== null && typeof err === 'object') {
    const name = errorName(err);
    const message = err.message === undefined ? String(err) : String(err.message);
    let details = err.details ?? err.stack;
    details = details === undefined || details === null ? '' : String(details);
    if (details.trim() === '') details = `${name}: ${message}`;
    return { name, message, details };
  }
  const message = String(err);
  return { name: 'Error', message, details: `thrown value: ${message}` };
}
