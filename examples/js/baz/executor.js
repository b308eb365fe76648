// BazExecutor: its catch-all appends one document saying
// `baz was here and got {n} document`, n being how many documents it received
// (the Jina seed's BazExecutor).
import { defineExecutor, Document } from 'flowhost';

export default defineExecutor(
  class BazExecutor {
    static requests = { baz: '*' };

    baz(docs) {
      docs.push(new Document({ text: `baz was here and got ${docs.length} document` }));
    }
  },
);
