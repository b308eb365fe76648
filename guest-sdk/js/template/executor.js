// {{Class}}: a flowhost executor written in JavaScript.
//
// Its catch-all method answers every endpoint by appending one document,
// "<greeting> from {{name}}"; the greeting comes from uses_with
// (`{"greeting": "hi"}`), "hello" by default.
import { defineExecutor, Document, logger } from 'flowhost';

export default defineExecutor(
  class {{Class}} {
    // Method name -> endpoint(s): '/index', ['/a', '/b'], [] (bound only by a
    // flow's uses_requests) or '*' (the catch-all: every other endpoint).
    static requests = { greet: '*' };

    /** Called once per instance with uses_with (a JSON object) and metas. */
    constructor(usesWith, metas) {
      this.greeting = usesWith.greeting ?? 'hello';
      logger.info(`${metas.name} starting`);
    }

    /**
     * `docs` is a DocumentArray; change it in place (or return new documents).
     * A method that never reads `docs` and returns nothing answers "unchanged".
     */
    greet(docs, { endpoint, parameters }) {
      docs.push(new Document({ text: `${this.greeting} from {{name}}` }));
    }
  },
);
