/*
 * Metrics registry rendered in the Prometheus text format 0.0.4.
 *
 * A family has a name, help, type and fixed label names; a series is one
 * set of label values in it, created on first use and then updated
 * lock-free (atomics). Label values must come from bounded sets (camera ids,
 * route templates), never user ids or raw paths.
 *
 *   metrics_family *f = metrics_family_add(reg, &(struct metrics_desc){
 *       .type = METRICS_COUNTER, .name = "horus_ingest_bytes_total",
 *       .help = "Bytes received from cameras", .labels = "camera,stream"});
 *   metrics_series *s = metrics_series_get(f, "front_door", "main");
 *   metrics_counter_add(s, n);
 *
 * Families and series live as long as the registry (series can be removed).
 * Thread: any.
 */
#ifndef HORUS_METRICS_H
#define HORUS_METRICS_H

#include <stddef.h>

typedef struct metrics_registry metrics_registry;
typedef struct metrics_family metrics_family;
typedef struct metrics_series metrics_series;

enum metrics_type {
    METRICS_COUNTER,
    METRICS_GAUGE,
    METRICS_HISTOGRAM,
};

#define METRICS_MAX_LABELS 4
#define METRICS_MAX_BUCKETS 24

struct metrics_desc {
    enum metrics_type type;
    const char *name; /* horus_..., base units, _total for counters */
    const char *help;
    const char *labels; /* comma-separated label names, or NULL */
    const double *buckets; /* histograms: ascending upper bounds, +Inf implied */
    size_t nbuckets;
    /*
     * Optional: called at render time before the family is written, to set
     * gauges from state owned elsewhere (uptime, queue length). Must not block.
     */
    void (*collect_cb)(metrics_family *f, void *arg);
    void *collect_arg;
};

metrics_registry *metrics_registry_new(void);
void metrics_registry_free(metrics_registry *r);

/*
 * Registers a family (strings are copied). Registering a name twice returns
 * the existing family when the description matches and aborts otherwise
 * (a programming error). Returns a family borrowed from r.
 */
metrics_family *metrics_family_add(metrics_registry *r, const struct metrics_desc *d);

/*
 * Returns the series for the given label values (as many as the family has
 * labels), creating it at zero. Borrowed from the family; cache it.
 */
metrics_series *metrics_series_get(metrics_family *f, ...);

/* Removes the series with these label values, if present (camera deleted). */
void metrics_series_remove(metrics_family *f, ...);

/*
 * Removes, in every family of r that has the label `label`, each series
 * whose value for it is `value` (every series of a deleted camera:
 * label "camera"). Like metrics_series_remove, pointers callers cached
 * stay valid but are no longer rendered; a later metrics_series_get with
 * the same values makes a new series at zero. Returns how many were
 * removed.
 */
size_t metrics_registry_remove_label(metrics_registry *r, const char *label, const char *value);

void metrics_counter_add(metrics_series *s, double v);
void metrics_counter_inc(metrics_series *s);
void metrics_gauge_set(metrics_series *s, double v);
void metrics_gauge_add(metrics_series *s, double v);
void metrics_histogram_observe(metrics_series *s, double v);

/* Current value of a counter or gauge (tests, /health). */
double metrics_series_value(metrics_series *s);

/*
 * Renders every family into a new NUL-terminated buffer that the caller
 * frees. Families appear in registration order, series in creation order.
 */
char *metrics_render(metrics_registry *r, size_t *len);

/* Bucket bounds for request latencies, 0.1 ms .. 10 s. */
extern const double metrics_latency_buckets[];
extern const size_t metrics_latency_nbuckets;

#endif
