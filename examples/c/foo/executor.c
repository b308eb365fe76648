/*
 * foo: its catch-all method appends one document saying
 * "foo was here and got {n} document", where n is how many documents it
 * received (the Jina seed's FooExecutor). No constructor arguments.
 *
 *   bash guest-sdk/c/build.sh examples/c/foo foo.wasm
 */
#include "flowhost.h"

static fh_status foo(fh_docs *docs, const fh_request *req) {
    (void)req;
    size_t n = fh_docs_len(docs);
    fh_doc_set_textf(fh_docs_add(docs), "foo was here and got %zu document", n);
    return FH_OK;
}

static const fh_method methods[] = {
    {"foo", FH_CATCH_ALL, foo},
};
FH_EXECUTOR(methods, NULL);
