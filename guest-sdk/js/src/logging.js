// Logging to the host (the WIT `logging` import): lines land in the host's log
// tagged with the executor's name. `console.log` goes to standard output, which
// the host logs too.

import { host, typedArrayName } from './host.js';

export const LEVELS = ['trace', 'debug', 'info', 'warn', 'error'];

/** Formats console-style arguments: strings as they are, anything else inspected. */
export function format(args) {
  return args.map((a) => (typeof a === 'string' ? a : inspect(a))).join(' ');
}

function inspect(v) {
  if (v instanceof Error) return v.stack && String(v.stack).includes(v.message) ? String(v.stack) : `${v.name}: ${v.message}${v.stack ? '\n' + v.stack : ''}`;
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'function') return `[Function ${v.name || 'anonymous'}]`;
  if (typeof v === 'symbol' || v === undefined) return String(v);
  if (typedArrayName(v)) return `${typedArrayName(v)}(${v.length}) [${Array.from(v).join(', ')}]`;
  try {
    return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : ArrayBuffer.isView(x) ? Array.from(x, Number) : x)) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Sends one line to the host's log at `level` (trace, debug, info, warn, error). */
export function log(level, ...args) {
  if (!LEVELS.includes(level)) throw new TypeError(`unknown log level ${JSON.stringify(level)}`);
  const message = format(args);
  if (host.log) host.log(level, message);
  else if (globalThis.console) globalThis.console.error(`[${level.toUpperCase()}] ${message}`);
}

/** `logger.info('indexed', n, 'documents')`, also trace, debug, warn and error. */
export const logger = Object.freeze({
  trace: (...args) => log('trace', ...args),
  debug: (...args) => log('debug', ...args),
  info: (...args) => log('info', ...args),
  warn: (...args) => log('warn', ...args),
  error: (...args) => log('error', ...args),
  log,
});

/** Defines `console` where the engine has none (QuickJS), writing to stdout / stderr. */
export function installConsole() {
  if (globalThis.console) return;
  const out = (...args) => host.writeStdout?.(format(args) + '\n');
  const err = (...args) => host.writeStderr?.(format(args) + '\n');
  globalThis.console = { log: out, info: out, debug: out, trace: out, warn: err, error: err };
}
