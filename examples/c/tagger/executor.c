/*
 * tagger: merges tags into every top-level document, overwriting keys they
 * share (Python's dict.update): first the tags given in uses_with
 * (`{"tags": {...}}`), then the request's `parameters["tags"]`, if that is an
 * object. Returns the documents.
 *
 *   bash guest-sdk/c/build.sh examples/c/tagger tagger.wasm
 *   flowhost executor call --uses tagger.wasm --text hi \
 *       --uses-with '{"tags": {"lang": "en"}}' --parameters '{"tags": {"seen": true}}'
 */
#include "flowhost.h"

/* The tags from uses_with; NULL for none. Lives as long as the instance. */
static const cJSON *config_tags;

static fh_status init(const cJSON *uses_with, const fh_metas *metas) {
    (void)metas;
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(uses_with, "tags");
    if (tags && !cJSON_IsObject(tags) && !cJSON_IsNull(tags))
        return fh_error("ValueError", "uses_with.tags must be a JSON object");
    config_tags = cJSON_IsObject(tags) ? tags : NULL;
    return FH_OK;
}

static fh_status tag(fh_docs *docs, const fh_request *req) {
    const cJSON *request_tags = cJSON_GetObjectItemCaseSensitive(req->parameters, "tags");
    if (!cJSON_IsObject(request_tags)) request_tags = NULL;
    if (!config_tags && !request_tags) return FH_UNCHANGED; /* nothing to merge */
    for (size_t i = 0; i < fh_docs_len(docs); i++) {
        fh_doc *doc = fh_docs_at(docs, i);
        /* Refuses tags that are not an object rather than replacing them. */
        cJSON *tags = fh_doc_tags_mut(doc);
        if (!tags) return FH_ERR;
        if (config_tags) fh_json_merge(tags, config_tags);
        if (request_tags) fh_json_merge(tags, request_tags);
    }
    return FH_OK;
}

static const fh_method methods[] = {
    {"tag", FH_CATCH_ALL, tag},
};
FH_EXECUTOR(methods, init);
