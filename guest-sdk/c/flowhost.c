/*
 * flowhost.c: the C guest SDK (see flowhost.h).
 *
 * It implements the WIT exports of bindings/executor_world.h on top of the
 * executor's method table, and the document API over the WIT records.
 *
 * Canonical-ABI ownership, as wit-bindgen's C bindings have it:
 * - the arguments of an export (strings, the document batch) are allocated by
 *   the host through cabi_realloc and owned by the guest, which must free
 *   them: the SDK either frees them or moves them into the reply;
 * - what an export returns is freed by the generated post-return function,
 *   which calls free() on every string and list whose length is not zero: so
 *   every such pointer in a reply is malloc'd and owned by exactly one place.
 *   Zero-length strings and lists carry NULL (or cabi_realloc's dummy
 *   pointer) and are never freed.
 */
#include "flowhost.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef executor_world_string_t fh_wstr;
typedef executor_world_option_string_t fh_wopt;
typedef flowhost_executor_types_document_t fh_wdoc;
typedef flowhost_executor_types_document_batch_t fh_wbatch;
typedef exports_flowhost_executor_executor_executor_error_t fh_werror;

/* ------------------------------------------------------------------------ */
/* Memory and strings                                                       */
/* ------------------------------------------------------------------------ */

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}

static void *xrealloc(void *p, size_t n) {
    p = realloc(p, n ? n : 1);
    if (!p) abort();
    return p;
}

static char *xstrndup(const char *s, size_t n) {
    char *p = xmalloc(n + 1);
    if (n) memcpy(p, s, n);
    p[n] = 0;
    return p;
}

static char *vformat(const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) return xstrndup("", 0);
    char *s = xmalloc((size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

static void wstr_free(fh_wstr *s) {
    if (s->len > 0) free(s->ptr);
    s->ptr = NULL;
    s->len = 0;
}

/* Replaces `s` with a malloc'd, NUL-terminated copy of `v` (len n). */
static void wstr_set(fh_wstr *s, const char *v, size_t n) {
    wstr_free(s);
    if (n) {
        s->ptr = (uint8_t *)xstrndup(v, n);
        s->len = n;
    }
}

/* Takes ownership of the malloc'd NUL-terminated `v`. */
static void wstr_take(fh_wstr *s, char *v) {
    wstr_free(s);
    size_t n = strlen(v);
    if (n) {
        s->ptr = (uint8_t *)v;
        s->len = n;
    } else {
        free(v);
    }
}

/* A NUL-terminated view of `s`, growing its buffer by one byte if needed (the
 * byte past `len` is not part of the WIT string; post-return frees the
 * pointer whatever its size). */
static const char *wstr_c(fh_wstr *s, bool *terminated) {
    if (s->len == 0) return "";
    if (!*terminated) {
        s->ptr = xrealloc(s->ptr, s->len + 1);
        s->ptr[s->len] = 0;
        *terminated = true;
    }
    return (const char *)s->ptr;
}

/* A malloc'd NUL-terminated copy of `s`. */
static char *wstr_dup(const fh_wstr *s) { return xstrndup((const char *)s->ptr, s->len); }

static void wopt_free(fh_wopt *o) {
    if (o->is_some) wstr_free(&o->val);
    o->is_some = false;
}

static void wopt_set(fh_wopt *o, const char *v, size_t n) {
    wopt_free(o);
    if (v) {
        o->is_some = true;
        o->val.ptr = NULL;
        o->val.len = 0;
        wstr_set(&o->val, v, n);
    }
}

static fh_wstr wstr_from(char *owned) {
    fh_wstr s = {NULL, 0};
    wstr_take(&s, owned);
    return s;
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

static struct {
    bool set;
    char *name, *message, *details;
} pending;

static void pending_clear(void) {
    free(pending.name);
    free(pending.message);
    free(pending.details);
    memset(&pending, 0, sizeof pending);
}

static fh_status pending_set(const char *name, char *message, char *details) {
    pending_clear();
    pending.set = true;
    pending.name = xstrndup(name ? name : "Error", strlen(name ? name : "Error"));
    pending.message = message;
    pending.details = details;
    return FH_ERR;
}

fh_status fh_error_details(const char *name, const char *details, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *message = vformat(fmt, ap);
    va_end(ap);
    return pending_set(name, message, details ? xstrndup(details, strlen(details)) : NULL);
}

static char *format(const char *fmt, ...) FH_PRINTF(1, 2);
static char *format(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = vformat(fmt, ap);
    va_end(ap);
    return s;
}

fh_status fh_error_at(const char *file, int line, const char *func, const char *name,
                      const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *message = vformat(fmt, ap);
    va_end(ap);
    return pending_set(name, message, format("at %s (%s:%d)", func, file, line));
}

/* Moves the pending error (or a generic one) into a WIT error. */
static void pending_to_wit(fh_werror *err, const char *what) {
    if (!pending.set) {
        pending_set("ExecutorError", format("%s failed without recording an error", what),
                    NULL);
    }
    err->name = wstr_from(pending.name);
    err->message = wstr_from(pending.message);
    err->details.is_some = pending.details != NULL;
    err->details.val = (fh_wstr){NULL, 0};
    if (pending.details) err->details.val = wstr_from(pending.details);
    memset(&pending, 0, sizeof pending);
}

/* ------------------------------------------------------------------------ */
/* Logging                                                                  */
/* ------------------------------------------------------------------------ */

void fh_log(fh_level level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *line = vformat(fmt, ap);
    va_end(ap);
    fh_wstr s = {(uint8_t *)line, strlen(line)};
    flowhost_executor_logging_log((flowhost_executor_logging_level_t)level, &s);
    free(line);
}

/* ------------------------------------------------------------------------ */
/* JSON                                                                     */
/* ------------------------------------------------------------------------ */

typedef struct {
    char *p;
    size_t len, cap;
} buf_t;

static void buf_put(buf_t *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        while (cap < b->len + n + 1) cap *= 2;
        b->p = xrealloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void buf_puts(buf_t *b, const char *s) { buf_put(b, s, strlen(s)); }

/* How a number with no literal text prints: integral values as integers,
 * others with the fewest digits that read back the same. */
static void number_text(double d, char out[64]) {
    if (!isfinite(d)) {
        strcpy(out, "null");
    } else if (d == trunc(d) && fabs(d) < 9007199254740992.0) {
        snprintf(out, 64, "%.0f", d);
    } else {
        snprintf(out, 64, "%.15g", d);
        if (strtod(out, NULL) != d) snprintf(out, 64, "%.17g", d);
    }
}

/* Whether a number item's attached literal still holds its value. */
static bool literal_holds(const cJSON *item) {
    if (!item->valuestring || !item->valuestring[0]) return false;
    char *end = NULL;
    double v = strtod(item->valuestring, &end);
    return end && *end == 0 && v == item->valuedouble;
}

static void put_string(buf_t *b, const char *s) {
    buf_put(b, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        const char *esc = NULL;
        char hex[8];
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
            if (c < 0x20) {
                snprintf(hex, sizeof hex, "\\u%04x", c);
                esc = hex;
            }
        }
        if (esc) {
            buf_put(b, run, (size_t)(s - run));
            buf_puts(b, esc);
            run = s + 1;
        }
    }
    buf_put(b, run, (size_t)(s - run));
    buf_put(b, "\"", 1);
}

static void put_value(buf_t *b, const cJSON *item) {
    char num[64];
    switch (item->type & 0xFF) {
    case cJSON_False: buf_puts(b, "false"); break;
    case cJSON_True: buf_puts(b, "true"); break;
    case cJSON_Number:
        if (literal_holds(item)) {
            buf_puts(b, item->valuestring);
        } else {
            number_text(item->valuedouble, num);
            buf_puts(b, num);
        }
        break;
    case cJSON_String: put_string(b, item->valuestring ? item->valuestring : ""); break;
    case cJSON_Raw: buf_puts(b, item->valuestring ? item->valuestring : "null"); break;
    case cJSON_Array:
    case cJSON_Object: {
        bool object = (item->type & 0xFF) == cJSON_Object;
        buf_put(b, object ? "{" : "[", 1);
        for (const cJSON *c = item->child; c; c = c->next) {
            if (c != item->child) buf_put(b, ",", 1);
            if (object) {
                put_string(b, c->string ? c->string : "");
                buf_put(b, ":", 1);
            }
            put_value(b, c);
        }
        buf_put(b, object ? "}" : "]", 1);
        break;
    }
    default: buf_puts(b, "null");
    }
}

char *fh_json_print(const cJSON *item) {
    buf_t b = {0};
    if (item)
        put_value(&b, item);
    else
        buf_puts(&b, "null");
    return b.p;
}

typedef struct {
    const char *start;
    size_t len;
} span_t;

typedef struct {
    span_t *v;
    size_t len, cap;
} spans_t;

/* The number literals of JSON text, in order (strings skipped). */
static void scan_numbers(const char *s, size_t n, spans_t *out) {
    size_t i = 0;
    while (i < n) {
        char c = s[i];
        if (c == '"') {
            for (i++; i < n && s[i] != '"'; i++)
                if (s[i] == '\\') i++;
            i++;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t start = i;
            while (i < n && strchr("+-0123456789.eE", s[i]) && s[i]) i++;
            if (out->len == out->cap) {
                out->cap = out->cap ? out->cap * 2 : 16;
                out->v = xrealloc(out->v, out->cap * sizeof(span_t));
            }
            out->v[out->len++] = (span_t){s + start, i - start};
        } else {
            i++;
        }
    }
}

/* Number items in document order (the order of their literals). */
static void collect_numbers(cJSON *item, cJSON ***v, size_t *len, size_t *cap) {
    for (; item; item = item->next) {
        if ((item->type & 0xFF) == cJSON_Number) {
            if (*len == *cap) {
                *cap = *cap ? *cap * 2 : 16;
                *v = xrealloc(*v, *cap * sizeof(cJSON *));
            }
            (*v)[(*len)++] = item;
        }
        if (item->child) collect_numbers(item->child, v, len, cap);
    }
}

/* Keeps the literal of every number that would not print the same way. */
static void attach_literals(cJSON *root, const char *text, size_t n) {
    spans_t spans = {0};
    scan_numbers(text, n, &spans);
    cJSON **items = NULL;
    size_t len = 0, cap = 0;
    collect_numbers(root, &items, &len, &cap);
    if (len == spans.len) {
        for (size_t i = 0; i < len; i++) {
            char num[64];
            number_text(items[i]->valuedouble, num);
            span_t sp = spans.v[i];
            if (strlen(num) == sp.len && memcmp(num, sp.start, sp.len) == 0) continue;
            items[i]->valuestring = xstrndup(sp.start, sp.len);
            if (!literal_holds(items[i])) {
                free(items[i]->valuestring);
                items[i]->valuestring = NULL;
            }
        }
    }
    free(items);
    free(spans.v);
}

cJSON *fh_json_parse(const char *text, size_t len) {
    char *copy = xstrndup(text, len);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(copy, len + 1, &end, 1);
    if (root) attach_literals(root, copy, len);
    free(copy);
    return root;
}

const char *fh_json_string(const cJSON *object, const char *key, const char *fallback) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(object, key);
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : fallback;
}

double fh_json_number(const cJSON *object, const char *key, double fallback) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(object, key);
    return cJSON_IsNumber(v) ? v->valuedouble : fallback;
}

bool fh_json_bool(const cJSON *object, const char *key, bool fallback) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(object, key);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : fallback;
}

static void object_put(cJSON *object, const char *key, cJSON *value) {
    if (cJSON_GetObjectItemCaseSensitive(object, key))
        cJSON_ReplaceItemInObjectCaseSensitive(object, key, value);
    else
        cJSON_AddItemToObject(object, key, value);
}

bool fh_json_merge(cJSON *into, const cJSON *from) {
    if (!cJSON_IsObject(into) || !cJSON_IsObject(from)) return false;
    for (const cJSON *c = from->child; c; c = c->next) {
        if (!c->string) continue;
        object_put(into, c->string, cJSON_Duplicate(c, 1));
    }
    return true;
}

/* Parses a JSON object argument (uses_with, parameters); empty text and null
 * count as {}. NULL, with an error recorded, otherwise. */
static cJSON *parse_object(const fh_wstr *text, const char *what) {
    size_t i = 0;
    while (i < text->len && strchr(" \t\r\n", text->ptr[i])) i++;
    if (i == text->len) return cJSON_CreateObject();
    cJSON *v = fh_json_parse((const char *)text->ptr, text->len);
    if (!v) {
        pending_set("ValueError", format("%s are not valid JSON", what), NULL);
        return NULL;
    }
    if (cJSON_IsNull(v)) {
        cJSON_Delete(v);
        return cJSON_CreateObject();
    }
    if (!cJSON_IsObject(v)) {
        char *shown = fh_json_print(v);
        pending_set("ValueError", format("%s must be a JSON object, got %.200s", what, shown),
                    NULL);
        free(shown);
        cJSON_Delete(v);
        return NULL;
    }
    return v;
}

/* ------------------------------------------------------------------------ */
/* Ids                                                                      */
/* ------------------------------------------------------------------------ */

void fh_new_id(char out[33]) {
    static uint64_t counter;
    uint8_t bytes[16];
    if (getentropy(bytes, sizeof bytes) != 0) {
        /* No random source: still unique within the instance. */
        uint64_t a = ++counter, b = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)out;
        memcpy(bytes, &a, 8);
        memcpy(bytes + 8, &b, 8);
    }
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[bytes[i] >> 4];
        out[2 * i + 1] = hex[bytes[i] & 15];
    }
    out[32] = 0;
}

/* ------------------------------------------------------------------------ */
/* Documents                                                                */
/* ------------------------------------------------------------------------ */

/* Bits of fh_doc.terminated: string fields known to be NUL-terminated. */
enum { T_ID = 1, T_PARENT = 2, T_TEXT = 4, T_URI = 8, T_MIME = 16, T_MODALITY = 32 };

struct fh_doc {
    fh_wdoc raw;
    fh_docs *owner;
    cJSON *tags;       /* parsed tags, when read */
    uint8_t tags_state; /* 0: not parsed yet, 1: parsed (or absent), 2: not an object */
    bool tags_dirty;   /* handed out for editing: serialise back */
    bool in_block;     /* part of fh_docs.block, not malloc'd on its own */
    uint8_t terminated;
    uint32_t mark;     /* encoding: new index, or UINT32_MAX if unreachable */
};

struct fh_docs {
    fh_wbatch raw;     /* as received, while not decoded */
    bool decoded;
    fh_doc *block;     /* the received documents, in one allocation */
    fh_doc **nodes;    /* every document; chunks/matches index this */
    size_t len, cap;
    uint32_t *roots;
    size_t nroots, roots_cap;
};

/* Checks the invariants of a WIT batch: indices in range, every node reached
 * exactly once from the roots. Records an error and returns false if not. */
static bool batch_valid(const fh_wdoc *nodes, size_t n, const uint32_t *roots, size_t nroots) {
    uint8_t *seen = calloc(n ? n : 1, 1);
    uint32_t *stack = xmalloc((n + 1) * sizeof(uint32_t));
    size_t top = 0, reached = 0;
    bool ok = true;
    if (!seen) abort();
    for (size_t r = 0; r < nroots && ok; r++) {
        uint32_t idx = roots[r];
        if (idx >= n || seen[idx]) {
            pending_set("InvalidDocumentBatch",
                        format(idx >= n ? "root %u is out of range (%zu nodes)"
                                        : "node %u is reached twice",
                               (unsigned)idx, n),
                        NULL);
            ok = false;
            break;
        }
        seen[idx] = 1;
        reached++;
        stack[top++] = idx;
        while (top && ok) {
            const fh_wdoc *d = &nodes[stack[--top]];
            const executor_world_list_u32_t *lists[2] = {&d->chunks, &d->matches};
            for (int l = 0; l < 2 && ok; l++) {
                for (size_t j = 0; j < lists[l]->len; j++) {
                    uint32_t c = lists[l]->ptr[j];
                    if (c >= n || seen[c]) {
                        pending_set("InvalidDocumentBatch",
                                    format(c >= n ? "child %u is out of range (%zu nodes)"
                                                  : "node %u is reached twice",
                                           (unsigned)c, n),
                                    NULL);
                        ok = false;
                        break;
                    }
                    seen[c] = 1;
                    reached++;
                    stack[top++] = c;
                }
            }
        }
    }
    if (ok && reached != n) {
        size_t orphan = 0;
        while (orphan < n && seen[orphan]) orphan++;
        pending_set("InvalidDocumentBatch",
                    format("node %zu is not reachable from any root", orphan), NULL);
        ok = false;
    }
    free(seen);
    free(stack);
    return ok;
}

static void decode(fh_docs *docs) {
    if (docs->decoded) return;
    size_t n = docs->raw.nodes.len;
    docs->block = calloc(n ? n : 1, sizeof(fh_doc));
    docs->nodes = xmalloc((n ? n : 1) * sizeof(fh_doc *));
    if (!docs->block) abort();
    for (size_t i = 0; i < n; i++) {
        fh_doc *d = &docs->block[i];
        d->raw = docs->raw.nodes.ptr[i];
        d->owner = docs;
        d->in_block = true;
        docs->nodes[i] = d;
    }
    if (n) free(docs->raw.nodes.ptr);
    docs->len = docs->cap = n;
    docs->nroots = docs->roots_cap = docs->raw.roots.len;
    docs->roots = docs->nroots ? docs->raw.roots.ptr : NULL;
    memset(&docs->raw, 0, sizeof docs->raw);
    docs->decoded = true;
}

static void doc_free(fh_doc *d) {
    flowhost_executor_types_document_free(&d->raw);
    cJSON_Delete(d->tags);
    d->tags = NULL;
    if (!d->in_block) free(d);
}

static void docs_free(fh_docs *docs) {
    if (!docs->decoded) {
        flowhost_executor_types_document_batch_free(&docs->raw);
        memset(&docs->raw, 0, sizeof docs->raw);
        return;
    }
    for (size_t i = 0; i < docs->len; i++) doc_free(docs->nodes[i]);
    free(docs->block);
    free(docs->nodes);
    free(docs->roots);
    docs->block = NULL;
    docs->nodes = NULL;
    docs->roots = NULL;
    docs->len = docs->cap = docs->nroots = docs->roots_cap = 0;
}

static void list_push(executor_world_list_u32_t *l, uint32_t v) {
    l->ptr = xrealloc(l->len ? l->ptr : NULL, (l->len + 1) * sizeof(uint32_t));
    l->ptr[l->len++] = v;
}

/* Appends a new empty document with a fresh id to the node list. */
static fh_doc *new_node(fh_docs *docs, uint32_t *index) {
    decode(docs);
    if (docs->len >= UINT32_MAX - 1) abort();
    if (docs->len == docs->cap) {
        docs->cap = docs->cap ? docs->cap * 2 : 8;
        docs->nodes = xrealloc(docs->nodes, docs->cap * sizeof(fh_doc *));
    }
    fh_doc *d = calloc(1, sizeof(fh_doc));
    if (!d) abort();
    d->owner = docs;
    char id[33];
    fh_new_id(id);
    wstr_set(&d->raw.id, id, 32);
    d->terminated = T_ID;
    *index = (uint32_t)docs->len;
    docs->nodes[docs->len++] = d;
    return d;
}

size_t fh_docs_len(fh_docs *docs) {
    return docs->decoded ? docs->nroots : docs->raw.roots.len;
}

fh_doc *fh_docs_at(fh_docs *docs, size_t i) {
    decode(docs);
    return i < docs->nroots ? docs->nodes[docs->roots[i]] : NULL;
}

fh_doc *fh_docs_add(fh_docs *docs) {
    uint32_t idx;
    fh_doc *d = new_node(docs, &idx);
    if (docs->nroots == docs->roots_cap) {
        docs->roots_cap = docs->roots_cap ? docs->roots_cap * 2 : 8;
        docs->roots = xrealloc(docs->roots, docs->roots_cap * sizeof(uint32_t));
    }
    docs->roots[docs->nroots++] = idx;
    return d;
}

void fh_docs_clear(fh_docs *docs) {
    decode(docs);
    docs_free(docs);
    docs->decoded = true;
}

fh_status fh_docs_walk(fh_docs *docs, fh_visit_fn visit, void *ctx) {
    decode(docs);
    fh_doc **stack = NULL;
    size_t top = 0, cap = 0;
    fh_status st = FH_OK;
    for (size_t r = 0; r < docs->nroots && st == FH_OK; r++) {
        /* Depth first, pre-order: a document, its chunks, then its matches. */
        cap = cap ? cap : 16;
        stack = xrealloc(stack, cap * sizeof(fh_doc *));
        stack[top++] = docs->nodes[docs->roots[r]];
        while (top && st == FH_OK) {
            fh_doc *d = stack[--top];
            st = visit(d, ctx);
            if (st != FH_OK) break;
            size_t more = d->raw.chunks.len + d->raw.matches.len;
            if (top + more > cap) {
                while (top + more > cap) cap *= 2;
                stack = xrealloc(stack, cap * sizeof(fh_doc *));
            }
            for (size_t j = d->raw.matches.len; j-- > 0;)
                stack[top++] = docs->nodes[d->raw.matches.ptr[j]];
            for (size_t j = d->raw.chunks.len; j-- > 0;)
                stack[top++] = docs->nodes[d->raw.chunks.ptr[j]];
        }
        top = 0;
    }
    free(stack);
    return st;
}

size_t fh_doc_chunks_len(fh_doc *doc) { return doc->raw.chunks.len; }
size_t fh_doc_matches_len(fh_doc *doc) { return doc->raw.matches.len; }

fh_doc *fh_doc_chunk(fh_doc *doc, size_t i) {
    return i < doc->raw.chunks.len ? doc->owner->nodes[doc->raw.chunks.ptr[i]] : NULL;
}

fh_doc *fh_doc_match(fh_doc *doc, size_t i) {
    return i < doc->raw.matches.len ? doc->owner->nodes[doc->raw.matches.ptr[i]] : NULL;
}

fh_doc *fh_doc_add_chunk(fh_doc *doc) {
    uint32_t idx;
    fh_doc *c = new_node(doc->owner, &idx);
    fh_doc_set_parent_id(c, fh_doc_id(doc));
    c->raw.granularity.is_some = true;
    c->raw.granularity.val = (doc->raw.granularity.is_some ? doc->raw.granularity.val : 0) + 1;
    list_push(&doc->raw.chunks, idx);
    return c;
}

fh_doc *fh_doc_add_match(fh_doc *doc) {
    uint32_t idx;
    fh_doc *m = new_node(doc->owner, &idx);
    m->raw.adjacency.is_some = true;
    m->raw.adjacency.val = (doc->raw.adjacency.is_some ? doc->raw.adjacency.val : 0) + 1;
    list_push(&doc->raw.matches, idx);
    return m;
}

flowhost_executor_types_document_t *fh_doc_raw(fh_doc *doc) {
    doc->terminated = 0; /* the caller may replace strings */
    return &doc->raw;
}

/* String fields. */

static const char *opt_get(fh_doc *doc, fh_wopt *o, uint8_t bit) {
    if (!o->is_some) return NULL;
    bool t = doc->terminated & bit;
    const char *s = wstr_c(&o->val, &t);
    if (t) doc->terminated |= bit;
    return s;
}

static void opt_put(fh_doc *doc, fh_wopt *o, uint8_t bit, const char *v, size_t n) {
    wopt_set(o, v, n);
    doc->terminated |= bit; /* copies are NUL-terminated */
}

const char *fh_doc_id(fh_doc *doc) {
    bool t = doc->terminated & T_ID;
    const char *s = wstr_c(&doc->raw.id, &t);
    if (t) doc->terminated |= T_ID;
    return s;
}

void fh_doc_set_id(fh_doc *doc, const char *id) {
    wstr_set(&doc->raw.id, id ? id : "", id ? strlen(id) : 0);
    doc->terminated |= T_ID;
}

const char *fh_doc_text(fh_doc *doc) { return opt_get(doc, &doc->raw.text, T_TEXT); }

const char *fh_doc_text_n(fh_doc *doc, size_t *len) {
    const char *s = opt_get(doc, &doc->raw.text, T_TEXT);
    if (len) *len = s ? doc->raw.text.val.len : 0;
    return s;
}

void fh_doc_set_text(fh_doc *doc, const char *text) {
    opt_put(doc, &doc->raw.text, T_TEXT, text, text ? strlen(text) : 0);
}

void fh_doc_set_text_n(fh_doc *doc, const char *text, size_t len) {
    opt_put(doc, &doc->raw.text, T_TEXT, text, len);
}

void fh_doc_set_textf(fh_doc *doc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = vformat(fmt, ap);
    va_end(ap);
    wopt_free(&doc->raw.text);
    doc->raw.text.is_some = true;
    doc->raw.text.val = wstr_from(s);
    doc->terminated |= T_TEXT;
}

#define STRING_FIELD(field, bit)                                               \
    const char *fh_doc_##field(fh_doc *doc) {                                  \
        return opt_get(doc, &doc->raw.field, bit);                             \
    }                                                                          \
    void fh_doc_set_##field(fh_doc *doc, const char *v) {                      \
        opt_put(doc, &doc->raw.field, bit, v, v ? strlen(v) : 0);              \
    }

STRING_FIELD(parent_id, T_PARENT)
STRING_FIELD(uri, T_URI)
STRING_FIELD(mime_type, T_MIME)
STRING_FIELD(modality, T_MODALITY)

const uint8_t *fh_doc_blob(fh_doc *doc, size_t *len) {
    if (!doc->raw.blob.is_some) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = doc->raw.blob.val.len;
    return doc->raw.blob.val.len ? doc->raw.blob.val.ptr : (const uint8_t *)"";
}

void fh_doc_set_blob(fh_doc *doc, const void *data, size_t len) {
    executor_world_option_list_u8_free(&doc->raw.blob);
    doc->raw.blob.is_some = data != NULL;
    doc->raw.blob.val.ptr = NULL;
    doc->raw.blob.val.len = 0;
    if (data && len) {
        doc->raw.blob.val.ptr = xmalloc(len);
        memcpy(doc->raw.blob.val.ptr, data, len);
        doc->raw.blob.val.len = len;
    }
}

bool fh_doc_weight(fh_doc *doc, double *out) {
    if (doc->raw.weight.is_some && out) *out = doc->raw.weight.val;
    return doc->raw.weight.is_some;
}

void fh_doc_set_weight(fh_doc *doc, double weight) {
    doc->raw.weight.is_some = true;
    doc->raw.weight.val = weight;
}

bool fh_doc_granularity(fh_doc *doc, int32_t *out) {
    if (doc->raw.granularity.is_some && out) *out = doc->raw.granularity.val;
    return doc->raw.granularity.is_some;
}

bool fh_doc_adjacency(fh_doc *doc, int32_t *out) {
    if (doc->raw.adjacency.is_some && out) *out = doc->raw.adjacency.val;
    return doc->raw.adjacency.is_some;
}

static flowhost_executor_types_named_score_t *find_score(fh_doc *doc, const char *name) {
    size_t n = strlen(name);
    for (size_t i = 0; i < doc->raw.scores.len; i++) {
        flowhost_executor_types_named_score_t *s = &doc->raw.scores.ptr[i];
        if (s->name.len == n && (n == 0 || memcmp(s->name.ptr, name, n) == 0)) return s;
    }
    return NULL;
}

bool fh_doc_score(fh_doc *doc, const char *name, double *out) {
    flowhost_executor_types_named_score_t *s = find_score(doc, name);
    if (s && out) *out = s->value;
    return s != NULL;
}

void fh_doc_set_score(fh_doc *doc, const char *name, double value) {
    flowhost_executor_types_named_score_t *s = find_score(doc, name);
    if (!s) {
        flowhost_executor_types_list_named_score_t *l = &doc->raw.scores;
        l->ptr = xrealloc(l->len ? l->ptr : NULL, (l->len + 1) * sizeof *l->ptr);
        s = &l->ptr[l->len++];
        memset(s, 0, sizeof *s);
        wstr_set(&s->name, name, strlen(name));
    }
    s->value = value;
}

/* Tags. */

static void parse_tags(fh_doc *doc) {
    if (doc->tags_state) return;
    doc->tags_state = 1;
    if (!doc->raw.tags.is_some) return;
    cJSON *t = fh_json_parse((const char *)doc->raw.tags.val.ptr, doc->raw.tags.val.len);
    if (cJSON_IsObject(t)) {
        doc->tags = t;
    } else {
        cJSON_Delete(t);
        doc->tags_state = 2;
    }
}

const cJSON *fh_doc_tags(fh_doc *doc) {
    parse_tags(doc);
    return doc->tags;
}

cJSON *fh_doc_tags_mut(fh_doc *doc) {
    parse_tags(doc);
    if (doc->tags_state == 2) {
        fh_error("ValueError", "the tags of document %s are not a JSON object", fh_doc_id(doc));
        return NULL;
    }
    if (!doc->tags) doc->tags = cJSON_CreateObject();
    doc->tags_dirty = true;
    return doc->tags;
}

fh_status fh_doc_set_tag(fh_doc *doc, const char *key, cJSON *value) {
    cJSON *tags = fh_doc_tags_mut(doc);
    if (!tags) {
        cJSON_Delete(value);
        return FH_ERR;
    }
    object_put(tags, key, value ? value : cJSON_CreateNull());
    return FH_OK;
}

/* Tensors. */

size_t fh_dtype_size(fh_dtype dtype) {
    switch (dtype) {
    case FH_INT8: case FH_UINT8: case FH_BOOLEAN: return 1;
    case FH_FLOAT16: case FH_INT16: case FH_UINT16: return 2;
    case FH_FLOAT32: case FH_INT32: case FH_UINT32: return 4;
    case FH_FLOAT64: case FH_INT64: case FH_UINT64: return 8;
    default: return 0;
    }
}

const char *fh_dtype_name(fh_dtype dtype) {
    static const char *names[] = {"float16", "float32", "float64", "int8",   "int16",  "int32",
                                  "int64",   "uint8",   "uint16",  "uint32", "uint64", "bool"};
    return dtype < sizeof names / sizeof names[0] ? names[dtype] : "unknown";
}

size_t fh_tensor_ndim(const fh_tensor *t) { return t->shape.len; }
const uint32_t *fh_tensor_shape(const fh_tensor *t) { return t->shape.len ? t->shape.ptr : NULL; }

static bool numel_of(const uint32_t *shape, size_t ndim, size_t *out) {
    size_t n = 1;
    for (size_t i = 0; i < ndim; i++) {
        if (shape[i] && n > SIZE_MAX / shape[i]) return false;
        n *= shape[i];
    }
    *out = n;
    return true;
}

size_t fh_tensor_numel(const fh_tensor *t) {
    size_t n = 0;
    return numel_of(t->shape.ptr, t->shape.len, &n) ? n : 0;
}

static void *typed(fh_tensor *t, fh_dtype dtype, size_t *n) {
    static uint64_t empty; /* an aligned address for zero elements */
    size_t count = fh_tensor_numel(t);
    if (n) *n = 0;
    if (t->dtype != dtype || t->data.len != count * fh_dtype_size(dtype)) return NULL;
    if (n) *n = count;
    return count ? (void *)t->data.ptr : (void *)&empty;
}

float *fh_tensor_f32(fh_tensor *t, size_t *n) { return typed(t, FH_FLOAT32, n); }
double *fh_tensor_f64(fh_tensor *t, size_t *n) { return typed(t, FH_FLOAT64, n); }
int32_t *fh_tensor_i32(fh_tensor *t, size_t *n) { return typed(t, FH_INT32, n); }
int64_t *fh_tensor_i64(fh_tensor *t, size_t *n) { return typed(t, FH_INT64, n); }

static double half_to_double(uint16_t h) {
    int exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    double v;
    if (exp == 0)
        v = ldexp(mant, -24);
    else if (exp == 31)
        v = mant ? NAN : INFINITY;
    else
        v = ldexp(mant + 1024, exp - 25);
    return (h & 0x8000) ? -v : v;
}

double fh_tensor_get(const fh_tensor *t, size_t i) {
    size_t size = fh_dtype_size(t->dtype);
    if (!size || (i + 1) * size > t->data.len) return 0;
    const uint8_t *p = t->data.ptr + i * size;
    union {
        uint8_t b[8];
        float f32;
        double f64;
        int8_t i8;
        int16_t i16;
        int32_t i32;
        int64_t i64;
        uint16_t u16;
        uint32_t u32;
        uint64_t u64;
    } u;
    memcpy(u.b, p, size);
    switch (t->dtype) {
    case FH_FLOAT16: return half_to_double(u.u16);
    case FH_FLOAT32: return u.f32;
    case FH_FLOAT64: return u.f64;
    case FH_INT8: return u.i8;
    case FH_INT16: return u.i16;
    case FH_INT32: return u.i32;
    case FH_INT64: return (double)u.i64;
    case FH_UINT8: return u.b[0];
    case FH_UINT16: return u.u16;
    case FH_UINT32: return u.u32;
    case FH_UINT64: return (double)u.u64;
    case FH_BOOLEAN: return u.b[0] != 0;
    default: return 0;
    }
}

static bool set_tensor(flowhost_executor_types_option_tensor_t *o, fh_dtype dtype,
                       const uint32_t *shape, size_t ndim, const void *data, size_t nbytes) {
    size_t count;
    size_t size = fh_dtype_size(dtype);
    if (!size || (ndim && !shape) || !numel_of(shape, ndim, &count) ||
        count > SIZE_MAX / size || count * size != nbytes || (nbytes && !data))
        return false;
    flowhost_executor_types_option_tensor_free(o);
    memset(o, 0, sizeof *o);
    o->is_some = true;
    o->val.dtype = dtype;
    if (ndim) {
        o->val.shape.ptr = xmalloc(ndim * sizeof(uint32_t));
        memcpy(o->val.shape.ptr, shape, ndim * sizeof(uint32_t));
        o->val.shape.len = ndim;
    }
    if (nbytes) {
        o->val.data.ptr = xmalloc(nbytes);
        memcpy(o->val.data.ptr, data, nbytes);
        o->val.data.len = nbytes;
    }
    return true;
}

fh_tensor *fh_doc_embedding(fh_doc *doc) {
    return doc->raw.embedding.is_some ? &doc->raw.embedding.val : NULL;
}

fh_tensor *fh_doc_tensor(fh_doc *doc) {
    return doc->raw.tensor.is_some ? &doc->raw.tensor.val : NULL;
}

bool fh_doc_set_embedding(fh_doc *doc, fh_dtype dtype, const uint32_t *shape, size_t ndim,
                          const void *data, size_t nbytes) {
    return set_tensor(&doc->raw.embedding, dtype, shape, ndim, data, nbytes);
}

static bool f32_bytes(const uint32_t *shape, size_t ndim, size_t *nbytes) {
    size_t count;
    if ((ndim && !shape) || !numel_of(shape, ndim, &count) || count > SIZE_MAX / 4) return false;
    *nbytes = count * 4;
    return true;
}

bool fh_doc_set_embedding_f32(fh_doc *doc, const float *values, const uint32_t *shape,
                              size_t ndim) {
    size_t nbytes;
    return f32_bytes(shape, ndim, &nbytes) &&
           set_tensor(&doc->raw.embedding, FH_FLOAT32, shape, ndim, values, nbytes);
}

bool fh_doc_set_embedding_vec(fh_doc *doc, const float *values, uint32_t len) {
    return fh_doc_set_embedding_f32(doc, values, &len, 1);
}

void fh_doc_clear_embedding(fh_doc *doc) {
    flowhost_executor_types_option_tensor_free(&doc->raw.embedding);
    memset(&doc->raw.embedding, 0, sizeof doc->raw.embedding);
}

bool fh_doc_set_tensor(fh_doc *doc, fh_dtype dtype, const uint32_t *shape, size_t ndim,
                       const void *data, size_t nbytes) {
    return set_tensor(&doc->raw.tensor, dtype, shape, ndim, data, nbytes);
}

bool fh_doc_set_tensor_f32(fh_doc *doc, const float *values, const uint32_t *shape,
                           size_t ndim) {
    size_t nbytes;
    return f32_bytes(shape, ndim, &nbytes) &&
           set_tensor(&doc->raw.tensor, FH_FLOAT32, shape, ndim, values, nbytes);
}

void fh_doc_clear_tensor(fh_doc *doc) {
    flowhost_executor_types_option_tensor_free(&doc->raw.tensor);
    memset(&doc->raw.tensor, 0, sizeof doc->raw.tensor);
}

/* Turns the documents back into a WIT batch (moving every record), keeping
 * the received order of the nodes and dropping those no longer reachable.
 * Records an error and returns false if the tree was broken through
 * fh_doc_raw. Frees the fh_docs either way. */
static bool encode(fh_docs *docs, fh_wbatch *out) {
    if (!docs->decoded) {
        *out = docs->raw;
        memset(&docs->raw, 0, sizeof docs->raw);
        return true;
    }
    size_t n = docs->len;
    for (size_t i = 0; i < n; i++) docs->nodes[i]->mark = UINT32_MAX;
    /* Reachability, reusing `mark`: 0 = reached. */
    uint32_t *stack = xmalloc((n + 1) * sizeof(uint32_t));
    size_t top = 0;
    bool ok = true;
    for (size_t r = 0; r < docs->nroots && ok; r++) {
        uint32_t idx = docs->roots[r];
        if (idx >= n || docs->nodes[idx]->mark == 0) {
            ok = false;
            break;
        }
        docs->nodes[idx]->mark = 0;
        stack[top++] = idx;
        while (top && ok) {
            fh_doc *d = docs->nodes[stack[--top]];
            const executor_world_list_u32_t *lists[2] = {&d->raw.chunks, &d->raw.matches};
            for (int l = 0; l < 2 && ok; l++)
                for (size_t j = 0; j < lists[l]->len && ok; j++) {
                    uint32_t c = lists[l]->ptr[j];
                    if (c >= n || docs->nodes[c]->mark == 0) {
                        ok = false;
                    } else {
                        docs->nodes[c]->mark = 0;
                        stack[top++] = c;
                    }
                }
        }
    }
    free(stack);
    if (!ok) {
        pending_set("InvalidDocumentBatch",
                    format("the executor broke the document tree (an index out of range or a "
                           "document reached twice)"),
                    NULL);
        docs_free(docs);
        return false;
    }
    uint32_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (docs->nodes[i]->mark == 0) docs->nodes[i]->mark = k++;
    fh_wdoc *nodes = k ? xmalloc(k * sizeof(fh_wdoc)) : NULL;
    for (size_t i = 0; i < n; i++) {
        fh_doc *d = docs->nodes[i];
        if (d->mark == UINT32_MAX) continue;
        if (d->tags_dirty && d->tags) {
            wopt_free(&d->raw.tags);
            d->raw.tags.is_some = true;
            d->raw.tags.val = wstr_from(fh_json_print(d->tags));
        }
        for (size_t j = 0; j < d->raw.chunks.len; j++)
            d->raw.chunks.ptr[j] = docs->nodes[d->raw.chunks.ptr[j]]->mark;
        for (size_t j = 0; j < d->raw.matches.len; j++)
            d->raw.matches.ptr[j] = docs->nodes[d->raw.matches.ptr[j]]->mark;
        nodes[d->mark] = d->raw;
    }
    for (size_t r = 0; r < docs->nroots; r++) docs->roots[r] = docs->nodes[docs->roots[r]]->mark;
    out->nodes.ptr = nodes;
    out->nodes.len = k;
    out->roots.ptr = docs->nroots ? docs->roots : NULL;
    out->roots.len = docs->nroots;
    if (!docs->nroots) free(docs->roots);
    /* Free what was not moved out. */
    for (size_t i = 0; i < n; i++) {
        fh_doc *d = docs->nodes[i];
        if (d->mark == UINT32_MAX) flowhost_executor_types_document_free(&d->raw);
        cJSON_Delete(d->tags);
        if (!d->in_block) free(d);
    }
    free(docs->block);
    free(docs->nodes);
    memset(docs, 0, sizeof *docs);
    return true;
}

/* ------------------------------------------------------------------------ */
/* The WIT exports                                                          */
/* ------------------------------------------------------------------------ */

static bool initialized;
static fh_metas metas;
static cJSON *uses_with;

const fh_metas *fh_get_metas(void) { return &metas; }
const cJSON *fh_get_uses_with(void) { return uses_with; }

static char *opt_dup(const fh_wopt *o) { return o->is_some ? wstr_dup(&o->val) : NULL; }

static void flush_output(void) {
    fflush(stdout);
    fflush(stderr);
}

bool exports_flowhost_executor_executor_init(executor_world_string_t *uses_with_text,
                                             exports_flowhost_executor_executor_metas_t *m,
                                             fh_werror *err) {
    pending_clear();
    if (initialized) {
        executor_world_string_free(uses_with_text);
        exports_flowhost_executor_executor_metas_free(m);
        pending_set("AlreadyInitialized", format("init was called twice"), NULL);
        pending_to_wit(err, "init");
        return false;
    }
    metas.name = wstr_dup(&m->name);
    metas.description = opt_dup(&m->description);
    metas.workspace = opt_dup(&m->workspace);
    metas.replica_id = m->replica_id;
    metas.shard_id = m->shard_id;
    metas.shards = m->shards;
    metas.replicas = m->replicas;
    exports_flowhost_executor_executor_metas_free(m);

    uses_with = parse_object(uses_with_text, "uses_with");
    executor_world_string_free(uses_with_text);
    if (!uses_with) {
        pending_to_wit(err, "init");
        return false;
    }
    fh_status st = FH_OK;
    if (fh_executor_definition.init) st = fh_executor_definition.init(uses_with, &metas);
    flush_output();
    if (st == FH_ERR) {
        pending_to_wit(err, "init");
        return false;
    }
    pending_clear();
    initialized = true;
    return true;
}

void exports_flowhost_executor_executor_describe(
    exports_flowhost_executor_executor_description_t *ret) {
    const fh_executor *def = &fh_executor_definition;
    exports_flowhost_executor_executor_method_info_t *infos =
        xmalloc((def->count ? def->count : 1) * sizeof *infos);
    size_t ninfos = 0;
    memset(ret, 0, sizeof *ret);
    for (size_t i = 0; i < def->count; i++) {
        const fh_method *row = &def->methods[i];
        if (!row->name) continue;
        exports_flowhost_executor_executor_method_info_t *info = NULL;
        for (size_t j = 0; j < ninfos; j++)
            if (infos[j].name.len == strlen(row->name) &&
                memcmp(infos[j].name.ptr, row->name, infos[j].name.len) == 0)
                info = &infos[j];
        if (!info) {
            info = &infos[ninfos++];
            memset(info, 0, sizeof *info);
            wstr_set(&info->name, row->name, strlen(row->name));
        }
        if (row->endpoint == FH_CATCH_ALL) {
            if (!ret->catch_all.is_some) {
                ret->catch_all.is_some = true;
                wstr_set(&ret->catch_all.val, row->name, strlen(row->name));
            }
        } else if (row->endpoint[0]) {
            executor_world_list_string_t *eps = &info->endpoints;
            eps->ptr = xrealloc(eps->len ? eps->ptr : NULL, (eps->len + 1) * sizeof *eps->ptr);
            eps->ptr[eps->len] = (fh_wstr){NULL, 0};
            wstr_set(&eps->ptr[eps->len], row->endpoint, strlen(row->endpoint));
            eps->len++;
        }
    }
    if (ninfos) {
        ret->methods.ptr = infos;
        ret->methods.len = ninfos;
    } else {
        free(infos);
    }
}

bool exports_flowhost_executor_executor_call(
    executor_world_string_t *method, executor_world_string_t *endpoint,
    exports_flowhost_executor_executor_document_batch_t *batch,
    executor_world_string_t *parameters, exports_flowhost_executor_executor_output_t *ret,
    fh_werror *err) {
    pending_clear();
    char *method_name = wstr_dup(method);
    char *endpoint_name = wstr_dup(endpoint);
    executor_world_string_free(method);
    executor_world_string_free(endpoint);
    fh_docs docs;
    memset(&docs, 0, sizeof docs);
    docs.raw = *batch;
    memset(batch, 0, sizeof *batch);
    cJSON *params = NULL;
    fh_status st = FH_ERR;

    const fh_method *row = NULL;
    if (!initialized) {
        pending_set("NotInitialized", format("call before init"), NULL);
        goto done;
    }
    params = parse_object(parameters, "parameters");
    if (!params) goto done;
    if (!batch_valid(docs.raw.nodes.ptr, docs.raw.nodes.len, docs.raw.roots.ptr,
                     docs.raw.roots.len))
        goto done;
    for (size_t i = 0; i < fh_executor_definition.count && !row; i++) {
        const fh_method *r = &fh_executor_definition.methods[i];
        if (r->name && r->fn && strcmp(r->name, method_name) == 0) row = r;
    }
    if (!row) {
        pending_set("UnknownMethod",
                    format("executor \"%s\" has no method \"%s\"", metas.name, method_name),
                    NULL);
        goto done;
    }
    fh_request req = {method_name, endpoint_name, params, &metas};
    st = row->fn(&docs, &req);
    flush_output();
    if (st == FH_UNCHANGED) {
        ret->tag = EXPORTS_FLOWHOST_EXECUTOR_EXECUTOR_OUTPUT_UNCHANGED;
    } else if (st != FH_ERR) {
        ret->tag = EXPORTS_FLOWHOST_EXECUTOR_EXECUTOR_OUTPUT_DOCS;
        memset(&ret->val.docs, 0, sizeof ret->val.docs);
        if (!encode(&docs, &ret->val.docs)) st = FH_ERR;
    }

done:
    executor_world_string_free(parameters);
    docs_free(&docs);
    cJSON_Delete(params);
    free(method_name);
    free(endpoint_name);
    if (st == FH_ERR) {
        pending_to_wit(err, row ? row->name : "call");
        return false;
    }
    pending_clear();
    return true;
}
