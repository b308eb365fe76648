// FooExecutor: its catch-all appends one document saying
// `foo was here and got {n} document`, n being how many documents it received
// (the Jina seed's FooExecutor).
import { defineExecutor, Document } from 'flowhost';

export default defineExecutor(
  class FooExecutor {
    static requests = { foo: '*' };

    foo(docs) {
      docs.push(new Document({ text: `foo was here and got ${docs.length} document` }));
    }
  },
);
