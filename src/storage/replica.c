/*
 * DESIGN: the read replica's connections and the choice of where a browsing
 * read runs (replica.h; docs/design/0072). Connections open on first use
 * and stay open; one that fails is closed and reads go to the primary until
 * retry_ms has passed, then the next read tries a new one. About once a
 * second the read that takes a connection first asks the replica how far it
 * is behind (the backend's replica_lag) and the answer holds until the next
 * check: a lag over max_lag_ms sends reads to the primary, without closing
 * anything, until a check finds it caught up.
 *
 * Lock order: lock only, never held during I/O.
 */
#include "replica.h"

#include "err.h"
#include "log.h"
#include "mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "storage"

#define REPLICA_MAX_CONNS 64
#define REPLICA_CHECK_NS 1000000000LL

enum replica_state {
    REPLICA_STARTING, /* nothing known yet: the first read connects and checks */
    REPLICA_SERVING,
    REPLICA_BEHIND,
    REPLICA_UNREACHABLE,
};

static const char *const state_names[] = {"starting", "serving", "behind", "unreachable"};

struct sto_replica {
    const struct sto_backend *be;
    char *target;
    int64_t busy_timeout_ms, answer_timeout_ms, max_lag_ms, retry_ns;
    const horus_clock *clock;
    metrics_series *m_replica, *m_primary, *m_lag;

    pthread_mutex_t lock;
    sto_conn *idle[REPLICA_MAX_CONNS]; /* open, not lent */
    size_t nidle, nopen, nconns;
    enum replica_state state;
    int64_t lag_ms; /* last measured; -1: unknown */
    int64_t next_check_ns; /* monotonic: when the next read measures the lag */
    int64_t retry_at_ns; /* monotonic: while unreachable, when to try again */
    bool is_checking;
    char detail[160];
};

sto_replica *sto_replica_new(const struct sto_replica_options *opt)
{
    sto_replica *r = horus_calloc(1, sizeof(*r));
    r->be = opt->be;
    r->target = horus_strdup(opt->target);
    r->busy_timeout_ms = opt->busy_timeout_ms;
    r->answer_timeout_ms = opt->answer_timeout_ms;
    r->max_lag_ms = opt->max_lag_ms;
    r->retry_ns = opt->retry_ms * 1000000;
    r->clock = opt->clock;
    r->nconns = opt->nconns < 1                   ? 1
                : opt->nconns > REPLICA_MAX_CONNS ? REPLICA_MAX_CONNS
                                                  : opt->nconns;
    r->lag_ms = -1;
    pthread_mutex_init(&r->lock, NULL);
    metrics_family *reads = metrics_family_add(
        opt->metrics,
        &(struct metrics_desc){.type = METRICS_COUNTER,
                               .name = "horus_db_replica_reads_total",
                               .help = "Browsing reads by the database that answered them "
                                       "(database.read_url)",
                               .labels = "served_by"});
    r->m_replica = metrics_series_get(reads, "replica");
    r->m_primary = metrics_series_get(reads, "primary");
    r->m_lag = metrics_series_get(metrics_family_add(
        opt->metrics, &(struct metrics_desc){.type = METRICS_GAUGE,
                                             .name = "horus_db_replica_lag_seconds",
                                             .help = "How far the read replica was behind its "
                                                     "primary at the last check (-1: unknown)"}));
    metrics_gauge_set(r->m_lag, -1);
    return r;
}

void sto_replica_free(sto_replica *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nidle; i++)
        r->be->close(r->idle[i]);
    pthread_mutex_destroy(&r->lock);
    free(r->target);
    free(r);
}

/* Moves to state s, logging the change once; lock held. detail: its first line is kept. */
static void set_state(sto_replica *r, enum replica_state s, const char *detail)
{
    detail = detail ? detail : "";
    int len = (int)strcspn(detail, "\n");
    while (len > 0 && (detail[len - 1] == '.' || detail[len - 1] == ' '))
        len--;
    snprintf(r->detail, sizeof(r->detail), "%.*s", len, detail);
    if (s == r->state)
        return;
    if (s == REPLICA_SERVING)
        log_info("database.read_url: the replica answers%s; browsing reads go to it",
                 r->state == REPLICA_STARTING ? "" : " again");
    else
        log_warn("database.read_url: %s; browsing reads go to the primary until it recovers",
                 r->detail);
    r->state = s;
}

/* Takes the replica as down for retry_ns from now, for the reason why; lock held. */
static void go_down(sto_replica *r, int64_t now, const char *why)
{
    r->retry_at_ns = now + r->retry_ns;
    r->lag_ms = -1;
    metrics_gauge_set(r->m_lag, -1);
    set_state(r, REPLICA_UNREACHABLE, why);
}

/*
 * A connection for one read, or NULL when the read goes to the primary;
 * *is_check_due: this read measures the lag first (check).
 */
static sto_conn *take(sto_replica *r, int64_t now, bool *is_check_due)
{
    *is_check_due = false;
    pthread_mutex_lock(&r->lock);
    sto_conn *c = NULL;
    bool may_open = false;
    if (r->state != REPLICA_SERVING) { /* only a read that checks first may use it */
        if (r->is_checking)
            goto out;
        if (r->state == REPLICA_UNREACHABLE && now < r->retry_at_ns)
            goto out;
        if (r->state == REPLICA_BEHIND && now < r->next_check_ns)
            goto out;
    }
    if (r->nidle > 0)
        c = r->idle[--r->nidle];
    else if (r->nopen < r->nconns)
        may_open = true, r->nopen++;
    else
        goto out; /* every connection busy: the primary's readers take this one */
    if (!r->is_checking && (now >= r->next_check_ns || r->state != REPLICA_SERVING)) {
        r->is_checking = *is_check_due = true;
        r->next_check_ns = now + REPLICA_CHECK_NS;
    }
out:
    pthread_mutex_unlock(&r->lock);
    if (!c && may_open) {
        char *err = NULL;
        int rc = r->be->open(r->target, false, r->busy_timeout_ms, &c, &err);
        if (rc == 0)
            sto_answer_within(r->be, c, r->answer_timeout_ms);
        if (rc < 0) {
            pthread_mutex_lock(&r->lock);
            r->nopen--;
            if (*is_check_due)
                r->is_checking = false;
            go_down(r, now, err ? err : "cannot connect to the replica");
            pthread_mutex_unlock(&r->lock);
            free(err);
            *is_check_due = false;
            return NULL;
        }
    }
    return c;
}

/* Gives c back, or closes it when it failed (is_broken); lock not held. */
static void give(sto_replica *r, sto_conn *c, bool is_broken)
{
    if (is_broken)
        r->be->close(c);
    pthread_mutex_lock(&r->lock);
    if (is_broken)
        r->nopen--;
    else
        r->idle[r->nidle++] = c;
    pthread_mutex_unlock(&r->lock);
}

/* Measures the lag on c and decides; false when the read goes to the primary. */
static bool check(sto_replica *r, sto_conn *c, int64_t now, bool *is_broken)
{
    int64_t lag_ms = -1;
    char *err = NULL;
    int rc = r->be->replica_lag(c, &lag_ms, &err);
    pthread_mutex_lock(&r->lock);
    r->is_checking = false;
    bool is_ok = false;
    if (rc < 0) {
        *is_broken = true;
        go_down(r, now, err ? err : "the replica did not say how far behind it is");
    } else if (lag_ms > r->max_lag_ms) {
        char why[96];
        if (lag_ms == INT64_MAX)
            snprintf(why, sizeof(why), "the replica has replayed no transaction yet");
        else
            snprintf(why, sizeof(why), "the replica is %.1f s behind (read_max_lag %.1f s)",
                     (double)lag_ms / 1000, (double)r->max_lag_ms / 1000);
        r->lag_ms = lag_ms;
        set_state(r, REPLICA_BEHIND, why);
    } else {
        r->lag_ms = lag_ms;
        set_state(r, REPLICA_SERVING, NULL);
        is_ok = true;
    }
    int64_t shown = r->lag_ms;
    pthread_mutex_unlock(&r->lock);
    metrics_gauge_set(r->m_lag, shown < 0 || shown == INT64_MAX ? -1 : (double)shown / 1000);
    free(err);
    return is_ok;
}

struct counted {
    sto_row_cb cb;
    void *arg;
    size_t rows;
};

static int counted_row(const sto_value *cols, size_t n, void *arg)
{
    struct counted *k = arg;
    k->rows++;
    return k->cb ? k->cb(cols, n, k->arg) : 0;
}

int sto_replica_read(sto_replica *r, const char *sql, const sto_value *params, size_t nparams,
                     sto_row_cb row_cb, void *arg)
{
    int64_t now = clock_monotonic_ns(r->clock);
    bool is_check_due;
    sto_conn *c = take(r, now, &is_check_due);
    bool is_broken = false;
    if (c && is_check_due && !check(r, c, now, &is_broken)) {
        give(r, c, is_broken);
        c = NULL;
    }
    if (!c) {
        metrics_counter_inc(r->m_primary);
        return STO_REPLICA_SKIPPED;
    }
    struct counted k = {.cb = row_cb, .arg = arg};
    char *err = NULL;
    int rc = r->be->query(c, sql, params, nparams, counted_row, &k, &err);
    if (rc < 0 && k.rows == 0) {
        /*
         * Nothing was given yet, so the primary may answer instead. A lost
         * connection marks the replica down; anything else (a query a hot
         * standby cancelled to replay WAL, a lock timeout) is this read's only.
         */
        is_broken = rc == -EIO || rc == HORUS_EDB;
        if (is_broken) {
            char *why = horus_asprintf("a read on the replica failed: %s",
                                       err ? err : "the connection was lost");
            pthread_mutex_lock(&r->lock);
            go_down(r, now, why);
            pthread_mutex_unlock(&r->lock);
            free(why);
        }
        give(r, c, is_broken);
        free(err);
        metrics_counter_inc(r->m_primary);
        return STO_REPLICA_SKIPPED;
    }
    give(r, c, false);
    free(err);
    metrics_counter_inc(r->m_replica);
    return rc;
}

void sto_replica_state(sto_replica *r, struct sto_replica_health *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&r->lock);
    out->is_configured = true;
    out->is_serving = r->state == REPLICA_SERVING;
    snprintf(out->state, sizeof(out->state), "%s", state_names[r->state]);
    out->lag_ms = r->lag_ms == INT64_MAX ? -1 : r->lag_ms;
    snprintf(out->detail, sizeof(out->detail), "%s", r->detail);
    pthread_mutex_unlock(&r->lock);
}
