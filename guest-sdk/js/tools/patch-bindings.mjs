// Speeds up the JS glue componentize-js generates to lift and lower WIT values.
//
// componentize-js (0.23.0) writes that glue as plain JavaScript, and
// StarlingMonkey interprets it on every call: for a 1-document call it costs as
// much as the SDK itself. `patchBindings` rewrites a few of its generated
// patterns into equivalent, cheaper ones. Each rewrite matches the generated
// text exactly (`shareViews` follows its lines and blocks, and throws on text it
// cannot follow); `patchBindings` reports how many places each one changed, and
// the build refuses glue in which a rewrite finds nothing (a componentize-js
// that generates other code needs this file looked at again).

/** The index just past the call starting at `open` (the `(`), skipping string literals. */
function endOfCall(text, open) {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'" || c === '`') {
      for (i++; i < text.length && text[i] !== c; i++) if (text[i] === '\\') i++;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i + 1;
  }
  throw new Error('patch-bindings: unbalanced call');
}

/**
 * `_debugLog(...)` statements: they log only when `process.env.JCO_DEBUG` is
 * set, which a component never has, yet each one builds its arguments (an
 * object literal on every return) and runs a rest-args call.
 */
function dropDebugLogs(js) {
  let out = '';
  let from = 0;
  let count = 0;
  const call = /(^|[;{}\s])_debugLog\(/g;
  let m;
  while ((m = call.exec(js)) !== null) {
    const open = m.index + m[0].length - 1;
    let end = endOfCall(js, open);
    if (js[end] !== ';') continue;
    out += js.slice(from, m.index + m[1].length);
    from = end + 1;
    call.lastIndex = from;
    count++;
  }
  return [out + js.slice(from), count];
}

/**
 * The UTF-8 length of each string was counted by a loop over its characters in
 * JS before allocating; the engine's `TextEncoder.encode` does it natively (same
 * bytes: both write a lone surrogate as U+FFFD).
 */
const UTF8_ENCODE = /function _utf8AllocateAndEncode\(s, realloc, memory\) \{[\s\S]*?\n  const res = \{ ptr, len, codepoints \};\n  return res;\n\}/;
const UTF8_ENCODE_FAST = `function _utf8AllocateAndEncode(s, realloc, memory) {
  if (typeof s !== 'string') {
    throw new TypeError('expected a string, received [' + typeof s + ']');
  }
  if (s.length === 0) { return { ptr: 1, len: 0 }; }
  const bytes = TEXT_ENCODER_UTF8.encode(s);
  const len = bytes.length;
  const ptr = realloc(0, 0, 1, len);
  new Uint8Array(memory.buffer, ptr, len).set(bytes);
  return { ptr, len };
}`;

/**
 * Empty lists: each one was allocated (a call out to the engine's allocator)
 * and copied through two fresh typed arrays (or a DataView). An empty list may
 * point anywhere aligned, as empty strings already do (pointer 1): give it its
 * alignment as the pointer and copy nothing.
 */
const LIST_ALLOC = /var (ptr|result)(\d+) = \$realloc\(0, 0, (\d+), len\2 \* (\d+)\);/g;
const LIST_COPY = /if \(Array\.isArray\(val(\d+)\)\) \{\n(\s*)\/\/ Regular array likely containing numbers/g;

/**
 * Lifting an empty list of numbers copied nothing out of memory through a
 * fresh slice of it; an empty typed array of the same type is the same value.
 */
const LIST_LIFT = /var result(\d+) = new (\w+Array)\(\$memory\.buffer\.slice\(ptr(\d+), ptr\3 \+ len\3 \* (\d+)\)\);/g;

/**
 * Numbers of a list given as a plain Array were checked through
 * `_requireValidNumericPrimitive.bind(null, type)(v)`: a new bound function per
 * element. Calling it directly checks the same.
 */
const BOUND_CHECK = /_requireValidNumericPrimitive\.bind\(null, ('[a-z0-9]+')\)\(v\)/g;

/**
 * `dataView(memory)` returns a DataView of the memory's current buffer, which
 * it checked by reading both `dv.buffer` and `memory.buffer` (two native
 * getters, on every field read or written). Remembering the buffer the view was
 * made for gives the same view with one getter.
 */
const DATA_VIEW = 'let dv = new DataView(new ArrayBuffer());\nconst dataView = mem => dv.buffer === mem.buffer ? dv : dv = new DataView(mem.buffer);';
const DATA_VIEW_FAST = `let dv = new DataView(new ArrayBuffer());
let dvBuffer = dv.buffer;
let memoryView = dv; // see shareViews
const dataView = mem => {
  const buffer = mem.buffer;
  if (buffer === dvBuffer) return dv;
  dvBuffer = buffer;
  return dv = new DataView(buffer);
};`;

/**
 * Every read or write of a number in memory asked `dataView($memory)` for the
 * view, though the memory's buffer only changes when the memory grows, which
 * needs an allocation. `shareViews` goes through the glue line by line and
 * keeps the view in `memoryView` while only statements that cannot allocate
 * (nor run other code) have run since it was taken, on every path: copies of
 * names or constants, and the reads and writes themselves with arguments that
 * are numbers the glue computed. Any other statement, and any block other than
 * the `if`s of options (`x === null || x=== undefined`, or a discriminant read),
 * ends the sharing; a join keeps it only if every path into it kept it.
 */
const VIEW = String.raw`dataView\(\$memory\)\.`;
const ACCESS = String.raw`(?:get|set)(?:Int|Uint|Float)(?:8|16|32|64)\((.*)\)`;
// The names the glue gives numbers it computed itself (addresses, lengths,
// discriminants, handles), constants, or such a name plus a constant: converting
// them to a number runs no code (a value of the caller, such as `e`, might).
const NUMBER = String.raw`(?:(?:base|ret|retptr|arg\d+|len\d+|ptr\d+|result\d+|enum\d+|handle\d+)(?: \+ \d+)?|\d+|true|false)`;
const SIMPLE_ARGS = new RegExp(String.raw`^${NUMBER}(?:, ${NUMBER})*$`);
const ACCESS_STATEMENT = new RegExp(String.raw`^(?:(?:var )?[\w$]+ = )?${VIEW}${ACCESS};$`);
const ACCESS_IF = new RegExp(String.raw`^if \(${VIEW}${ACCESS}\) \{$`);
const OPTION_IF = /^if \(([\w$]+) === null \|\| \1=== undefined\) \{$/;
const COPY = /^(?:(?:var|let|const) )?[\w$]+(?: = (?:[\w$]+|'[\w-]*'))?;$/;

function shareViews(js) {
  let shared = 0;
  let valid = false;
  const blocks = [];
  /** The line with its view taken from `memoryView` if valid, else refreshed into it. */
  const useView = (line) => {
    const at = line.indexOf('dataView($memory).');
    if (valid) {
      shared++;
      return `${line.slice(0, at)}memoryView.${line.slice(at + 'dataView($memory).'.length)}`;
    }
    valid = true;
    return `${line.slice(0, at)}(memoryView = dataView($memory)).${line.slice(at + 'dataView($memory).'.length)}`;
  };
  const lines = js.split('\n');
  let inTemplate = false; // inside a template literal that spans lines: its braces are text
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const t = line.trim();
    if (t === '' || t.startsWith('//')) continue;
    const ticks = (t.match(/(?<!\\)`/g) ?? []).length;
    if (inTemplate || ticks % 2 === 1) {
      if (ticks % 2 === 1) inTemplate = !inTemplate;
      valid = false;
      continue;
    }
    if (t.startsWith('}')) {
      const block = blocks.pop();
      if (block === undefined) throw new Error(`patch-bindings: unbalanced braces at line ${i + 1}`);
      if (t === '} else {' && block.kind === 'if') {
        blocks.push({ kind: 'else', entry: block.entry, thenEnd: valid });
        valid = block.entry;
        continue;
      }
      if (block.kind === 'if') valid = valid && block.entry;
      else if (block.kind === 'else') valid = valid && block.thenEnd;
      else valid = false;
      if (t !== '}') valid = false;
      if (t.endsWith('{')) blocks.push({ kind: 'other' });
      continue;
    }
    if (t.endsWith('{')) {
      let m;
      if (OPTION_IF.test(t)) blocks.push({ kind: 'if', entry: valid });
      else if ((m = ACCESS_IF.exec(t)) && SIMPLE_ARGS.test(m[1])) {
        lines[i] = useView(line);
        blocks.push({ kind: 'if', entry: valid });
      } else {
        valid = false;
        blocks.push({ kind: 'other' });
      }
      continue;
    }
    const m = ACCESS_STATEMENT.exec(t);
    if (m) {
      lines[i] = useView(line);
      // Other arguments may run code (`+e`, `toInt32(e)`): the view is taken
      // before they are evaluated, as it was, but not kept after them.
      if (!SIMPLE_ARGS.test(m[1])) valid = false;
    } else if (!COPY.test(t)) valid = false;
  }
  if (blocks.length !== 0 || inTemplate) throw new Error('patch-bindings: unbalanced braces or template literals');
  return [lines.join('\n'), shared];
}

/** Returns the patched glue and, per rewrite, how many places it changed. */
export function patchBindings(js) {
  const counts = {};
  let count;
  [js, count] = dropDebugLogs(js);
  counts.debugLog = count;
  counts.utf8Encode = UTF8_ENCODE.test(js) ? 1 : 0;
  js = js.replace(UTF8_ENCODE, () => UTF8_ENCODE_FAST);
  counts.emptyListAlloc = 0;
  js = js.replace(LIST_ALLOC, (_m, kind, n, align, size) => {
    counts.emptyListAlloc++;
    return `var ${kind}${n} = len${n} === 0 ? ${align} : $realloc(0, 0, ${align}, len${n} * ${size});`;
  });
  counts.emptyListCopy = 0;
  js = js.replace(LIST_COPY, (_m, n, indent) => {
    counts.emptyListCopy++;
    return `if (len${n} === 0) {\n${indent}// empty: nothing to copy\n${indent.slice(2)}} else if (Array.isArray(val${n})) {\n${indent}// Regular array likely containing numbers`;
  });
  counts.emptyListLift = 0;
  js = js.replace(LIST_LIFT, (m, n, type, p) => {
    counts.emptyListLift++;
    return `var result${n} = len${p} === 0 ? new ${type}(0) : ${m.slice(m.indexOf('new '), -1)};`;
  });
  counts.boundCheck = 0;
  js = js.replace(BOUND_CHECK, (_m, type) => {
    counts.boundCheck++;
    return `_requireValidNumericPrimitive(${type}, v)`;
  });
  counts.dataView = js.includes(DATA_VIEW) ? 1 : 0;
  js = js.replace(DATA_VIEW, () => DATA_VIEW_FAST);
  [js, count] = shareViews(js);
  counts.sharedView = count;
  return { js, counts };
}
