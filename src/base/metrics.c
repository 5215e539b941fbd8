/*
 * DESIGN: families and series are created under locks (rare: at start, when
 * a camera or route first appears) and updated with atomics (hot: every
 * packet, every request). A series pointer handed out stays valid for the
 * life of the registry: metrics_series_remove unlinks it from rendering but
 * parks it on a retired list instead of freeing it, because another thread
 * may still hold the pointer it cached. Cameras are few, so the parked
 * memory is bounded by the number of camera deletions.
 *
 * Doubles are stored as their bit patterns in _Atomic uint64_t and updated
 * with compare-and-swap, which keeps counters exact for byte counts up to
 * 2^53 and needs no lock.
 *
 * Lock order: registry->lock, then family->lock. collect_cb runs with no
 * lock held, since it may create series.
 */
#include "metrics.h"

#include "mask.h"
#include "mem.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METRICS_LABEL_MASK_BYTES 512 /* longer label values are cut when written */

const double metrics_latency_buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                          0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                          1,      2.5,     5,      10};
const size_t metrics_latency_nbuckets = HORUS_ARRAY_LEN(metrics_latency_buckets);

struct metrics_series {
    struct metrics_series *next; /* owned by the family list */
    const struct metrics_family *family; /* borrowed: outlives the series */
    char *values[METRICS_MAX_LABELS]; /* owned */
    _Atomic uint64_t bits; /* counter or gauge value as double bits */
    _Atomic uint64_t *bucket_counts; /* owned; histograms: nbuckets + 1 (+Inf) */
    _Atomic uint64_t sum_bits;
    _Atomic uint64_t count;
};

struct metrics_family {
    struct metrics_family *next; /* owned by the registry list */
    pthread_mutex_t lock; /* guards the series lists */
    enum metrics_type type;
    char *name;
    char *help;
    char *labels_csv;
    char *label_names[METRICS_MAX_LABELS];
    unsigned nlabels;
    double buckets[METRICS_MAX_BUCKETS];
    size_t nbuckets;
    void (*collect_cb)(metrics_family *f, void *arg);
    void *collect_arg;
    metrics_series *series; /* creation order */
    metrics_series *retired; /* removed but possibly still referenced */
};

struct metrics_registry {
    pthread_mutex_t lock;
    metrics_family *families; /* registration order */
};

metrics_registry *metrics_registry_new(void)
{
    metrics_registry *r = horus_calloc(1, sizeof(*r));
    pthread_mutex_init(&r->lock, NULL);
    return r;
}

static void series_free(metrics_series *s)
{
    for (unsigned i = 0; i < METRICS_MAX_LABELS; i++)
        free(s->values[i]);
    free(s->bucket_counts);
    free(s);
}

static void series_list_free(metrics_series *s)
{
    while (s) {
        metrics_series *next = s->next;
        series_free(s);
        s = next;
    }
}

void metrics_registry_free(metrics_registry *r)
{
    if (!r)
        return;
    metrics_family *f = r->families;
    while (f) {
        metrics_family *next = f->next;
        series_list_free(f->series);
        series_list_free(f->retired);
        for (unsigned i = 0; i < f->nlabels; i++)
            free(f->label_names[i]);
        free(f->name);
        free(f->help);
        free(f->labels_csv);
        pthread_mutex_destroy(&f->lock);
        free(f);
        f = next;
    }
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static bool same_desc(const metrics_family *f, const struct metrics_desc *d)
{
    const char *labels = d->labels ? d->labels : "";
    return f->type == d->type && strcmp(f->labels_csv, labels) == 0 && f->nbuckets == d->nbuckets;
}

metrics_family *metrics_family_add(metrics_registry *r, const struct metrics_desc *d)
{
    horus_assert(d->name && d->help);
    horus_assert(d->type != METRICS_HISTOGRAM ||
                 (d->nbuckets > 0 && d->nbuckets <= METRICS_MAX_BUCKETS));
    pthread_mutex_lock(&r->lock);
    metrics_family **tail = &r->families;
    for (metrics_family *f = r->families; f; f = f->next) {
        if (strcmp(f->name, d->name) == 0) {
            pthread_mutex_unlock(&r->lock);
            if (!same_desc(f, d))
                HORUS_BUG("metric '%s' registered twice with different descriptions", d->name);
            return f;
        }
        tail = &f->next;
    }
    metrics_family *f = horus_calloc(1, sizeof(*f));
    pthread_mutex_init(&f->lock, NULL);
    f->type = d->type;
    f->name = horus_strdup(d->name);
    f->help = horus_strdup(d->help);
    f->labels_csv = horus_strdup(d->labels ? d->labels : "");
    f->collect_cb = d->collect_cb;
    f->collect_arg = d->collect_arg;
    char *save = NULL;
    char *copy = horus_strdup(f->labels_csv);
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        horus_assert(f->nlabels < METRICS_MAX_LABELS);
        f->label_names[f->nlabels++] = horus_strdup(tok);
    }
    free(copy);
    if (d->type == METRICS_HISTOGRAM) {
        memcpy(f->buckets, d->buckets, d->nbuckets * sizeof(double));
        f->nbuckets = d->nbuckets;
    }
    *tail = f;
    pthread_mutex_unlock(&r->lock);
    return f;
}

static bool series_matches(const metrics_family *f, const metrics_series *s,
                           const char *const *values)
{
    for (unsigned i = 0; i < f->nlabels; i++)
        if (strcmp(s->values[i], values[i]) != 0)
            return false;
    return true;
}

static void collect_values(metrics_family *f, va_list ap, const char **values)
{
    for (unsigned i = 0; i < f->nlabels; i++) {
        values[i] = va_arg(ap, const char *);
        if (!values[i])
            values[i] = "";
    }
}

/* The link pointing at the series with these values, or at the list's end. Lock held. */
static metrics_series **series_link(metrics_family *f, const char *const *values)
{
    metrics_series **p = &f->series;
    while (*p && !series_matches(f, *p, values))
        p = &(*p)->next;
    return p;
}

metrics_series *metrics_series_get(metrics_family *f, ...)
{
    const char *values[METRICS_MAX_LABELS];
    va_list ap;
    va_start(ap, f);
    collect_values(f, ap, values);
    va_end(ap);

    pthread_mutex_lock(&f->lock);
    metrics_series **link = series_link(f, values);
    if (*link) {
        metrics_series *found = *link;
        pthread_mutex_unlock(&f->lock);
        return found;
    }
    metrics_series *s = horus_calloc(1, sizeof(*s));
    for (unsigned i = 0; i < f->nlabels; i++)
        s->values[i] = horus_strdup(values[i]);
    s->family = f;
    if (f->type == METRICS_HISTOGRAM)
        s->bucket_counts = horus_calloc(f->nbuckets + 1, sizeof(_Atomic uint64_t));
    *link = s;
    pthread_mutex_unlock(&f->lock);
    return s;
}

void metrics_series_remove(metrics_family *f, ...)
{
    const char *values[METRICS_MAX_LABELS];
    va_list ap;
    va_start(ap, f);
    collect_values(f, ap, values);
    va_end(ap);

    pthread_mutex_lock(&f->lock);
    metrics_series **link = series_link(f, values);
    if (*link) {
        metrics_series *s = *link;
        *link = s->next;
        s->next = f->retired;
        f->retired = s;
    }
    pthread_mutex_unlock(&f->lock);
}

static double bits_to_double(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof(d));
    return d;
}

static uint64_t double_to_bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof(b));
    return b;
}

static void atomic_add_double(_Atomic uint64_t *bits, double v)
{
    uint64_t old = atomic_load_explicit(bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(bits, &old,
                                                  double_to_bits(bits_to_double(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

size_t metrics_registry_remove_label(metrics_registry *r, const char *label, const char *value)
{
    size_t removed = 0;
    pthread_mutex_lock(&r->lock);
    for (metrics_family *f = r->families; f; f = f->next) {
        unsigned at = 0;
        while (at < f->nlabels && strcmp(f->label_names[at], label) != 0)
            at++;
        if (at == f->nlabels)
            continue;
        pthread_mutex_lock(&f->lock);
        metrics_series **link = &f->series;
        while (*link) {
            metrics_series *s = *link;
            if (strcmp(s->values[at], value) != 0) {
                link = &s->next;
                continue;
            }
            *link = s->next;
            s->next = f->retired;
            f->retired = s;
            removed++;
        }
        pthread_mutex_unlock(&f->lock);
    }
    pthread_mutex_unlock(&r->lock);
    return removed;
}

void metrics_counter_add(metrics_series *s, double v)
{
    if (v > 0)
        atomic_add_double(&s->bits, v);
}

void metrics_counter_inc(metrics_series *s)
{
    atomic_add_double(&s->bits, 1);
}

void metrics_gauge_set(metrics_series *s, double v)
{
    atomic_store_explicit(&s->bits, double_to_bits(v), memory_order_relaxed);
}

void metrics_gauge_add(metrics_series *s, double v)
{
    atomic_add_double(&s->bits, v);
}

double metrics_series_value(metrics_series *s)
{
    return bits_to_double(atomic_load_explicit(&s->bits, memory_order_relaxed));
}

/*
 * Buckets are stored non-cumulatively: slot i counts observations in
 * (bound[i-1], bound[i]] and the last slot is +Inf; rendering sums them.
 */
void metrics_histogram_observe(metrics_series *s, double v)
{
    const metrics_family *f = s->family;
    horus_assert(f->type == METRICS_HISTOGRAM);
    size_t i = 0;
    while (i < f->nbuckets && v > f->buckets[i])
        i++;
    atomic_fetch_add_explicit(&s->bucket_counts[i], 1, memory_order_relaxed);
    atomic_add_double(&s->sum_bits, v);
    atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
}

struct buf {
    char *data;
    size_t len, cap;
};

static void buf_reserve(struct buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->data = horus_realloc(b->data, cap);
    b->cap = cap;
}

static void buf_put(struct buf *b, const char *s, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void buf_puts(struct buf *b, const char *s)
{
    buf_put(b, s, strlen(s));
}

/* Escapes \ and newline (help text); also " when in a label value. */
static void buf_put_escaped(struct buf *b, const char *s, bool is_label)
{
    for (; *s; s++) {
        if (*s == '\\')
            buf_puts(b, "\\\\");
        else if (*s == '\n')
            buf_puts(b, "\\n");
        else if (*s == '"' && is_label)
            buf_puts(b, "\\\"");
        else
            buf_put(b, s, 1);
    }
}

static void buf_put_double(struct buf *b, double v)
{
    char tmp[40];
    if (isnan(v))
        snprintf(tmp, sizeof(tmp), "NaN");
    else if (isinf(v))
        snprintf(tmp, sizeof(tmp), v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 9007199254740992.0)
        snprintf(tmp, sizeof(tmp), "%.0f", v);
    else
        snprintf(tmp, sizeof(tmp), "%.17g", v);
    buf_puts(b, tmp);
}

/* Writes {a="x",b="y"[,le="..."]} or nothing when there are no labels. */
static void put_labels(struct buf *b, const metrics_family *f, const metrics_series *s,
                       const char *le)
{
    if (f->nlabels == 0 && !le)
        return;
    buf_puts(b, "{");
    for (unsigned i = 0; i < f->nlabels; i++) {
        if (i)
            buf_puts(b, ",");
        buf_puts(b, f->label_names[i]);
        buf_puts(b, "=\"");
        /* Label values are bounded sets, but a URL or token must never reach a scrape. */
        char masked[METRICS_LABEL_MASK_BYTES];
        buf_put_escaped(b, horus_mask_url(s->values[i], masked, sizeof(masked)), true);
        buf_puts(b, "\"");
    }
    if (le) {
        if (f->nlabels)
            buf_puts(b, ",");
        buf_puts(b, "le=\"");
        buf_puts(b, le);
        buf_puts(b, "\"");
    }
    buf_puts(b, "}");
}

static void render_histogram(struct buf *b, const metrics_family *f, const metrics_series *s)
{
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= f->nbuckets; i++) {
        cumulative += atomic_load_explicit(&s->bucket_counts[i], memory_order_relaxed);
        char le[40];
        if (i == f->nbuckets)
            snprintf(le, sizeof(le), "+Inf");
        else
            snprintf(le, sizeof(le), "%g", f->buckets[i]);
        buf_puts(b, f->name);
        buf_puts(b, "_bucket");
        put_labels(b, f, s, le);
        buf_puts(b, " ");
        buf_put_double(b, (double)cumulative);
        buf_puts(b, "\n");
    }
    buf_puts(b, f->name);
    buf_puts(b, "_sum");
    put_labels(b, f, s, NULL);
    buf_puts(b, " ");
    buf_put_double(b, bits_to_double(atomic_load(&s->sum_bits)));
    buf_puts(b, "\n");
    buf_puts(b, f->name);
    buf_puts(b, "_count");
    put_labels(b, f, s, NULL);
    buf_puts(b, " ");
    /* _count equals the +Inf bucket, read once so the two always agree. */
    buf_put_double(b, (double)cumulative);
    buf_puts(b, "\n");
}

static const char *const type_names[] = {"counter", "gauge", "histogram"};

static void render_family(struct buf *b, metrics_family *f)
{
    if (f->collect_cb)
        f->collect_cb(f, f->collect_arg);
    buf_puts(b, "# HELP ");
    buf_puts(b, f->name);
    buf_puts(b, " ");
    buf_put_escaped(b, f->help, false);
    buf_puts(b, "\n# TYPE ");
    buf_puts(b, f->name);
    buf_puts(b, " ");
    buf_puts(b, type_names[f->type]);
    buf_puts(b, "\n");
    pthread_mutex_lock(&f->lock);
    for (metrics_series *s = f->series; s; s = s->next) {
        if (f->type == METRICS_HISTOGRAM) {
            render_histogram(b, f, s);
            continue;
        }
        buf_puts(b, f->name);
        put_labels(b, f, s, NULL);
        buf_puts(b, " ");
        buf_put_double(b, metrics_series_value(s));
        buf_puts(b, "\n");
    }
    pthread_mutex_unlock(&f->lock);
}

char *metrics_render(metrics_registry *r, size_t *len)
{
    struct buf b = {0};
    buf_reserve(&b, 0);
    b.data[0] = '\0';
    /*
     * Copy the family list under the lock, then render without it: collect
     * callbacks may create series, and families are never freed before the
     * registry, so the pointers stay valid.
     */
    pthread_mutex_lock(&r->lock);
    size_t n = 0;
    for (metrics_family *f = r->families; f; f = f->next)
        n++;
    metrics_family **list = horus_calloc(n, sizeof(*list));
    n = 0;
    for (metrics_family *f = r->families; f; f = f->next)
        list[n++] = f;
    pthread_mutex_unlock(&r->lock);
    for (size_t i = 0; i < n; i++)
        render_family(&b, list[i]);
    free(list);
    if (len)
        *len = b.len;
    return b.data;
}
