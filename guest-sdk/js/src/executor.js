// The executor model: `defineExecutor` binds a class (or an object of handlers)
// to endpoints and returns the component's WIT `executor` export (init,
// describe, call).

import { ExecutorError, toWitError, valueError } from './errors.js';
import { DocumentArray, Document } from './document.js';
import { flatten, unflattenInto } from './batch.js';
import { parseObject } from './json.js';
import { host } from './host.js';

const EXECUTOR = Symbol.for('flowhost.executor');

/** Return this from a handler to answer `unchanged` even after reading the documents. */
export const UNCHANGED = Object.freeze({ unchanged: true });

const isThenable = (v) => v !== null && (typeof v === 'object' || typeof v === 'function') && typeof v.then === 'function';

function parseRequests(requests, what) {
  if (requests === null || typeof requests !== 'object') {
    throw new TypeError(
      `${what} needs its endpoint bindings: \`static requests = { index: '/index', other: '*' }\` ` +
        '(a method name -> an endpoint, a list of endpoints, [] or "*" for the catch-all)',
    );
  }
  const methods = [];
  let catchAll = null;
  for (const [name, binding] of Object.entries(requests)) {
    let endpoints;
    if (binding === '*') {
      if (catchAll !== null) throw new TypeError(`${what}: both ${catchAll} and ${name} are the catch-all ("*"); at most one can be`);
      catchAll = name;
      endpoints = [];
    } else if (typeof binding === 'string') endpoints = [binding];
    else if (Array.isArray(binding) && binding.every((e) => typeof e === 'string')) endpoints = binding.slice();
    else throw new TypeError(`${what}: the binding of ${name} must be an endpoint string, a list of them, [] or "*"`);
    methods.push({ name, endpoints });
  }
  return { methods, catchAll };
}

function metasFromWit(m) {
  return Object.freeze({
    name: m.name,
    description: m.description ?? null,
    workspace: m.workspace ?? null,
    replicaId: m.replicaId,
    shardId: m.shardId,
    shards: m.shards,
    replicas: m.replicas,
  });
}

const TRAPS = ['get', 'set', 'has', 'deleteProperty', 'ownKeys', 'getOwnPropertyDescriptor', 'defineProperty'];

/**
 * The documents handed to a handler are decoded from the WIT batch on first
 * use, so that a handler that never touches them answers `unchanged` for free.
 *
 * This is the proxy handler of those documents: each trap decodes the
 * batch, then removes the traps (a proxy whose handler lacks a trap forwards
 * to its target natively), so only the first access pays for a JS trap. The
 * traps live on the prototype: one `setPrototypeOf` removes them all.
 */
class LazyDocs {
  constructor(batch) {
    this.touched = false;
    this.target = new DocumentArray();
    this.batch = batch;
    this.proxy = new Proxy(this.target, this);
  }
}
for (const trap of TRAPS) {
  const reflect = Reflect[trap];
  // The engine calls each trap with all its arguments (three at most after the
  // target), so they are passed on as they are, without a rest array.
  LazyDocs.prototype[trap] = {
    [trap](t, a, b, c) {
      load(this);
      return reflect(t, a, b, c);
    },
  }[trap];
}

function load(docs) {
  if (docs.touched) return;
  docs.touched = true;
  Object.setPrototypeOf(docs, null);
  unflattenInto(docs.batch, docs.target);
}

/** What the handler's return value means for the WIT `output`. */
function reply(result, docs, method) {
  if (result === UNCHANGED) return { tag: 'unchanged' };
  if (result === undefined || result === null || result === docs.proxy) {
    if (docs.touched) return { tag: 'docs', val: flatten(docs.target) };
    // Never read: nothing changed. Returned as is: hand the batch back untouched.
    return result === docs.proxy ? { tag: 'docs', val: docs.batch } : { tag: 'unchanged' };
  }
  if (result instanceof Document) return { tag: 'docs', val: flatten([result]) };
  if (typeof result === 'object' && typeof result[Symbol.iterator] === 'function') return { tag: 'docs', val: flatten(result) };
  throw valueError(`method ${method} returned ${typeof result}; return nothing, documents or UNCHANGED`);
}

const witError = (name, message) => toWitError(new ExecutorError(name, message));

/**
 * Defines the executor this component exports.
 *
 * ```js
 * export default defineExecutor(class MyExec {
 *   static requests = { index: '/index', search: ['/search', '/query'], other: '*' };
 *   constructor(usesWith, metas) { this.prefix = usesWith.prefix ?? 'seen'; }
 *   index(docs, { parameters, endpoint, metas }) { ... }
 *   ...
 * });
 * ```
 *
 * `def` is a class (constructed once with `(usesWith, metas)`) or a plain object
 * of handlers (with an optional `init(usesWith, metas)`). The bindings come from
 * its `requests` (a static field for a class) or the second argument: method
 * name -> `'/endpoint'`, `['/a', '/b']`, `[]` (only a flow's `uses_requests`
 * binds it) or `'*'` (the catch-all).
 */
export function defineExecutor(def, requests) {
  const isClass = typeof def === 'function';
  if (!isClass && (def === null || typeof def !== 'object')) throw new TypeError('defineExecutor takes a class or an object of handlers');
  const what = isClass ? `executor ${def.name || '(anonymous class)'}` : 'executor';
  const table = parseRequests(requests ?? def.requests, what);
  if (!isClass) {
    for (const { name } of table.methods) {
      if (typeof def[name] !== 'function') throw new TypeError(`${what}: requests names ${name}, which is not a function of the object`);
    }
  }

  let instance = null;
  let metas = null;
  const methodNames = new Set(table.methods.map((m) => m.name));

  const finishInit = (created) => {
    for (const { name } of table.methods) {
      if (typeof created[name] !== 'function') throw new TypeError(`${what}: requests names ${name}, which is not a method`);
    }
    instance = created;
  };

  const executor = {
    init(usesWith, witMetas) {
      if (instance !== null) throw witError('AlreadyInitialized', 'init was called twice');
      try {
        const config = parseObject(usesWith, 'uses_with');
        metas = metasFromWit(witMetas);
        if (isClass) {
          finishInit(new def(config, metas));
          return;
        }
        const r = typeof def.init === 'function' ? def.init(config, metas) : undefined;
        if (isThenable(r)) {
          if (!host.async) throw new ExecutorError('AsyncNotSupported', `an async init needs the StarlingMonkey engine, not ${host.engine}`);
          return r.then(
            () => {
              try {
                finishInit(def);
              } catch (e) {
                throw toWitError(e);
              }
            },
            (e) => {
              throw toWitError(e);
            },
          );
        }
        finishInit(def);
      } catch (e) {
        throw toWitError(e);
      }
    },

    describe() {
      return {
        methods: table.methods.map(({ name, endpoints }) => ({ name, endpoints: endpoints.slice() })),
        catchAll: table.catchAll,
      };
    },

    call(method, endpoint, batch, parameters) {
      if (instance === null) throw witError('NotInitialized', 'call before init');
      if (!methodNames.has(method)) {
        throw witError('UnknownMethod', `executor ${JSON.stringify(metas.name)} has no method ${JSON.stringify(method)}`);
      }
      try {
        const docs = new LazyDocs(batch);
        const request = Object.freeze({ method, endpoint, parameters: parseObject(parameters, 'parameters'), metas });
        const result = instance[method](docs.proxy, request);
        // (Asking the documents for `.then` would decode them.)
        if (result !== docs.proxy && isThenable(result)) {
          if (!host.async) {
            throw new ExecutorError('AsyncNotSupported', `method ${method} returned a promise; async handlers need the StarlingMonkey engine, not ${host.engine}`);
          }
          return result.then(
            (r) => {
              try {
                return reply(r, docs, method);
              } catch (e) {
                throw toWitError(e);
              }
            },
            (e) => {
              throw toWitError(e);
            },
          );
        }
        return reply(result, docs, method);
      } catch (e) {
        throw toWitError(e);
      }
    },
  };
  Object.defineProperty(executor, EXECUTOR, { value: true });
  return executor;
}

/** The WIT export of a user module: its `executor` or default export (used by the build's entry glue). */
export function exportExecutor(mod) {
  for (const candidate of [mod.executor, mod.default]) {
    if (candidate && candidate[EXECUTOR]) return candidate;
  }
  if (typeof mod.default === 'function' && mod.default.requests) return defineExecutor(mod.default);
  throw new TypeError('the executor module must `export default defineExecutor(...)`');
}
