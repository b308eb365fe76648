// The JavaScript conformance executor: tests/conformance/README.md, written with
// the SDK the way a user would write an executor.
import { defineExecutor, Document, ExecutorError, Tensor, fs, logger } from 'flowhost';

/** Raised by `workspace` when the flow granted no workspace. */
class NoWorkspace extends Error {}

/** Every document of the tree: the top-level ones, then their chunks and matches, recursively. */
function* walk(docs) {
  const stack = [...docs].reverse();
  while (stack.length > 0) {
    const doc = stack.pop();
    yield doc;
    for (let i = doc.matches.length - 1; i >= 0; i--) stack.push(doc.matches[i]);
    for (let i = doc.chunks.length - 1; i >= 0; i--) stack.push(doc.chunks[i]);
  }
}

export default defineExecutor(
  class Conformance {
    static requests = {
      unchanged: '/unchanged',
      roundtrip: '/roundtrip',
      mutate: '/mutate',
      params: '/params',
      fail: '/fail',
      log: '/log',
      workspace: '/workspace',
      other: '*',
    };

    constructor(usesWith, metas) {
      this.usesWith = usesWith;
      this.label = typeof usesWith.label === 'string' ? usesWith.label : 'conformance';
      this.name = metas.name;
    }

    /** Does nothing and never reads the documents: answers `unchanged`. */
    unchanged() {}

    /** Reads every document (tags included) and returns them. */
    roundtrip(docs) {
      for (const doc of walk(docs)) void doc.tags;
      return docs;
    }

    mutate(docs) {
      for (const doc of walk(docs)) {
        if (doc.text !== null) doc.text += '!';
        doc.tags.label = this.label;
        if (doc.embedding instanceof Tensor && doc.embedding.dtype === 'float32') {
          const values = doc.embedding.data;
          for (let i = 0; i < values.length; i++) values[i] *= 2;
        }
      }
      docs.push(new Document({ text: `added by ${this.label}` }));
    }

    params(_docs, { parameters, metas }) {
      return [
        new Document({
          tags: {
            parameters,
            uses_with: this.usesWith,
            metas: {
              name: metas.name,
              description: metas.description,
              workspace: metas.workspace,
              replica_id: metas.replicaId,
              shard_id: metas.shardId,
              shards: metas.shards,
              replicas: metas.replicas,
            },
          },
        }),
      ];
    }

    fail(docs) {
      throw new ExecutorError('ValueError', `conformance failure: ${docs.length} documents`);
    }

    /** Logs and prints without reading the documents: answers `unchanged`. */
    log() {
      logger.info('conformance log info');
      logger.warn('conformance log warn');
      console.log('conformance stdout');
    }

    workspace(_docs, { parameters, metas }) {
      if (metas.workspace === null) throw new NoWorkspace(`executor ${metas.name} was granted no workspace`);
      if (typeof parameters.content !== 'string') {
        throw new ExecutorError('ValueError', 'parameters.content must be a string');
      }
      const path = `${metas.workspace}/conformance.txt`;
      fs.writeFile(path, parameters.content);
      return [new Document({ text: fs.readFile(path, 'utf8') })];
    }

    /** The catch-all: records the endpoint on every top-level document. */
    other(docs, { endpoint }) {
      for (const doc of docs) doc.tags.endpoint = endpoint;
    }
  },
);
