import { valueError } from './errors.js';

// JSON for tags, parameters and uses_with.
//
// JavaScript has one number type, so `JSON.parse` forgets that `1.0` was written
// as a float and rounds integers beyond 2^53. A flowhost executor hands tags back
// to the host, where `1.0` and `1` differ, so numbers whose text would not come
// back the same are remembered (per container and key) and written back verbatim
// as long as the value was not changed.

/** container (object or array) -> Map(key -> [value, literal]) */
const literals = new WeakMap();
let anyLiteral = false;

// Number literals whose value would not print back the same: `1.0`, `1e3`, long integers.
const SUSPECT = /\d\.0*(?![0-9])|\d[eE]|\d{16}/;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WHITESPACE = /[ \t\n\r]*/y;
const SENTINEL = '\uE000\uE001';

/** Forgets that any literal was remembered (after the build-time warm-up, which parses some). */
export function resetJsonState() {
  anyLiteral = false;
}

function remember(container, key, value, literal) {
  let map = literals.get(container);
  if (!map) {
    map = new Map();
    literals.set(container, map);
  }
  map.set(String(key), [value, literal]);
  anyLiteral = true;
}

class Parser {
  constructor(text) {
    this.text = text;
    this.pos = 0;
  }

  ws() {
    WHITESPACE.lastIndex = this.pos;
    WHITESPACE.exec(this.text);
    this.pos = WHITESPACE.lastIndex;
  }

  fail() {
    throw new SyntaxError(`invalid JSON at position ${this.pos}`);
  }

  // Returns [value, literal-or-undefined]; the literal is set for numbers that need it.
  value() {
    this.ws();
    const c = this.text[this.pos];
    if (c === '{') return [this.object(), undefined];
    if (c === '[') return [this.array(), undefined];
    if (c === '"') return [this.string(), undefined];
    for (const [word, v] of [['true', true], ['false', false], ['null', null]]) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return [v, undefined];
      }
    }
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.text);
    if (!m) this.fail();
    this.pos = NUMBER.lastIndex;
    const literal = m[0];
    const n = Number(literal);
    const isFloat = /[.eE]/.test(literal);
    const keep = isFloat ? Number.isInteger(n) : !Number.isSafeInteger(n);
    return [n, keep ? literal : undefined];
  }

  string() {
    const start = this.pos;
    let i = start + 1;
    const t = this.text;
    for (;;) {
      const c = t.charCodeAt(i);
      if (Number.isNaN(c)) this.fail();
      if (c === 34) break; // "
      i += c === 92 ? 2 : 1; // backslash skips the escaped character
    }
    this.pos = i + 1;
    return JSON.parse(t.slice(start, i + 1));
  }

  object() {
    const obj = {};
    this.pos++;
    this.ws();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return obj;
    }
    for (;;) {
      this.ws();
      if (this.text[this.pos] !== '"') this.fail();
      const key = this.string();
      this.ws();
      if (this.text[this.pos++] !== ':') this.fail();
      const [v, literal] = this.value();
      // defineProperty: a "__proto__" key is data, as with JSON.parse.
      Object.defineProperty(obj, key, { value: v, writable: true, enumerable: true, configurable: true });
      if (literal !== undefined) remember(obj, key, v, literal);
      this.ws();
      const c = this.text[this.pos++];
      if (c === '}') return obj;
      if (c !== ',') this.fail();
    }
  }

  array() {
    const arr = [];
    this.pos++;
    this.ws();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return arr;
    }
    for (;;) {
      const [v, literal] = this.value();
      if (literal !== undefined) remember(arr, arr.length, v, literal);
      arr.push(v);
      this.ws();
      const c = this.text[this.pos++];
      if (c === ']') return arr;
      if (c !== ',') this.fail();
    }
  }
}

/**
 * `JSON.parse`, except that numbers such as `1.0` or `12345678901234567890` are
 * written back by {@link stringifyJson} as they were read, unless changed.
 */
export function parseJson(text) {
  if (!SUSPECT.test(text)) return JSON.parse(text);
  try {
    const p = new Parser(text);
    const [v] = p.value();
    p.ws();
    if (p.pos !== text.length) p.fail();
    return v;
  } catch (err) {
    // Let the engine describe the syntax error (and never be stricter than it).
    return JSON.parse(text);
  }
}

/** `JSON.stringify`, writing numbers read by {@link parseJson} back as they were. */
export function stringifyJson(value) {
  if (!anyLiteral) return JSON.stringify(value);
  let used = false;
  const out = JSON.stringify(value, function (key, v) {
    if (typeof v === 'number') {
      const entry = literals.get(this)?.get(key);
      if (entry && Object.is(entry[0], v)) {
        used = true;
        return SENTINEL + entry[1];
      }
    }
    return v;
  });
  return used ? out.replace(/"\uE000\uE001([^"]*)"/g, '$1') : out;
}

/** Parses a JSON object given as text (empty text is `{}`); `what` names it in errors. */
export function parseObject(text, what) {
  // The usual cases, without a trim, a regular expression and a parse.
  if (text === '{}' || text === '' || text == null) return {};
  if (text.trim() === '') return {};
  let v;
  try {
    v = parseJson(text);
  } catch (err) {
    throw valueError(`${what} is not valid JSON: ${err.message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw valueError(`${what} must be a JSON object, got ${text.length > 80 ? text.slice(0, 80) + '…' : text}`);
  }
  return v;
}
