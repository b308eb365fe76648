/*
 * flowhost.h: write flowhost executors in C.
 *
 * An executor is one step of a flow: a WebAssembly component that receives
 * batches of documents on endpoints (`/index`, `/search`, ...) and returns
 * them, possibly changed. This header is a thin layer over the bindings that
 * wit-bindgen generates from wit/executor.wit (bindings/executor_world.h):
 * it implements the three WIT exports (init, describe, call) for you, and
 * you write plain C functions over a document tree.
 *
 * A complete executor (examples/c/ has more):
 *
 *     #include "flowhost.h"
 *
 *     static const char *greeting = "hello";
 *
 *     // Optional: called once, before any request, with uses_with and metas.
 *     static fh_status init(const cJSON *uses_with, const fh_metas *metas) {
 *         greeting = fh_json_string(uses_with, "greeting", "hello");
 *         fh_log_info("%s starting as shard %u", metas->name, metas->shard_id);
 *         return FH_OK;
 *     }
 *
 *     // Edits the documents in place; FH_OK sends them back.
 *     static fh_status greet(fh_docs *docs, const fh_request *req) {
 *         size_t n = fh_docs_len(docs);
 *         if (n > 100)
 *             return fh_error("ValueError", "too many documents: %zu", n);
 *         fh_doc *doc = fh_docs_add(docs);
 *         fh_doc_set_textf(doc, "%s on %s after %zu docs", greeting, req->endpoint, n);
 *         return FH_OK;
 *     }
 *
 *     // Read-only: FH_UNCHANGED means the host keeps its own copy.
 *     static fh_status count(fh_docs *docs, const fh_request *req) {
 *         fh_log_info("%zu documents on %s", fh_docs_len(docs), req->endpoint);
 *         return FH_UNCHANGED;
 *     }
 *
 *     static const fh_method methods[] = {
 *         {"count", "/count", count},      // method name, endpoint, function
 *         {"greet", FH_CATCH_ALL, greet},  // every endpoint not bound elsewhere
 *     };
 *     FH_EXECUTOR(methods, init);          // or FH_EXECUTOR(methods, NULL)
 *
 * Build it with `bash guest-sdk/c/build.sh <project-dir> <out.wasm>` (or
 * `flowhost build`).
 *
 * Memory: everything the SDK hands you (documents, strings, cJSON trees,
 * metas) belongs to the SDK. Documents and the strings read from them live
 * until the method returns; metas and uses_with live for the instance's
 * lifetime. Setters copy their arguments. The SDK frees what the canonical
 * ABI gives the guest and hands the reply to the host, which frees it
 * through the post-return functions of the bindings.
 */
#ifndef FLOWHOST_H
#define FLOWHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cJSON.h"
#include "executor_world.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define FH_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define FH_PRINTF(fmt, args)
#endif

/* ------------------------------------------------------------------------ */
/* Status and errors                                                        */
/* ------------------------------------------------------------------------ */

/* What init and methods return. */
typedef enum fh_status {
    /* Success. From a method: send the (possibly edited) documents back. */
    FH_OK = 0,
    /* From a method: the documents are as received; the host keeps its own
     * copy and nothing is sent back (WIT `output::unchanged`). */
    FH_UNCHANGED = 1,
    /* Failure: the error recorded by fh_error() goes to the client. */
    FH_ERR = -1,
} fh_status;

/* Records an executor error (reported to the client like a Python exception:
 * name, message, details) and returns FH_ERR, so that a method can
 * `return fh_error("ValueError", "bad value %d", v);`. The details say where
 * it was raised: `at <function> (<file>:<line>)`. A later error replaces an
 * earlier one. */
#ifdef __FILE_NAME__
#define FH_FILE __FILE_NAME__
#else
#define FH_FILE __FILE__
#endif
#define fh_error(name, ...) fh_error_at(FH_FILE, __LINE__, __func__, (name), __VA_ARGS__)

/* Like fh_error() with explicit details (NULL for none). */
fh_status fh_error_details(const char *name, const char *details, const char *fmt, ...)
    FH_PRINTF(3, 4);

fh_status fh_error_at(const char *file, int line, const char *func, const char *name,
                      const char *fmt, ...) FH_PRINTF(5, 6);

/* ------------------------------------------------------------------------ */
/* Logging                                                                  */
/* ------------------------------------------------------------------------ */

/* Levels of the WIT `logging` interface. */
typedef enum fh_level {
    FH_LOG_TRACE = FLOWHOST_EXECUTOR_LOGGING_LEVEL_TRACE,
    FH_LOG_DEBUG = FLOWHOST_EXECUTOR_LOGGING_LEVEL_DEBUG,
    FH_LOG_INFO = FLOWHOST_EXECUTOR_LOGGING_LEVEL_INFO,
    FH_LOG_WARN = FLOWHOST_EXECUTOR_LOGGING_LEVEL_WARN,
    FH_LOG_ERROR = FLOWHOST_EXECUTOR_LOGGING_LEVEL_ERROR,
} fh_level;

/* Sends one printf-formatted line to the host's log, tagged with the
 * executor's name. (Plain printf/puts go to the host's log too, through
 * stdout; the SDK flushes stdout and stderr after every init and call.) */
void fh_log(fh_level level, const char *fmt, ...) FH_PRINTF(2, 3);
#define fh_log_trace(...) fh_log(FH_LOG_TRACE, __VA_ARGS__)
#define fh_log_debug(...) fh_log(FH_LOG_DEBUG, __VA_ARGS__)
#define fh_log_info(...) fh_log(FH_LOG_INFO, __VA_ARGS__)
#define fh_log_warn(...) fh_log(FH_LOG_WARN, __VA_ARGS__)
#define fh_log_error(...) fh_log(FH_LOG_ERROR, __VA_ARGS__)

/* ------------------------------------------------------------------------ */
/* The executor: metas, requests, methods                                   */
/* ------------------------------------------------------------------------ */

/* Jina's `metas`: who this instance is. Strings are NUL-terminated;
 * `description` and `workspace` are NULL when unset. `workspace` is the
 * guest path of the workspace directory, if the flow granted one. */
typedef struct fh_metas {
    const char *name;
    const char *description;
    const char *workspace;
    uint32_t replica_id;
    uint32_t shard_id;
    uint32_t shards;
    uint32_t replicas;
} fh_metas;

/* One call of a method. */
typedef struct fh_request {
    const char *method;       /* the method's name, as in the table */
    const char *endpoint;     /* the endpoint the request came on, e.g. "/index" */
    const cJSON *parameters;  /* the request's parameters: always a JSON object */
    const fh_metas *metas;
} fh_request;

typedef struct fh_docs fh_docs;
typedef struct fh_doc fh_doc;

/* A method: reads and edits `docs`, then returns FH_OK (send the documents
 * back), FH_UNCHANGED (nothing to send back) or fh_error(...). */
typedef fh_status (*fh_method_fn)(fh_docs *docs, const fh_request *req);

/* The constructor: called once per instance, before anything else, with
 * uses_with (always a JSON object; `{}` when the flow gives none). Returns
 * FH_OK or fh_error(...), which fails the instance's start. */
typedef fh_status (*fh_init_fn)(const cJSON *uses_with, const fh_metas *metas);

/* One row of the method table: a method and one endpoint it answers by
 * default (Jina's `@requests(on=...)`). List a method in several rows to bind
 * it to several endpoints. FH_CATCH_ALL makes it the catch-all (`@requests`
 * without `on`: every endpoint not bound elsewhere); FH_NO_ENDPOINT lists it
 * without a default endpoint (only a flow's `uses_requests` binds it). */
typedef struct fh_method {
    const char *name;
    const char *endpoint;
    fh_method_fn fn;
} fh_method;

#define FH_CATCH_ALL ((const char *)0)
#define FH_NO_ENDPOINT ""

/* The executor's definition; FH_EXECUTOR() defines it. */
typedef struct fh_executor {
    const fh_method *methods;
    size_t count;
    fh_init_fn init;
} fh_executor;

extern const fh_executor fh_executor_definition;

/* Defines the executor from a method table (an array, not a pointer) and an
 * init function (or NULL). Use once, at file scope, in one .c file. */
#define FH_EXECUTOR(method_table, init_fn)                                              \
    const fh_executor fh_executor_definition = {                                        \
        (method_table), sizeof(method_table) / sizeof((method_table)[0]), (init_fn)}

/* The instance's metas and uses_with (valid once init has started). */
const fh_metas *fh_get_metas(void);
const cJSON *fh_get_uses_with(void);

/* ------------------------------------------------------------------------ */
/* Documents                                                                */
/* ------------------------------------------------------------------------ */

/* The request's documents: an ordered list of top-level documents, each with
 * chunks and matches to any depth. It is a view over the WIT
 * `document-batch` (nodes + roots, children by index): fields the helpers do
 * not cover are in the WIT record (fh_doc_raw), and whatever the method does
 * not touch goes back to the host exactly as it came. fh_doc pointers stay
 * valid until the method returns or calls fh_docs_clear. */

/* How many top-level documents there are, and the i-th (NULL past the end). */
size_t fh_docs_len(fh_docs *docs);
fh_doc *fh_docs_at(fh_docs *docs, size_t i);

/* Appends a new, empty top-level document with a fresh random id. */
fh_doc *fh_docs_add(fh_docs *docs);

/* Drops every document (to replace them with new ones). */
void fh_docs_clear(fh_docs *docs);

/* Calls `visit` on every document of the tree: each top-level document, then
 * recursively its chunks, then its matches. Stops at, and returns, the first
 * status that is not FH_OK. */
typedef fh_status (*fh_visit_fn)(fh_doc *doc, void *ctx);
fh_status fh_docs_walk(fh_docs *docs, fh_visit_fn visit, void *ctx);

/* Chunks and matches, in order. The add functions append a new, empty
 * document with a fresh id; a chunk gets `parent_id` = this document's id and
 * `granularity` one deeper, a match `adjacency` one deeper (as docarray). */
size_t fh_doc_chunks_len(fh_doc *doc);
fh_doc *fh_doc_chunk(fh_doc *doc, size_t i);
fh_doc *fh_doc_add_chunk(fh_doc *doc);
size_t fh_doc_matches_len(fh_doc *doc);
fh_doc *fh_doc_match(fh_doc *doc, size_t i);
fh_doc *fh_doc_add_match(fh_doc *doc);

/* String fields, NUL-terminated; NULL when unset (the id is never NULL).
 * Setters copy; NULL unsets. The `_n` setters take a length, the `f` ones a
 * printf format. A string containing NUL bytes is cut at the first one by
 * the plain getters: fh_doc_text_n gives the whole text. */
const char *fh_doc_id(fh_doc *doc);
void fh_doc_set_id(fh_doc *doc, const char *id);
const char *fh_doc_text(fh_doc *doc);
const char *fh_doc_text_n(fh_doc *doc, size_t *len);
void fh_doc_set_text(fh_doc *doc, const char *text);
void fh_doc_set_text_n(fh_doc *doc, const char *text, size_t len);
void fh_doc_set_textf(fh_doc *doc, const char *fmt, ...) FH_PRINTF(2, 3);
const char *fh_doc_parent_id(fh_doc *doc);
void fh_doc_set_parent_id(fh_doc *doc, const char *parent_id);
const char *fh_doc_uri(fh_doc *doc);
void fh_doc_set_uri(fh_doc *doc, const char *uri);
const char *fh_doc_mime_type(fh_doc *doc);
void fh_doc_set_mime_type(fh_doc *doc, const char *mime_type);
const char *fh_doc_modality(fh_doc *doc);
void fh_doc_set_modality(fh_doc *doc, const char *modality);

/* The blob: NULL when unset (and *len = 0). The setter copies; NULL unsets. */
const uint8_t *fh_doc_blob(fh_doc *doc, size_t *len);
void fh_doc_set_blob(fh_doc *doc, const void *data, size_t len);

/* Optional numbers: the getters return false when unset. */
bool fh_doc_weight(fh_doc *doc, double *out);
void fh_doc_set_weight(fh_doc *doc, double weight);
bool fh_doc_granularity(fh_doc *doc, int32_t *out);
bool fh_doc_adjacency(fh_doc *doc, int32_t *out);

/* Scores (docarray's `scores`, keyed by name): the getter returns false when
 * there is no score of that name; the setter replaces or adds one. */
bool fh_doc_score(fh_doc *doc, const char *name, double *out);
void fh_doc_set_score(fh_doc *doc, const char *name, double value);

/* Tags, as a cJSON object.
 *
 * fh_doc_tags: read-only; NULL when the document has no tags (or they are
 * not a JSON object). Tags only read go back to the host verbatim.
 *
 * fh_doc_tags_mut: the object to edit in place (created when there are no
 * tags); it is serialised back when the method returns. NULL, with an error
 * recorded, if the document's tags are not a JSON object.
 *
 * fh_doc_set_tag: sets one key, taking ownership of `value` (a cJSON item
 * from cJSON_Create*); FH_ERR like fh_doc_tags_mut. */
const cJSON *fh_doc_tags(fh_doc *doc);
cJSON *fh_doc_tags_mut(fh_doc *doc);
fh_status fh_doc_set_tag(fh_doc *doc, const char *key, cJSON *value);

/* Tensors: dtype, shape and little-endian row-major bytes (the WIT record,
 * used as is). A 0-d tensor (ndim 0) holds one element. */
typedef flowhost_executor_types_tensor_t fh_tensor;
typedef flowhost_executor_types_dtype_t fh_dtype;
#define FH_FLOAT16 FLOWHOST_EXECUTOR_TYPES_DTYPE_FLOAT16
#define FH_FLOAT32 FLOWHOST_EXECUTOR_TYPES_DTYPE_FLOAT32
#define FH_FLOAT64 FLOWHOST_EXECUTOR_TYPES_DTYPE_FLOAT64
#define FH_INT8 FLOWHOST_EXECUTOR_TYPES_DTYPE_INT8
#define FH_INT16 FLOWHOST_EXECUTOR_TYPES_DTYPE_INT16
#define FH_INT32 FLOWHOST_EXECUTOR_TYPES_DTYPE_INT32
#define FH_INT64 FLOWHOST_EXECUTOR_TYPES_DTYPE_INT64
#define FH_UINT8 FLOWHOST_EXECUTOR_TYPES_DTYPE_UINT8
#define FH_UINT16 FLOWHOST_EXECUTOR_TYPES_DTYPE_UINT16
#define FH_UINT32 FLOWHOST_EXECUTOR_TYPES_DTYPE_UINT32
#define FH_UINT64 FLOWHOST_EXECUTOR_TYPES_DTYPE_UINT64
#define FH_BOOLEAN FLOWHOST_EXECUTOR_TYPES_DTYPE_BOOLEAN

/* The embedding / tensor of a document, NULL when unset. The data may be
 * edited in place (same dtype and shape). */
fh_tensor *fh_doc_embedding(fh_doc *doc);
fh_tensor *fh_doc_tensor(fh_doc *doc);

/* Sets the embedding / tensor to a copy of `data` (`nbytes` must be
 * product(shape) * fh_dtype_size(dtype), else nothing changes and false is
 * returned). `shape` may be NULL when ndim is 0. The `_f32` forms take float
 * values; `fh_doc_set_embedding_f32(doc, v, NULL, 0)` is wrong for a vector:
 * pass its length as the shape, or use fh_doc_set_embedding_vec. */
bool fh_doc_set_embedding(fh_doc *doc, fh_dtype dtype, const uint32_t *shape, size_t ndim,
                          const void *data, size_t nbytes);
bool fh_doc_set_embedding_f32(fh_doc *doc, const float *values, const uint32_t *shape,
                              size_t ndim);
bool fh_doc_set_embedding_vec(fh_doc *doc, const float *values, uint32_t len);
void fh_doc_clear_embedding(fh_doc *doc);
bool fh_doc_set_tensor(fh_doc *doc, fh_dtype dtype, const uint32_t *shape, size_t ndim,
                       const void *data, size_t nbytes);
bool fh_doc_set_tensor_f32(fh_doc *doc, const float *values, const uint32_t *shape,
                           size_t ndim);
void fh_doc_clear_tensor(fh_doc *doc);

/* Bytes per element of a dtype; the dtype's name ("float32"). */
size_t fh_dtype_size(fh_dtype dtype);
const char *fh_dtype_name(fh_dtype dtype);

/* A tensor's dimensions and element count (product of the shape, 1 for 0-d). */
size_t fh_tensor_ndim(const fh_tensor *t);
const uint32_t *fh_tensor_shape(const fh_tensor *t);
size_t fh_tensor_numel(const fh_tensor *t);

/* Typed views of the data: the elements, writable in place, and their count
 * in *n; NULL when the dtype differs or the byte length does not match. */
float *fh_tensor_f32(fh_tensor *t, size_t *n);
double *fh_tensor_f64(fh_tensor *t, size_t *n);
int32_t *fh_tensor_i32(fh_tensor *t, size_t *n);
int64_t *fh_tensor_i64(fh_tensor *t, size_t *n);

/* Element i converted to double, whatever the dtype (0 past the end). */
double fh_tensor_get(const fh_tensor *t, size_t i);

/* The underlying WIT record, for anything the helpers do not cover (location,
 * evaluations, score details...). Strings and lists in it are owned by the
 * SDK and must be allocated with malloc (free the old value first, only if
 * its len > 0); chunks/matches are indices, change them only through the
 * helpers. */
flowhost_executor_types_document_t *fh_doc_raw(fh_doc *doc);

/* A fresh random 32-hex-digit id, like docarray's (NUL-terminated). */
void fh_new_id(char out[33]);

/* ------------------------------------------------------------------------ */
/* JSON helpers (cJSON, vendored in vendor/cjson)                           */
/* ------------------------------------------------------------------------ */

/* Parses JSON text of `len` bytes. Unlike cJSON_Parse, numbers keep their
 * literal text (so `1.0` stays a float and `12345678901234567890` keeps its
 * digits when printed back by fh_json_print). NULL if invalid. Free with
 * cJSON_Delete. */
cJSON *fh_json_parse(const char *text, size_t len);

/* Compact JSON text of `item` (malloc'd; free it). Numbers read by
 * fh_json_parse and not changed print as they were written; other integral
 * numbers print as integers. */
char *fh_json_print(const cJSON *item);

/* Convenience lookups in an object, with a fallback when the key is absent or
 * of another type. */
const char *fh_json_string(const cJSON *object, const char *key, const char *fallback);
double fh_json_number(const cJSON *object, const char *key, double fallback);
bool fh_json_bool(const cJSON *object, const char *key, bool fallback);

/* Merges every key of `from` into the object `into` (deep copies; existing
 * keys are replaced, Python's dict.update). False if either is not an object. */
bool fh_json_merge(cJSON *into, const cJSON *from);

#ifdef __cplusplus
}
#endif

#endif /* FLOWHOST_H */
