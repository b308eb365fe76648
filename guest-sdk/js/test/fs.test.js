// fs over a fake WASI filesystem (a Map of paths), shaped like the bindings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from '../src/fs.js';
import { bindHost, host } from '../src/host.js';

class FakeDir {
  constructor(files, prefix = '') {
    this.files = files;
    this.prefix = prefix;
  }
  path(rel) {
    return rel === '.' ? this.prefix : this.prefix + (this.prefix ? '/' : '') + rel;
  }
  openAt(_pathFlags, rel, openFlags, flags) {
    const p = this.path(rel);
    if (openFlags.directory) return new FakeDir(this.files, p);
    if (!this.files.has(p)) {
      if (!openFlags.create) throw { payload: 'no-entry' };
      this.files.set(p, new Uint8Array(0));
    }
    if (openFlags.truncate) this.files.set(p, new Uint8Array(0));
    return new FakeFile(this.files, p, flags);
  }
  statAt(_f, rel) {
    const p = this.path(rel);
    if (!this.files.has(p) && ![...this.files.keys()].some((k) => k.startsWith(p + '/'))) throw { payload: 'no-entry' };
    return { type: 'regular-file', size: 0n };
  }
  createDirectoryAt(rel) {
    this.files.set(this.path(rel) + '/.dir', new Uint8Array(0));
  }
  unlinkFileAt(rel) {
    if (!this.files.delete(this.path(rel))) throw { payload: 'no-entry' };
  }
  readDirectory() {
    const names = [...new Set([...this.files.keys()].filter((k) => k.startsWith(this.prefix ? this.prefix + '/' : '')).map((k) => k.slice(this.prefix ? this.prefix.length + 1 : 0).split('/')[0]))].filter((n) => n !== '.dir');
    return { readDirectoryEntry: () => (names.length ? { type: 'regular-file', name: names.shift() } : undefined) };
  }
}

class FakeFile {
  constructor(files, path) {
    this.files = files;
    this.path = path;
  }
  read(len, offset) {
    const data = this.files.get(this.path);
    const chunk = data.slice(Number(offset), Number(offset) + Math.min(Number(len), 5)); // short reads
    return [chunk, Number(offset) + chunk.length >= data.length];
  }
  write(bytes, offset) {
    const data = this.files.get(this.path);
    const end = Number(offset) + Math.min(bytes.length, 7); // short writes
    const out = new Uint8Array(Math.max(data.length, end));
    out.set(data);
    out.set(bytes.subarray(0, end - Number(offset)), Number(offset));
    this.files.set(this.path, out);
    return BigInt(end - Number(offset));
  }
  stat() {
    return { size: BigInt(this.files.get(this.path).length) };
  }
}

test('files in a preopened workspace', () => {
  const files = new Map();
  const saved = host.getDirectories;
  bindHost({ getDirectories: () => [[new FakeDir(files), '/workspace']] });
  try {
    fs.writeFile('/workspace/a.txt', 'héllo wörld, more than one chunk');
    assert.equal(fs.readFile('/workspace/a.txt', 'utf8'), 'héllo wörld, more than one chunk');
    fs.appendFile('/workspace/a.txt', Uint8Array.of(33));
    assert.equal(fs.readFile('/workspace/./x/../a.txt', 'utf-8').slice(-2), 'k!');
    assert.ok(fs.readFile('/workspace/a.txt') instanceof Uint8Array);
    assert.ok(fs.exists('/workspace/a.txt'));
    assert.ok(!fs.exists('/workspace/none'));
    assert.deepEqual(fs.readdir('/workspace'), ['a.txt']);
    assert.throws(() => fs.readFile('/workspace/none'), (e) => e.name === 'FileSystemError' && e.code === 'no-entry');
    assert.throws(() => fs.readFile('/etc/passwd'), (e) => e.code === 'not-permitted');
    fs.unlink('/workspace/a.txt');
    assert.ok(!fs.exists('/workspace/a.txt'));
  } finally {
    bindHost({ getDirectories: saved });
  }
});
