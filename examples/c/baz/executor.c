/*
 * baz: its catch-all method appends one document saying
 * "baz was here and got {n} document", where n is how many documents it
 * received (the Jina seed's BazExecutor). No constructor arguments.
 *
 *   bash guest-sdk/c/build.sh examples/c/baz baz.wasm
 */
#include "flowhost.h"

static fh_status baz(fh_docs *docs, const fh_request *req) {
    (void)req;
    size_t n = fh_docs_len(docs);
    fh_doc_set_textf(fh_docs_add(docs), "baz was here and got %zu document", n);
    return FH_OK;
}

static const fh_method methods[] = {
    {"baz", FH_CATCH_ALL, baz},
};
FH_EXECUTOR(methods, NULL);
