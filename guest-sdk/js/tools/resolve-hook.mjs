// A Node module-resolution hook for the build: a bare import that does not
// resolve from where it is made is retried from the toolchain
// (.toolchains/js/node_modules), then from inside its jco package (jco's nested
// node_modules). componentize-js 0.23.0 imports @bytecodealliance/preview2-shim
// without depending on it; jco ships a copy.
let fallbackParents = [];

export function initialize(data) {
  fallbackParents = data.fallbackParents;
}

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (err) {
    const bare = !/^(\.|\/|[a-z]+:)/i.test(specifier);
    if (!bare || err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
    for (const parentURL of fallbackParents) {
      try {
        return await next(specifier, { ...context, parentURL });
      } catch (again) {
        if (again?.code !== 'ERR_MODULE_NOT_FOUND') throw again;
      }
    }
    throw err;
  }
}
