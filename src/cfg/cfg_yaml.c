/*
 * DESIGN: the syntax pass of the configuration engine. libyaml's event API
 * feeds an explicit stack (no recursion, so nesting depth costs no C stack)
 * that builds a tree of cfg_nodes with 1-based positions, allocated in an
 * arena that the caller frees at once. Children are gathered in a growable
 * vector per open container and copied into the arena when it closes.
 *
 * The tree is untyped: the schema pass decides what each scalar means.
 * Aliases are rejected rather than expanded, which makes the tree exactly
 * as large as the text and rules out "billion laughs" inputs; anchors alone
 * are harmless and ignored. Depth is capped at CFG_DEPTH_MAX, and only one
 * document is accepted. Thread: any (no shared state).
 */
#include "cfg_int.h"

#include "err.h"
#include "mem.h"

#include <limits.h>
#include <stdalign.h>
#include <stddef.h>
#include <string.h>
#include <yaml.h>

/* ---- arena ---- */

struct cfg_arena_chunk {
    cfg_arena_chunk *next;
    alignas(max_align_t) unsigned char bytes[];
};

#define ARENA_CHUNK_SIZE 8192

void cfg_arena_init(cfg_arena *a)
{
    memset(a, 0, sizeof(*a));
}

void cfg_arena_release(cfg_arena *a)
{
    cfg_arena_chunk *c = a->head;
    while (c) {
        cfg_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    memset(a, 0, sizeof(*a));
}

void *cfg_arena_alloc(cfg_arena *a, size_t size)
{
    const size_t align = alignof(max_align_t);
    size = (size + align - 1) / align * align;
    if (size == 0)
        size = align;
    if (!a->head || a->cap - a->used < size) {
        /* Big requests get a chunk of their own behind the current one, so
         * the free space left in the current chunk is not wasted. */
        size_t cap = size > ARENA_CHUNK_SIZE / 4 ? size : ARENA_CHUNK_SIZE;
        cfg_arena_chunk *c = horus_malloc(sizeof(*c) + cap);
        if (cap != ARENA_CHUNK_SIZE && a->head) {
            c->next = a->head->next;
            a->head->next = c;
            memset(c->bytes, 0, size);
            return c->bytes;
        }
        c->next = a->head;
        a->head = c;
        a->used = 0;
        a->cap = cap;
    }
    void *p = a->head->bytes + a->used;
    a->used += size;
    memset(p, 0, size);
    return p;
}

char *cfg_arena_strndup(cfg_arena *a, const char *s, size_t len)
{
    char *d = cfg_arena_alloc(a, len + 1);
    if (len)
        memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

/* ---- node tree ---- */

bool cfg_node_is_null(const cfg_node *n)
{
    if (!n)
        return true;
    if (n->kind != CFG_NODE_SCALAR || !n->is_plain)
        return false;
    return n->len == 0 || strcmp(n->text, "~") == 0 || strcmp(n->text, "null") == 0 ||
           strcmp(n->text, "Null") == 0 || strcmp(n->text, "NULL") == 0;
}

const char *cfg_node_kind_name(const cfg_node *n)
{
    if (!n)
        return "nothing";
    switch (n->kind) {
    case CFG_NODE_MAP:
        return "a mapping";
    case CFG_NODE_SEQ:
        return "a list";
    case CFG_NODE_SCALAR:
        break;
    }
    return cfg_node_is_null(n) ? "an empty value" : "a value";
}

/* One open mapping or sequence and the children gathered so far. */
struct frame {
    cfg_node *node;
    cfg_node **kids; /* owned until the container closes */
    size_t n, cap;
};

struct builder {
    const char *text;
    size_t len;
    cfg_arena *arena;
    cfg_errors *errs;
    struct frame stack[CFG_DEPTH_MAX + 1];
    size_t depth;
    cfg_node *root;
    int n_docs;
};

/* Positions are 1-based ints; the text is at most CFG_TEXT_MAX bytes, so they fit. */
static int mark_line(const yaml_mark_t *m)
{
    return (int)(m->line < (size_t)INT_MAX - 1 ? m->line + 1 : INT_MAX);
}

static int mark_col(const yaml_mark_t *m)
{
    return (int)(m->column < (size_t)INT_MAX - 1 ? m->column + 1 : INT_MAX);
}

static cfg_node *node_new(struct builder *b, enum cfg_node_kind kind, const yaml_mark_t *mark)
{
    cfg_node *n = cfg_arena_alloc(b->arena, sizeof(*n));
    n->kind = kind;
    n->line = mark_line(mark);
    n->col = mark_col(mark);
    return n;
}

static void frame_push_kid(struct frame *f, cfg_node *kid)
{
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 8;
        f->kids = horus_realloc(f->kids, f->cap * sizeof(*f->kids));
    }
    f->kids[f->n++] = kid;
}

/* Hangs a finished node under the open container, or makes it the root. */
static void attach(struct builder *b, cfg_node *n)
{
    if (b->depth == 0)
        b->root = n;
    else
        frame_push_kid(&b->stack[b->depth - 1], n);
}

static int open_container(struct builder *b, enum cfg_node_kind kind, const yaml_mark_t *mark)
{
    cfg_node *n = node_new(b, kind, mark);
    if (b->depth >= CFG_DEPTH_MAX) {
        cfg_errors_add(b->errs, n->line, n->col, NULL, "nesting deeper than %d levels",
                       CFG_DEPTH_MAX);
        return HORUS_EPARSE;
    }
    attach(b, n);
    struct frame *f = &b->stack[b->depth++];
    memset(f, 0, sizeof(*f));
    f->node = n;
    return 0;
}

static void close_container(struct builder *b)
{
    struct frame *f = &b->stack[--b->depth];
    cfg_node *n = f->node;
    if (f->n) {
        n->items = cfg_arena_alloc(b->arena, f->n * sizeof(*n->items));
        memcpy(n->items, f->kids, f->n * sizeof(*n->items));
    }
    /* libyaml guarantees that a mapping closes after an even number of nodes. */
    n->n_items = n->kind == CFG_NODE_MAP ? f->n / 2 : f->n;
    free(f->kids);
    f->kids = NULL;
}

/* Line and column of a byte offset, for reader errors that carry no mark. */
static void offset_position(const char *text, size_t len, size_t offset, int *line, int *col)
{
    if (offset > len)
        offset = len;
    int l = 1, c = 1;
    for (size_t i = 0; i < offset; i++) {
        if (text[i] == '\n') {
            l++;
            c = 1;
        } else {
            c++;
        }
    }
    *line = l;
    *col = c;
}

static void syntax_error(struct builder *b, const yaml_parser_t *p)
{
    const char *problem = p->problem ? p->problem : "invalid YAML";
    int line, col;
    if (p->error == YAML_READER_ERROR) {
        offset_position(b->text, b->len, p->problem_offset, &line, &col);
        if (p->problem_value != -1)
            cfg_errors_add(b->errs, line, col, NULL, "%s (byte 0x%02x)", problem,
                           (unsigned)p->problem_value & 0xffu);
        else
            cfg_errors_add(b->errs, line, col, NULL, "%s", problem);
        return;
    }
    line = mark_line(&p->problem_mark);
    col = mark_col(&p->problem_mark);
    if (p->context)
        cfg_errors_add(b->errs, line, col, NULL, "%s (%s at line %d, column %d)", problem,
                       p->context, mark_line(&p->context_mark), mark_col(&p->context_mark));
    else
        cfg_errors_add(b->errs, line, col, NULL, "%s", problem);
}

/* Handles one event. Returns 0, 1 at the end of the stream, or HORUS_EPARSE. */
static int on_event(struct builder *b, const yaml_event_t *ev)
{
    const yaml_mark_t *mark = &ev->start_mark;
    switch (ev->type) {
    case YAML_STREAM_END_EVENT:
        return 1;
    case YAML_DOCUMENT_START_EVENT:
        if (++b->n_docs > 1) {
            cfg_errors_add(b->errs, mark_line(mark), mark_col(mark), NULL,
                           "only one YAML document is allowed");
            return HORUS_EPARSE;
        }
        return 0;
    case YAML_ALIAS_EVENT:
        cfg_errors_add(b->errs, mark_line(mark), mark_col(mark), NULL,
                       "aliases ('*%.64s') are not supported", (const char *)ev->data.alias.anchor);
        return HORUS_EPARSE;
    case YAML_SCALAR_EVENT: {
        cfg_node *n = node_new(b, CFG_NODE_SCALAR, mark);
        n->len = ev->data.scalar.length;
        n->text = cfg_arena_strndup(b->arena, (const char *)ev->data.scalar.value, n->len);
        n->is_plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        attach(b, n);
        return 0;
    }
    case YAML_MAPPING_START_EVENT:
        return open_container(b, CFG_NODE_MAP, mark);
    case YAML_SEQUENCE_START_EVENT:
        return open_container(b, CFG_NODE_SEQ, mark);
    case YAML_MAPPING_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
        if (b->depth > 0)
            close_container(b);
        return 0;
    case YAML_NO_EVENT:
    case YAML_STREAM_START_EVENT:
    case YAML_DOCUMENT_END_EVENT:
        return 0;
    }
    return 0;
}

int cfg_yaml_parse(const char *text, size_t len, cfg_arena *arena, cfg_node **root,
                   cfg_errors *errs)
{
    struct builder b = {.text = text, .len = len, .arena = arena, .errs = errs};
    yaml_parser_t parser;
    *root = NULL;
    if (len > CFG_TEXT_MAX) {
        cfg_errors_add(errs, 0, 0, NULL, "larger than %u bytes", (unsigned)CFG_TEXT_MAX);
        return HORUS_ETOOBIG;
    }
    if (!yaml_parser_initialize(&parser))
        HORUS_BUG("yaml_parser_initialize: out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);

    int rc = 0;
    while (rc == 0) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            if (parser.error == YAML_MEMORY_ERROR)
                HORUS_BUG("libyaml: out of memory");
            syntax_error(&b, &parser);
            rc = HORUS_EPARSE;
            break;
        }
        rc = on_event(&b, &ev);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);

    while (b.depth > 0)
        free(b.stack[--b.depth].kids);
    if (rc < 0)
        return rc;
    *root = b.root;
    return 0;
}
