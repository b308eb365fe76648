// BarExecutor: its catch-all appends one document saying
// `bar was here and got {n} document`, n being how many documents it received
// (the Jina seed's BarExecutor).
import { defineExecutor, Document } from 'flowhost';

export default defineExecutor(
  class BarExecutor {
    static requests = { bar: '*' };

    bar(docs) {
      docs.push(new Document({ text: `bar was here and got ${docs.length} document` }));
    }
  },
);
