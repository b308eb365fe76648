// Binds QuickJS's WIT imports to the SDK. QuickJS (built with --sync) has no
// console, crypto or event loop: console writes to WASI stdout/stderr, ids use
// WASI random, and handlers must be synchronous.
import logging from 'flowhost:executor/logging@0.1.0';
import preopens from 'wasi:filesystem/preopens@0.2.12';
import stdout from 'wasi:cli/stdout@0.2.12';
import stderr from 'wasi:cli/stderr@0.2.12';
import random from 'wasi:random/random@0.2.12';
import { bindHost, encodeUtf8, installConsole } from 'flowhost';

function writer(getStream) {
  let stream = null;
  return (text) => {
    stream ??= getStream();
    const bytes = encodeUtf8(text);
    // blocking-write-and-flush takes at most 4096 bytes at a time.
    for (let at = 0; at < bytes.length; at += 4096) stream.blockingWriteAndFlush(bytes.subarray(at, at + 4096));
  };
}

bindHost({
  engine: 'quickjs',
  async: false,
  log: (level, message) => logging.log(level, message),
  getDirectories: () => preopens.getDirectories(),
  u64: Number,
  randomBytes: (n) => random.getRandomBytes(n),
  writeStdout: writer(() => stdout.getStdout()),
  writeStderr: writer(() => stderr.getStderr()),
});
installConsole();
