/*
 * The conformance executor, written with the C SDK the way a user would write
 * an executor. It behaves exactly as tests/conformance/README.md specifies.
 *
 *   bash guest-sdk/c/build.sh tests/conformance/c target/polyglot/c/conformance.wasm
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flowhost.h"

/* uses_with: {"label": string}, default "conformance"; unknown keys ignored. */
static const char *label = "conformance";

static fh_status init(const cJSON *uses_with, const fh_metas *metas) {
    (void)metas;
    label = fh_json_string(uses_with, "label", "conformance");
    return FH_OK;
}

/* unchanged: does nothing, does not read the documents. */
static fh_status unchanged(fh_docs *docs, const fh_request *req) {
    (void)docs;
    (void)req;
    return FH_UNCHANGED;
}

/* roundtrip: reads every field of every document of the tree through the
 * SDK's document API and sends the documents back. The tags are parsed and
 * handed out for editing, so they go back re-serialised by the SDK (not
 * verbatim): what comes back shows the SDK's JSON round trip loses nothing. */
static fh_status read_all(fh_doc *doc, void *ctx) {
    size_t *fields = ctx;
    size_t len = 0;
    double x;
    int32_t i;
    *fields += fh_doc_id(doc) != NULL;
    *fields += fh_doc_parent_id(doc) != NULL;
    *fields += fh_doc_text_n(doc, &len) != NULL;
    *fields += fh_doc_uri(doc) != NULL;
    *fields += fh_doc_mime_type(doc) != NULL;
    *fields += fh_doc_modality(doc) != NULL;
    *fields += fh_doc_blob(doc, &len) != NULL;
    *fields += fh_doc_weight(doc, &x) + fh_doc_granularity(doc, &i) + fh_doc_adjacency(doc, &i);
    fh_tensor *tensors[2] = {fh_doc_tensor(doc), fh_doc_embedding(doc)};
    for (int t = 0; t < 2; t++) {
        if (!tensors[t]) continue;
        *fields += fh_tensor_ndim(tensors[t]) + fh_tensor_numel(tensors[t]);
        if (fh_tensor_numel(tensors[t])) *fields += fh_tensor_get(tensors[t], 0) != 0;
    }
    if (fh_doc_tags(doc)) {
        cJSON *tags = fh_doc_tags_mut(doc);
        if (!tags) return FH_ERR;
        *fields += (size_t)cJSON_GetArraySize(tags);
    }
    *fields += fh_doc_chunks_len(doc) + fh_doc_matches_len(doc);
    return FH_OK;
}

static fh_status roundtrip(fh_docs *docs, const fh_request *req) {
    size_t fields = 0;
    if (fh_docs_walk(docs, read_all, &fields) != FH_OK) return FH_ERR;
    fh_log_debug("roundtrip of %s read %zu fields", req->endpoint, fields);
    return FH_OK;
}

/* mutate: on every document of the tree, "!" after the text, tags.label, a
 * float32 embedding doubled; then one new top-level document. */
static fh_status mutate_one(fh_doc *doc, void *ctx) {
    (void)ctx;
    size_t len;
    const char *text = fh_doc_text_n(doc, &len);
    if (text) {
        char *more = malloc(len + 2);
        if (!more) return fh_error("MemoryError", "out of memory");
        memcpy(more, text, len);
        more[len] = '!';
        more[len + 1] = 0;
        fh_doc_set_text_n(doc, more, len + 1);
        free(more);
    }
    if (fh_doc_set_tag(doc, "label", cJSON_CreateString(label)) != FH_OK) return FH_ERR;
    fh_tensor *embedding = fh_doc_embedding(doc);
    size_t n;
    float *values = embedding ? fh_tensor_f32(embedding, &n) : NULL;
    if (values)
        for (size_t i = 0; i < n; i++) values[i] *= 2;
    return FH_OK;
}

static fh_status mutate(fh_docs *docs, const fh_request *req) {
    (void)req;
    if (fh_docs_walk(docs, mutate_one, NULL) != FH_OK) return FH_ERR;
    fh_doc_set_textf(fh_docs_add(docs), "added by %s", label);
    return FH_OK;
}

/* params: one document whose tags show the parameters, uses_with and metas. */
static cJSON *string_or_null(const char *s) {
    return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static fh_status params(fh_docs *docs, const fh_request *req) {
    const fh_metas *m = req->metas;
    fh_docs_clear(docs);
    fh_doc *doc = fh_docs_add(docs);
    cJSON *metas = cJSON_CreateObject();
    cJSON_AddItemToObject(metas, "name", cJSON_CreateString(m->name));
    cJSON_AddItemToObject(metas, "description", string_or_null(m->description));
    cJSON_AddItemToObject(metas, "workspace", string_or_null(m->workspace));
    cJSON_AddNumberToObject(metas, "replica_id", m->replica_id);
    cJSON_AddNumberToObject(metas, "shard_id", m->shard_id);
    cJSON_AddNumberToObject(metas, "shards", m->shards);
    cJSON_AddNumberToObject(metas, "replicas", m->replicas);
    if (fh_doc_set_tag(doc, "parameters", cJSON_Duplicate(req->parameters, 1)) != FH_OK ||
        fh_doc_set_tag(doc, "uses_with", cJSON_Duplicate(fh_get_uses_with(), 1)) != FH_OK ||
        fh_doc_set_tag(doc, "metas", metas) != FH_OK)
        return FH_ERR;
    return FH_OK;
}

/* fail: a ValueError; fh_error's details say where it was raised. */
static fh_status fail(fh_docs *docs, const fh_request *req) {
    (void)req;
    return fh_error("ValueError", "conformance failure: %zu documents", fh_docs_len(docs));
}

/* log: through the logger at info and warn, and to stdout. */
static fh_status log_method(fh_docs *docs, const fh_request *req) {
    (void)docs;
    (void)req;
    fh_log_info("conformance log info");
    fh_log_warn("conformance log warn");
    printf("conformance stdout\n");
    return FH_UNCHANGED;
}

/* workspace: writes parameters.content to <workspace>/conformance.txt, reads
 * it back, and returns one document with what was read. */
static fh_status workspace(fh_docs *docs, const fh_request *req) {
    const char *dir = req->metas->workspace;
    if (!dir) return fh_error("NoWorkspace", "executor %s has no workspace", req->metas->name);
    const char *content = fh_json_string(req->parameters, "content", NULL);
    if (!content) return fh_error("ValueError", "parameters.content must be a string");

    size_t plen = strlen(dir) + sizeof "/conformance.txt";
    char *path = malloc(plen);
    if (!path) return fh_error("MemoryError", "out of memory");
    snprintf(path, plen, "%s/conformance.txt", dir);

    FILE *f = fopen(path, "wb");
    if (!f) {
        fh_status st = fh_error("OSError", "cannot write %s", path);
        free(path);
        return st;
    }
    size_t len = strlen(content);
    bool written = fwrite(content, 1, len, f) == len;
    written = (fclose(f) == 0) && written;
    if (!written) {
        fh_status st = fh_error("OSError", "cannot write %s", path);
        free(path);
        return st;
    }

    f = fopen(path, "rb");
    if (!f) {
        fh_status st = fh_error("OSError", "cannot read %s", path);
        free(path);
        return st;
    }
    char *read = malloc(len + 1);
    size_t got = read ? fread(read, 1, len + 1, f) : 0;
    fclose(f);
    free(path);
    if (!read) return fh_error("MemoryError", "out of memory");

    fh_docs_clear(docs);
    fh_doc_set_text_n(fh_docs_add(docs), read, got);
    free(read);
    return FH_OK;
}

/* other (catch-all): tags.endpoint on every top-level document. */
static fh_status other(fh_docs *docs, const fh_request *req) {
    for (size_t i = 0; i < fh_docs_len(docs); i++) {
        if (fh_doc_set_tag(fh_docs_at(docs, i), "endpoint", cJSON_CreateString(req->endpoint)) !=
            FH_OK)
            return FH_ERR;
    }
    return FH_OK;
}

static const fh_method methods[] = {
    {"unchanged", "/unchanged", unchanged},
    {"roundtrip", "/roundtrip", roundtrip},
    {"mutate", "/mutate", mutate},
    {"params", "/params", params},
    {"fail", "/fail", fail},
    {"log", "/log", log_method},
    {"workspace", "/workspace", workspace},
    {"other", FH_CATCH_ALL, other},
};
FH_EXECUTOR(methods, init);
