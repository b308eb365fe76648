/*
 * bar: its catch-all method appends one document saying
 * "bar was here and got {n} document", where n is how many documents it
 * received (the Jina seed's BarExecutor). No constructor arguments.
 *
 *   bash guest-sdk/c/build.sh examples/c/bar bar.wasm
 */
#include "flowhost.h"

static fh_status bar(fh_docs *docs, const fh_request *req) {
    (void)req;
    size_t n = fh_docs_len(docs);
    fh_doc_set_textf(fh_docs_add(docs), "bar was here and got %zu document", n);
    return FH_OK;
}

static const fh_method methods[] = {
    {"bar", FH_CATCH_ALL, bar},
};
FH_EXECUTOR(methods, NULL);
