// Files in directories the host grants (the executor's workspace, at
// `metas.workspace`), over WASI filesystem: synchronous, node-like calls.
//
//   fs.writeFile(`${metas.workspace}/state.json`, JSON.stringify(state));
//   const text = fs.readFile(`${metas.workspace}/state.json`, 'utf8');
//
// Errors are `FileSystemError`s whose `code` is the WASI error code
// (`no-entry`, `exist`, `access`, `not-permitted`, …).

import { ExecutorError } from './errors.js';
import { decodeUtf8, encodeUtf8, host, toBytes } from './host.js';

export class FileSystemError extends ExecutorError {
  constructor(code, op, path) {
    super('FileSystemError', `${op} ${path}: ${code}`);
    this.code = code;
    this.path = path;
  }
}

const CHUNK = 1 << 20;

function normalize(path) {
  const parts = [];
  for (const p of String(path).split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') parts.pop();
    else parts.push(p);
  }
  return '/' + parts.join('/');
}

function errorCode(err) {
  if (err instanceof FileSystemError) throw err;
  const code = err && typeof err === 'object' && 'payload' in err ? err.payload : err;
  if (typeof code === 'string') return code;
  if (code && typeof code === 'object' && typeof code.tag === 'string') return code.tag;
  throw err;
}

function wrap(op, path, fn) {
  try {
    return fn();
  } catch (err) {
    throw new FileSystemError(errorCode(err), op, path);
  }
}

function dispose(resource) {
  const d = resource && resource[Symbol.dispose];
  if (typeof d === 'function') d.call(resource);
}

let preopens = null;

/** The directory descriptor holding `path` and the path relative to it. */
function locate(path, op) {
  if (!host.getDirectories) throw new FileSystemError('unsupported', op, `${path} (no WASI filesystem in ${host.engine})`);
  preopens ??= host.getDirectories().map(([descriptor, root]) => [descriptor, normalize(root)]);
  const p = normalize(path);
  let best = null;
  for (const [descriptor, root] of preopens) {
    const inside = root === '/' || p === root || p.startsWith(root + '/');
    if (inside && (best === null || root.length > best[1].length)) best = [descriptor, root];
  }
  if (best === null) throw new FileSystemError('not-permitted', op, `${path} (not inside a granted directory; the workspace is metas.workspace)`);
  const rel = p === best[1] ? '.' : p.slice(best[1] === '/' ? 1 : best[1].length + 1);
  return [best[0], rel];
}

function open(path, op, openFlags, flags) {
  const [dir, rel] = locate(path, op);
  return wrap(op, path, () => dir.openAt({ symlinkFollow: true }, rel, openFlags, flags));
}

/** The file's contents: a string with `encoding` 'utf8' (or 'utf-8'), else a Uint8Array. */
export function readFile(path, encoding) {
  const fd = open(path, 'readFile', {}, { read: true });
  try {
    const parts = [];
    let total = 0;
    for (;;) {
      const [bytes, eof] = wrap('readFile', path, () => fd.read(host.u64(CHUNK), host.u64(total)));
      if (bytes.length > 0) {
        parts.push(toBytes(bytes));
        total += bytes.length;
      }
      if (eof || bytes.length === 0) break;
    }
    let out;
    if (parts.length === 1) out = toBytes(parts[0]);
    else {
      out = new Uint8Array(total);
      let at = 0;
      for (const p of parts) {
        out.set(p, at);
        at += p.length;
      }
    }
    return encoding === 'utf8' || encoding === 'utf-8' ? decodeUtf8(out) : out;
  } finally {
    dispose(fd);
  }
}

function write(path, data, op, openFlags, startAtEnd) {
  const bytes = typeof data === 'string' ? encodeUtf8(data) : toBytes(data);
  const fd = open(path, op, openFlags, { write: true });
  try {
    let offset = startAtEnd ? Number(wrap(op, path, () => fd.stat()).size) : 0;
    let done = 0;
    while (done < bytes.length) {
      const part = bytes.subarray(done, Math.min(bytes.length, done + CHUNK));
      const n = Number(wrap(op, path, () => fd.write(part, host.u64(offset))));
      if (n <= 0) throw new FileSystemError('io', op, path);
      done += n;
      offset += n;
    }
  } finally {
    dispose(fd);
  }
}

/** Creates or replaces the file with `data` (a string, written as UTF-8, or bytes). */
export function writeFile(path, data) {
  write(path, data, 'writeFile', { create: true, truncate: true }, false);
}

/** Appends `data` to the file, creating it if needed. */
export function appendFile(path, data) {
  write(path, data, 'appendFile', { create: true }, true);
}

/** Whether the path exists. */
export function exists(path) {
  const [dir, rel] = locate(path, 'exists');
  try {
    dir.statAt({ symlinkFollow: true }, rel);
    return true;
  } catch (err) {
    if (errorCode(err) === 'no-entry') return false;
    throw new FileSystemError(errorCode(err), 'exists', path);
  }
}

/** Creates a directory (and its missing parents with `{recursive: true}`). */
export function mkdir(path, options = {}) {
  if (options.recursive) {
    const p = normalize(path);
    const parts = p.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const sub = '/' + parts.slice(0, i).join('/');
      if (!exists(sub)) mkdir(sub);
    }
    return;
  }
  const [dir, rel] = locate(path, 'mkdir');
  wrap('mkdir', path, () => dir.createDirectoryAt(rel));
}

/** The names in a directory. */
export function readdir(path) {
  const fd = open(path, 'readdir', { directory: true }, { read: true });
  try {
    const stream = wrap('readdir', path, () => fd.readDirectory());
    const names = [];
    try {
      for (;;) {
        const entry = wrap('readdir', path, () => stream.readDirectoryEntry());
        if (entry === undefined || entry === null) break;
        names.push(entry.name);
      }
    } finally {
      dispose(stream);
    }
    return names;
  } finally {
    dispose(fd);
  }
}

/** Removes a file. */
export function unlink(path) {
  const [dir, rel] = locate(path, 'unlink');
  wrap('unlink', path, () => dir.unlinkFileAt(rel));
}

/** Removes an empty directory. */
export function rmdir(path) {
  const [dir, rel] = locate(path, 'rmdir');
  wrap('rmdir', path, () => dir.removeDirectoryAt(rel));
}
