// What the SDK needs from the engine it runs in. The build's entry glue
// (runtime/entry-*.js) binds the WIT imports here before the first call; in
// plain Node (unit tests) nothing is bound and the fallbacks apply.

export const host = {
  /** 'node' (unbound), 'starlingmonkey' or 'quickjs'. */
  engine: 'node',
  /** Whether handlers may return promises (StarlingMonkey runs its event loop). */
  async: true,
  /** `flowhost:executor/logging.log(level, message)`. */
  log: null,
  /** `wasi:filesystem/preopens.get-directories()`. */
  getDirectories: null,
  /** Converts a JS number to what the engine passes as a WIT u64. */
  u64: (n) => BigInt(n),
  /** `wasi:random/random.get-random-bytes(n)` (when the engine has no `crypto`). */
  randomBytes: null,
  /** Writes a line to standard output / error (when the engine has no `console`). */
  writeStdout: null,
  writeStderr: null,
  /**
   * Set while the build-time warm-up runs (warmup.js): no host is there to
   * answer imports, so random bytes are zeros (and nothing keeps them).
   */
  warmingUp: false,
};

/** Binds the engine's imports; called once by the entry glue. */
export function bindHost(bindings) {
  Object.assign(host, bindings);
}

/** The typed-array class name of `v` (`'Uint8Array'`, …), or undefined; works across realms. */
export function typedArrayName(v) {
  return ArrayBuffer.isView(v) && !(v instanceof DataView) ? v[Symbol.toStringTag] : undefined;
}

/**
 * `v` as a Uint8Array of this realm (no copy for byte views): StarlingMonkey's
 * component bindings hand over typed arrays of another realm, for which
 * `instanceof Uint8Array` is false.
 */
export function toBytes(v) {
  if (v instanceof Uint8Array) return v;
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (v && typeof v.byteLength === 'number' && Object.prototype.toString.call(v) === '[object ArrayBuffer]') return new Uint8Array(v);
  return Uint8Array.from(v);
}

const encoder = typeof TextEncoder === 'function' ? new TextEncoder() : null;
const decoder = typeof TextDecoder === 'function' ? new TextDecoder() : null;

/** UTF-8 bytes of a string (QuickJS has no TextEncoder). */
export function encodeUtf8(text) {
  if (encoder) return encoder.encode(text);
  const out = [];
  for (let i = 0; i < text.length; i++) {
    let c = text.codePointAt(i);
    if (c > 0xffff) i++;
    else if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // lone surrogate
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return Uint8Array.from(out);
}

/** A string from UTF-8 bytes; invalid sequences become U+FFFD. */
export function decodeUtf8(bytes) {
  if (decoder) return decoder.decode(bytes);
  let out = '';
  let i = 0;
  const n = bytes.length;
  const cont = (k) => i + k < n && (bytes[i + k] & 0xc0) === 0x80;
  while (i < n) {
    const b = bytes[i];
    let c = 0xfffd;
    let len = 1;
    if (b < 0x80) c = b;
    else if (b >= 0xc2 && b < 0xe0 && cont(1)) {
      c = ((b & 31) << 6) | (bytes[i + 1] & 63);
      len = 2;
    } else if (b >= 0xe0 && b < 0xf0 && cont(1) && cont(2)) {
      c = ((b & 15) << 12) | ((bytes[i + 1] & 63) << 6) | (bytes[i + 2] & 63);
      len = 3;
      if (c < 0x800 || (c >= 0xd800 && c <= 0xdfff)) c = 0xfffd;
    } else if (b >= 0xf0 && b < 0xf5 && cont(1) && cont(2) && cont(3)) {
      c = ((b & 7) << 18) | ((bytes[i + 1] & 63) << 12) | ((bytes[i + 2] & 63) << 6) | (bytes[i + 3] & 63);
      len = 4;
      if (c < 0x10000 || c > 0x10ffff) c = 0xfffd;
    }
    out += String.fromCodePoint(c);
    i += len;
  }
  return out;
}

/** `n` random bytes: the engine's crypto, else WASI random, else Math.random. */
export function randomBytes(n) {
  if (host.warmingUp) return new Uint8Array(n);
  const c = globalThis.crypto;
  if (c && typeof c.getRandomValues === 'function') return c.getRandomValues(new Uint8Array(n));
  if (host.randomBytes) {
    return toBytes(host.randomBytes(host.u64(n)));
  }
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (Math.random() * 256) | 0;
  return out;
}
