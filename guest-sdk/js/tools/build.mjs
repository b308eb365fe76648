// Builds a JavaScript (or TypeScript) executor project into a flowhost component.
//
//   node tools/build.mjs <project-dir> <out.wasm>
//
// 1. Finds the entry: package.json's "main", else executor.js (or .mjs / .ts).
// 2. Bundles it with the SDK into one ES module (rolldown): the entry glue in
//    runtime/ binds the WIT imports, `flowhost` resolves to this SDK.
// 3. Componentizes the bundle against wit/js-executor.wit (flowhost's
//    executor-world plus the WASI imports the SDK uses):
//    - StarlingMonkey (componentize-js, the default), with the `http` and
//      `fetch-event` features off unless FLOWHOST_JS_HTTP=1, and its generated
//      lift/lower glue sped up by tools/patch-bindings.mjs;
//    - QuickJS (componentize-qjs --sync) with FLOWHOST_JS_ENGINE=quickjs.
//
// Environment: FLOWHOST_HOME (repo root), FLOWHOST_TOOLCHAINS, FLOWHOST_JS_ENGINE,
// FLOWHOST_JS_HTTP, FLOWHOST_JS_VERBOSE=1 (print the steps and their times),
// FLOWHOST_JS_NO_SDK=1 (the entry exports the WIT itself, without the SDK: the
// benchmark's toolchain floor, tests/floors/js).
import { register } from 'node:module';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { patchBindings } from './patch-bindings.mjs';

const sdkDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const home = resolve(process.env.FLOWHOST_HOME || join(sdkDir, '..', '..'));
const toolchains = resolve(process.env.FLOWHOST_TOOLCHAINS || join(home, '.toolchains'));
const nodeModules = join(toolchains, 'js', 'node_modules');
const verbose = process.env.FLOWHOST_JS_VERBOSE === '1';
const WASI_VERSION = '0.2.12';

class BuildError extends Error {}

function say(message) {
  if (verbose) process.stderr.write(`flowhost js build: ${message}\n`);
}

function engineName() {
  const e = (process.env.FLOWHOST_JS_ENGINE || 'starlingmonkey').toLowerCase();
  if (['starlingmonkey', 'spidermonkey', 'componentize-js', 'sm'].includes(e)) return 'starlingmonkey';
  if (['quickjs', 'qjs', 'componentize-qjs'].includes(e)) return 'quickjs';
  throw new BuildError(`FLOWHOST_JS_ENGINE must be starlingmonkey or quickjs, not ${JSON.stringify(e)}`);
}

function findEntry(project) {
  const pkgPath = join(project, 'package.json');
  if (existsSync(pkgPath)) {
    let pkg;
    try {
      pkg = JSON.parse(readFileSync(pkgPath, 'utf8'));
    } catch (err) {
      throw new BuildError(`${pkgPath}: ${err.message}`);
    }
    if (typeof pkg.main === 'string') {
      const main = resolve(project, pkg.main);
      if (!existsSync(main)) throw new BuildError(`${pkgPath}: "main" is ${pkg.main}, which does not exist`);
      return main;
    }
  }
  for (const name of ['executor.js', 'executor.mjs', 'executor.ts', 'executor.mts']) {
    const p = join(project, name);
    if (existsSync(p)) return p;
  }
  throw new BuildError(`${project} has no executor.js (nor executor.ts, nor a "main" in package.json)`);
}

/** The WIT package tree: the JS world, flowhost's executor WIT and the WASI packages. */
function assembleWit(dir) {
  const executorWit = join(home, 'wit', 'executor.wit');
  if (!existsSync(executorWit)) throw new BuildError(`${executorWit} not found; set FLOWHOST_HOME to the flowhost repository`);
  const wasi = join(nodeModules, '@bytecodealliance', 'jco', 'lib', 'wit', 'builtin', WASI_VERSION);
  if (!existsSync(wasi)) throw new BuildError(`WASI ${WASI_VERSION} WIT not found at ${wasi}; run bash scripts/install-toolchains.sh js`);
  mkdirSync(join(dir, 'deps', 'flowhost-executor'), { recursive: true });
  cpSync(join(sdkDir, 'wit', 'js-executor.wit'), join(dir, 'js-executor.wit'));
  cpSync(executorWit, join(dir, 'deps', 'flowhost-executor', 'executor.wit'));
  for (const pkg of ['wasi-io', 'wasi-clocks', 'wasi-filesystem', 'wasi-cli', 'wasi-random', 'wasi-sockets']) {
    cpSync(join(wasi, pkg), join(dir, 'deps', pkg), { recursive: true });
  }
}

async function bundle(engine, entry, project, out) {
  const { rolldown } = await import('rolldown');
  const sdkEntry = join(sdkDir, 'flowhost.js');
  const warnings = [];
  const build = await rolldown({
    input: process.env.FLOWHOST_JS_NO_SDK === '1' ? entry : join(sdkDir, 'runtime', `entry-${engine}.js`),
    cwd: project,
    platform: 'neutral',
    external: [/^wasi:/, /^flowhost:executor\//],
    plugins: [
      {
        name: 'flowhost',
        resolveId(id) {
          if (id === 'flowhost') return sdkEntry;
          if (id === 'flowhost:user-entry') return entry;
          return null;
        },
      },
    ],
    onLog(level, log) {
      if (level === 'warn') warnings.push(log.message);
    },
  });
  try {
    await build.write({ file: out, format: 'esm', keepNames: true, codeSplitting: false });
  } finally {
    await build.close();
  }
  for (const w of warnings) process.stderr.write(`flowhost js build: warning: ${w}\n`);
}

/**
 * Has componentize-js build with its generated lift/lower glue rewritten by
 * patch-bindings.mjs: the glue comes from its splicer's `spliceBindings`, which
 * componentize() calls through the splicer module's (mutable) export object.
 */
async function patchGeneratedBindings(splicerUrl) {
  const { splicer } = await import(splicerUrl);
  const splice = splicer.spliceBindings;
  splicer.spliceBindings = (...args) => {
    const spliced = splice(...args);
    const { js, counts } = patchBindings(spliced.jsBindings);
    const missed = Object.keys(counts).filter((k) => counts[k] === 0);
    if (missed.length) {
      throw new BuildError(`componentize-js generated bindings that tools/patch-bindings.mjs does not recognize (no ${missed.join(', ')}); this SDK is tested with componentize-js 0.23.0`);
    }
    say(`patched the generated bindings: ${JSON.stringify(counts)}`);
    return { ...spliced, jsBindings: js };
  };
}

async function componentizeStarlingMonkey(source, witDir) {
  // componentize-js runs its splicer on the preview2 shim; the shim's newer
  // releases preopen nothing by default, so grant what it reads (the bundle, the WIT).
  const shim = await import('@bytecodealliance/preview2-shim/filesystem');
  if (typeof shim._setPreopens === 'function') shim._setPreopens({ '/': '/' });
  const entry = import.meta.resolve('@bytecodealliance/componentize-js');
  await patchGeneratedBindings(new URL('../lib/spidermonkey-embedding-splicer.js', entry));
  const { componentize } = await import(entry);
  say(`componentize-js from ${dirname(fileURLToPath(entry))}`);
  const http = process.env.FLOWHOST_JS_HTTP === '1';
  const { component } = await componentize({
    sourcePath: source,
    witPath: witDir,
    worldName: 'executor-world',
    disableFeatures: http ? [] : ['http', 'fetch-event'],
  });
  return component;
}

async function componentizeQuickJs(source, witDir) {
  const mod = await import('componentize-qjs');
  const componentize = mod.componentize ?? mod.default?.componentize;
  const { component } = await componentize({
    witPath: witDir,
    jsSource: readFileSync(source, 'utf8'),
    jsPath: source,
    moduleRoot: dirname(source),
    world: 'executor-world',
    sync: true,
  });
  return component;
}

async function main() {
  const [projectArg, outArg, ...rest] = process.argv.slice(2);
  if (!projectArg || !outArg || rest.length) throw new BuildError('usage: build.sh <project-dir> <out.wasm>');
  const project = resolve(projectArg);
  const out = resolve(outArg);
  if (!existsSync(nodeModules)) {
    throw new BuildError(`the JavaScript toolchain is missing (${nodeModules}); run: bash scripts/install-toolchains.sh js`);
  }
  register(pathToFileURL(join(sdkDir, 'tools', 'resolve-hook.mjs')), {
    data: {
      fallbackParents: [join(toolchains, 'js', 'package.json'), join(nodeModules, '@bytecodealliance', 'jco', 'package.json')].map((p) => pathToFileURL(p).href),
    },
  });
  const engine = engineName();
  const entry = findEntry(project);
  const tmp = mkdtempSync(join(tmpdir(), 'flowhost-js-'));
  // The componentizers make their own scratch directories: keep them in ours.
  process.env.TMPDIR = tmp;
  try {
    let t = Date.now();
    const witDir = join(tmp, 'wit');
    assembleWit(witDir);
    const source = join(tmp, 'executor.bundle.js');
    await bundle(engine, entry, project, source);
    say(`bundled ${entry} in ${Date.now() - t} ms`);
    t = Date.now();
    const component = engine === 'quickjs' ? await componentizeQuickJs(source, witDir) : await componentizeStarlingMonkey(source, witDir);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, component);
    say(`${engine}: ${out} (${component.length} bytes) in ${Date.now() - t} ms`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  const message = err instanceof BuildError ? err.message : err?.stack || String(err);
  process.stderr.write(`flowhost js build: ${message}\n`);
  process.exit(1);
});
