/*
 * DESIGN: event rows (docs/design/0040-events.md). The events module's
 * worker ("evt-w") writes the whole row at each change of an event (open,
 * update, end) with one upsert, together with the pins of the recordings
 * the event covers, so the row and its pins never disagree. Reads come
 * from the API (list, get) and the worker (expired events, crash-left
 * open ones).
 *
 * Pins: "event:<id>:<stream>" per recorded stream, reason "event", until
 * the event's pinned_until_us; rewritten with each put (the range grows
 * while the event is open) and deleted with the event.
 *
 * Lists page newest first on (start_us, id); the cursor is the last id of
 * a page, whose first 17 characters are its start_us.
 */
#include "storage_int.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENT_COLUMNS                                                                              \
    "e.id, e.camera_id, e.label, e.sub_label, e.score, e.top_score, e.start_us,"                   \
    " COALESCE(e.end_us, 0), e.updated_us, e.zones, e.box, e.details, e.has_snapshot, e.source,"   \
    " e.created_at_ms, e.pinned_until_us, COALESCE((SELECT c.tenant FROM cameras c WHERE"          \
    " c.id = e.camera_id), '')"
#define EVENT_NCOLS 17
#define EVENT_PINS_MAX 4
#define EVENT_OUTBOX_MAX 2

void sto_event_release(struct sto_event *e)
{
    if (!e)
        return;
    free(e->id);
    free(e->camera_id);
    free(e->label);
    free(e->sub_label);
    free(e->zones);
    free(e->box);
    free(e->details);
    free(e->source);
    free(e->tenant);
    memset(e, 0, sizeof(*e));
}

static double col_real(const sto_value *v)
{
    return v->type == STO_REAL ? v->d : (double)sto_col_int(v);
}

static void event_decode(const struct sto_list_kind *kind, const sto_value *c, size_t n, void *item)
{
    (void)kind;
    (void)n;
    struct sto_event *e = item;
    e->id = sto_col_text(&c[0]);
    e->camera_id = sto_col_text(&c[1]);
    e->label = sto_col_text(&c[2]);
    e->sub_label = sto_col_text(&c[3]);
    e->score = col_real(&c[4]);
    e->top_score = col_real(&c[5]);
    e->start_us = sto_col_int(&c[6]);
    e->end_us = sto_col_int(&c[7]);
    e->updated_us = sto_col_int(&c[8]);
    e->zones = sto_col_text(&c[9]);
    e->box = sto_col_text(&c[10]);
    e->details = sto_col_text(&c[11]);
    e->has_snapshot = sto_col_int(&c[12]) != 0;
    e->source = sto_col_text(&c[13]);
    e->created_at_ms = sto_col_int(&c[14]);
    e->pinned_until_us = sto_col_int(&c[15]);
    e->tenant = sto_col_text(&c[16]);
}

static void event_release_item(const struct sto_list_kind *kind, void *item)
{
    (void)kind;
    sto_event_release(item);
}

static const struct sto_list_kind event_kind = {
    .size = sizeof(struct sto_event),
    .min_cols = EVENT_NCOLS,
    .decode = event_decode,
    .release = event_release_item,
};

void sto_event_list_free(struct sto_event *list, size_t n)
{
    sto_list_free(&event_kind, list, n);
}

/* The bounds of the pin ids of event id: every "event:<id>:..." sorts in [lo, hi). */
static void pin_bounds(const char *id, char *lo, char *hi, size_t size)
{
    snprintf(lo, size, "event:%s:", id);
    snprintf(hi, size, "event:%s;", id); /* ';' follows ':' */
}

int sto_event_put(sto_db *db, const struct sto_event_input *e)
{
    if (!e->id || !e->camera_id || !e->label || !e->source || e->nstreams > EVENT_PINS_MAX ||
        e->noutbox > EVENT_OUTBOX_MAX)
        return -EINVAL;
    sto_value p[] = {
        STO_TEXT_V(e->id),
        STO_TEXT_V(e->camera_id),
        STO_TEXT_V(e->label),
        STO_TEXT_V(e->sub_label ? e->sub_label : ""),
        STO_REAL_V(e->score),
        STO_REAL_V(e->top_score),
        STO_INT_V(e->start_us),
        e->end_us > 0 ? STO_INT_V(e->end_us) : STO_NULL_V,
        STO_INT_V(e->updated_us),
        STO_TEXT_V(e->zones ? e->zones : "[]"),
        STO_TEXT_V(e->box ? e->box : ""),
        STO_TEXT_V(e->details ? e->details : "{}"),
        STO_INT_V(e->has_snapshot ? 1 : 0),
        STO_TEXT_V(e->source),
        STO_INT_V(e->created_at_ms),
        STO_INT_V(e->pinned_until_us),
    };
    char lo[160], hi[160];
    pin_bounds(e->id, lo, hi, sizeof(lo));
    sto_value dp[] = {STO_TEXT_V(lo), STO_TEXT_V(hi)};
    struct sto_stmt st[2 + EVENT_PINS_MAX + EVENT_OUTBOX_MAX];
    size_t n = 0;
    st[n++] = (struct sto_stmt){
        "INSERT INTO events(id, camera_id, label, sub_label, score, top_score, start_us, end_us,"
        " updated_us, zones, box, details, has_snapshot, source, created_at_ms, pinned_until_us)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        " ON CONFLICT (id) DO UPDATE SET sub_label = excluded.sub_label, score = excluded.score,"
        " top_score = excluded.top_score, end_us = excluded.end_us,"
        " updated_us = excluded.updated_us, zones = excluded.zones, box = excluded.box,"
        " details = excluded.details, has_snapshot = excluded.has_snapshot,"
        " pinned_until_us = excluded.pinned_until_us",
        p, HORUS_ARRAY_LEN(p)};
    st[n++] = (struct sto_stmt){"DELETE FROM pins WHERE id >= $1 AND id < $2", dp, 2};
    char pin_ids[EVENT_PINS_MAX][200];
    sto_value pp[EVENT_PINS_MAX][7];
    bool has_pins = e->pin_end_us > e->pin_start_us;
    for (size_t i = 0; has_pins && i < e->nstreams; i++) {
        snprintf(pin_ids[i], sizeof(pin_ids[i]), "event:%s:%s", e->id, e->streams[i]);
        sto_value *v = pp[i];
        v[0] = STO_TEXT_V(pin_ids[i]);
        v[1] = STO_TEXT_V(e->camera_id);
        v[2] = STO_TEXT_V(e->streams[i]);
        v[3] = STO_INT_V(e->pin_start_us);
        v[4] = STO_INT_V(e->pin_end_us);
        v[5] = STO_INT_V(e->pinned_until_us);
        v[6] = STO_INT_V(e->created_at_ms);
        st[n++] = (struct sto_stmt){
            "INSERT INTO pins(id, camera_id, stream, start_us, end_us, reason, until_us,"
            " created_at_ms) VALUES ($1, $2, $3, $4, $5, 'event', $6, $7)",
            v, 7};
    }
    sto_value op[EVENT_OUTBOX_MAX][5];
    int64_t created_us = clock_realtime_ms(sto_db_clock(db)) * 1000;
    for (size_t i = 0; i < e->noutbox; i++) {
        const struct sto_outbox_input *m = &e->outbox[i];
        if (!m->kind || !m->type || !m->payload)
            return -EINVAL;
        struct sto_outbox_input mm = *m;
        if (!mm.camera_id)
            mm.camera_id = e->camera_id;
        st[n++] = sto_outbox_stmt(&mm, created_us, op[i]);
    }
    int rc = sto_write_batch(db, st, n);
    if (rc == 0 && e->noutbox > 0)
        sto_outbox_notify(db);
    return rc;
}

int sto_event_get(sto_db *db, const char *id, struct sto_event *out)
{
    sto_value p[] = {STO_TEXT_V(id)};
    return sto_read_one(db, "SELECT " EVENT_COLUMNS " FROM events e WHERE e.id = $1", p, 1,
                        &event_kind, out);
}

/* Appends s to buf at *len (truncation cannot happen: buf is sized for every clause). */
static void append(char *buf, size_t size, size_t *len, const char *s)
{
    int w = snprintf(buf + *len, size - *len, "%s", s);
    if (w > 0)
        *len += (size_t)w < size - *len ? (size_t)w : size - *len - 1;
}

int sto_event_list(sto_db *db, const struct sto_event_filter *f, size_t limit,
                   struct sto_event **out, size_t *n, bool *has_more)
{
    char sql[2048];
    size_t len = 0;
    sto_value p[12];
    size_t np = 0;
    char arg[16];
    char zone_like[160];
    append(sql, sizeof(sql), &len, "SELECT " EVENT_COLUMNS " FROM events e WHERE 1 = 1");
#define BIND(clause, value)                                                                        \
    do {                                                                                           \
        p[np++] = (value);                                                                         \
        snprintf(arg, sizeof(arg), "$%zu", np);                                                    \
        char c_[256];                                                                              \
        snprintf(c_, sizeof(c_), clause, arg);                                                     \
        append(sql, sizeof(sql), &len, c_);                                                        \
    } while (0)
    if (f->camera_id)
        BIND(" AND e.camera_id = %s", STO_TEXT_V(f->camera_id));
    if (f->label)
        BIND(" AND e.label = %s", STO_TEXT_V(f->label));
    if (f->zone) {
        /* Zone names are [A-Za-z0-9 _-] (zones.c), so '_' is the only LIKE character to escape. */
        size_t k = 0;
        zone_like[k++] = '%';
        zone_like[k++] = '"';
        for (const char *s = f->zone; *s && k + 6 < sizeof(zone_like); s++) {
            if (*s == '_' || *s == '%' || *s == '\\')
                zone_like[k++] = '\\';
            zone_like[k++] = *s;
        }
        zone_like[k++] = '"';
        zone_like[k++] = '%';
        zone_like[k] = '\0';
        BIND(" AND e.zones LIKE %s ESCAPE '\\'", STO_TEXT_V(zone_like));
    }
    if (f->after_us)
        BIND(" AND e.start_us >= %s", STO_INT_V(f->after_us));
    if (f->before_us)
        BIND(" AND e.start_us < %s", STO_INT_V(f->before_us));
    if (f->min_score > 0)
        BIND(" AND e.top_score >= %s", STO_REAL_V(f->min_score));
    if (f->has_snapshot >= 0)
        BIND(" AND e.has_snapshot = %s", STO_INT_V(f->has_snapshot ? 1 : 0));
    if (f->cursor_id) {
        int64_t start = strtoll(f->cursor_id, NULL, 10);
        p[np++] = STO_INT_V(start);
        p[np++] = STO_TEXT_V(f->cursor_id);
        char c[160];
        snprintf(c, sizeof(c), " AND (e.start_us < $%zu OR (e.start_us = $%zu AND e.id < $%zu))",
                 np - 1, np - 1, np);
        append(sql, sizeof(sql), &len, c);
    }
    BIND(" ORDER BY e.start_us DESC, e.id DESC LIMIT %s", STO_INT_V((int64_t)limit + 1));
#undef BIND
    int rc = sto_read_list_replica(db, sql, p, np, &event_kind, (void **)out, n);
    if (rc < 0)
        return rc;
    *has_more = *n > limit;
    if (*has_more) {
        sto_event_release(&(*out)[limit]);
        *n = limit;
    }
    return 0;
}

int sto_event_delete(sto_db *db, const char *id)
{
    struct sto_event cur;
    int rc = sto_event_get(db, id, &cur);
    if (rc < 0)
        return rc;
    sto_event_release(&cur);
    char lo[160], hi[160];
    pin_bounds(id, lo, hi, sizeof(lo));
    sto_value p[] = {STO_TEXT_V(id)};
    sto_value dp[] = {STO_TEXT_V(lo), STO_TEXT_V(hi)};
    struct sto_stmt st[] = {
        {"DELETE FROM events WHERE id = $1", p, 1},
        {"DELETE FROM pins WHERE id >= $1 AND id < $2", dp, 2},
    };
    return sto_write_batch(db, st, HORUS_ARRAY_LEN(st));
}

static int count_row(const sto_value *c, size_t n, void *arg)
{
    *(size_t *)arg = n > 0 && sto_col_int(&c[0]) > 0 ? (size_t)sto_col_int(&c[0]) : 0;
    return 0;
}

int sto_events_end_open(sto_db *db, size_t *n)
{
    *n = 0;
    int rc =
        sto_read(db, "SELECT COUNT(*) FROM events WHERE end_us IS NULL", NULL, 0, count_row, n);
    if (rc < 0 || *n == 0)
        return rc;
    return sto_write(db, "UPDATE events SET end_us = updated_us WHERE end_us IS NULL", NULL, 0);
}

int sto_events_expired(sto_db *db, int64_t now_us, size_t limit, struct sto_event **out, size_t *n)
{
    sto_value p[] = {STO_INT_V(now_us), STO_INT_V((int64_t)limit)};
    return sto_read_list(db,
                         "SELECT " EVENT_COLUMNS " FROM events e WHERE e.pinned_until_us < $1"
                         " AND e.end_us IS NOT NULL ORDER BY e.pinned_until_us LIMIT $2",
                         p, 2, &event_kind, (void **)out, n);
}

int sto_events_open_list(sto_db *db, size_t limit, struct sto_event **out, size_t *n)
{
    sto_value p[] = {STO_INT_V((int64_t)limit)};
    return sto_read_list(db,
                         "SELECT " EVENT_COLUMNS " FROM events e WHERE e.end_us IS NULL"
                         " ORDER BY e.start_us, e.id LIMIT $1",
                         p, 1, &event_kind, (void **)out, n);
}
