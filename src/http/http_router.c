/*
 * DESIGN: the request router, kept apart from the server so it can be
 * tested without sockets.
 *
 * Templates are stored as a tree of path segments. A node has literal
 * children (matched byte for byte against the raw, still percent-encoded
 * segment), at most one parameter child ("{name}", any non-empty segment),
 * and the routes that end at it. Parameter names live on the route, not on
 * the node, so "/cameras/{id}" and "/cameras/{cam}/x" can share a node.
 *
 * Matching is a depth-first walk that tries literals before the parameter
 * and backtracks, so a literal wins wherever both could match and a dead
 * literal branch does not hide a parameter route. The first terminal node
 * (in that order) with the method wins; when terminal nodes match the path
 * but none has the method, the methods they do have form the Allow header.
 * Only the winning route's parameters are percent-decoded, into storage
 * inside the match, so matching never allocates.
 *
 * The router also carries the error mapper of the server it serves (the
 * application's code -> status map), so two servers in one process can
 * map errors differently; it is the one field that may change while
 * requests run, hence atomic.
 *
 * Catch-all routes ("/{path}", http_router_add_catch_all) live beside the
 * tree, not in it: they answer only paths that no template matches at all
 * (a path a template matches with another method is still 405) and that
 * lie under no reserved prefix ("/api"), so adding an API route can never
 * be shadowed by them and a mistyped API path stays a JSON 404.
 *
 * Invariants: the routes are read-only once shared between threads (they
 * are added during setup); path segments are never NUL-terminated in place
 * (the path is const), they are (pointer, length) pairs.
 */
#include "err.h"
#include "hex.h"
#include "http.h"
#include "mem.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_SEGMENTS 64 /* deeper paths cannot match any template */
#define MAX_METHOD_LEN 16

struct route {
    char *method; /* owned */
    char *tmpl; /* owned */
    http_handler_cb cb;
    void *arg;
    unsigned nparams;
    char *names[HTTP_MAX_PARAMS]; /* owned, in path order */
    enum http_limit_class limit_class;
    bool media_lane; /* also served on a media-only listener */
    char *body_types; /* owned; NULL = application/json */
    size_t max_body_bytes; /* 0 = the server's limit */
    bool is_catch_all; /* not in the tree: answers paths no template matches */
};

struct node {
    char *literal; /* owned; NULL for a parameter node and the root */
    size_t literal_len;
    struct node **kids; /* owned: literal children */
    size_t nkids;
    struct node *param; /* owned: the "{...}" child */
    size_t *routes; /* owned: indexes into http_router.routes ending here */
    size_t nroutes;
};

typedef struct http_error_map (*error_map_fn)(int rc);

struct http_router {
    _Atomic(error_map_fn) error_mapper; /* NULL: every error is 500 "internal" */
    _Atomic(http_gate_cb) gate; /* NULL: every route runs its handler */
    void *gate_arg; /* written before gate (release), read after it (acquire) */
    struct node root;
    struct route *routes; /* owned, registration order */
    size_t nroutes;
    size_t cap;
    char **reserved; /* owned: prefixes the catch-all routes never answer */
    size_t nreserved;
};

struct segment {
    const char *p;
    size_t len;
};

/* What the walk is looking for and what it found. */
struct walk {
    const struct http_router *r;
    const char *method;
    const struct segment *segs;
    size_t nsegs;
    size_t param_segs[HTTP_MAX_PARAMS]; /* segment index of each parameter on the current branch */
    unsigned depth_params;
    const struct route *found;
    size_t found_index;
    size_t found_param_segs[HTTP_MAX_PARAMS];
    bool path_matched;
    const char *allow[16]; /* methods seen on path-matching nodes, deduplicated */
    unsigned nallow;
};

static void node_release(struct node *n)
{
    for (size_t i = 0; i < n->nkids; i++) {
        node_release(n->kids[i]);
        free(n->kids[i]);
    }
    free(n->kids);
    if (n->param) {
        node_release(n->param);
        free(n->param);
    }
    free(n->routes);
    free(n->literal);
}

http_router *http_router_new(void)
{
    return horus_calloc(1, sizeof(http_router));
}

void http_router_set_error_mapper(http_router *r, struct http_error_map (*map_cb)(int rc))
{
    atomic_store_explicit(&r->error_mapper, map_cb, memory_order_release);
}

void http_router_set_gate(http_router *r, http_gate_cb gate, void *arg)
{
    r->gate_arg = arg;
    atomic_store_explicit(&r->gate, gate, memory_order_release);
}

int http_router_gate(const http_router *r, http_request *req, size_t route_index)
{
    http_gate_cb gate = atomic_load_explicit(&((http_router *)r)->gate, memory_order_acquire);
    if (!gate)
        return 0;
    int rc = gate(req, route_index, r->gate_arg);
    return rc == 0 ? 0 : (rc < 0 ? rc : HORUS_EAUTH);
}

struct http_error_map http_router_map_error(const http_router *r, int rc)
{
    error_map_fn fn = atomic_load_explicit(&((http_router *)r)->error_mapper, memory_order_acquire);
    if (!fn)
        return (struct http_error_map){.status = 500, .code = "internal"};
    struct http_error_map m = fn(rc);
    if (m.status < 100 || m.status > 599 || !m.code)
        return (struct http_error_map){.status = 500, .code = "internal"};
    return m;
}

void http_router_free(http_router *r)
{
    if (!r)
        return;
    node_release(&r->root);
    for (size_t i = 0; i < r->nroutes; i++) {
        struct route *rt = &r->routes[i];
        free(rt->method);
        free(rt->tmpl);
        free(rt->body_types);
        for (unsigned j = 0; j < rt->nparams; j++)
            free(rt->names[j]);
    }
    free(r->routes);
    for (size_t i = 0; i < r->nreserved; i++)
        free(r->reserved[i]);
    free(r->reserved);
    free(r);
}

static bool method_is_valid(const char *method)
{
    size_t n = strlen(method);
    if (n == 0 || n >= MAX_METHOD_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (method[i] < 'A' || method[i] > 'Z')
            return false;
    return true;
}

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static bool is_dot_segment(const char *p, size_t len)
{
    return (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.');
}

/*
 * Splits a template or path after its leading '/' into segments. "/" has
 * none. Returns the count, or -1 when there are more than max or one is
 * empty (and allow_empty is false).
 */
static int split_segments(const char *s, size_t len, struct segment *out, size_t max,
                          bool allow_empty)
{
    if (len == 1)
        return 0;
    size_t n = 0;
    const char *p = s + 1;
    const char *end = s + len;
    for (;;) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        const char *seg_end = slash ? slash : end;
        if (seg_end == p && !allow_empty)
            return -1;
        if (n == max)
            return -1;
        out[n].p = p;
        out[n].len = (size_t)(seg_end - p);
        n++;
        if (!slash)
            break;
        p = slash + 1;
    }
    return (int)n;
}

/* Checks one template segment; sets *is_param and the name for "{name}". */
static int parse_tmpl_segment(const struct segment *sg, bool *is_param)
{
    const char *p = sg->p;
    size_t len = sg->len;
    if (is_dot_segment(p, len))
        return -EINVAL;
    if (p[0] == '{') {
        if (len < 3 || p[len - 1] != '}')
            return -EINVAL;
        for (size_t i = 1; i + 1 < len; i++)
            if (!is_name_char(p[i]))
                return -EINVAL;
        *is_param = true;
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c <= ' ' || c == 0x7f || c == '{' || c == '}' || c == '%' || c == '?' || c == '#')
            return -EINVAL;
    }
    *is_param = false;
    return 0;
}

static struct node *node_child(struct node *n, const struct segment *sg, bool is_param)
{
    if (is_param) {
        if (!n->param)
            n->param = horus_calloc(1, sizeof(struct node));
        return n->param;
    }
    for (size_t i = 0; i < n->nkids; i++)
        if (n->kids[i]->literal_len == sg->len && memcmp(n->kids[i]->literal, sg->p, sg->len) == 0)
            return n->kids[i];
    struct node *kid = horus_calloc(1, sizeof(*kid));
    kid->literal = horus_strndup(sg->p, sg->len);
    kid->literal_len = sg->len;
    n->kids = horus_realloc(n->kids, (n->nkids + 1) * sizeof(*n->kids));
    n->kids[n->nkids++] = kid;
    return kid;
}

static void route_push(http_router *r, const struct route *rt)
{
    if (r->nroutes == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->routes = horus_realloc(r->routes, r->cap * sizeof(*r->routes));
    }
    r->routes[r->nroutes++] = *rt;
}

int http_router_add(http_router *r, const char *method, const char *tmpl, http_handler_cb cb,
                    void *arg)
{
    if (!method || !tmpl || !cb || !method_is_valid(method))
        return -EINVAL;
    size_t len = strlen(tmpl);
    if (len == 0 || len > HTTP_MAX_PATH || tmpl[0] != '/')
        return -EINVAL;
    struct segment segs[MAX_SEGMENTS];
    int nsegs = split_segments(tmpl, len, segs, MAX_SEGMENTS, false);
    if (nsegs < 0)
        return -EINVAL;

    /* Validate everything before touching the tree, so a failure leaves no trace. */
    struct route rt = {.cb = cb, .arg = arg};
    struct segment names[HTTP_MAX_PARAMS];
    bool is_param[MAX_SEGMENTS];
    for (int i = 0; i < nsegs; i++) {
        int rc = parse_tmpl_segment(&segs[i], &is_param[i]);
        if (rc < 0)
            return rc;
        if (!is_param[i])
            continue;
        if (rt.nparams == HTTP_MAX_PARAMS)
            return -EINVAL;
        struct segment name = {segs[i].p + 1, segs[i].len - 2};
        for (unsigned j = 0; j < rt.nparams; j++)
            if (names[j].len == name.len && memcmp(names[j].p, name.p, name.len) == 0)
                return -EINVAL;
        names[rt.nparams++] = name;
    }

    /* Find the end node without creating it, to report -EEXIST cleanly. */
    const struct node *probe = &r->root;
    for (int i = 0; i < nsegs && probe; i++) {
        const struct node *next = NULL;
        if (is_param[i]) {
            next = probe->param;
        } else {
            for (size_t k = 0; k < probe->nkids; k++)
                if (probe->kids[k]->literal_len == segs[i].len &&
                    memcmp(probe->kids[k]->literal, segs[i].p, segs[i].len) == 0)
                    next = probe->kids[k];
        }
        probe = next;
    }
    if (probe)
        for (size_t k = 0; k < probe->nroutes; k++)
            if (strcmp(r->routes[probe->routes[k]].method, method) == 0)
                return -EEXIST;

    struct node *n = &r->root;
    for (int i = 0; i < nsegs; i++)
        n = node_child(n, &segs[i], is_param[i]);

    rt.method = horus_strdup(method);
    rt.tmpl = horus_strdup(tmpl);
    for (unsigned j = 0; j < rt.nparams; j++)
        rt.names[j] = horus_strndup(names[j].p, names[j].len);
    n->routes = horus_realloc(n->routes, (n->nroutes + 1) * sizeof(*n->routes));
    n->routes[n->nroutes++] = r->nroutes;
    route_push(r, &rt);
    return 0;
}

bool http_router_route_at(const http_router *r, size_t i, const char **method, const char **tmpl)
{
    if (i >= r->nroutes)
        return false;
    if (method)
        *method = r->routes[i].method;
    if (tmpl)
        *tmpl = r->routes[i].tmpl;
    return true;
}

int http_router_add_catch_all(http_router *r, const char *method, const char *tmpl,
                              http_handler_cb cb, void *arg)
{
    if (!method || !tmpl || !cb || !method_is_valid(method))
        return -EINVAL;
    size_t len = strlen(tmpl);
    struct segment sg = {tmpl + 1, len > 0 ? len - 1 : 0};
    bool is_param = false;
    if (len < 4 || tmpl[0] != '/' || memchr(sg.p, '/', sg.len) ||
        parse_tmpl_segment(&sg, &is_param) < 0 || !is_param)
        return -EINVAL;
    for (size_t i = 0; i < r->nroutes; i++)
        if (r->routes[i].is_catch_all && strcmp(r->routes[i].method, method) == 0)
            return -EEXIST;
    struct route rt = {.cb = cb, .arg = arg, .nparams = 1, .is_catch_all = true};
    rt.method = horus_strdup(method);
    rt.tmpl = horus_strdup(tmpl);
    rt.names[0] = horus_strndup(sg.p + 1, sg.len - 2);
    route_push(r, &rt);
    return 0;
}

int http_router_reserve(http_router *r, const char *prefix)
{
    size_t n = prefix ? strlen(prefix) : 0;
    if (n < 2 || prefix[0] != '/' || prefix[n - 1] == '/')
        return -EINVAL;
    r->reserved = horus_realloc(r->reserved, (r->nreserved + 1) * sizeof(*r->reserved));
    r->reserved[r->nreserved++] = horus_strdup(prefix);
    return 0;
}

/* Whether path is a reserved prefix or lies under one ("/api", "/api/..."). */
static bool is_reserved(const http_router *r, const char *path, size_t len)
{
    for (size_t i = 0; i < r->nreserved; i++) {
        size_t n = strlen(r->reserved[i]);
        if (len >= n && memcmp(path, r->reserved[i], n) == 0 && (len == n || path[n] == '/'))
            return true;
    }
    return false;
}

static void allow_add(struct walk *w, const char *method)
{
    for (unsigned i = 0; i < w->nallow; i++)
        if (strcmp(w->allow[i], method) == 0)
            return;
    if (w->nallow < HORUS_ARRAY_LEN(w->allow))
        w->allow[w->nallow++] = method;
}

/* At a node where the whole path is consumed: pick the route for the method, or note methods. */
static bool walk_terminal(struct walk *w, const struct node *n)
{
    if (n->nroutes == 0)
        return false;
    w->path_matched = true;
    size_t get = SIZE_MAX;
    for (size_t k = 0; k < n->nroutes; k++) {
        const struct route *rt = &w->r->routes[n->routes[k]];
        if (strcmp(rt->method, w->method) == 0) {
            w->found = rt;
            w->found_index = n->routes[k];
            memcpy(w->found_param_segs, w->param_segs, sizeof(w->param_segs));
            return true;
        }
        if (strcmp(rt->method, "GET") == 0)
            get = n->routes[k];
    }
    if (get != SIZE_MAX && strcmp(w->method, "HEAD") == 0) {
        w->found = &w->r->routes[get];
        w->found_index = get;
        memcpy(w->found_param_segs, w->param_segs, sizeof(w->param_segs));
        return true;
    }
    for (size_t k = 0; k < n->nroutes; k++) {
        const char *m = w->r->routes[n->routes[k]].method;
        allow_add(w, m);
        if (strcmp(m, "GET") == 0)
            allow_add(w, "HEAD");
    }
    return false;
}

static bool walk_node(struct walk *w, const struct node *n, size_t depth)
{
    if (depth == w->nsegs)
        return walk_terminal(w, n);
    const struct segment *sg = &w->segs[depth];
    for (size_t i = 0; i < n->nkids; i++) {
        const struct node *kid = n->kids[i];
        if (kid->literal_len == sg->len && memcmp(kid->literal, sg->p, sg->len) == 0) {
            if (walk_node(w, kid, depth + 1))
                return true;
            break; /* literals are unique among siblings */
        }
    }
    if (n->param && sg->len > 0 && w->depth_params < HTTP_MAX_PARAMS) {
        w->param_segs[w->depth_params++] = depth;
        bool ok = walk_node(w, n->param, depth + 1);
        w->depth_params--;
        if (ok)
            return true;
    }
    return false;
}

/* Decodes %XX escapes of src into dst (room for len + 1). Returns the length or -EINVAL. */
static int percent_decode(const char *src, size_t len, char *dst)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (src[i] != '%') {
            dst[o++] = src[i];
            continue;
        }
        if (i + 2 >= len)
            return -EINVAL;
        int hi = horus_hex_value(src[i + 1]);
        int lo = horus_hex_value(src[i + 2]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            return -EINVAL;
        dst[o++] = (char)(hi << 4 | lo);
        i += 2;
    }
    dst[o] = '\0';
    return (int)o;
}

/* Whether any segment of the path is "." or "..", however deep. */
static bool has_dot_segment(const char *path, size_t len)
{
    const char *end = path + len;
    for (const char *p = path + 1; p <= end;) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        const char *seg_end = slash ? slash : end;
        if (is_dot_segment(p, (size_t)(seg_end - p)))
            return true;
        p = seg_end + 1;
    }
    return false;
}

static void format_allow(const struct walk *w, char *buf, size_t size)
{
    size_t off = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < w->nallow; i++) {
        size_t need = strlen(w->allow[i]) + (i ? 2 : 0);
        if (off + need + 1 > size)
            break;
        off += (size_t)snprintf(buf + off, size - off, "%s%s", i ? ", " : "", w->allow[i]);
    }
}

static int fill_params(const struct walk *w, struct http_route_match *m)
{
    const struct route *rt = w->found;
    size_t off = 0;
    for (unsigned i = 0; i < rt->nparams; i++) {
        const struct segment *sg = &w->segs[w->found_param_segs[i]];
        /* Decoded values never grow, and the raw path is at most HTTP_MAX_PATH long. */
        int n = percent_decode(sg->p, sg->len, m->storage + off);
        if (n < 0 || is_dot_segment(m->storage + off, (size_t)n))
            return -EINVAL;
        m->params[i].name = rt->names[i];
        m->params[i].value = m->storage + off;
        off += (size_t)n + 1;
    }
    m->nparams = rt->nparams;
    return 0;
}

static void match_fill(const struct walk *w, struct http_route_match *m)
{
    m->handler = w->found->cb;
    m->arg = w->found->arg;
    m->tmpl = w->found->tmpl;
    m->method = w->found->method;
    m->index = w->found_index;
    m->limit_class = w->found->limit_class;
    m->media_lane = w->found->media_lane;
    m->body_types = w->found->body_types;
    m->max_body_bytes = w->found->max_body_bytes;
}

/*
 * A path no template matched, not reserved: the catch-all route of the
 * method (HEAD served by GET), its one parameter the whole path after the
 * first '/', percent-decoded ("%2F" becomes '/'). A decoded value with a
 * "." or ".." segment is -EINVAL, so "/..%2Fetc" never reaches a handler.
 */
static int match_catch_all(struct walk *w, const char *path, size_t len, struct http_route_match *m)
{
    const http_router *r = w->r;
    size_t get = SIZE_MAX, found = SIZE_MAX;
    for (size_t i = 0; i < r->nroutes; i++) {
        if (!r->routes[i].is_catch_all)
            continue;
        if (strcmp(r->routes[i].method, w->method) == 0)
            found = i;
        else if (strcmp(r->routes[i].method, "GET") == 0)
            get = i;
    }
    if (found == SIZE_MAX && get != SIZE_MAX && strcmp(w->method, "HEAD") == 0)
        found = get;
    if (found == SIZE_MAX) {
        for (size_t i = 0; i < r->nroutes; i++) {
            if (!r->routes[i].is_catch_all)
                continue;
            allow_add(w, r->routes[i].method);
            if (strcmp(r->routes[i].method, "GET") == 0)
                allow_add(w, "HEAD");
        }
        if (w->nallow == 0)
            return -ENOENT;
        format_allow(w, m->allow, sizeof(m->allow));
        return HORUS_EMETHOD;
    }
    int n = percent_decode(path + 1, len - 1, m->storage);
    if (n < 0)
        return -EINVAL;
    for (const char *p = m->storage, *end = m->storage + n; p <= end;) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        const char *seg_end = slash ? slash : end;
        if (is_dot_segment(p, (size_t)(seg_end - p)))
            return -EINVAL;
        p = seg_end + 1;
    }
    w->found = &r->routes[found];
    w->found_index = found;
    m->params[0].name = w->found->names[0];
    m->params[0].value = m->storage;
    m->nparams = 1;
    match_fill(w, m);
    return 0;
}

int http_router_match(const http_router *r, const char *method, const char *path,
                      struct http_route_match *m)
{
    m->handler = NULL;
    m->arg = NULL;
    m->tmpl = NULL;
    m->method = NULL;
    m->index = 0;
    m->limit_class = HTTP_LIMIT_API;
    m->media_lane = false;
    m->nparams = 0;
    m->allow[0] = '\0';
    m->body_types = NULL;
    m->max_body_bytes = 0;

    size_t len = strnlen(path, HTTP_MAX_PATH + 1);
    if (len == 0 || len > HTTP_MAX_PATH || path[0] != '/')
        return -EINVAL;

    if (has_dot_segment(path, len))
        return -EINVAL;
    struct walk w = {.r = r, .method = method};
    struct segment segs[MAX_SEGMENTS];
    int nsegs = split_segments(path, len, segs, MAX_SEGMENTS, true);
    if (nsegs < 0)
        return -ENOENT; /* deeper than any template can be */
    w.segs = segs;
    w.nsegs = (size_t)nsegs;

    if (!walk_node(&w, &r->root, 0)) {
        if (!w.path_matched)
            return nsegs > 0 && !is_reserved(r, path, len) ? match_catch_all(&w, path, len, m)
                                                           : -ENOENT;
        format_allow(&w, m->allow, sizeof(m->allow));
        return HORUS_EMETHOD;
    }
    int rc = fill_params(&w, m);
    if (rc < 0)
        return rc;
    match_fill(&w, m);
    return 0;
}

/* Calls set on every route (any method) with exactly the template tmpl; -ENOENT when none. */
static int each_with_tmpl(http_router *r, const char *tmpl, void (*set)(struct route *, int),
                          int value)
{
    int rc = -ENOENT;
    for (size_t i = 0; i < r->nroutes; i++) {
        if (strcmp(r->routes[i].tmpl, tmpl) == 0) {
            set(&r->routes[i], value);
            rc = 0;
        }
    }
    return rc;
}

static void set_class(struct route *rt, int cls)
{
    rt->limit_class = (enum http_limit_class)cls;
}

static void set_lane(struct route *rt, int on)
{
    rt->media_lane = on != 0;
}

int http_router_set_limit_class(http_router *r, const char *tmpl, enum http_limit_class cls)
{
    return each_with_tmpl(r, tmpl, set_class, (int)cls);
}

int http_router_set_media_lane(http_router *r, const char *tmpl)
{
    return each_with_tmpl(r, tmpl, set_lane, 1);
}

int http_router_set_body_types(http_router *r, const char *method, const char *tmpl,
                               const char *types)
{
    for (size_t i = 0; i < r->nroutes; i++) {
        struct route *rt = &r->routes[i];
        if (strcmp(rt->method, method) != 0 || strcmp(rt->tmpl, tmpl) != 0)
            continue;
        free(rt->body_types);
        rt->body_types = types && *types ? horus_strdup(types) : NULL;
        return 0;
    }
    return -ENOENT;
}

int http_router_set_body_limit(http_router *r, const char *method, const char *tmpl,
                               size_t max_body_bytes)
{
    for (size_t i = 0; i < r->nroutes; i++) {
        struct route *rt = &r->routes[i];
        if (strcmp(rt->method, method) != 0 || strcmp(rt->tmpl, tmpl) != 0)
            continue;
        rt->max_body_bytes = max_body_bytes;
        return 0;
    }
    return -ENOENT;
}

bool http_media_type_is_accepted(const char *types, const char *content_type)
{
    if (!content_type)
        return false;
    if (!types)
        types = "application/json";
    /* The type and subtype, without parameters ("; charset=utf-8") or spaces. */
    while (*content_type == ' ' || *content_type == '\t')
        content_type++;
    size_t n = strcspn(content_type, "; \t");
    if (n == 0)
        return false;
    for (const char *p = types; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t k = strcspn(p, ", ");
        if (k == n && strncasecmp(p, content_type, n) == 0)
            return true;
        p += k;
    }
    return false;
}

void http_route_match_release(struct http_route_match *m)
{
    /* Values live in m->storage; nothing to free, but leave no dangling view. */
    m->nparams = 0;
    m->handler = NULL;
}
