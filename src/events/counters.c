/*
 * Tripwire counters (counters.h): a small table of (camera, tripwire,
 * label) rows under one lock. Cameras have at most 16 tripwires and a
 * handful of labels cross them, so a linear scan is the right size; the
 * table is bounded so that a flood of labels cannot grow it without end.
 */
#include "counters.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "mem.h"

#define COUNTERS_MAX 4096
#define NAME_MAX_BYTES 64

struct row {
    char camera[NAME_MAX_BYTES], tripwire[NAME_MAX_BYTES], label[NAME_MAX_BYTES];
    uint64_t a_to_b, b_to_a;
    metrics_series *m_ab, *m_ba;
};

struct evt_counters {
    pthread_mutex_t lock;
    struct row *rows;
    size_t n, cap;
    int64_t since_us;
    metrics_family *f;
};

evt_counters *evt_counters_new(metrics_registry *metrics, int64_t since_us)
{
    evt_counters *c = horus_calloc(1, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    c->since_us = since_us;
    if (metrics)
        c->f = metrics_family_add(
            metrics, &(struct metrics_desc){.type = METRICS_COUNTER,
                                            .name = "horus_tripwire_crossings_total",
                                            .help = "Objects that crossed a camera's tripwire, "
                                                    "by label and direction (a_to_b, b_to_a)",
                                            .labels = "camera,tripwire,label,direction"});
    return c;
}

void evt_counters_free(evt_counters *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->lock);
    free(c->rows);
    free(c);
}

static bool fits(const char *s)
{
    return s && strlen(s) < NAME_MAX_BYTES;
}

void evt_counters_add(evt_counters *c, const char *camera_id, const char *tripwire,
                      const char *label, int direction)
{
    if (!fits(camera_id) || !fits(tripwire) || !fits(label) || direction == 0)
        return;
    pthread_mutex_lock(&c->lock);
    struct row *r = NULL;
    for (size_t i = 0; i < c->n && !r; i++)
        if (strcmp(c->rows[i].camera, camera_id) == 0 &&
            strcmp(c->rows[i].tripwire, tripwire) == 0 && strcmp(c->rows[i].label, label) == 0)
            r = &c->rows[i];
    if (!r && c->n < COUNTERS_MAX) {
        if (c->n == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 16;
            c->rows = horus_realloc(c->rows, c->cap * sizeof(*c->rows));
        }
        r = &c->rows[c->n++];
        memset(r, 0, sizeof(*r));
        snprintf(r->camera, sizeof(r->camera), "%s", camera_id);
        snprintf(r->tripwire, sizeof(r->tripwire), "%s", tripwire);
        snprintf(r->label, sizeof(r->label), "%s", label);
        if (c->f) {
            r->m_ab = metrics_series_get(c->f, camera_id, tripwire, label, "a_to_b");
            r->m_ba = metrics_series_get(c->f, camera_id, tripwire, label, "b_to_a");
        }
    }
    if (r) {
        if (direction > 0)
            r->a_to_b++;
        else
            r->b_to_a++;
        metrics_series *m = direction > 0 ? r->m_ab : r->m_ba;
        if (m)
            metrics_counter_inc(m);
    }
    pthread_mutex_unlock(&c->lock);
}

static int row_cmp(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    int d = strcmp(x->tripwire, y->tripwire);
    return d ? d : strcmp(x->label, y->label);
}

json_t *evt_counters_json(evt_counters *c, const char *camera_id)
{
    pthread_mutex_lock(&c->lock);
    struct row *mine = horus_calloc(c->n ? c->n : 1, sizeof(*mine));
    size_t n = 0;
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->rows[i].camera, camera_id) == 0)
            mine[n++] = c->rows[i];
    int64_t since = c->since_us;
    pthread_mutex_unlock(&c->lock);
    qsort(mine, n, sizeof(*mine), row_cmp);
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, json_pack("{s:s, s:s, s:I, s:I}", "tripwire", mine[i].tripwire,
                                              "label", mine[i].label, "a_to_b",
                                              (json_int_t)mine[i].a_to_b, "b_to_a",
                                              (json_int_t)mine[i].b_to_a));
    free(mine);
    char buf[40];
    clock_format_rfc3339_ms(since / 1000, buf, sizeof(buf));
    return json_pack("{s:s, s:o}", "since", buf, "tripwires", list);
}
