// Tagger: merges the tags given in uses_with (`{"tags": {...}}`) into every
// top-level document's tags, then the request's `parameters.tags` (when it is
// an object) over them, overwriting shared keys (Object.assign, like Python's
// dict.update).
import { defineExecutor, ExecutorError } from 'flowhost';

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

export default defineExecutor(
  class Tagger {
    static requests = { tag: '*' };

    constructor(usesWith) {
      const tags = usesWith.tags ?? {};
      if (!isObject(tags)) throw new ExecutorError('ValueError', `uses_with.tags must be an object, got ${JSON.stringify(tags)}`);
      this.tags = tags;
    }

    tag(docs, { parameters }) {
      const extra = isObject(parameters.tags) ? parameters.tags : null;
      for (const doc of docs) {
        Object.assign(doc.tags, this.tags);
        if (extra) Object.assign(doc.tags, extra);
      }
    }
  },
);
