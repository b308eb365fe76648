/*
 * {{Class}}: a flowhost executor written in C.
 *
 * Its catch-all method appends one document whose text is
 * "<greeting> from {{name}}"; the greeting comes from uses_with
 * (`{"greeting": "hi"}`) and defaults to "hello".
 *
 * Build:  flowhost build .        (-> build/{{name}}.wasm)
 * Try:    flowhost executor call --uses build/{{name}}.wasm --text hi
 * The SDK's API is in flowhost.h (guest-sdk/c/ in the flowhost repository).
 */
#include "flowhost.h"

/* Constructor arguments (Jina's `uses_with`). */
static const char *greeting = "hello";

/* Called once per instance, before any request. */
static fh_status init(const cJSON *uses_with, const fh_metas *metas) {
    greeting = fh_json_string(uses_with, "greeting", "hello");
    fh_log_info("%s starting (shard %u of %u)", metas->name, metas->shard_id, metas->shards);
    return FH_OK;
}

/* The catch-all: every endpoint. Returning FH_OK sends the documents back;
 * FH_UNCHANGED would tell the host to keep its own copy. */
static fh_status greet(fh_docs *docs, const fh_request *req) {
    (void)req;
    fh_doc *doc = fh_docs_add(docs);
    fh_doc_set_textf(doc, "%s from {{name}}", greeting);
    return FH_OK;
}

/* Methods and the endpoints they answer: {"name", "/endpoint", function};
 * FH_CATCH_ALL for every endpoint not bound elsewhere. */
static const fh_method methods[] = {
    {"greet", FH_CATCH_ALL, greet},
};
FH_EXECUTOR(methods, init);
