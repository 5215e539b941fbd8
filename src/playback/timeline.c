/*
 * DESIGN: the timeline a scrub bar and a calendar draw: recording rows
 * (one per segment file, in start order) are merged into contiguous spans
 * as they stream out of the index, so memory grows with the number of
 * spans, not rows (a quarter of 2 s segments is 4 million rows, usually
 * a handful of spans). Two rows belong to one span when the hole between
 * them is at most PB_GAP_TOLERANCE_US: consecutive segments of one
 * stream are contiguous to the microsecond, and a hole of a frame or two
 * is not worth a break in the bar. Everything is clipped to [from, to).
 * Gaps are only the holes between spans: before the first and after the
 * last span there may simply be nothing yet (or no longer), which a
 * client sees from the range it asked for.
 *
 * Days are calendar days at a fixed UTC offset (no DST rules; the client
 * passes the offset it displays). Thread: any.
 */
#include "playback.h"

#include "checked.h"
#include "clock.h"
#include "mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define US_PER_DAY (INT64_C(86400) * 1000000)

void pb_timeline_init(struct pb_timeline *t, int64_t from_us, int64_t to_us, int tz_offset_s)
{
    memset(t, 0, sizeof(*t));
    t->from_us = from_us;
    t->to_us = to_us;
    t->tz_offset_s = tz_offset_s;
}

void pb_timeline_release(struct pb_timeline *t)
{
    free(t->spans);
    free(t->gaps);
    free(t->days);
    memset(t, 0, sizeof(*t));
}

static void push_span(struct pb_timeline *t, struct pb_interval iv)
{
    if (t->nspans == t->spans_cap) {
        t->spans_cap = t->spans_cap ? t->spans_cap * 2 : 16;
        t->spans = horus_realloc(t->spans, t->spans_cap * sizeof(*t->spans));
    }
    t->spans[t->nspans++] = iv;
}

void pb_timeline_add(struct pb_timeline *t, int64_t start_us, int64_t end_us)
{
    if (start_us < t->from_us)
        start_us = t->from_us;
    if (end_us > t->to_us)
        end_us = t->to_us;
    if (end_us <= start_us)
        return;
    int64_t reach; /* how far the open span reaches, saturated at the end of time */
    if (t->has_open && !horus_add_i64(t->open.end_us, PB_GAP_TOLERANCE_US, &reach))
        reach = INT64_MAX;
    if (t->has_open && start_us <= reach) {
        if (end_us > t->open.end_us)
            t->open.end_us = end_us;
        return;
    }
    if (t->has_open)
        push_span(t, t->open);
    t->open = (struct pb_interval){start_us, end_us};
    t->has_open = true;
}

/* Floor division for negative instants (before 1970). */
static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static void format_day(int64_t local_day, char *buf, size_t size)
{
    char rfc[32];
    clock_format_rfc3339_ms(local_day * 86400 * 1000, rfc, sizeof(rfc));
    snprintf(buf, size, "%.10s", rfc);
}

/* The most days one timeline lists: its longest range, plus the partial days at both ends. */
#define MAX_DAYS (PB_TIMELINE_MAX_US / US_PER_DAY + 2)
/* Instants whose day arithmetic (± a day, ± a UTC offset) cannot overflow: about ±73,000 years. */
#define MAX_ABS_US (INT64_MAX / 4)

static void build_days(struct pb_timeline *t)
{
    /*
     * from/to come from a request: a range the API would refuse gets no
     * day list rather than a wrapped count and a huge allocation.
     */
    int64_t tz_us = (int64_t)t->tz_offset_s * 1000000, ndays;
    if (t->from_us < -MAX_ABS_US || t->to_us > MAX_ABS_US || tz_us < -US_PER_DAY ||
        tz_us > US_PER_DAY)
        return;
    int64_t first = floor_div(t->from_us + tz_us, US_PER_DAY);
    int64_t last = floor_div(t->to_us - 1 + tz_us, US_PER_DAY);
    if (!horus_sub_i64(last, first, &ndays) || ndays >= MAX_DAYS)
        return;
    t->ndays = (size_t)ndays + 1;
    t->days = horus_calloc(t->ndays, sizeof(*t->days));
    size_t s = 0;
    for (size_t i = 0; i < t->ndays; i++) {
        struct pb_day *d = &t->days[i];
        int64_t local = first + (int64_t)i;
        format_day(local, d->date, sizeof(d->date));
        d->start_us = local * US_PER_DAY - tz_us;
        int64_t lo = d->start_us > t->from_us ? d->start_us : t->from_us;
        int64_t hi = d->start_us + US_PER_DAY < t->to_us ? d->start_us + US_PER_DAY : t->to_us;
        /* Spans are sorted and disjoint: walk them once across all days. */
        while (s < t->nspans && t->spans[s].end_us <= lo)
            s++;
        for (size_t k = s; k < t->nspans && t->spans[k].start_us < hi; k++) {
            int64_t a = t->spans[k].start_us > lo ? t->spans[k].start_us : lo;
            int64_t b = t->spans[k].end_us < hi ? t->spans[k].end_us : hi;
            if (b > a)
                d->recorded_us += b - a;
        }
    }
}

void pb_timeline_finish(struct pb_timeline *t)
{
    if (t->has_open)
        push_span(t, t->open);
    t->has_open = false;
    if (t->nspans > 1) {
        t->gaps = horus_calloc(t->nspans - 1, sizeof(*t->gaps));
        for (size_t i = 1; i < t->nspans; i++)
            t->gaps[t->ngaps++] =
                (struct pb_interval){t->spans[i - 1].end_us, t->spans[i].start_us};
    }
    if (t->to_us > t->from_us)
        build_days(t);
}

static int add_row(int64_t start_us, int64_t end_us, void *arg)
{
    pb_timeline_add(arg, start_us, end_us);
    return 0;
}

int pb_timeline_read(sto_db *db, const char *camera_id, const char *stream, int64_t from_us,
                     int64_t to_us, int tz_offset_s, const struct pb_interval *open, size_t nopen,
                     struct pb_timeline *t)
{
    pb_timeline_init(t, from_us, to_us, tz_offset_s);
    int64_t span;
    if (!horus_sub_i64(to_us, from_us, &span) || span <= 0 || span > PB_TIMELINE_MAX_US ||
        tz_offset_s < -14 * 3600 || tz_offset_s > 14 * 3600)
        return -EINVAL;
    int rc = sto_recordings_times(db, camera_id, stream, from_us, to_us, add_row, t);
    if (rc < 0) {
        pb_timeline_release(t);
        return rc;
    }
    for (size_t i = 0; open && i < nopen; i++)
        if (open[i].end_us > open[i].start_us)
            pb_timeline_add(t, open[i].start_us, open[i].end_us);
    pb_timeline_finish(t);
    return 0;
}
