/*
 * libFuzzer driver for the query-string parsers of src/api/query.c and the
 * range logic behind them (issue #16). The first byte picks which fields
 * are absent and a "now"; the rest is split at '\n' into start, end, tz
 * and a fourth string (a count, a file name). Each parser gets them, and
 * the invariants callers rely on are checked: an accepted range is
 * non-empty, within its limit and inside years 1..9999; an accepted time
 * fits; an accepted integer lies in its bounds. Then the timeline and
 * playlist builders get both the validated range and the raw parsed
 * values (anything clock_parse_time_ms returns), which must neither
 * overflow (UBSan) nor allocate more days than a timeline can have.
 */
#include "api_int.h"
#include "checked.h"
#include "query_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define US_PER_DAY (INT64_C(86400) * 1000000)
#define MAX_DAYS ((size_t)(PB_TIMELINE_MAX_US / US_PER_DAY + 2))

static void check(bool ok)
{
    if (!ok)
        __builtin_trap();
}

static void timeline(int64_t from, int64_t to, int tz, int64_t a, int64_t b)
{
    struct pb_timeline t;
    pb_timeline_init(&t, from, to, tz);
    int64_t lo = a < b ? a : b, hi = a < b ? b : a;
    pb_timeline_add(&t, lo, hi);
    int64_t later;
    if (horus_add_i64(hi, PB_GAP_TOLERANCE_US * 2, &later))
        pb_timeline_add(&t, later, to);
    pb_timeline_finish(&t);
    check(t.ndays <= MAX_DAYS);
    for (size_t i = 0; i < t.nspans; i++)
        check(t.spans[i].start_us < t.spans[i].end_us);
    pb_timeline_release(&t);
}

static void playlist(int64_t start, int64_t end, int64_t file_start)
{
    struct sto_part parts[3];
    for (int i = 0; i < 3; i++)
        parts[i] = (struct sto_part){.offset = 100 + (uint64_t)i * 10,
                                     .size_bytes = 10,
                                     .start_90k = i * 90000,
                                     .duration_90k = 90000,
                                     .is_keyframe = i == 0};
    int64_t file_end;
    if (!horus_add_i64(file_start, 3000000, &file_end))
        return;
    struct pb_file f = {.start_us = file_start,
                        .end_us = file_end,
                        .uri = "f.mp4",
                        .codec = "avc1",
                        .width = 64,
                        .height = 64,
                        .init_bytes = 100,
                        .parts = parts,
                        .nparts = 3};
    struct pb_playlist_options o = {.start_us = start, .end_us = end};
    char *out = NULL;
    size_t len = 0;
    struct pb_playlist_info info;
    pb_playlist_render(&f, 1, &o, &out, &len, &info);
    check(out && strlen(out) == len && info.segments <= 3);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    uint8_t flags = data[0];
    char *buf = malloc(size);
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    char *field[4] = {buf, NULL, NULL, NULL};
    for (int i = 1; i < 4 && field[i - 1]; i++) {
        char *nl = strchr(field[i - 1], '\n');
        if (nl) {
            *nl = '\0';
            field[i] = nl + 1;
        }
    }
    const char *start = flags & 1 ? NULL : field[0];
    const char *end = flags & 2 ? NULL : field[1];
    static const int64_t nows[] = {INT64_C(1772582400000000), 0, API_TIME_MIN_MS * 1000,
                                   API_TIME_MAX_MS * 1000};
    int64_t now = nows[(flags >> 2) & 3];
    char why[256];

    int tz = 0;
    if (api_tz_parse(field[2], &tz, why, sizeof(why)) == 0)
        check(tz >= -14 * 3600 && tz <= 14 * 3600);
    else
        check(strncmp(why, "tz: ", 4) == 0);

    for (int k = API_RANGE_TIMELINE; k <= API_RANGE_PLAYLIST; k++) {
        int64_t s = 0, e = 0, span;
        int64_t max = k == API_RANGE_PLAYLIST ? PB_PLAYLIST_MAX_US : PB_TIMELINE_MAX_US;
        if (api_range_parse(k, start, end, now, &s, &e, why, sizeof(why)) == 0) {
            check(horus_sub_i64(e, s, &span) && span > 0 && span <= max);
            check(s >= API_TIME_MIN_MS * 1000 - US_PER_DAY && e <= API_TIME_MAX_MS * 1000 + max);
            timeline(s, e, tz, s, e);
            playlist(s, e, s);
        } else {
            check(strncmp(why, "start: ", 7) == 0 || strncmp(why, "end: ", 5) == 0);
        }
    }

    /* The builders with unvalidated values: the parsed milliseconds read as microseconds. */
    int64_t a = 0, b = 0;
    bool has_a = field[0] && clock_parse_time_ms(field[0], &a) == 0;
    bool has_b = field[1] && clock_parse_time_ms(field[1], &b) == 0;
    if (has_a && has_b) {
        if (a < b)
            timeline(a, b, tz, a, b);
        playlist(a, b, a);
        playlist(a, b, b);
    }

    int64_t us;
    if (field[0] && api_time_parse_us("ts", field[0], &us, why, sizeof(why)) == 0)
        check(us >= API_TIME_MIN_MS * 1000 && us <= API_TIME_MAX_MS * 1000);
    json_t *j = field[0] ? json_string(field[0]) : NULL;
    if (j && api_time_parse_json(j, &us) == 0)
        check(us >= 0 && us <= API_TIME_MAX_MS * 1000);
    json_decref(j);
    j = has_a ? json_integer(a) : NULL;
    if (j && api_time_parse_json(j, &us) == 0)
        check(us >= 0 && us <= API_TIME_MAX_MS * 1000);
    json_decref(j);

    const char *n = field[3] ? field[3] : field[0];
    int64_t v;
    static const int64_t bounds[][2] = {
        {0, INT64_C(1) << 53}, {1, 500}, {16, 4096}, {INT64_MIN, INT64_MAX}};
    for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++)
        if (api_int_parse("n", n, bounds[i][0], bounds[i][1], &v, why, sizeof(why)) == 0)
            check(v >= bounds[i][0] && v <= bounds[i][1]);
    if (n && api_file_start_parse(n, &v) == 0)
        check(v >= 0);
    free(buf);
    return 0;
}
